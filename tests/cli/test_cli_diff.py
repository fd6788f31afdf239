"""`lakemon diff <env>`: a config change reviewed offline, in a project written by `lakemon init`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakemon.tooling import quiet_cdktf_environment

REPO = Path(__file__).resolve().parents[2]


def _offline_env() -> dict[str, str]:
    """No Azure or Databricks credentials of any kind, as on a laptop without a login."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_", "DATABRICKS_", "LAKEMON_HOME"))}


def _lakemon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lakemon_jobs.cli", *args], cwd=cwd, env=_offline_env(),
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_diff_shows_what_a_config_change_does_to_the_stack_without_credentials(tmp_path):
    team = tmp_path / "team"
    assert _lakemon("init", str(team), cwd=tmp_path).returncode == 0

    nothing = _lakemon("diff", "dev", cwd=team)
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert nothing.stderr.strip().splitlines() == [
        "lakemon diff: nothing to compare the dev stack with: no tests/stacks/snapshots/dev.json and no "
        "cdktf.out/stacks/dev/cdk.tf.json; run `npx cdktf synth` once before the change (or pass --against FILE)"
    ]

    # the team synthesizes once (what `npx cdktf synth` does), then edits the env file
    env = quiet_cdktf_environment(_offline_env()) | {"CDKTF_OUTDIR": str(team / "cdktf.out")}
    synth = subprocess.run([sys.executable, "app.py"], cwd=team, env=env, capture_output=True, text=True, timeout=300)
    assert synth.returncode == 0, synth.stderr[-3000:]
    last_synth = team / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json"
    before = last_synth.read_text(encoding="utf-8")
    same = _lakemon("diff", "dev", cwd=team)
    assert same.returncode == 0 and same.stdout.strip().endswith("lakemon diff dev: no difference"), same.stderr

    env_file = team / "envs" / "dev.yml"
    text = env_file.read_text(encoding="utf-8")
    assert 'quartz_cron: "0 0 0 * * ?"' in text
    env_file.write_text(text.replace('quartz_cron: "0 0 0 * * ?"', 'quartz_cron: "0 0 6 * * ?"'), encoding="utf-8")
    changed = _lakemon("diff", "dev", "--json", cwd=team)
    assert changed.returncode == 1, changed.stderr
    document = json.loads(changed.stdout)
    assert document["reference"] == str(last_synth) and document["added"] == document["removed"] == []
    paths = {(address.split(".")[0], c["path"], c["before"], c["after"])
             for address, changes in document["changed"].items() for c in changes}  # fmt: skip
    assert paths == {
        ("databricks_job", "schedule.quartz_cron_expression", "0 0 0 * * ?", "0 0 6 * * ?"),
        ("databricks_data_quality_monitor", "data_profiling_config.schedule.quartz_cron_expression", "0 0 0 * * ?",
         "0 0 6 * * ?"),
    }
    assert "~ databricks_data_quality_monitor." in changed.stderr  # the human lines, on stderr with --json
    assert last_synth.read_text(encoding="utf-8") == before, "the diff must not overwrite the project's synth"


def test_diff_in_this_repository_compares_with_the_committed_snapshot():
    done = _lakemon("diff", "prod", cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"vs the committed snapshot {REPO / 'tests' / 'stacks' / 'snapshots' / 'prod.json'}" in done.stdout
