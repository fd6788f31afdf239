"""Drift benchmark: the lakemon engine against its floor and Evidently, NannyML, whylogs, scipy, Polars.

    .venv/bin/python benchmarks/drift_benchmark.py               # everything (peers installed on first run)
    .venv/bin/python benchmarks/drift_benchmark.py --engine-only # the engine scenarios only
    .venv/bin/python benchmarks/drift_benchmark.py --skip-10m    # leave out the 10M-row runs
    .venv/bin/python benchmarks/drift_benchmark.py --engine-only --100m  # add 100M vs 100M (opt-in)

Every run is its own process, measured from the outside: wall time, CPU time (user + sys) and
peak RSS come from os.wait4. Engine scenarios run --repeat times (default 3) and report the run
with the median wall time, plus the range: a shared machine is noisy. Times include interpreter
start, imports and reading Parquet: "whole process from Parquet to both tables". The floor of
each size is a process that only reads every column pair and sorts (numeric) or counts
(categorical) it, column at a time on the same threads: the work no exact statistic can skip.
Each peer runs in its own venv under benchmarks/.venv-peers/ (they pin pandas<3, numpy<2, ...);
a peer that cannot be installed or fails is reported as such, the rest goes on. Data of 10M and
100M rows are generated in chunks under /tmp (bench_data.py; not timed) and deleted after
their runs unless --keep-data. The load average is printed beside every measurement. Ends with
one markdown table. Not part of pytest.
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
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS_DIR = HERE / ".venv-peers"
ENGINE_PY = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(HERE))

from bench_data import CARDINALITY, CATEGORICAL, ensure, remove  # noqa: E402

from lakemon.contract.statistics import (  # noqa: E402
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


def _echo_progress(stream, sink: list[str]) -> None:
    """Keep a child's stderr lines; pass its progress lines ('[engine] ...') through at once."""
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace")
        sink.append(line)
        if line.startswith("[engine]"):
            print(f"[bench]   {line.rstrip()}", file=sys.stderr, flush=True)


