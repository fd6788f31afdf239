"""Drift benchmark: the lakemon engine against Evidently, NannyML, whylogs, scipy and Polars.

    .venv/bin/python benchmarks/drift_benchmark.py               # everything (peers installed on first run)
    .venv/bin/python benchmarks/drift_benchmark.py --engine-only # the engine scenarios only
    .venv/bin/python benchmarks/drift_benchmark.py --skip-10m    # leave out the 10M-row run

Every run is its own process, measured from the outside: wall time, CPU time (user + sys) and
peak RSS come from os.wait4. Engine scenarios run --repeat times (default 3) and report the run
with the median wall time, plus the range: a shared machine is noisy. Times include interpreter start, imports and reading Parquet:
"whole process from Parquet to both tables". Each peer runs in its own venv under
benchmarks/.venv-peers/ (they pin pandas<3, numpy<2, ...); a peer that cannot be installed or
fails is reported as such, the rest goes on. Not part of pytest.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS_DIR = HERE / ".venv-peers"
ENGINE_PY = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(HERE))

from bench_data import CARDINALITY, CATEGORICAL, ensure  # noqa: E402

from lakemon.statistics import (  # noqa: E402
    CHI_SQUARED_TEST,
    JS_DISTANCE,
    KS_TEST,
    L_INFINITY_DISTANCE,
    POPULATION_STABILITY_INDEX,
    WASSERSTEIN_DISTANCE,
)

PEERS = {
    # name: (script, pip requirements)
    "evidently": ("evidently_run.py", ["evidently==0.7.*", "pandas<3", "pyarrow"]),
    "nannyml": ("nannyml_run.py", ["nannyml==0.13.*", "pandas<3", "statsmodels", "pyarrow"]),
    "whylogs": ("whylogs_run.py", ["whylogs==1.6.*", "numpy<2", "pyarrow<21", "pandas<3", "scipy", "ipython"]),
    "scipy": ("scipy_loop.py", ["numpy", "scipy", "pyarrow"]),
    "polars": ("polars_pass.py", ["polars", "numpy", "pyarrow"]),
}
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 900


def measure(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run a process; return wall/CPU seconds, peak RSS (MB), its JSON output or an error."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                return {"error": f"timed out after {timeout:.0f} s"}
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errtext = out.read().decode(), err.read().decode()
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}
    if proc.returncode != 0:
        result["error"] = (errtext.strip().splitlines() or [f"exit code {proc.returncode}"])[-1][:200]
        return result
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    result["output"] = json.loads(lines[-1]) if lines else {}
    return result


def install_peer(name: str, requirements: list[str], log) -> str | None:
    """Create benchmarks/.venv-peers/<name> once; return None when ready, else the reason."""
    venv = PEERS_DIR / name
    stamp = venv / ".requirements"
    if stamp.exists() and stamp.read_text() == "\n".join(requirements):
        return None
    uv = shutil.which("uv") or str(ROOT / ".venv" / "bin" / "uv")
    log(f"installing {name} into {venv} ...")
    try:
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(venv)], check=True, timeout=120,
                       capture_output=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *requirements],
                       check=True, timeout=INSTALL_TIMEOUT, capture_output=True)
    except subprocess.TimeoutExpired:
        return f"install timed out after {INSTALL_TIMEOUT} s"
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"install failed: {(detail.decode(errors='replace').strip().splitlines() or [str(exc)])[-1][:160]}"
    stamp.write_text("\n".join(requirements))
    return None


# --- agreement under each library's convention --------------------------------------------------


def _close(a, b, rel, abs_=0.0) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def agreement(peer: str, peer_stats: dict, engine: dict) -> tuple[str, bool]:
    """Compare the statistics both compute, each under the peer's own definition."""
    stats, base = engine["stats"], engine["baseline"]
    small_cats = [c for c, k in zip(CATEGORICAL, CARDINALITY, strict=True) if k < 100]  # no "other" bucket
    checks: list[tuple[str, bool]] = []
    for col, st in peer_stats.items():
        e = stats.get(col)
        if not e:
            continue
        numeric = col.startswith("num_")
        if peer in ("scipy", "polars") and numeric:
            checks.append(("ks", _close(st["ks_statistic"], e[KS_TEST.name]["statistic"], 0, 1e-12)))
            checks.append(("wasserstein", _close(st["wasserstein"], e[WASSERSTEIN_DISTANCE.name], 1e-9)))
            checks.append(("psi", _close(st["psi"], e[POPULATION_STABILITY_INDEX.name], 1e-9, 1e-15)))
            if "ks_pvalue" in st:
                checks.append(("ks p", _close(st["ks_pvalue"], e[KS_TEST.name]["pvalue"], 1e-6, 1e-300)))
        elif peer in ("scipy", "polars") and col in small_cats:
            checks.append(("js", _close(st["js_base2"], e[JS_DISTANCE.name], 1e-9)))
            if "chi2_statistic" in st:
                checks.append(("chi2", _close(st["chi2_statistic"], e[CHI_SQUARED_TEST.name]["statistic"], 1e-9)))
        elif peer == "evidently" and numeric and "Wasserstein" in st["method"]:
            std0 = base[col]["stddev"] * math.sqrt((base[col]["n"] - 1) / base[col]["n"])  # np.std, ddof 0
            checks.append(("W/std", _close(st["value"], e[WASSERSTEIN_DISTANCE.name] / max(std0, 1e-3), 1e-6)))
        elif peer == "evidently" and col in small_cats and "Jensen" in st["method"]:
            checks.append(("js (ln)", _close(st["value"], e[JS_DISTANCE.name] * math.sqrt(math.log(2)), 1e-3)))
        elif peer == "nannyml" and col in small_cats:
            checks.append(("js", _close(st.get("jensen_shannon"), e[JS_DISTANCE.name], 1e-6)))
            checks.append(("l_inf", _close(st.get("l_infinity"), e[L_INFINITY_DISTANCE.name], 1e-6)))
            checks.append(("chi2", _close(st.get("chi2"), e[CHI_SQUARED_TEST.name]["statistic"], 1e-6)))
        elif peer == "nannyml" and numeric:  # binned above 10k reference rows: approximate
            checks.append(("ks~", _close(st.get("kolmogorov_smirnov"), e[KS_TEST.name]["statistic"], 0, 2e-3)))
        elif peer == "whylogs" and numeric and st.get("algorithm") == "ks":  # KS on a quantile sketch
            checks.append(("ks~", _close(st["statistic"], e[KS_TEST.name]["statistic"], 0, 1e-2)))
    if not checks:
        return "no shared statistic", False
    names = sorted({n for n, _ in checks})
    bad = sorted({n for n, ok in checks if not ok})
    text = f"{len(checks) - sum(not ok for _, ok in checks)}/{len(checks)} agree ({', '.join(names)})"
    if bad:
        text += f"; differ: {', '.join(bad)}"
    return text, not bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--engine-only", action="store_true", help="skip the peers")
    ap.add_argument("--skip-10m", action="store_true", help="skip the 10M-row engine run")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of: " + ", ".join(PEERS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine scenario (median reported)")
    args = ap.parse_args()
    log = lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)  # noqa: E731

    log(f"load average at start: {os.getloadavg()}")
    log(f"generating data ({args.rows} rows per table, seeded) if missing")
    base, cur = ensure(args.rows)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT / "constructs")])}
    runner = [str(ENGINE_PY), str(HERE / "engine_run.py")]
    rows: list[tuple[str, dict, str]] = []

    def engine_row(label: str, target: str, scenario: list[str], timeout: float = RUN_TIMEOUT) -> dict:
        res = measure_repeated([*runner, *scenario], timeout, env, args.repeat)
        rows.append((label, res, target))
        return res

    with tempfile.TemporaryDirectory() as state_dir:
        paths = [str(base), str(cur), state_dir]
        log("engine: one window, baseline profiled in-process")
        inproc = engine_row("engine: 1 window, baseline in-process", "< 3.5 s, < 1 GB", ["inprocess", *paths])
        measure([*runner, "store-baseline", *paths], RUN_TIMEOUT, env)
        log("engine: one window, stored baseline profile")
        engine_row("engine: 1 window, stored baseline", "< 2 s", ["stored", *paths])
        log("engine: 30 daily windows")
        engine_row("engine: 30 daily windows, stored baseline", "< 5 s", ["windows30-stored", *paths])
        engine_row("engine: 30 daily windows, baseline in-process", "", ["windows30", *paths])
    if not args.skip_10m:
        log("engine: 10M rows (generating 10M-row tables the first time takes minutes)")
        b10, c10 = ensure(10 * args.rows)
        with tempfile.TemporaryDirectory() as state_dir:
            millions = 10 * args.rows // 1_000_000
            res = measure([*runner, "inprocess", str(b10), str(c10), state_dir], 3 * RUN_TIMEOUT, env)
            rows.append((f"engine: {millions}M vs {millions}M rows, 1 window", res, "completes"))
    engine_out = inproc.get("output")
    notes: dict[str, str] = {}
    if not args.engine_only:
        for name in [p for p in args.peers.split(",") if p]:
            script, reqs = PEERS[name]
            problem = install_peer(name, reqs, log)
            if problem:
                rows.append((f"peer: {name}", {"error": problem}, ""))
                continue
            log(f"peer: {name}")
            res = measure([str(PEERS_DIR / name / "bin" / "python"), str(HERE / "peers" / script), str(base), str(cur)],
                          RUN_TIMEOUT)
            if "output" in res and engine_out:
                notes[name], _ok = agreement(name, res["output"].get("stats", {}), engine_out)
            rows.append((f"peer: {name}", res, ""))
    print_table(args.rows, rows, notes)
    return 0


