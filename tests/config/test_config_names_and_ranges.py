"""Names checked against what they name, and thresholds against a sane range: a slicing
expression reads only the inference log's columns, `training.params` only the trainer's
estimator parameters, and no threshold is absurdly small. Each refusal is one line naming the
file, the key path and the nearest names. Each case edits a copy of envs/dev.yml."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from lakemon.config import ConfigError, load_environment
from lakemon.config.model import ESTIMATOR_PARAMS, MIN_THRESHOLD

REPO = Path(__file__).resolve().parents[2]
DEV = yaml.safe_load((REPO / "envs" / "dev.yml").read_text())
REGRESSOR = 1  # appearances_regressor in envs/dev.yml


def _load(tmp_path: Path, edit):
    data = copy.deepcopy(DEV)
    edit(data)
    path = tmp_path / "dev.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path, load_environment(path)


def _refused(tmp_path: Path, edit) -> tuple[Path, str]:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, edit)
    text = str(error.value)
    path = tmp_path / "dev.yml"
    assert len(text.splitlines()) == 1 and text.startswith(f"{path}: "), text
    return path, text


def test_a_slicing_expression_reading_an_unknown_column_is_refused_with_the_nearest(tmp_path):
    path, text = _refused(tmp_path, lambda d: d["models"][0].update(slicing_exprs=["sex", "sexx = 'M' AND year > 1990"]))
    assert text.startswith(f"{path}: models[0]: slicing_exprs[1]: "), text
    assert "reads 'sexx', not a column of the inference log (nearest: sex)" in text
    assert "columns: align, alive, appearances" in text and "model_version" in text and "timestamp" in text


def test_slicing_expressions_over_known_columns_load(tmp_path):
    exprs = ["align", "year > 1990", "CASE WHEN appearances > 10 THEN 'many' ELSE 'few' END", "model_version", "SEX"]
    _, env = _load(tmp_path, lambda d: d["models"][0].update(slicing_exprs=exprs))
    assert env.models[0].slicing_exprs == tuple(exprs)


def test_an_unparsable_slicing_expression_is_refused(tmp_path):
    _, text = _refused(tmp_path, lambda d: d["models"][0].update(slicing_exprs=["year >"]))
    assert "models[0]: slicing_exprs[0]: 'year >': unparsable SQL" in text


def test_an_unknown_training_param_is_refused_with_the_nearest(tmp_path):
    path, text = _refused(tmp_path, lambda d: d["models"][0].setdefault("training", {}).update(params={"learning_rat": 0.1}))
    assert text.startswith(f"{path}: models[0]: training.params.learning_rat: "), text
    assert "not a parameter of HistGradientBoostingClassifier (nearest: learning_rate)" in text


def test_training_params_are_checked_against_the_estimator_of_the_problem_type(tmp_path):
    # quantile is the regressor's; the classifier (model 0) does not take it
    _, text = _refused(tmp_path, lambda d: d["models"][0].setdefault("training", {}).update(params={"quantile": 0.5}))
    assert "training.params.quantile: not a parameter of HistGradientBoostingClassifier" in text
    _, env = _load(tmp_path, lambda d: d["models"][REGRESSOR].setdefault("training", {}).update(params={"quantile": 0.5}))
    assert env.models[REGRESSOR].training.params == {"quantile": 0.5}


def test_random_state_in_params_points_to_the_seed(tmp_path):
    _, text = _refused(tmp_path, lambda d: d["models"][0].setdefault("training", {}).update(params={"random_state": 1}))
    assert "training.params.random_state: set training.seed instead" in text


def test_the_params_table_equals_scikit_learns_get_params():
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    for cls in (HistGradientBoostingClassifier, HistGradientBoostingRegressor, Ridge):
        assert ESTIMATOR_PARAMS[cls.__name__] == set(cls().get_params()) - {"random_state"}, cls.__name__


def test_the_checked_estimator_is_the_one_training_builds(tmp_path):
    from lakemon_jobs.train import build_pipeline

    _, env = _load(tmp_path, lambda d: None)
    for model in env.models:
        built = build_pipeline(model, {}, seed=1).named_steps["model"]
        assert type(built).__name__ == model.estimator_class(), model.name


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["monitoring"]["drift"].update(threshold=1e-300), "monitoring.drift.threshold"),
        (lambda d: d["monitoring"]["drift"].update(statistic_thresholds={"ks_test": 5e-324}),
         "monitoring.drift.statistic_thresholds.ks_test"),
        (lambda d: d["monitoring"]["drift"].update(features={"year": {"threshold": 1e-7}}),
         "monitoring.drift.features.year.threshold"),
        (lambda d: d["models"][0].update(quality_threshold=1e-300), "models[0].quality_threshold"),
    ],
)
def test_a_tiny_positive_threshold_is_refused_with_its_range(tmp_path, edit, key):
    path, text = _refused(tmp_path, edit)
    assert text.startswith(f"{path}: {key}: "), text
    assert "greater than or equal to 0.000001" in text


def test_the_lower_bound_itself_loads(tmp_path):
    _, env = _load(tmp_path, lambda d: d["monitoring"]["drift"].update(threshold=MIN_THRESHOLD))
    assert env.monitoring.drift.threshold == MIN_THRESHOLD
