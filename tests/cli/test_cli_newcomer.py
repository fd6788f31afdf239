"""A new user's path through the CLI: each expected mistake answered in one line, driven as a user
would, through the real `lakemon` entry point in a subprocess.

- a feature or label the training data does not have stops train and run-local before any
  fitting, naming the env file, the key path and the nearest columns;
- the [jobs] extra really missing (a venv whose site-packages lack mlflow) ends with the install
  command and exit 2, for run-local too;
- the starter's .gitignore covers what its next steps create.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAKEMON = [sys.executable, "-m", "lakemon_jobs.cli"]
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))


def _lakemon(*args: str, cwd: Path, python: str = sys.executable, env: dict | None = None):
    environment = {k: v for k, v in os.environ.items() if k != "LAKEMON_HOME"} if env is None else env
    return subprocess.run(
        [python, "-m", "lakemon_jobs.cli", *args], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=300,
    )


def _env_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (REPO / "envs" / "dev.yml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "envs" / "dev.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- the model's columns against the training data ------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "nearest"),
    [
        ("{name: eye, type: string}", "{name: eyes, type: string}", "models[0].features[2].name: feature 'eyes'", "eye"),
        ("label: {name: alive, type: bigint}", "label: {name: alived, type: bigint}", "models[0].label.name: label 'alived'", "alive"),
    ],
)
def test_train_names_the_key_and_the_nearest_columns_before_fitting(tmp_path, old, new, key, nearest):
    env_file = _env_with(tmp_path, old, new)
    home = tmp_path / "home"
    done = _lakemon("train", "--env-file", str(env_file), "--home", str(home), cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if key in ln]
    assert line.startswith(f"lakemon train: {env_file}: {key}")
    assert f"nearest: {nearest}" in line and "bundled:marvel" in line
    assert not (home / "mlflow.db").exists(), "nothing may be logged before the columns are checked"


def test_run_local_stops_on_a_missing_feature_before_any_step(tmp_path):
    env_file = _env_with(tmp_path, "{name: eye, type: string}", "{name: eyes, type: string}")
    home = tmp_path / "home"
    done = _lakemon("run-local", "--env-file", str(env_file), "--home", str(home), "--skip-synth", cwd=tmp_path)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    assert f"lakemon run-local: {env_file}: models[0].features[2].name: feature 'eyes'" in out
    assert "nearest: eye" in out
    assert not (home / "runs").exists(), "no run folder, no step started"


# --- which model and run a command works on ---------------------------------------------------------


def _a_finished_run_of(tmp_path: Path, model: str) -> Path:
    """A completed run-local run folder of `model` under ./.lakemon (its outcome.json and the
    `latest` link, as run-local leaves them; its tables are not needed to pick the run)."""
    folder = tmp_path / ".lakemon" / "runs" / "20261128-080000"
    folder.mkdir(parents=True)
    (folder / "outcome.json").write_text(f'{{"env": "dev", "model": "{model}"}}', encoding="utf-8")
    (folder / "COMPLETED").write_text("done\n", encoding="utf-8")
    (folder.parent / "latest").symlink_to(folder.name)
    return folder


@pytest.mark.parametrize("subcommand", ["unpack", "refresh", "analyze-drift", "retrain"])
def test_a_follow_up_after_a_run_of_another_model_says_so_and_names_the_option(tmp_path, subcommand):
    folder = _a_finished_run_of(tmp_path, "appearances_regressor")
    done = _lakemon(subcommand, "--env-file", str(REPO / "envs" / "dev.yml"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"lakemon {subcommand}: the latest run-local run {folder.resolve()} is of model appearances_regressor, "
        "not alive_classifier (the first model of env dev): pass --model appearances_regressor to work on that "
        "run, or --home <folder> of a run of alive_classifier"
    )


def test_the_command_names_its_model_and_run_and_a_missing_table_is_one_line(tmp_path):
    folder = _a_finished_run_of(tmp_path, "appearances_regressor")
    env_file = REPO / "envs" / "dev.yml"
    done = _lakemon("refresh", "--env-file", str(env_file), "--model", "appearances_regressor", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr[-2000:]
    assert (
        f"lakemon refresh works on model appearances_regressor of env dev ({env_file}), run-local run {folder.resolve()}"
        in done.stderr
    )
    assert "lakemon refresh: no inference-log table " in done.stdout
    assert "run `lakemon unpack` first" in done.stdout
    unpacked = _lakemon("unpack", "--env-file", str(env_file), "--model", "appearances_regressor", cwd=tmp_path)
    assert unpacked.returncode == 2 and "Traceback" not in unpacked.stdout + unpacked.stderr
    # exit 2 (a usage error: the table the config names is not there) says so on stderr, as config errors do
    assert "appearances_regressor_payload" in unpacked.stderr and "does not exist" in unpacked.stderr


# --- the [jobs] extra, really missing ------------------------------------------------------------


@pytest.fixture(scope="module")
def python_without_mlflow(tmp_path_factory) -> str:
    """A venv holding every package of this one except mlflow (linked, not copied): what a
    `pip install lakemon` without the [jobs] extra plus some of its packages looks like."""
    venv = tmp_path_factory.mktemp("no-mlflow") / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    [site] = list((venv / "lib").glob("python3*/site-packages"))
    for entry in SITE_PACKAGES.iterdir():
        if not entry.name.lower().startswith("mlflow"):
            (site / entry.name).symlink_to(entry)
    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import mlflow"], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 1 and "No module named 'mlflow'" in probe.stderr, probe.stderr
    return python


@pytest.mark.parametrize("subcommand", ["run-local", "train", "analyze-drift"])
def test_a_missing_mlflow_ends_with_the_install_command(python_without_mlflow, subcommand, tmp_path):
    done = _lakemon(
        subcommand, "--env-file", str(REPO / "envs" / "dev.yml"), "--home", str(tmp_path / "home"),
        cwd=tmp_path, python=python_without_mlflow,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert f"lakemon {subcommand}: this subcommand needs the job scripts' dependencies" in done.stderr
    assert "mlflow (module 'mlflow')" in done.stderr and 'pip install "lakemon[jobs]==' in done.stderr
    assert not (tmp_path / "home" / "runs").exists()


# --- the starter project ---------------------------------------------------------------------------


def test_the_starters_gitignore_covers_what_its_next_steps_create(tmp_path):
    done = _lakemon("init", str(tmp_path / "team"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    team = tmp_path / "team"
    subprocess.run(["git", "init", "-q", str(team)], check=True, timeout=60)
    created = [
        ".venv/bin/python", "__pycache__/app.cpython-311.pyc", "node_modules/cdktf-cli/package.json",
        "cdktf.out/stacks/dev/cdk.tf.json", ".lakemon/runs/latest", "terraform.tfstate", ".terraform/x",
        "dist/x.whl", ".pytest_cache/v",
    ]
    for name in created:
        (team / name).parent.mkdir(parents=True, exist_ok=True)
        (team / name).write_text("x", encoding="utf-8")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=team, capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout.split()
    assert sorted(s for s in status if s != "??") == sorted(
        [".gitignore", "README.md", "app.py", "cdktf.json", "envs/dev.yml", "envs/prod.yml", "package.json",
         "requirements.txt"]
    )


# --- CLI conventions -------------------------------------------------------------------------------

HEAVY = ("pandas", "numpy", "pyarrow", "pydantic", "mlflow", "sklearn", "duckdb", "deltalake", "lakemon.config")


@pytest.mark.parametrize("subcommand", ["train", "register", "deploy", "unpack", "refresh", "analyze-drift",
                                        "retrain", "preflight", "run-local", "doctor", "init"])  # fmt: skip
def test_help_imports_nothing_heavy_before_parsing(subcommand, tmp_path):
    # What makes `--help` slow is what it imports: checked by name, not timed (speed belongs in benchmarks/).
    code = (
        "import sys\nfrom lakemon_jobs import cli\n"
        f"try:\n    cli.main([{subcommand!r}, '--help'])\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"usage: lakemon {subcommand}" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_a_mistyped_subcommand_gets_a_suggestion(tmp_path):
    done = _lakemon("trian", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("lakemon: unknown subcommand 'trian'; did you mean 'train' or 'retrain'?")
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_missing_environment_lists_the_environments_in_one_line():
    for subcommand in ("train", "analyze-drift", "run-local"):
        done = _lakemon(subcommand, "--env", "staging", cwd=REPO)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip() == (
            f"lakemon {subcommand}: no environment 'staging': no envs/staging.yml; environments here: aut, dev, prod"
        )
    typo = _lakemon("unpack", "--env", "deb", cwd=REPO)
    assert typo.returncode == 2
    assert "no envs/deb.yml (did you mean 'dev'?); environments here: aut, dev, prod" in typo.stderr


def test_a_mistyped_model_gets_a_suggestion(tmp_path):
    for subcommand in ("train", "run-local"):
        done = _lakemon(subcommand, "--env-file", str(REPO / "envs" / "dev.yml"), "--model", "alive_clasifier",
                        "--home", str(tmp_path / "home"), cwd=tmp_path)  # fmt: skip
        assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
        assert "no model 'alive_clasifier' in env dev (did you mean 'alive_classifier'?); known: " \
               "alive_classifier, appearances_regressor" in done.stdout + done.stderr  # fmt: skip


def test_doctor_names_a_missing_env_file_and_answers_in_json(tmp_path):
    done = _lakemon("doctor", "--project", str(REPO), "--env-file", str(REPO / "envs" / "nope.yml"), "--offline",
                    "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    document = json.loads(done.stdout)
    [check] = [c for c in document["checks"] if "nope.yml" in c["name"]]
    assert check["status"] == "FAIL" and "does not exist (env files in" in check["detail"]
    assert "aut, dev, prod" in check["detail"] and "keys named above" not in check["fix"]
    assert document["failed"] >= 1 and document["ok"] is False


def test_preflight_answers_in_json_and_needs_no_login_when_the_state_is_complete(tmp_path):
    from lakemon_jobs.preflight import declared_resources

    stack = tmp_path / "prod"
    stack.mkdir()
    snapshot = REPO / "tests" / "stacks" / "snapshots" / "prod.json"
    (stack / "cdk.tf.json").write_text(snapshot.read_text(encoding="utf-8"), encoding="utf-8")
    declared = declared_resources(json.loads(snapshot.read_text(encoding="utf-8")))
    resources = []
    for r in declared:  # the shape of `terraform show -json`, as tests/delivery/test_delivery_preflight.py writes it
        values = dict(zip(r.kind.fields, r.identity.split(".", len(r.kind.fields) - 1), strict=True))
        resources.append({"address": r.address, "mode": "managed", "type": r.type,
                          "name": r.address.split(".", 1)[1], "values": {"id": r.identity, **values}})  # fmt: skip
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format_version": "1.0", "values": {"root_module": {"resources": resources}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "AZURE_", "ARM_"))}
    done = _lakemon("preflight", "--stack-dir", str(stack), "--state-json", str(state), "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document == {"stack": "prod", "resources_declared": len(declared), "blocks": {}, "findings": [],
                        "decision": "clear", "exit_code": 0}  # fmt: skip
    assert "nothing to adopt, nothing would be dropped" in done.stderr  # the human line, on stderr