def measure_repeated(cmd: list[str], timeout: float, env: dict, repeat: int) -> dict:
    """`measure` `repeat` times; the run with the median wall time, with the range of walls."""
    runs = [measure(cmd, timeout, env) for _ in range(max(1, repeat))]
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    ok.sort(key=lambda r: r["wall"])
    best = dict(ok[len(ok) // 2])
    best["range"] = (ok[0]["wall"], ok[-1]["wall"])
    best["peak_max"] = max(r["peak_mb"] for r in ok)
    best["n"] = len(ok)
    return best


def print_table(n_rows: int, rows: list[tuple[str, dict, str]], notes: dict[str, str]) -> None:
    """Markdown table: engine rows with their target and speed-up over Evidently and the
    Polars pass; peer rows with their agreement with the engine's statistics."""
    walls = {label: res.get("wall") for label, res, _ in rows if "error" not in res}
    evidently, polars = walls.get("peer: evidently"), walls.get("peer: polars")
    print(f"\n{n_rows:,} baseline rows vs {n_rows:,} current rows, 15 numeric + 5 categorical; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(f"| {'run':46} | wall s (median) | range s | CPU s | peak MB | target | Evidently / this | Polars / this |")
    print(f"|{'-' * 48}|----------------:|--------:|------:|--------:|--------|-----------------:|--------------:|")
    for label, res, target in rows:
        if "wall" not in res:
            print(f"| {label:46} | - | - | - | - | {target} | NOT RUN: {res.get('error')} | |")
            continue
        lo, hi = res.get("range", (res["wall"], res["wall"]))
        spread = f"{lo:.2f}-{hi:.2f}" if res.get("n", 1) > 1 else "1 run"
        peak = res.get("peak_max", res["peak_mb"])
        ev = f"{evidently / res['wall']:.1f}x" if evidently else "-"
        po = f"{polars / res['wall']:.2f}x" if polars else "-"
        extra = f"FAILED: {res['error']}" if "error" in res else target
        print(f"| {label:46} | {res['wall']:15.2f} | {spread:>7} | {res['cpu']:5.2f} | {peak:7.0f} | {extra} | {ev:>16} | {po:>13} |")
    if notes:
        print("\nAgreement of each peer's statistics with the engine's (under the peer's own convention):")
        for name, note in notes.items():
            print(f"- {name}: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
