"""From an installed wheel, with no clone, `lakemon init` starts a project that `cdktf synth`
turns into complete stacks whose jobs install exactly the release wheel the team installed.

The session's venv (conftest.py) has `lakemon[jobs]` installed from the built wheel, outside the
repository. The test runs the venv's `lakemon init` in an empty temporary folder, puts that
wheel into the project's `wheels/` (docs/using-lakemon.md), then runs the pinned cdktf CLI
(`cdktf synth`, this repository's node_modules and Node 22: the project's own `npm install`
fetches the same pinned versions) with the venv first on PATH, as a team would after `pip
install -r requirements.txt`. No LAKEMON_WHEEL, no source tree. The documented commands
themselves, npm install included, run in tests/delivery/test_delivery_empty_folder.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ado_pipeline import REPO

SYNTH_TIMEOUT_S = 300
CDKTF = REPO / "node_modules" / ".bin" / "cdktf"


def team_environment(python: Path, scratch: Path) -> dict[str, str]:
    """What a team's shell has: the venv first on PATH (`python` is the venv's), node, HOME."""
    node_dirs = os.pathsep.join([str(REPO / "node_modules" / "node" / "bin"), os.environ.get("PATH", "/usr/bin:/bin")])
    tmp = scratch / "tmp"
    tmp.mkdir(exist_ok=True)
    tf_config = scratch / "terraformrc"
    tf_config.write_text("", encoding="utf-8")
    return {
        "PATH": f"{python.parent}{os.pathsep}{node_dirs}",
        "HOME": os.environ.get("HOME", str(scratch)),
        "TMPDIR": str(tmp),
        "VIRTUAL_ENV": str(python.parent.parent),
        "CHECKPOINT_DISABLE": "1",  # as the starter's next steps and the README say
        "TF_CLI_CONFIG_FILE": str(tf_config),
    }


@pytest.fixture(scope="module")
def starter(installed, tmp_path_factory):
    python, wheel, site_packages = installed
    scratch = tmp_path_factory.mktemp("team-starter")
    assert REPO not in scratch.parents
    project = scratch / "team-project"
    env = team_environment(python, scratch)
    done = subprocess.run(
        [str(python.parent / "lakemon"), "init", str(project)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"wheels/{wheel.name} is not there yet" in done.stdout
    (project / "wheels").mkdir()
    shutil.copy2(wheel, project / "wheels" / wheel.name)
    return project, env, site_packages


def copy_project(project: Path, target: Path) -> None:
    (target / "envs").mkdir(parents=True)
    for name in ("app.py", "cdktf.json"):
        (target / name).write_text((project / name).read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copytree(project / "wheels", target / "wheels")


def cdktf_synth(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert CDKTF.exists(), "run `bash .ci/setup` (npm ci installs the pinned cdktf-cli)"
    return subprocess.run(
        [str(CDKTF), "synth"], cwd=project, env=env, capture_output=True, text=True, timeout=SYNTH_TIMEOUT_S
    )


def test_the_starter_synthesizes_complete_stacks_whose_jobs_install_the_project_wheel(starter):
    project, env, site_packages = starter
    probe = subprocess.run(
        ["python", "-c", "import lakemon, lakemon_jobs, sys; print(lakemon.__file__); print(lakemon_jobs.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert all(Path(line).is_relative_to(site_packages) for line in probe.stdout.split()), probe.stdout

    done = cdktf_synth(project, env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # quiet tooling: no Node end-of-life box, no telemetry lookup, no traceback
    for noise in ("end-of-life", "!!!!!!!!", "getaddrinfo", "checkpoint-api", "Traceback"):
        assert noise not in output, noise

    stacks = {p.parent.name: json.loads(p.read_text()) for p in (project / "cdktf.out" / "stacks").glob("*/cdk.tf.json")}
    assert sorted(stacks) == ["dev", "prod"]
    counts = {name: sum(len(r) for r in stack["resource"].values()) for name, stack in stacks.items()}
    print(f"resources per stack: {counts}")
    assert sum(counts.values()) >= 22
    (wheel,) = (project / "wheels").iterdir()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    assert wheel.name == f"lakemon-{lakemon_version(env)}-py3-none-any.whl"
    for name, stack in stacks.items():
        resources = stack["resource"]
        # the full set a served model needs (same kinds as this repository's own stacks)
        assert {
            "databricks_schema", "databricks_volume", "databricks_registered_model", "databricks_model_serving",
            "databricks_sql_table", "databricks_data_quality_monitor", "databricks_alert_v2",
            "databricks_notification_destination", "databricks_job", "databricks_permissions", "databricks_grants",
        } <= set(resources), name
        assert counts[name] >= 21, (name, counts[name])
        uploaded = f"/Volumes/ml_{name}/my_models/artifacts/wheels/{digest}/{wheel.name}"
        for job in resources["databricks_job"].values():
            assert job["environment"][0]["spec"]["dependencies"] == [uploaded + "[jobs]"]
        files = sorted(f["path"] for f in resources["databricks_file"].values())
        assert files == sorted([f"/Volumes/ml_{name}/my_models/artifacts/envs/{name}.yml", uploaded]), files
        assert stack["output"]["lakemon_version"]["value"] == lakemon_version(env)
        assert stack["terraform"]["backend"] == {"local": {"path": "terraform.tfstate"}}
        text = json.dumps(stack)
        assert str(project) not in text and "/tmp/" not in text and str(REPO) not in text
    assert "prevent_destroy" in json.dumps(stacks["prod"]) and "prevent_destroy" not in json.dumps(stacks["dev"])


def test_a_policy_finding_through_cdktf_synth_is_one_block_without_a_stack_trace(starter, tmp_path):
    project, env, _ = starter
    broken = tmp_path / "broken"
    copy_project(project, broken)
    text = (project / "envs" / "dev.yml").read_text(encoding="utf-8")
    text = re.sub(r"^  recipients: .*\n", "", text, flags=re.MULTILINE)
    (broken / "envs" / "dev.yml").write_text(text, encoding="utf-8")
    done = cdktf_synth(broken, env)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "lakemon policy: 1 finding stop" in output
    assert "LM-MON-1 monitor-failure-notifications" in output
    assert "at:      dev/alive-classifier/monitor/monitor [databricks_data_quality_monitor]" in output
    assert "alerts.recipients" in output
    for noise in ("Traceback", "JavaScriptError", "jsii", "at KernelHost", "end-of-life"):
        assert noise not in output, noise


def test_a_config_error_through_cdktf_synth_names_file_and_key_without_a_stack_trace(starter, tmp_path):
    project, env, _ = starter
    broken = tmp_path / "broken"
    copy_project(project, broken)
    text = (project / "envs" / "dev.yml").read_text(encoding="utf-8").replace("workload_size: Small", "workload_size: Huge")
    (broken / "envs" / "dev.yml").write_text(text, encoding="utf-8")
    done = cdktf_synth(broken, env)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "lakemon: configuration error:" in output and "dev.yml: serving.workload_size:" in output
    assert "Traceback" not in output and "jsii" not in output


def lakemon_version(env: dict[str, str]) -> str:
    done = subprocess.run(["lakemon", "--version"], env=env, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.split()[1]


def test_without_the_wheel_or_an_index_synth_refuses_naming_the_key(starter, tmp_path):
    """A bare `lakemon` requirement would install whatever the workspace's default index calls
    lakemon: synth stops with one message that names `jobs.package_index` and the wheel."""
    project, env, _ = starter
    bare = tmp_path / "bare"
    copy_project(project, bare)
    shutil.rmtree(bare / "wheels")
    (bare / "envs" / "dev.yml").write_text((project / "envs" / "dev.yml").read_text(encoding="utf-8"), encoding="utf-8")
    done = cdktf_synth(bare, env)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "`jobs.package_index`" in output and "wheels/lakemon-" in output
    for noise in ("Traceback", "JavaScriptError", "at KernelHost"):
        assert noise not in output, noise
