"""Using lakemon in another team: the documented example app synthesizes from an installed wheel.

Not from the source tree: the wheel is built, installed into a fresh virtual environment (no
system site packages, no editable install, no PYTHONPATH; the session's `installed` fixture in
conftest.py, shared with the starter test), and the example's code block is run from a scratch
directory outside the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ado_pipeline import REPO, job_steps, load_pipeline, stages, step_script

DOCS_WITH_EXAMPLE = ["docs/using-lakemon.md", "README.md"]
EXAMPLE_BLOCK = re.compile(r"```python\n(?P<code>.*?)```", re.DOTALL)
RUN_TIMEOUT_S = 300

RUNNER = """
import json, runpy, sys
runpy.run_path("app.py", run_name="__main__")
import lakemon, lakemon_jobs
print("LAKEMON-PROBE " + json.dumps({
    "lakemon": lakemon.__file__, "lakemon_jobs": lakemon_jobs.__file__, "sys_path": sys.path,
}))
"""


def example_code(doc: str) -> str | None:
    """The Python code block of `doc` that builds a MonitoredModel (None when it has none)."""
    path = REPO / doc
    if not path.is_file():
        return None
    for match in EXAMPLE_BLOCK.finditer(path.read_text(encoding="utf-8")):
        if "MonitoredModel(" in match["code"] and "app.synth()" in match["code"]:
            return match["code"]
    return None


def clean_environment(scratch: Path, wheel: Path) -> dict[str, str]:
    """Only what an app needs: PATH for node (jsii), HOME, a private TMPDIR, the jobs' wheel."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(scratch)),
        "TMPDIR": str(scratch / "tmp"),
        "LAKEMON_WHEEL": str(wheel),
        "CHECKPOINT_DISABLE": "1",
    }
    (scratch / "tmp").mkdir(exist_ok=True)
    return env


def test_the_venv_is_clean(installed):
    python, _, _ = installed
    config = (python.parent.parent / "pyvenv.cfg").read_text(encoding="utf-8")
    assert re.search(r"include-system-site-packages\s*=\s*false", config)


def test_the_documented_example_is_the_five_line_app():
    code = example_code("docs/using-lakemon.md")
    assert code is not None, "docs/using-lakemon.md lost its example app"
    statements = [
        line for line in code.splitlines() if line.strip() and not line.startswith(("from ", "import "))
    ]
    assert len(statements) <= 5, statements


# docs/using-lakemon.md must hold the example (checked above); the README too when it repeats it.
@pytest.mark.parametrize("doc", [d for d in DOCS_WITH_EXAMPLE if example_code(d)])
def test_example_app_synthesizes_from_the_installed_wheel(doc, installed, tmp_path):
    code = example_code(doc)
    python, wheel, site_packages = installed
    scratch = tmp_path / "team-project"
    scratch.mkdir()
    assert REPO not in scratch.parents
    # The env file is the only thing a team takes from this repository; both spellings work.
    for target in (scratch / "dev.yml", scratch / "envs" / "dev.yml"):
        target.parent.mkdir(exist_ok=True)
        shutil.copy(REPO / "envs" / "dev.yml", target)
    (scratch / "app.py").write_text(code, encoding="utf-8")
    (scratch / "runner.py").write_text(RUNNER, encoding="utf-8")
    # A team's project has node_modules/node from `npm ci` (the starter's package.json pins it):
    # the repository's stands in for it, and PATH keeps whatever Node the machine has.
    (scratch / "node_modules").mkdir()
    (scratch / "node_modules" / "node").symlink_to(REPO / "node_modules" / "node")

    done = subprocess.run(
        [str(python), "-I", "runner.py"],
        cwd=scratch,
        env=clean_environment(scratch, wheel),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, f"the example failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert "end-of-life" not in done.stderr, "the example's use_project_node() did not put cdktf on the project's Node"

    probe = json.loads(done.stdout.split("LAKEMON-PROBE ", 1)[1].splitlines()[0])
    for package in ("lakemon", "lakemon_jobs"):
        assert Path(probe[package]).is_relative_to(site_packages), probe[package]
    assert not any(entry and Path(entry).resolve().is_relative_to(REPO) for entry in probe["sys_path"])

    stacks = sorted((scratch / "cdktf.out" / "stacks").glob("*/cdk.tf.json"))
    assert [p.parent.name for p in stacks] == ["dev"]
    check_synthesized_dev_stack(stacks[0], wheel, forbidden_paths=[scratch, REPO, python.parent.parent])


def check_synthesized_dev_stack(path: Path, wheel: Path, forbidden_paths: list[Path]) -> None:
    text = path.read_text(encoding="utf-8")
    stack = json.loads(text)
    config = yaml.safe_load((REPO / "envs" / "dev.yml").read_text(encoding="utf-8"))
    resources = stack["resource"]

    assert stack["provider"]["databricks"][0]["host"] == config["workspace"]["host"]
    backend = stack["terraform"]["backend"]["azurerm"]
    assert backend["key"] == "lakemon/dev.tfstate"
    assert backend["use_azuread_auth"] is True
    assert backend["storage_account_name"] == config["state"]["storage_account_name"]

    (endpoint,) = resources["databricks_model_serving"].values()
    assert endpoint["name"] == "alive-classifier-dev"
    (registered,) = resources["databricks_registered_model"].values()
    assert (registered["catalog_name"], registered["schema_name"], registered["name"]) == (
        "mlops_dev",
        "marvel_characters",
        "alive_classifier",
    )
    monitors = {
        **resources.get("databricks_quality_monitor", {}),
        **resources.get("databricks_data_quality_monitor", {}),
    }
    assert len(monitors) == 1
    (monitor,) = monitors.values()
    (log_key,) = [k for k, t in resources["databricks_sql_table"].items() if t["name"] == "alive_classifier_inference_log"]
    assert monitor.get("table_name", monitor.get("object_id")) in (
        "mlops_dev.marvel_characters.alive_classifier_inference_log",
        f"${{databricks_sql_table.{log_key}.table_id}}",
    )
    assert resources["databricks_job"], "the training and monitoring jobs are missing"

    # The jobs' wheel is uploaded from the stack's own assets (a relative path), by file name.
    files = resources["databricks_file"].values()
    wheel_files = [f for f in files if f["path"].endswith("/" + wheel.name)]
    assert len(wheel_files) == 1
    assert wheel_files[0]["path"].startswith("/Volumes/mlops_dev/marvel_characters/")
    assert not wheel_files[0]["source"].startswith("/")
    assert (path.parent / wheel_files[0]["source"]).is_file()

    # The pipeline feeds exactly the variables this stack declares (TF_VAR_<name> in diff/deploy).
    deploy_dev = stages(load_pipeline())["deploy_dev"]["jobs"][0]
    for step in job_steps(deploy_dev):
        if re.search(r"cdktf (diff|deploy) ", step_script(step)):
            mapped = {k.removeprefix("TF_VAR_") for k in step.get("env", {}) if k.startswith("TF_VAR_")}
            assert mapped == set(stack.get("variable", {})), step["displayName"]

    # No secret and no local absolute path in the JSON.
    for local in forbidden_paths:
        assert str(local) not in text
    assert "/tmp/" not in text and "/root/" not in text and "/home/" not in text
    assert not re.search(r"dapi[0-9a-f]{32}|hooks\.slack\.com|127\.0\.0\.1", text)
