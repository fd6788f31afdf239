"""Every bad input of the configuration contract gets one clear error naming the file, the key path and what
is allowed; never a traceback. Each case edits a copy of envs/dev.yml."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lakemon.config import ConfigError, load_environment, load_environments

REPO = Path(__file__).resolve().parents[2]
DEV = yaml.safe_load((REPO / "envs" / "dev.yml").read_text())


def _write(tmp_path: Path, data, name: str = "dev.yml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _edited(edit) -> dict:
    data = copy.deepcopy(DEV)
    edit(data)
    return data


def _problems(tmp_path, data, name="dev.yml") -> str:
    path = _write(tmp_path, data, name)
    with pytest.raises(ConfigError) as error:
        load_environment(path)
    text = str(error.value)
    assert all(line.startswith(f"{path}: ") for line in text.splitlines()), text
    return text


def test_the_committed_env_files_load():
    envs = load_environments(REPO / "envs")
    assert sorted(envs) == ["aut", "dev", "prod"]


def test_unknown_key_names_path_and_allowed_keys(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d["serving"].update(worklaod_size="Small")))
    assert "serving.worklaod_size: unknown key; allowed here:" in text
    assert "workload_size" in text and "scale_to_zero" in text


def test_unknown_top_level_key(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d.update(catalogue="x")))
    assert "catalogue: unknown key; allowed here:" in text and "catalog" in text


def test_wrong_type(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d["inference"].update(retention_days="ninety")))
    assert "inference.retention_days:" in text and "'ninety'" in text


def test_wrong_type_for_a_section(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d.update(serving=["Small"])))
    assert "serving:" in text


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 0 * * *", "6 or 7 fields"),
        ("0 0 25 * * ?", "hours field: 25 is outside 0-23"),
        ("0 0 0 * * *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("0 0 0 ? * FOO", "day-of-week field"),
    ],
)
def test_bad_cron(tmp_path, cron, expected):
    text = _problems(tmp_path, _edited(lambda d: d["monitoring"]["schedule"].update(quartz_cron=cron)))
    assert "monitoring.schedule.quartz_cron:" in text and expected in text


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5])
def test_threshold_outside_zero_one(tmp_path, threshold):
    text = _problems(tmp_path, _edited(lambda d: d["monitoring"]["drift"].update(threshold=threshold)))
    assert "monitoring.drift.threshold:" in text
    assert "greater than or equal to 0.000001" in text or "less than or equal to 1" in text


def test_warn_max_pvalue_below_max_pvalue_is_refused(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d["monitoring"]["drift"].update(max_pvalue=0.05, warn_max_pvalue=0.01)))
    assert "monitoring.drift" in text and "warn_max_pvalue 0.01 must be >= max_pvalue 0.05" in text
    path = _write(tmp_path, _edited(lambda d: d["monitoring"]["drift"].update(max_pvalue=0.05, warn_max_pvalue=0.05)))
    assert load_environment(path).monitoring.drift.warn_max_pvalue == 0.05


def test_threshold_of_one_is_allowed(tmp_path):
    path = _write(tmp_path, _edited(lambda d: d["monitoring"]["drift"].update(threshold=1)))
    assert load_environment(path).monitoring.drift.threshold == 1


def test_unknown_workload_size(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d["serving"].update(workload_size="Huge")))
    assert "serving.workload_size:" in text and "'Small', 'Medium' or 'Large'" in text and "'Huge'" in text


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.pop("catalog"), "catalog: required key is missing"),
        (lambda d: d.pop("workspace"), "workspace: required key is missing"),
        (lambda d: d["models"][0].pop("features"), "models[0].features: required key is missing"),
        (lambda d: d["state"].pop("container_name"), "state.azurerm.container_name: required key is missing"),
    ],
)
def test_missing_required_keys(tmp_path, edit, path):
    assert path in _problems(tmp_path, _edited(edit))


@pytest.mark.parametrize(
    ("edit", "path", "bad"),
    [
        (lambda d: d.update(catalog="MLOps-Dev"), "catalog:", "'MLOps-Dev'"),
        (lambda d: d.update(schema="marvel characters"), "schema:", "'marvel characters'"),
        (lambda d: d["models"][0].update(name="Alive-Classifier"), "models[0].name:", "'Alive-Classifier'"),
        (lambda d: d["models"][0]["features"][0].update(name="1st"), "models[0].features[0].name:", "'1st'"),
    ],
)
def test_invalid_identifiers(tmp_path, edit, path, bad):
    text = _problems(tmp_path, _edited(edit))
    assert path in text and bad in text and "not a valid Unity Catalog identifier" in text


def test_duplicate_models(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d["models"].append(copy.deepcopy(d["models"][0]))))
    assert "duplicate model names: alive_classifier" in text


def test_duplicate_yaml_keys(tmp_path):
    text = (
        (REPO / "envs" / "dev.yml")
        .read_text()
        .replace("catalog: mlops_dev", "catalog: mlops_dev\ncatalog: mlops_x")
    )
    message = _problems(tmp_path, text)
    assert "duplicate key 'catalog'" in message and "line" in message


def test_several_problems_are_reported_at_once(tmp_path):
    def edit(d):
        d["serving"]["workload_size"] = "Huge"
        d["monitoring"]["drift"]["threshold"] = 2

    text = _problems(tmp_path, _edited(edit))
    assert len(text.splitlines()) == 2


def test_bad_config_is_not_a_traceback_for_the_stack_app(tmp_path):
    envs = tmp_path / "envs"
    envs.mkdir()
    _write(envs, _edited(lambda d: d["serving"].update(workload_size="Huge")))
    env = {**__import__("os").environ, "LAKEMON_ENVS_DIR": str(envs), "CDKTF_OUTDIR": str(tmp_path / "out")}
    out = subprocess.run(
        [sys.executable, "stacks/app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1
    assert "lakemon synth failed" in out.stderr and "dev.yml: serving.workload_size:" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_models_quality_threshold_is_checked_like_the_environments(tmp_path):
    text = _problems(tmp_path, _edited(lambda d: d["models"][1].update(quality_threshold=1.5)))
    assert "models[1].quality_threshold:" in text and "1.5" in text
    env = load_environment(_write(tmp_path, _edited(lambda d: d["models"][1].update(quality_threshold=0.3))))
    assert [m.quality_threshold for m in env.models][:2] == [None, 0.3]  # the forecaster keeps its own
