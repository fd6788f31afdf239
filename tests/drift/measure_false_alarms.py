"""Measure analyze-drift's false-alarm and detection rates on real data (not a test; prints a table).

    .venv/bin/python tests/drift/measure_false_alarms.py [draws]

Baseline: the Marvel training split (the model's own split: test_fraction 0.2, seed 42).
No drift: random windows of 300/600/1000 rows from the held-out Marvel rows. Drift: random
windows of DC rows. For each, the share of windows with at least one 'drift' verdict under the
lakemon rule and under the plain rule (raw distance >= threshold and test p < max_pvalue).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scipy_drift_metrics import build_tables  # noqa: E402

from lakemon.config import load_environment  # noqa: E402
from lakemon_jobs.datasets import CATEGORICAL, NUMERIC, load_comic, split_train_test  # noqa: E402
from lakemon_jobs.drift import analyze  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FEATURES = {**{c: "categorical" for c in CATEGORICAL}, **{c: "numeric" for c in NUMERIC}}
START = datetime(2026, 1, 1, tzinfo=UTC)


def env_with_threshold(threshold: float):
    env = load_environment(ROOT / "envs" / "dev.yml")
    drift = env.monitoring.drift.model_copy(update={"threshold": threshold})
    return env.model_copy(update={"monitoring": env.monitoring.model_copy(update={"drift": drift})})


def rates(env, baseline, source, n, draws, seed):
    windows = [source.sample(n, random_state=seed + i) for i in range(draws)]
    drift, profile = build_tables(baseline, windows, FEATURES, START)
    env = env.model_copy(update={"monitoring": env.monitoring.model_copy(update={"drift": env.monitoring.drift.model_copy(update={"lookback_days": draws + 1})})})
    report = analyze(env, env.model(), drift, profile, now=START + timedelta(days=draws))
    d = env.monitoring.drift
    ours, plain, warns = set(), set(), 0
    for j in report.judgements:
        if j.verdict == "drift":
            ours.add(j.window_start)
        warns += j.verdict == "warn"
        if j.value is not None and j.value >= j.threshold and j.test_pvalue is not None and j.test_pvalue < d.max_pvalue:
            plain.add(j.window_start)
    return len(ours) / draws, len(plain) / draws, warns / draws


def main(draws: int) -> None:
    train, held_out = split_train_test(load_comic("marvel"), 0.2, 42)
    dc = load_comic("dc")
    print(f"{draws} windows per cell; share of windows with >= 1 drift verdict (lakemon rule | plain rule), warns/window")
    for threshold in (0.1, 0.05):
        env = env_with_threshold(threshold)
        for n in (300, 600, 1000):
            fa = rates(env, train, held_out, n, draws, 1000)
            det = rates(env, train, dc, n, draws, 5000)
            print(f"threshold {threshold:<5} n={n:<5} Marvel held-out: {fa[0]:.3f} | {fa[1]:.3f}  warns {fa[2]:.2f}"
                  f"   DC: {det[0]:.3f} | {det[1]:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
