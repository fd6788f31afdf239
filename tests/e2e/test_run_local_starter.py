"""End to end: `lakemon run-local` in a project written by `lakemon init`, as a team runs it first.

The starter has two stacks (dev, prod) and alert destinations without a local webhook (an email
destination, whose message lands in the outbox, and a webhook that only Databricks notifies).
The run must say what it did in those terms: its synth step names the starter's own stacks, its
closing line names the windows the drift alert's SQL named although no webhook received them,
the summary says which notification went where, and library warnings stay out of the console.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lakemon.starter import write_starter

ROWS_PER_DAY, MARVEL_DAYS, DC_DAYS, BATCH = 250, 2, 2, 25
RUN_TIMEOUT_S = 540


def test_run_local_in_a_starter_project_says_what_it_did(tmp_path):
    team = tmp_path / "team"
    write_starter(team)
    home = tmp_path / "home"
    cmd = [
        str(Path(sys.executable).parent / "lakemon"), "run-local", "--env-file", str(team / "envs" / "dev.yml"),
        "--home", str(home), "--rows-per-day", str(ROWS_PER_DAY), "--marvel-days", str(MARVEL_DAYS),
        "--dc-days", str(DC_DAYS), "--batch-size", str(BATCH),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=team, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout + proc.stderr
    (tmp_path / "run-local.out").write_text(output)
    assert proc.returncode == 0, output[-6000:]

    titles = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert titles[0].startswith("[1/8] Synthesize the dev and prod stacks"), titles
    assert titles[1].startswith("[2/8] Train on the Marvel characters"), titles
    assert not any("aut" in t.split() or "aut," in t for t in titles)

    outcome = json.loads((home / "runs" / "latest" / "outcome.json").read_text())
    dc_days = sorted(d for d, s in outcome["day_sources"].items() if s == "dc")
    assert outcome["alert_destinations"] == 0 and outcome["alerts_received"] == 0  # no local webhook
    assert outcome["alerted_windows"] == [dc_days[-1]]  # what the alert's own SQL named when it fired
    assert f"windows the drift alert's SQL named: {dc_days[-1]} (notifications sent 1 of 2)" in proc.stdout
    assert "ml-platform-dev (email): sent" in proc.stdout and "drift-webhook-dev (webhook): NOT sent" in proc.stdout
    run_root = (home / "runs" / "latest").resolve()
    assert len(list((run_root / "reports" / "outbox").glob("*.eml"))) == 1

    # library warnings (scikit-learn, MLflow) go to the run's log, not the console
    assert "site-packages" not in output and "Warning:" not in output
    assert (run_root / "logs" / "warnings.log").is_file()
