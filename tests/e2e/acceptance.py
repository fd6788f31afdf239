"""The rehearsal's acceptance judgement, applied by the end-to-end tests to run-local's outcome.

run-local records what happened in `<run>/outcome.json` (which windows drifted, which the
drift alert named, the retrain's decision); whether that is what production should show is
decided here, not in the loop:

- the Marvel windows (held-out rows of the training publisher) do not drift, the DC windows
  (another publisher) do;
- when a local alert destination is configured, the drift alert (the production SQL on the
  verdicts table) reaches it, never names a Marvel window, and names the newest window, a DC day;
- for a model with `retraining:`, the retrain ran on the confirmed drift (promoted or kept).
"""

from __future__ import annotations

from datetime import date


def rehearsal_deviations(outcome: dict, *, expect_retrain: bool) -> list[str]:
    """Every way the outcome differs from what the rehearsal must show; [] when it passed."""
    sources = {date.fromisoformat(d): s for d, s in outcome["day_sources"].items()}
    judged = {date.fromisoformat(d) for d in outcome["judged_days"]}
    drifted = {date.fromisoformat(d) for d in outcome["drifted"]}
    alerted = {date.fromisoformat(d) for d in outcome["alerted_windows"]}
    marvel = {d for d, s in sources.items() if s == "marvel" and d in judged}
    dc = {d for d, s in sources.items() if s == "dc" and d in judged}
    problems = []
    if not marvel or not dc:
        problems.append(
            f"the first analysis judged {len(marvel)} Marvel and {len(dc)} DC windows; it needs both"
        )
    if marvel & drifted:
        problems.append(f"Marvel windows drifted: {_days(marvel & drifted)}")
    if dc - drifted:
        problems.append(f"DC windows did not drift: {_days(dc - drifted)}")
    if outcome["alert_destinations"]:
        newest = max(judged) if judged else None
        if not outcome["alerts_received"]:
            problems.append("the drift alert did not reach the local webhook receiver")
        if alerted & marvel:
            problems.append(f"alerts named Marvel windows: {_days(alerted & marvel)}")
        if newest in dc and newest not in alerted:
            problems.append(f"the drift alert did not name the newest window, {newest} (DC)")
    retrain = outcome["retrain"]
    if expect_retrain and (retrain is None or retrain["status"] not in ("promoted", "kept")):
        problems.append(
            f"the retrain did not run after the DC days drifted: {retrain and retrain['message']}"
        )
    if not expect_retrain and retrain is not None:
        problems.append(f"a retrain ran for a run without one: {retrain['status']}")
    return problems


def _days(days: set[date]) -> str:
    return ", ".join(map(str, sorted(days)))
