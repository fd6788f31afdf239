"""Measure false alarms and detection on the production path (not a test; prints a table).

    .venv/bin/python tests/drift/measure_false_alarms.py [draws]

Baseline: the Marvel training split (the model's own split: test_fraction 0.2, seed 42).
No drift: random windows of 300/600/1000 rows from the held-out Marvel rows. Drift: random
windows of DC rows. The windows are laid out one per day; analyze-drift's rule judges them and
writes the verdicts table (LocalEngine, a temporary folder); then the DriftAlert's own query
(`lakemon.alerting.drift_alert_spec`, the text the stack deploys) is replayed on that table right
after each window, transpiled to DuckDB by SQLGlot, with the alert's evaluation. Per cell:
- alert: share of windows for which the production alert fires;
- lakemon: share of windows with at least one `drift` verdict (must equal the alert column);
- plain: the rule without calibration and Bonferroni (raw distance >= threshold and test p <
  max_pvalue), which is what the alert SQL computed before it read verdicts;
- warns: `warn` verdicts per window.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scipy_drift_metrics import build_tables  # noqa: E402

from lakemon.alerting import drift_alert_spec  # noqa: E402
from lakemon.config import load_environment  # noqa: E402
from lakemon.contract.tables import ModelTables  # noqa: E402
from lakemon_jobs.datasets import CATEGORICAL, NUMERIC, load_comic, split_train_test  # noqa: E402
from lakemon_jobs.drift import analyze, write_verdicts  # noqa: E402
from lakemon_jobs.drift.alerts import evaluate_alert  # noqa: E402
from lakemon_jobs.local.runtime import LocalRuntime  # noqa: E402
from lakemon_jobs.table_engines.local import LocalEngine  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FEATURES = {**{c: "categorical" for c in CATEGORICAL}, **{c: "numeric" for c in NUMERIC}}
START = datetime(2026, 1, 1, tzinfo=UTC)


def env_with(threshold: float, lookback_days: int):
    env = load_environment(ROOT / "envs" / "dev.yml")
    drift = env.monitoring.drift.model_copy(update={"threshold": threshold, "lookback_days": lookback_days})
    return env.model_copy(update={"monitoring": env.monitoring.model_copy(update={"drift": drift})})


def rates(threshold, baseline, source, n, draws, seed) -> dict[str, float]:
    env = env_with(threshold, draws + 1)
    windows = [source.sample(n, random_state=seed + i) for i in range(draws)]
    drift, profile = build_tables(baseline, windows, FEATURES, START)
    report = analyze(env, env.model(), drift, profile, now=START + timedelta(days=draws))
    d = env.monitoring.drift
    ours, plain, warns = set(), set(), 0
    for j in report.judgements:
        if j.verdict == "drift":
            ours.add(j.window_start)
        warns += j.verdict == "warn"
        # the configured statistic's own raw value (signals[0]), also where a guard decided
        raw, threshold = (j.signals[0].value, j.signals[0].threshold) if j.signals else (j.value, j.threshold)
        if raw is not None and raw >= threshold and j.test_pvalue is not None and j.test_pvalue < d.max_pvalue:
            plain.add(j.window_start)
    with tempfile.TemporaryDirectory() as home:
        engine = LocalEngine(LocalRuntime(Path(home)))
        write_verdicts(engine, ModelTables(env, env.model()), report, "measure")
        spec = drift_alert_spec(env, env.model())
        starts = [START + timedelta(days=i) for i in range(draws)]
        fired = {s for s in starts if evaluate_alert(engine, spec, as_of_window=s).fired}
    if fired != ours:
        raise AssertionError(f"the alert fired for {len(fired)} windows, the rule judged {len(ours)} drift")
    return {"alert": len(fired) / draws, "lakemon": len(ours) / draws, "plain": len(plain) / draws,
            "warns": warns / draws}


def main(draws: int) -> None:
    train, held_out = split_train_test(load_comic("marvel"), 0.2, 42)
    dc = load_comic("dc")
    t0 = time.perf_counter()
    print(f"{draws} windows per cell; share of windows: production alert fires | rule judged drift | plain rule; "
          "warns per Marvel window")
    print("| threshold | rows per window | Marvel: alert | Marvel: lakemon | Marvel: plain | warns per Marvel window "
          "(of 8) | DC: alert | DC: lakemon | DC: plain |")
    print("|---|---|---|---|---|---|---|---|---|")
    for threshold in (0.1, 0.05):
        for n in (300, 600, 1000):
            fa = rates(threshold, train, held_out, n, draws, 1000)
            det = rates(threshold, train, dc, n, draws, 5000)
            print(f"| {threshold} | {n} | {fa['alert']:.3f} | {fa['lakemon']:.3f} | {fa['plain']:.3f} | "
                  f"{fa['warns']:.2f} | {det['alert']:.3f} | {det['lakemon']:.3f} | {det['plain']:.3f} |", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
