"""A new user's path through the CLI: each expected mistake answered in one line, driven as a user
would, through the real `lakemon` entry point in a subprocess.

- a feature or label the training data does not have stops train and run-local before any
  fitting, naming the env file, the key path and the nearest columns;
- the [jobs] extra really missing (a venv whose site-packages lack mlflow) ends with the install
  command and exit 2, for run-local too;
- the starter's .gitignore covers what its next steps create.
"""

from __future__ import annotations

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
        [".gitignore", "app.py", "cdktf.json", "envs/dev.yml", "envs/prod.yml", "package.json", "requirements.txt"]
    )
