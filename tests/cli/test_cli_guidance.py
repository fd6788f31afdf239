"""Guidance on first use: every known first-use failure says what to do.

- a missing [jobs] extra ends with the install command, not a ModuleNotFoundError;
- `lakemon doctor` names each missing tool, login or unreachable state backend with its fix and
  points to `state.backend: local` for a trial;
- unpack/refresh/analyze-drift without --home after run-local use the latest run and say so;
- `lakemon init` writes a project pinned to the tested versions (its synth from an installed
  wheel is tests/delivery/test_delivery_starter.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lakemon.config import load_environment
from lakemon.starter import CDKTF_CLI_VERSION, StarterError, write_starter
from lakemon.tooling import NODE_MAJOR_TESTED, node_major, quiet_cdktf_environment
from lakemon_jobs import cli
from lakemon_jobs.context import latest_run_home, resolve_home

REPO = Path(__file__).resolve().parents[2]
LAKEMON = [sys.executable, "-m", "lakemon_jobs.cli"]


def _lakemon(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LAKEMON, *args], cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True, timeout=180
    )


# --- the [jobs] extra --------------------------------------------------------------------------


def test_jobs_extra_modules_cover_the_extra_in_pyproject():
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]["jobs"]
    names = {requirement.split("=")[0].split("<")[0].split(">")[0].strip() for requirement in extra}
    assert names == set(cli.JOBS_EXTRA_MODULES.values())


@pytest.mark.parametrize("subcommand", ["unpack", "refresh", "analyze-drift", "train", "run-local"])
def test_a_missing_jobs_extra_ends_with_the_install_command(subcommand, tmp_path):
    # `None` in sys.modules makes `import pandas` raise ModuleNotFoundError, as in a venv
    # that installed lakemon without [jobs]; the subcommand must not print a traceback.
    code = (
        "import sys; sys.modules['pandas'] = None; sys.modules['numpy'] = None\n"
        "from lakemon_jobs import cli\n"
        f"sys.exit(cli.main([{subcommand!r}, '--env-file', {str(REPO / 'envs' / 'dev.yml')!r}, '--home', {str(tmp_path)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert 'pip install "lakemon[jobs]==' in done.stderr
    assert f"lakemon {subcommand}:" in done.stderr


def test_a_bug_that_is_not_a_missing_extra_keeps_its_traceback():
    error = ModuleNotFoundError("No module named 'lakemon_jobs.nope'", name="lakemon_jobs.nope")
    assert cli.missing_extra_hint("unpack", error) is None


# --- lakemon doctor ------------------------------------------------------------------------------


def _fake_tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)


def _doctor(project: Path, path_dirs: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = os.pathsep.join(str(p) for p in path_dirs)
    return subprocess.run(
        [sys.executable, "-m", "lakemon_jobs.cli", "doctor", "--project", str(project), "--offline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_doctor_names_every_missing_tool_with_its_fix(tmp_path):
    write_starter(tmp_path / "project", ("dev",))
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    done = _doctor(tmp_path / "project", [empty_bin])
    assert done.returncode == 1
    out = done.stdout
    assert "ok  python: Python 3.11" in out and "ok  jobs extra: installed" in out
    assert "FAIL  node: no node in the project's node_modules or on PATH" in out and "npm install" in out
    assert "FAIL  terraform: terraform is not on PATH" in out and "install Terraform" in out
    assert "FAIL  cdktf-cli" in out and "npm install" in out
    assert "warn  azure login" in out and "state: {backend: local}" in out
    assert "ok  state backend (dev.yml): local state file" in out
    assert "Traceback" not in done.stderr


def test_doctor_says_az_login_when_the_azure_cli_is_not_logged_in(tmp_path):
    project = tmp_path / "project"
    write_starter(project, ("dev",))
    tools = tmp_path / "bin"
    tools.mkdir()
    _fake_tool(tools, "node", 'echo "v22.1.0"')
    _fake_tool(tools, "terraform", 'echo \'{"terraform_version": "1.11.4"}\'')
    _fake_tool(tools, "cdktf", 'echo "0.21.0"')
    _fake_tool(tools, "az", 'echo "ERROR: Please run az login to setup account." >&2; exit 1')
    done = _doctor(project, [tools])
    out = done.stdout
    assert done.returncode == 1
    assert "ok  node: Node v22.1.0" in out and "ok  terraform: Terraform 1.11.4" in out
    assert "ok  cdktf-cli: cdktf 0.21.0" in out
    assert "FAIL  azure login" in out and "run `az login`" in out
    assert "authorizer error" in out  # says what would happen in `cdktf diff` otherwise


def _azurerm_env(tmp_path: Path):
    project = tmp_path / "project"
    write_starter(project, ("dev",))
    env_file = project / "envs" / "dev.yml"
    text = env_file.read_text(encoding="utf-8").replace(
        "  backend: local\n",
        "  backend: azurerm\n  resource_group_name: rg\n  storage_account_name: nosuchaccount\n  container_name: tfstate\n",
    )
    env_file.write_text(text, encoding="utf-8")
    return load_environment(env_file), env_file


def test_doctor_points_to_local_state_when_the_state_storage_does_not_resolve(tmp_path, monkeypatch):
    import socket

    from lakemon_jobs import doctor

    env, env_file = _azurerm_env(tmp_path)
    looked_up = []

    def no_such_host(address, timeout=None):
        looked_up.append(address)
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(doctor.socket, "create_connection", no_such_host)
    check = doctor.check_state_backend(env, env_file)
    assert looked_up == [("nosuchaccount.blob.core.windows.net", 443)]
    assert check.status == "FAIL" and "does not resolve" in check.detail
    assert "state: {backend: local}" in check.fix and "docs/deploy.md" in check.fix


def test_doctor_checks_the_state_container_with_the_azure_login(tmp_path, monkeypatch):
    from lakemon_jobs import doctor

    env, env_file = _azurerm_env(tmp_path)
    monkeypatch.setattr(doctor, "_reachable", lambda host, port=443: None)
    tools = tmp_path / "bin"
    tools.mkdir()
    _fake_tool(tools, "az", 'echo \'{"exists": false}\'')
    monkeypatch.setenv("PATH", str(tools))
    check = doctor.check_state_backend(env, env_file)
    assert check.status == "FAIL" and "container tfstate in nosuchaccount is missing" in check.detail
    assert "Storage Blob Data Contributor" in check.fix
    _fake_tool(tools, "az", 'echo \'{"exists": true}\'')
    check = doctor.check_state_backend(env, env_file)
    assert check.status == "ok" and "lakemon/dev.tfstate" in check.detail


def test_a_probe_that_hangs_is_given_up_in_time(monkeypatch):
    """The probe is still hanging when doctor answers: it gave up on it instead of waiting (no
    wall-clock bound, which a loaded machine can break either way)."""
    import threading

    from lakemon_jobs import doctor

    release, finished = threading.Event(), threading.Event()

    def hang(host, port):
        release.wait(60)
        finished.set()

    monkeypatch.setattr(doctor, "CONNECT_TIMEOUT_S", 0.1)
    monkeypatch.setattr(doctor, "_connect", hang)
    try:
        assert "did not answer" in doctor._reachable("example.com")
        assert not finished.is_set()
    finally:
        release.set()


# --- follow-up commands after run-local ----------------------------------------------------------


def test_follow_up_commands_use_the_latest_run_and_say_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAKEMON_HOME", raising=False)
    runs = tmp_path / ".lakemon" / "runs"
    (runs / "20261128-070000").mkdir(parents=True)
    (runs / "20261128-080000").mkdir()
    (runs / "latest").symlink_to("20261128-080000")
    assert latest_run_home() == (runs / "20261128-080000").resolve()
    assert resolve_home(None, reads_a_run=True) == (runs / "20261128-080000").resolve()
    assert "pass --home <folder> to use another" in capsys.readouterr().err
    # an explicit --home, $LAKEMON_HOME and commands that start a run are left alone
    assert resolve_home(tmp_path / "x", reads_a_run=True) == tmp_path / "x"
    assert resolve_home(None, reads_a_run=False) is None
    monkeypatch.setenv("LAKEMON_HOME", str(tmp_path / "elsewhere"))
    assert resolve_home(None, reads_a_run=True) is None
    monkeypatch.delenv("LAKEMON_HOME")
    # a default home with tables of its own (a manual `lakemon train` etc.) keeps being used
    (tmp_path / ".lakemon" / "tables").mkdir()
    assert resolve_home(None, reads_a_run=True) is None


def test_analyze_drift_after_run_local_reads_the_latest_run(tmp_path):
    (tmp_path / ".lakemon" / "runs" / "20261128-080000").mkdir(parents=True)
    (tmp_path / ".lakemon" / "runs" / "latest").symlink_to("20261128-080000")
    env = {k: v for k, v in os.environ.items() if k != "LAKEMON_HOME"}
    done = _lakemon("analyze-drift", "--env-file", str(REPO / "envs" / "dev.yml"), cwd=tmp_path, env=env)
    assert "using the latest run-local folder" in done.stderr
    assert str((tmp_path / ".lakemon" / "runs" / "20261128-080000").resolve()) in done.stderr
    assert "Traceback" not in done.stderr


# --- lakemon init ---------------------------------------------------------------------------------


def test_init_writes_a_pinned_commented_project(tmp_path):
    done = _lakemon("init", str(tmp_path / "team"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    team = tmp_path / "team"
    assert sorted(p.relative_to(team).as_posix() for p in team.rglob("*") if p.is_file()) == [
        ".gitignore",
        "README.md",
        "app.py",
        "cdktf.json",
        "envs/dev.yml",
        "envs/prod.yml",
        "package.json",
        "requirements.txt",
    ]
    repo_cli = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["devDependencies"]["cdktf-cli"]
    repo_node = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["devDependencies"]["node"]
    assert json.loads((team / "package.json").read_text())["devDependencies"] == {"cdktf-cli": repo_cli, "node": repo_node}
    assert CDKTF_CLI_VERSION == repo_cli
    from lakemon.wheel import WHEEL_NAME

    # the release wheel the team installed, kept in wheels/: the jobs get that very file
    assert (team / "requirements.txt").read_text().strip().endswith(f"./wheels/{WHEEL_NAME}[jobs]")
    assert json.loads((team / "cdktf.json").read_text())["app"] == "python app.py"
    dev, prod = load_environment(team / "envs" / "dev.yml"), load_environment(team / "envs" / "prod.yml")
    assert (dev.protect_data, prod.protect_data) == (False, True)
    assert dev.state.backend == "local" and dev.alerts.recipients
    text = (team / "envs" / "dev.yml").read_text(encoding="utf-8")
    assert text.count("\n#") + text.count("  #") >= 15, "the env file should explain its keys"
    # the app puts cdktf on the project's Node before it imports cdktf
    app = (team / "app.py").read_text(encoding="utf-8")
    assert app.index("use_project_node()") < app.index("from cdktf import")


def test_init_refuses_to_overwrite_and_bad_names(tmp_path):
    write_starter(tmp_path, ("dev",))
    with pytest.raises(StarterError, match="--force"):
        write_starter(tmp_path, ("dev",))
    assert write_starter(tmp_path, ("dev",), force=True)
    with pytest.raises(StarterError, match="lower-case"):
        write_starter(tmp_path / "other", ("Dev",))
    done = _lakemon("init", str(tmp_path), "--env", "dev", cwd=tmp_path)
    assert done.returncode == 2 and "pass --force" in done.stderr and "Traceback" not in done.stderr


# --- quiet tooling ----------------------------------------------------------------------------------


def test_cdktf_runs_on_the_projects_node_22_whatever_node_is_on_path(tmp_path):
    """The repository's node_modules/node (package.json pins the npm `node` package) is what the
    jsii kernel and cdktf-cli run on: a Node 20 on PATH (this machine's) is not used."""
    env = quiet_cdktf_environment({"PATH": "/usr/bin:/bin"}, folder=REPO)
    assert env["JSII_NODE"] == str((REPO / "node_modules" / "node" / "bin" / "node").resolve())
    assert env["PATH"].split(os.pathsep)[0] == str(Path(env["JSII_NODE"]).parent)
    assert node_major(env) == NODE_MAJOR_TESTED
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert quiet_cdktf_environment({"CHECKPOINT_DISABLE": "0"})["CHECKPOINT_DISABLE"] == "0"
    # a JSII_NODE the user chose is kept
    assert quiet_cdktf_environment({"JSII_NODE": "/opt/node/bin/node"})["JSII_NODE"] == "/opt/node/bin/node"
    # nothing end-of-life runs, so nothing is silenced
    assert not any(k.startswith("JSII_SILENCE") for k in env)
    code = f"from lakemon.tooling import use_project_node; use_project_node(); import cdktf; cdktf.App(outdir={str(tmp_path / 'out')!r})"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JSII")} | {"TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "end-of-life" not in done.stderr


def test_doctor_refuses_an_end_of_life_node(tmp_path):
    project = tmp_path / "project"
    write_starter(project, ("dev",))
    tools = tmp_path / "bin"
    tools.mkdir()
    _fake_tool(tools, "node", 'echo "v20.1.0"')
    out = _doctor(project, [tools]).stdout
    assert "FAIL  node: cdktf would run on Node v20.1.0" in out and "npm install" in out


def test_one_node_version_everywhere():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"Node {NODE_MAJOR_TESTED}" in readme
    setup = (REPO / ".ci" / "setup").read_text(encoding="utf-8")
    assert f"NODE_MAJOR={NODE_MAJOR_TESTED}" in setup
    from lakemon.starter import NODE_PACKAGE_VERSION

    repo_node = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["devDependencies"]["node"]
    assert repo_node == NODE_PACKAGE_VERSION and repo_node.split(".")[0] == str(NODE_MAJOR_TESTED)


def test_run_local_finds_the_app_of_a_starter_project(tmp_path):
    from lakemon_jobs.project_layout import find_app, project_root

    write_starter(tmp_path / "team", ("dev",))
    app = find_app(tmp_path / "team" / "envs" / "dev.yml")
    assert app == tmp_path / "team" / "app.py" and project_root(app) == tmp_path / "team"
    repo_app = find_app(REPO / "envs" / "dev.yml")
    assert repo_app == REPO / "stacks" / "app.py" and project_root(repo_app) == REPO


def test_doctor_says_when_the_jobs_extra_is_missing(monkeypatch):
    import importlib.util

    from lakemon_jobs import doctor

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a))
    check = doctor.check_jobs_extra()
    assert check.status == "warn" and "pandas missing" in check.detail
    assert check.fix.startswith('pip install "lakemon[jobs]==')