def measure(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run a process; return wall/CPU seconds, peak RSS (MB), its JSON output or an error."""
    start = time.perf_counter()
    load = os.getloadavg()[0]
    errlines: list[str] = []
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        reader = threading.Thread(target=_echo_progress, args=(proc.stderr, errlines), daemon=True)
        reader.start()
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
        reader.join(timeout=10)
        out.seek(0)
        text, errtext = out.read().decode(), "".join(errlines)
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
              "load": (load + os.getloadavg()[0]) / 2}
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


@dataclass
class Case:
    """One table row: a measured run, what it is held to, and the floor run it is set against."""

    label: str
    res: dict
    target: str = ""
    wall_max: float | None = None
    peak_max_mb: float | None = None
    floor: str | None = None
    """Label of the floor row of the same size."""
    times_of: tuple[str, float] | None = None
    """(label of another row, factor): wall at most factor x that row's wall."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--engine-only", action="store_true", help="skip the peers")
    ap.add_argument("--skip-10m", action="store_true", help="skip the 10M-row engine runs")
    ap.add_argument("--100m", dest="hundred", action="store_true",
                    help="also 100M vs 100M rows (opt-in: ~22 GB of Parquet under /tmp, minutes per run)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of: " + ", ".join(PEERS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine scenario (median reported)")
    ap.add_argument("--repeat-100m", type=int, default=1, help="runs of the 100M scenarios (default 1)")
    ap.add_argument("--keep-data", action="store_true", help="keep the generated 10M/100M tables under /tmp")
    args = ap.parse_args()
    log = lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()

    log(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    log(f"generating data ({args.rows} rows per table, seeded) if missing")
    base, cur = ensure(args.rows)
    env = {**os.environ, "LAKEMON_BENCH_PROGRESS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT / "constructs")])}
    runner = [str(ENGINE_PY), str(HERE / "engine_run.py")]
    cases: list[Case] = []

    def engine_case(case: Case, scenario: list[str], repeat: int, timeout: float = RUN_TIMEOUT) -> dict:
        log(f"{case.label} ({repeat} run{'s' if repeat > 1 else ''})")
        case.res = measure_repeated([*runner, *scenario], timeout, env, repeat, log)
        cases.append(case)
        return case.res

    m1 = _millions(args.rows)
    with tempfile.TemporaryDirectory() as state_dir:
        paths = [str(base), str(cur), state_dir]
        floor1 = f"floor: {m1} vs {m1}, read + sort/count"
        engine_case(Case(floor1, {}), ["floor", *paths], args.repeat)
        inproc = engine_case(Case(f"engine: {m1} vs {m1}, 1 window", {}, "<= 2.45 s, <= 0.5 GB", 2.45, 512, floor1),
                             ["inprocess", *paths], args.repeat)
        measure([*runner, "store-baseline", *paths], RUN_TIMEOUT, env)
        engine_case(Case(f"engine: {m1} vs {m1}, 1 window, stored baseline", {}, "< 2 s", 2.0, None, floor1),
                    ["stored", *paths], args.repeat)
        engine_case(Case(f"engine: {m1} vs {m1}, 30 daily windows, stored baseline", {}, "< 5 s", 5.0, None, floor1),
                    ["windows30-stored", *paths], args.repeat)
        engine_case(Case(f"engine: {m1} vs {m1}, 30 daily windows", {}, "", None, None, floor1),
                    ["windows30", *paths], args.repeat)
    big_label = None
    for enabled, factor, repeat, target in (
        (not args.skip_10m, 10, args.repeat, "<= 20 s, <= 2 GB"),
        (args.hundred, 100, args.repeat_100m, "completes on 24 GB, <= 10x the 10M time"),
    ):
        if not enabled:
            continue
        n = factor * args.rows
        mm = _millions(n)
        log(f"generating {mm} vs {mm} rows under /tmp if missing (not timed; minutes the first time)")
        b, c = ensure(n)
        try:
            with tempfile.TemporaryDirectory() as state_dir:
                paths = [str(b), str(c), state_dir]
                floor = f"floor: {mm} vs {mm}, read + sort/count"
                engine_case(Case(floor, {}), ["floor", *paths], repeat, 6 * RUN_TIMEOUT)
                label = f"engine: {mm} vs {mm}, 1 window"
                if factor == 10:
                    case = Case(label, {}, target, 20.0, 2048, floor)
                    big_label = label
                else:
                    case = Case(label, {}, target, None, 24 * 1024, floor, (big_label, 10.0) if big_label else None)
                engine_case(case, ["inprocess", *paths], repeat, 6 * RUN_TIMEOUT)
        finally:
            if not args.keep_data:
                remove(n)
                log(f"removed the {mm}-row tables")
    engine_out = inproc.get("output")
    notes: dict[str, str] = {}
    if not args.engine_only:
        for name in [p for p in args.peers.split(",") if p]:
            script, reqs = PEERS[name]
            problem = install_peer(name, reqs, log)
            if problem:
                cases.append(Case(f"peer: {name}, {m1} vs {m1}", {"error": problem}))
                continue
            log(f"peer: {name}")
            res = measure([str(PEERS_DIR / name / "bin" / "python"), str(HERE / "peers" / script), str(base), str(cur)],
                          RUN_TIMEOUT)
            if "output" in res and engine_out:
                notes[name], _ok = agreement(name, res["output"].get("stats", {}), engine_out)
            cases.append(Case(f"peer: {name}, {m1} vs {m1}", res))
    print_table(args.rows, cases, notes, time.perf_counter() - started)
    return 0


def _millions(n: int) -> str:
    return f"{n / 1e6:g}M"


def measure_repeated(cmd: list[str], timeout: float, env: dict, repeat: int, log=None) -> dict:
    """`measure` `repeat` times; the run with the median wall time, with the range of walls."""
    runs = []
    for i in range(max(1, repeat)):
        r = measure(cmd, timeout, env)
        runs.append(r)
        if log:
            what = r.get("error") or f"{r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, {r['peak_mb']:.0f} MB"
            log(f"  run {i + 1}/{max(1, repeat)}: {what} (load average {r.get('load', 0):.1f})")
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    ok.sort(key=lambda r: r["wall"])
    best = dict(ok[len(ok) // 2])
    best["range"] = (ok[0]["wall"], ok[-1]["wall"])
    best["peak_max"] = max(r["peak_mb"] for r in ok)
    best["load"] = sum(r["load"] for r in ok) / len(ok)
    best["n"] = len(ok)
    return best


def _verdict(case: Case, walls: dict[str, float]) -> str:
    """'met' or 'MISSED: ...' against the case's own limits (peak: the largest of its runs)."""
    res = case.res
    if not (case.wall_max or case.peak_max_mb or case.times_of):
        return ""
    missed = []
    peak = res.get("peak_max", res["peak_mb"])
    if case.wall_max is not None and res["wall"] > case.wall_max:
        missed.append(f"wall {res['wall']:.2f} > {case.wall_max:g} s")
    if case.peak_max_mb is not None and peak > case.peak_max_mb:
        missed.append(f"peak {peak:.0f} > {case.peak_max_mb:.0f} MB")
    if case.times_of and case.times_of[0] in walls:
        limit = case.times_of[1] * walls[case.times_of[0]]
        if res["wall"] > limit:
            missed.append(f"wall {res['wall']:.0f} > {limit:.0f} s")
    return "MISSED: " + "; ".join(missed) if missed else "met"


def print_table(n_rows: int, cases: list[Case], notes: dict[str, str], seconds: float) -> None:
    """Markdown table: every run with its median wall time (and range), CPU time, peak RSS and
    load average; engine rows with their target, whether it was met, and their wall time over
    the floor of the same size; ratios to Evidently and the Polars pass (1M rows)."""
    walls = {c.label: c.res.get("wall") for c in cases if "error" not in c.res and "wall" in c.res}
    m1 = _millions(n_rows)
    evidently, polars = walls.get(f"peer: evidently, {m1} vs {m1}"), walls.get(f"peer: polars, {m1} vs {m1}")
    print(f"\nBaseline vs current rows, 15 numeric + 5 categorical; benchmark took {seconds / 60:.1f} min; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| run | wall s (median) | range s | CPU s | peak MB | load avg | target | verdict | / floor | Evidently / this | Polars / this |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
    for c in cases:
        res = c.res
        if "wall" not in res:
            print(f"| {c.label} | - | - | - | - | - | {c.target} | NOT RUN: {res.get('error')} | | | |")
            continue
        lo, hi = res.get("range", (res["wall"], res["wall"]))
        spread = f"{lo:.2f}-{hi:.2f}" if res.get("n", 1) > 1 else "1 run"
        peak = res.get("peak_max", res["peak_mb"])
        verdict = f"FAILED: {res['error']}" if "error" in res else _verdict(c, walls)
        floor = f"{res['wall'] / walls[c.floor]:.1f}x" if c.floor in walls else ""
        same_size = f" {m1} vs {m1}" in c.label  # peers ran on these tables only
        ev = f"{evidently / res['wall']:.1f}x" if evidently and same_size else ""
        po = f"{polars / res['wall']:.2f}x" if polars and same_size else ""
        print(f"| {c.label} | {res['wall']:.2f} | {spread} | {res['cpu']:.2f} | {peak:.0f} | {res.get('load', 0):.1f} "
              f"| {c.target} | {verdict} | {floor} | {ev} | {po} |")
    if notes:
        print("\nAgreement of each peer's statistics with the engine's (under the peer's own convention):")
        for name, note in notes.items():
            print(f"- {name}: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
