"""The rehearsal's acceptance judgement (acceptance.py) on hand-made outcomes: it passes the run
the rehearsal must produce and names each way a run can differ from it."""

from __future__ import annotations

import copy

import pytest
from acceptance import rehearsal_deviations

GOOD = {
    "day_sources": {"2026-11-20": "marvel", "2026-11-21": "marvel", "2026-11-22": "dc", "2026-11-23": "dc"},
    "judged_days": ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"],
    "drifted": {"2026-11-22": ["align", "hair"], "2026-11-23": ["year"]},
    "alerted_windows": ["2026-11-23"],
    "alerts_received": 1,
    "alert_destinations": 1,
    "retrain": {"status": "promoted", "message": "v2 promoted"},
}


def _with(**changes) -> dict:
    outcome = copy.deepcopy(GOOD)
    outcome.update(changes)
    return outcome


def test_the_run_the_rehearsal_must_produce_passes():
    assert rehearsal_deviations(GOOD, expect_retrain=True) == []
    assert rehearsal_deviations(_with(retrain={"status": "kept", "message": ""}), expect_retrain=True) == []
    assert rehearsal_deviations(_with(retrain=None), expect_retrain=False) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"drifted": {**GOOD["drifted"], "2026-11-20": ["id"]}}, "Marvel windows drifted: 2026-11-20"),
        ({"drifted": {"2026-11-23": ["year"]}}, "DC windows did not drift: 2026-11-22"),
        ({"alerted_windows": ["2026-11-21", "2026-11-23"]}, "alerts named Marvel windows: 2026-11-21"),
        (
            {"alerted_windows": ["2026-11-22"]},
            "the drift alert did not name the newest window, 2026-11-23 (DC)",
        ),
        (
            {"retrain": {"status": "no_drift", "message": "no drift"}},
            "the retrain did not run after the DC days drifted: no drift",
        ),
        (
            {"judged_days": ["2026-11-22", "2026-11-23"]},
            "the first analysis judged 0 Marvel and 2 DC windows; it needs both",
        ),
    ],
)
def test_each_deviation_is_named(changes, expected):
    assert rehearsal_deviations(_with(**changes), expect_retrain=True) == [expected]


def test_no_alert_at_all_is_named_with_the_window_it_should_have_named():
    assert rehearsal_deviations(_with(alerts_received=0, alerted_windows=[]), expect_retrain=True) == [
        "the drift alert did not reach the local webhook receiver",
        "the drift alert did not name the newest window, 2026-11-23 (DC)",
    ]


def test_alerts_are_judged_only_when_a_local_destination_is_configured():
    quiet = _with(alert_destinations=0, alerts_received=0, alerted_windows=[])
    assert rehearsal_deviations(quiet, expect_retrain=True) == []


def test_a_retrain_where_none_is_expected_is_a_deviation():
    assert rehearsal_deviations(GOOD, expect_retrain=False) == [
        "a retrain ran for a run without one: promoted"
    ]
