"""The documented install, run as written from an empty folder with no clone on any path.

docs/using-lakemon.md's block marked `empty-folder-install` is extracted and run by bash in an
empty temporary folder. `LAKEMON_WHEELS`, the block's one input, is a folder holding only the
wheel built by the pipeline's own build command (wheel_build.py): the stand-in for the release
run's `wheel` artifact or the feed. The shell has the machine's tools (python3, npm, terraform)
and nothing of this repository: no venv of ours, no node_modules of ours, no PYTHONPATH. So pip
resolves lakemon's dependencies from the index, npm installs the project's pinned cdktf-cli and
Node 22, and `cdktf synth` runs the project's app with the installed lakemon.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

from ado_pipeline import REPO

DOC = REPO / "docs" / "using-lakemon.md"
MARKER = "<!-- empty-folder-install:"
RUN_TIMEOUT_S = 1200


def documented_block() -> str:
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index(MARKER):]
    found = re.search(r"^```bash\n(?P<body>.*?)^```", after, re.MULTILINE | re.DOTALL)
    assert found, f"no bash block after {MARKER} in {DOC}"
    return found["body"]


def outside_the_repository(path: str) -> str:
    """PATH without any folder of this repository (its venv, its node_modules)."""
    return os.pathsep.join(p for p in path.split(os.pathsep) if p and not Path(p).resolve().is_relative_to(REPO))


def test_the_documented_commands_install_init_doctor_and_synth_from_an_empty_folder(built_wheel, tmp_path):
    feed = built_wheel.parent
    assert [p.name for p in feed.glob("*.whl")] == [built_wheel.name]  # the build also leaves a .gitignore
    empty = tmp_path / "team"
    empty.mkdir()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    (tmp_path / "terraformrc").write_text("", encoding="utf-8")
    env = {
        "PATH": outside_the_repository(os.environ.get("PATH", "/usr/bin:/bin")),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "TMPDIR": str(scratch),
        "LAKEMON_WHEELS": str(feed),
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for name in ("UV_CACHE_DIR", "npm_config_cache", "PIP_CACHE_DIR", "XDG_CACHE_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    script = "set -euo pipefail\n" + documented_block()
    done = subprocess.run(
        ["bash", "-c", script], cwd=empty, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    for noise in ("end-of-life", "Traceback", "getaddrinfo"):
        assert noise not in output, noise

    project = empty / "my-models"
    version = built_wheel.name.split("-")[1]
    assert f"lakemon {version}" in done.stdout  # `lakemon --version`: the release that was installed
    assert "lakemon doctor: everything needed is in place" in done.stdout
    assert f"ok  jobs artifact (dev.yml): the jobs install wheels/{built_wheel.name}" in done.stdout
    site = project / ".venv" / "lib"
    probe = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", "import lakemon, lakemon_jobs; print(lakemon.__file__, lakemon_jobs.__file__)"],
        capture_output=True, text=True, timeout=120, env=env, cwd=project, check=True,
    )  # fmt: skip
    assert all(Path(p).is_relative_to(site) for p in probe.stdout.split()), probe.stdout

    # requirements.txt names the very wheel in wheels/ (with [jobs]); pip accepts it as written
    requirement = [line for line in (project / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert requirement == [f"./wheels/{built_wheel.name}[jobs]"]
    dry = subprocess.run(
        [str(project / ".venv" / "bin" / "pip"), "install", "--dry-run", "--no-deps", "-r", "requirements.txt"],
        capture_output=True, text=True, timeout=300, env=env, cwd=project,
    )  # fmt: skip
    assert dry.returncode == 0 and f"lakemon-{version}" in dry.stdout, dry.stdout + dry.stderr

    # the synthesized jobs name the exact artifact: the wheel's version and its content hash
    digest = hashlib.sha256(built_wheel.read_bytes()).hexdigest()[:16]
    stacks = {p.parent.name: json.loads(p.read_text()) for p in (project / "cdktf.out" / "stacks").glob("*/cdk.tf.json")}
    assert sorted(stacks) == ["dev", "prod"]
    for stack in stacks.values():
        assert stack["output"]["lakemon_version"]["value"] == version
        jobs = stack["resource"]["databricks_job"].values()
        assert jobs
        for job in jobs:
            (dependency,) = job["environment"][0]["spec"]["dependencies"]
            assert dependency.endswith(f"/artifacts/wheels/{digest}/{built_wheel.name}[jobs]"), dependency
            assert job["tags"]["lakemon_version"] == version
        assert str(REPO) not in json.dumps(stack)
