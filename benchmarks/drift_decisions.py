"""Decision benchmark: how often lakemon's drift rule, NannyML's defaults and Evidently's defaults
raise drift on clean windows (false alarms) and on windows with an injected shift (detection).

    .venv/bin/python benchmarks/drift_decisions.py                  # synthetic families + public data
    .venv/bin/python benchmarks/drift_decisions.py --clean 400 --shifted 40 --peer-clean 100 --peer-shifted 10
    .venv/bin/python benchmarks/drift_decisions.py --no-peers       # lakemon only (no peer venvs)

Synthetic part (seeded): one table with a feature per distribution family (normal, lognormal,
zero-inflated, integer-valued, bounded, categorical with 2, 5 and 20 values), a 20,000-row
baseline, and per window size (200 / 1,000 / 5,000 rows) `--clean` windows drawn from the
baseline's distribution and `--shifted` windows per injected shift (one feature changed, the
others clean). lakemon's path is the production one: the monitor engine (`compute_metrics`)
writes the drift and profile metrics of every window, `analyze` (rule `decide`) judges them at
the dev (0.1) and prod (0.05) thresholds. Peers run in their own venvs
(benchmarks/.venv-peers/, as drift_benchmark.py installs them; never in requirements.lock) on
the same windows, with their defaults: NannyML 0.13 `UnivariateDriftCalculator` (Jensen-Shannon,
threshold mean + 3 sd of the reference chunks, chunk size = window size); Evidently 0.7
`DataDriftPreset` (per-column method and threshold chosen by Evidently).

Reported per cell: false alarms on clean windows (share of windows with any `drift` verdict =
alerting; with any `warn` or `drift` = warn), and detection (share of shifted windows whose shifted
feature is `drift`; the peers' own drift flag).

Public part: NannyML's synthetic car-loan dataset, which ships inside the nannyml package
(reference 50,000 rows, analysis 50,000 rows in ten 5,000-row chunks). NannyML's own ranking
tutorial documents four drifted features (repaid_loan_on_prev_car, loan_length, salary_range,
car_value) and three without drift (size_of_downpayment, debt_to_income_ratio, driver_tenure):
https://github.com/NannyML/nannyml/blob/17ca5c29798c805f3bd68f3ac4142ec2aa05c51a/docs/example_notebooks/Tutorial%20-%20Ranking%20-%20Car%20Loan.ipynb
The nannyml venv exports the data to Parquet; lakemon judges each chunk as a window.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from drift_benchmark import PEERS, PEERS_DIR, install_peer  # noqa: E402

from lakemon.config import load_environment  # noqa: E402
from lakemon.config.model import Column  # noqa: E402
from lakemon_jobs.drift import analyze  # noqa: E402
from lakemon_jobs.monitor_engine.engine import compute_metrics  # noqa: E402
from lakemon_jobs.monitor_engine.settings import MonitorSettings  # noqa: E402

BASELINE_ROWS = 20_000
START = datetime(2026, 1, 1, tzinfo=UTC)
SEED = 20_260_301
THRESHOLDS = {"dev": 0.1, "prod": 0.05}


# --- the families and their shifts -----------------------------------------------------------------

def _zipf(k: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** s
    return p / p.sum()


CAT_P = {"cat2": np.array([0.7, 0.3]), "cat5": np.array([0.4, 0.25, 0.15, 0.12, 0.08]), "cat20": _zipf(20)}


def _cat(name: str, rng, n: int, moved: float = 0.0) -> np.ndarray:
    """Category codes as strings; `moved` of all rows go from the most to the second most common."""
    p = CAT_P[name].copy()
    p[0] -= moved
    p[1] += moved
    return np.array([f"{name}_{i:02d}" for i in range(p.shape[0])])[rng.choice(p.shape[0], n, p=p)]


def _zero_inflated(rng, n: int, zeros: float = 0.75) -> np.ndarray:
    return np.where(rng.random(n) < zeros, 0.0, rng.lognormal(3.0, 1.0, n))


def _bounded(rng, n: int, mean: float = 0.7) -> np.ndarray:
    """A score in [0, 1] with about 7% of rows at the cap 1.0."""
    return np.clip(rng.normal(mean, 0.2, n), 0.0, 1.0)


FAMILIES = {
    # name: (config type, clean sampler)
    "normal": ("double", lambda rng, n: rng.normal(0.0, 1.0, n)),
    "lognormal": ("double", lambda rng, n: rng.lognormal(3.0, 1.0, n)),
    "zero_inflated": ("double", _zero_inflated),
    "integer": ("bigint", lambda rng, n: rng.poisson(3.0, n).astype(np.float64)),
    "bounded": ("double", _bounded),
    "cat2": ("string", lambda rng, n: _cat("cat2", rng, n)),
    "cat5": ("string", lambda rng, n: _cat("cat5", rng, n)),
    "cat20": ("string", lambda rng, n: _cat("cat20", rng, n)),
}


def _top_decile_x10(rng, n: int, base: np.ndarray) -> np.ndarray:
    w = rng.lognormal(3.0, 1.0, n)
    return np.where(w > np.quantile(base, 0.9), 10 * w, w)


SHIFTS = {
    # name: (feature, sampler(rng, n, baseline values), in words)
    "normal +0.25 sd": ("normal", lambda rng, n, b: rng.normal(0.25, 1.0, n), "mean shift of 0.25 sd"),
    "normal +0.5 sd": ("normal", lambda rng, n, b: rng.normal(0.5, 1.0, n), "mean shift of 0.5 sd"),
    "lognormal top decile x10": ("lognormal", _top_decile_x10, "tail growth: values above the baseline's 90th percentile x10"),
    "lognormal +0.25 sd (log scale)": ("lognormal", lambda rng, n, b: rng.lognormal(3.25, 1.0, n), "every value x1.28"),
    "zero-inflated zeros -> 1.0": ("zero_inflated", lambda rng, n, b: np.where((w := _zero_inflated(rng, n)) == 0.0, 1.0, w),
                                   "point-mass move: every zero becomes 1.0 (75% of rows)"),
    "zero-inflated zeros 75% -> 65%": ("zero_inflated", lambda rng, n, b: _zero_inflated(rng, n, 0.65),
                                       "point-mass share: 10% of rows leave zero"),
    "integer +0.25 sd": ("integer", lambda rng, n, b: rng.poisson(3.0 + 0.25 * np.sqrt(3.0), n).astype(np.float64),
                         "Poisson mean 3 -> 3.43"),
    "integer +0.2 sd": ("integer", lambda rng, n, b: rng.poisson(3.0 + 0.2 * np.sqrt(3.0), n).astype(np.float64),
                        "Poisson mean 3 -> 3.35"),
    "bounded +0.25 sd": ("bounded", lambda rng, n, b: _bounded(rng, n, 0.75), "mean shift of 0.25 sd (before the cap)"),
    "bounded 10% to the cap": ("bounded", lambda rng, n, b: np.where(rng.random(n) < 0.1, 1.0, _bounded(rng, n)),
                               "10% of rows set to the cap 1.0"),
    "cat2 10% moved": ("cat2", lambda rng, n, b: _cat("cat2", rng, n, 0.10), "10% of rows move between the two values"),
    "cat5 10% moved": ("cat5", lambda rng, n, b: _cat("cat5", rng, n, 0.10), "10% of rows move from the 1st to the 2nd value"),
    "cat5 5% moved": ("cat5", lambda rng, n, b: _cat("cat5", rng, n, 0.05), "5% of rows move"),
    "cat20 10% moved": ("cat20", lambda rng, n, b: _cat("cat20", rng, n, 0.10), "10% of rows move from the 1st to the 2nd value"),
    "cat20 5% moved": ("cat20", lambda rng, n, b: _cat("cat20", rng, n, 0.05), "5% of rows move"),
}


def make_windows(size: int, clean: int, shifted: int, rng) -> tuple[pd.DataFrame, list[pd.DataFrame], list[str | None]]:
    """(baseline, windows, label per window: None for clean, else the shift's name)."""
    baseline = pd.DataFrame({name: make(rng, BASELINE_ROWS) for name, (_, make) in FAMILIES.items()})
    windows, labels = [], []
    for _ in range(clean):
        windows.append(pd.DataFrame({name: make(rng, size) for name, (_, make) in FAMILIES.items()}))
        labels.append(None)
    for shift, (feature, sample, _) in SHIFTS.items():
        for _ in range(shifted):
            w = pd.DataFrame({name: make(rng, size) for name, (_, make) in FAMILIES.items()})
            w[feature] = sample(rng, size, baseline[feature].to_numpy())
            windows.append(w)
            labels.append(shift)
    return baseline, windows, labels


# --- lakemon -----------------------------------------------------------------------------------------

def lakemon_env(threshold: float, windows: int, types: dict[str, str]):
    env = load_environment(ROOT / "envs" / "dev.yml")
    drift = env.monitoring.drift.model_copy(update={"threshold": threshold, "lookback_days": windows + 2})
    env = env.model_copy(update={"monitoring": env.monitoring.model_copy(update={"drift": drift})})
    base_model = env.model()
    model = base_model.model_copy(update={"features": tuple(Column(name=n, type=t) for n, t in types.items())})
    return env, model


def lakemon_verdicts(baseline: pd.DataFrame, windows: list[pd.DataFrame], types: dict[str, str]) -> dict[str, list[dict]]:
    """Per threshold name: one {feature: verdict} per window, through the engine and `analyze`."""
    env, model = lakemon_env(0.1, len(windows), types)
    t0 = int(START.timestamp() * 1_000_000)
    day = 86_400_000_000
    frame = pd.concat(windows, ignore_index=True)
    stamps = np.concatenate([np.full(len(w), t0 + i * day + 3_600_000_000) for i, w in enumerate(windows)])

    def table(df: pd.DataFrame, with_time: bool) -> pa.Table:
        arrow_type = {"string": pa.string(), "bigint": pa.int64()}
        cols = {n: pa.array(df[n].to_numpy(), pa.string()) if types[n] == "string" else
                pa.array(df[n].to_numpy(np.float64).astype(np.int64) if types[n] == "bigint" else df[n].to_numpy(np.float64),
                         arrow_type.get(types[n], pa.float64())) for n in types}
        cols[model.model_id_column] = pa.array(["1"] * len(df))
        if with_time:
            cols[model.timestamp_column] = pa.array(stamps, pa.timestamp("us", tz="UTC"))
        return pa.table(cols)

    settings = replace(MonitorSettings.from_config(env, model), slicing_exprs=())
    profile, drift = compute_metrics(table(frame, True), table(baseline, False), settings)
    out = {}
    for name, threshold in THRESHOLDS.items():
        env, model = lakemon_env(threshold, len(windows), types)
        report = analyze(env, model, drift, profile, now=START + timedelta(days=len(windows)))
        per_window: list[dict] = [{} for _ in windows]
        for j in report.judgements:
            per_window[(j.window_start - START).days][j.feature] = str(j.verdict)
        out[name] = per_window
    return out


# --- peers -------------------------------------------------------------------------------------------

PEER_SCRIPTS = {"nannyml": "nannyml_decisions.py", "evidently": "evidently_decisions.py"}


def run_peer(name: str, folder: Path, size: int, categorical: list[str], log) -> list[dict] | str:
    """Per window {feature: flagged}, or the reason the peer did not run."""
    reason = install_peer(name, PEERS[name][1], log)
    if reason:
        return reason
    python = PEERS_DIR / name / "bin" / "python"
    cmd = [str(python), str(HERE / "peers" / PEER_SCRIPTS[name]), str(folder), str(size), ",".join(categorical)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:200]
    return json.loads(proc.stdout.strip().splitlines()[-1])["flags"]


# --- tables ------------------------------------------------------------------------------------------

def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def rates(flags: list[dict], labels: list[str | None], alert) -> tuple[float, dict[str, float]]:
    """(share of clean windows with any alert, {shift: share of its windows whose feature alerts})."""
    clean = [f for f, lab in zip(flags, labels, strict=True) if lab is None]
    false_alarm = sum(any(alert(v) for v in f.values()) for f in clean) / max(1, len(clean))
    detection = {}
    for shift, (feature, _, _) in SHIFTS.items():
        hit = [alert(f.get(feature)) for f, lab in zip(flags, labels, strict=True) if lab == shift]
        detection[shift] = sum(hit) / max(1, len(hit))
    return false_alarm, detection


def per_feature_false_alarms(flags: list[dict], labels: list[str | None], alert) -> dict[str, float]:
    clean = [f for f, lab in zip(flags, labels, strict=True) if lab is None]
    return {feat: sum(alert(f.get(feat)) for f in clean) / max(1, len(clean)) for feat in FAMILIES}


def synthetic(args, log) -> str:
    rng = np.random.default_rng(SEED)
    types = {n: t for n, (t, _) in FAMILIES.items()}
    categorical = [n for n, t in types.items() if t == "string"]
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for size in sizes:
        baseline, windows, labels = make_windows(size, args.clean, args.shifted, rng)
        t = time.perf_counter()
        ours = lakemon_verdicts(baseline, windows, types)
        log(f"{size} rows: lakemon judged {len(windows)} windows in {time.perf_counter() - t:.0f} s")
        peers: dict[str, list[dict] | str] = {}
        # the peers see a subset of the same windows (Evidently takes about 2 s per window)
        seen: dict[str | None, int] = {}
        subset = []
        for i, lab in enumerate(labels):
            limit = args.peer_clean if lab is None else args.peer_shifted
            if seen.get(lab, 0) < limit:
                seen[lab] = seen.get(lab, 0) + 1
                subset.append(i)
        if args.peers:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                baseline.to_parquet(folder / "baseline.parquet")
                pd.concat([windows[i] for i in subset], ignore_index=True).to_parquet(folder / "windows.parquet")
                for peer in PEER_SCRIPTS:
                    t = time.perf_counter()
                    peers[peer] = run_peer(peer, folder, size, categorical, log)
                    log(f"{size} rows: {peer} judged {len(subset)} windows in {time.perf_counter() - t:.0f} s")
        results[size] = (ours, peers, labels, [labels[i] for i in subset])

    columns = [("lakemon dev drift", "dev", lambda v: v == "drift"), ("lakemon dev warn", "dev", lambda v: v in ("warn", "drift")),
               ("lakemon prod drift", "prod", lambda v: v == "drift"), ("lakemon prod warn", "prod", lambda v: v in ("warn", "drift"))]
    peer_cols = [("NannyML", "nannyml"), ("Evidently", "evidently")]
    lines = ["### Clean windows: share with a false alarm (any feature)", "",
             "| rows | clean windows (lakemon / peers) | " + " | ".join(c[0] for c in columns) + " | NannyML | Evidently |",
             "|---:|---:|" + "---:|" * (len(columns) + 2)]
    detect_rows: dict[str, list[str]] = {s: [] for s in SHIFTS}
    feature_rows: dict[str, list[str]] = {f: [] for f in FAMILIES}
    for size, (ours, peers, labels, peer_labels) in results.items():
        cells = []
        for _, key, alert in columns:
            cells.append(pct(rates(ours[key], labels, alert)[0]))
        for _, peer in peer_cols:
            flags = peers.get(peer)
            cells.append(pct(rates(flags, peer_labels, bool)[0]) if isinstance(flags, list) else f"NOT RUN ({flags})")
        lines.append(f"| {size} | {labels.count(None)} / {peer_labels.count(None)} | " + " | ".join(cells) + " |")
        for shift in SHIFTS:
            cell = [pct(rates(ours[k], labels, lambda v: v == "drift")[1][shift]) for k in ("dev", "prod")]
            for _, peer in peer_cols:
                flags = peers.get(peer)
                cell.append(pct(rates(flags, peer_labels, bool)[1][shift]) if isinstance(flags, list) else "n/a")
            detect_rows[shift].append(" / ".join(cell))
        dev_drift = per_feature_false_alarms(ours["dev"], labels, lambda v: v == "drift")
        dev_warn = per_feature_false_alarms(ours["dev"], labels, lambda v: v in ("warn", "drift"))
        prod_drift = per_feature_false_alarms(ours["prod"], labels, lambda v: v == "drift")
        prod_warn = per_feature_false_alarms(ours["prod"], labels, lambda v: v in ("warn", "drift"))
        peer_feat = {p: per_feature_false_alarms(peers[p], peer_labels, bool) if isinstance(peers.get(p), list) else None
                     for _, p in peer_cols}
        for f in FAMILIES:
            cell = [pct(dev_drift[f]), pct(dev_warn[f]), pct(prod_drift[f]), pct(prod_warn[f])]
            cell += [pct(peer_feat[p][f]) if peer_feat[p] else "n/a" for _, p in peer_cols]
            feature_rows[f].append(" / ".join(cell))
    size_head = " | ".join(f"{s} rows" for s in results)
    lines += ["", "### Clean windows per feature: dev drift / dev warn / prod drift / prod warn / NannyML / Evidently", "",
              f"| feature | {size_head} |", "|---|" + "---|" * len(results)]
    lines += [f"| {f} | " + " | ".join(cells) + " |" for f, cells in feature_rows.items()]
    lines += ["", "### Detection: share of shifted windows whose shifted feature is flagged: "
              "lakemon dev (0.1) / lakemon prod (0.05) / NannyML / Evidently", "",
              f"| shift | what changed | {size_head} |", "|---|---|" + "---|" * len(results)]
    lines += [f"| {s} | {SHIFTS[s][2]} | " + " | ".join(cells) + " |" for s, cells in detect_rows.items()]
    return "\n".join(lines)


# --- public dataset ----------------------------------------------------------------------------------

CAR_LOAN_DRIFTED = ["repaid_loan_on_prev_car", "loan_length", "salary_range", "car_value"]
CAR_LOAN_STABLE = ["size_of_downpayment", "debt_to_income_ratio", "driver_tenure"]
CAR_LOAN_TYPES = {"car_value": "double", "salary_range": "string", "debt_to_income_ratio": "double",
                  "loan_length": "double", "repaid_loan_on_prev_car": "string", "size_of_downpayment": "string",
                  "driver_tenure": "double"}
CHUNK = 5000


def public(args, log) -> str:
    reason = install_peer("nannyml", PEERS["nannyml"][1], log)
    if reason:
        return f"Public dataset NOT RUN: {reason}"
    categorical = [n for n, t in CAR_LOAN_TYPES.items() if t == "string"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = ("import nannyml as nml, sys\n"
                  "ref, ana, _ = nml.load_synthetic_car_loan_dataset()\n"
                  f"cols = {list(CAR_LOAN_TYPES)!r}\n"
                  f"cat = {categorical!r}\n"
                  "for df, name in ((ref, 'baseline'), (ana, 'windows')):\n"
                  "    out = df[cols].copy()\n"
                  "    for c in cat: out[c] = out[c].astype(str)\n"
                  "    out.to_parquet(sys.argv[1] + '/' + name + '.parquet')\n")
        subprocess.run([str(PEERS_DIR / "nannyml" / "bin" / "python"), "-c", export, str(folder)], check=True, timeout=600)
        baseline = pd.read_parquet(folder / "baseline.parquet")
        analysis = pd.read_parquet(folder / "windows.parquet")
        windows = [analysis.iloc[i:i + CHUNK].reset_index(drop=True) for i in range(0, len(analysis), CHUNK)]
        ours = lakemon_verdicts(baseline, windows, CAR_LOAN_TYPES)
        peers = {}
        if args.peers:
            for peer in PEER_SCRIPTS:
                peers[peer] = run_peer(peer, folder, CHUNK, categorical, log)
    lines = [f"### NannyML synthetic car loan (ships in nannyml 0.13): reference {len(baseline):,} rows, "
             f"analysis in {len(windows)} chunks of {CHUNK:,}", "",
             "Chunks flagged per feature (of 10): lakemon dev drift / lakemon prod drift / NannyML / Evidently; "
             "NannyML's docs: drifted = documented as drifted.", "",
             "| feature | documented | lakemon dev | lakemon prod | NannyML | Evidently | lakemon dev: flagged chunks |",
             "|---|---|---:|---:|---:|---:|---|"]
    for f in CAR_LOAN_DRIFTED + CAR_LOAN_STABLE:
        dev = [i for i, w in enumerate(ours["dev"]) if w.get(f) == "drift"]
        prod = sum(w.get(f) == "drift" for w in ours["prod"])
        cells = []
        for peer in PEER_SCRIPTS:
            flags = peers.get(peer)
            cells.append(str(sum(bool(w.get(f)) for w in flags)) if isinstance(flags, list) else "n/a")
        lines.append(f"| {f} | {'drifted' if f in CAR_LOAN_DRIFTED else 'no drift'} | {len(dev)} | {prod} | "
                     + " | ".join(cells) + f" | {','.join(map(str, dev)) or '-'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200,1000,5000")
    ap.add_argument("--clean", type=int, default=400, help="clean windows per size")
    ap.add_argument("--shifted", type=int, default=40, help="windows per shift and size")
    ap.add_argument("--peer-clean", type=int, default=100, help="of those clean windows, how many the peers judge")
    ap.add_argument("--peer-shifted", type=int, default=10, help="of those shifted windows, how many the peers judge")
    ap.add_argument("--no-peers", dest="peers", action="store_false")
    ap.add_argument("--no-public", dest="public", action="store_false")
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(f"[decisions] {msg}", file=sys.stderr, flush=True)

    t = time.perf_counter()
    out = [f"Command: `.venv/bin/python benchmarks/drift_decisions.py --sizes {args.sizes} --clean {args.clean} "
           f"--shifted {args.shifted} --peer-clean {args.peer_clean} --peer-shifted {args.peer_shifted}"
           f"{'' if args.peers else ' --no-peers'}`, seed {SEED}, baseline {BASELINE_ROWS:,} rows", ""]
    out.append(synthetic(args, log))
    if args.public:
        out += ["", public(args, log)]
    out += ["", f"({time.perf_counter() - t:.0f} s, load average {os.getloadavg()[0]:.1f})"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
