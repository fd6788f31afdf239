"""Every job subcommand of `lakemon` loads and explains itself."""

from __future__ import annotations

import pytest

from lakemon_jobs.cli import main

JOBS = ["train", "register", "deploy", "unpack", "refresh"]


@pytest.mark.parametrize("name", JOBS)
def test_subcommand_help_names_the_context_options(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"lakemon {name}" in out and "--env-file" in out and "--home" in out


def test_register_without_a_training_run_says_what_to_do(home, tmp_path, capsys):
    """A model never trained in this store (the session's store: a new SQLite store costs seconds)."""
    from jobs_helpers import write_env

    env_file = write_env(tmp_path, name="never_trained")
    assert main(["register", "--env-file", str(env_file), "--home", str(home)]) == 1
    assert "no finished training run of never_trained" in capsys.readouterr().out


def test_train_from_a_missing_training_table_fails_clearly(home, tmp_path, capsys):
    """A non-bundled source is a table name; a missing table is a clear error, exit 2 as in
    every job (TableError: the config names a table that is not there; nothing was written)."""
    import yaml
    from jobs_helpers import write_env

    env_file = write_env(tmp_path, name="from_table")
    data = yaml.safe_load(env_file.read_text())
    data["models"][0]["training"]["source"] = "mlops_dev.marvel_characters.no_such_table"
    env_file.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["train", "--env-file", str(env_file), "--home", str(home)]) == 2
    assert "lakemon train: table mlops_dev.marvel_characters.no_such_table does not exist" in capsys.readouterr().err
    from mlflow import MlflowClient

    store = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    assert store.get_experiment_by_name("/Shared/lakemon/dev/from_table") is None  # MLflow untouched


def test_a_training_param_the_estimator_refuses_is_one_line_naming_the_key(home, tmp_path, capsys):
    """training.params keys are checked at load, their values by scikit-learn when it fits:
    a refused value is a usage error (exit 2) naming the env file and key, not a traceback."""
    from jobs_helpers import write_env

    env_file = write_env(tmp_path, name="bad_param", params={"max_iter": -1})
    assert main(["train", "--env-file", str(env_file), "--home", str(home)]) == 2
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if x.startswith("lakemon train:")]
    assert line.startswith(f"lakemon train: {env_file}: models[0].training.params: The 'max_iter' parameter of ")
    assert "Got -1 instead" in line and "Traceback" not in err


def test_only_a_refused_training_param_is_a_config_error_a_data_problem_keeps_its_traceback():
    """scikit-learn refuses a bad parameter value when it fits, with a ValueError (out of range)
    or a TypeError (wrong type) quoting the parameter: a key the env file set, so one line
    naming it. A data problem raised by the same fit is no config error: it propagates."""
    from jobs_helpers import DEV_ENV

    from lakemon.config import load_environment
    from lakemon_jobs.context import JobConfigError
    from lakemon_jobs.datasets import load_comic
    from lakemon_jobs.model_code.served_model import prepare_features
    from lakemon_jobs.train import DEFAULT_PARAMS, build_pipeline, feature_kinds, fit_pipeline

    model = load_environment(DEV_ENV).models[0]
    rows = load_comic("marvel").dropna(subset=["alive"]).head(300)
    x, y = prepare_features(rows, *feature_kinds(model)), rows["alive"]
    where = "envs/dev.yml: models[0].training.params"
    for value, got in ((-1, "Got -1 instead."), ("many", "Got 'many' instead.")):
        params = {"max_iter": value}
        with pytest.raises(JobConfigError) as refused:
            fit_pipeline(build_pipeline(model, {**DEFAULT_PARAMS, **params}, 42), x, y, params, where)
        [line] = refused.value.problems
        assert line.startswith(f"{where}: The 'max_iter' parameter of HistGradientBoostingClassifier must be an int")
        assert line.endswith(got)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        fit_pipeline(build_pipeline(model, DEFAULT_PARAMS, 42), x, y * float("nan"), {"max_iter": 200}, where)


def test_a_raw_databricks_error_is_one_line_and_exit_1(monkeypatch, capsys):
    """An SDK error no job translated (here: permission denied while refreshing) never shows a
    traceback: one line naming the error and what to check, exit 1 (docs/jobs.md)."""
    from databricks.sdk.errors import PermissionDenied

    import lakemon_jobs.refresh as refresh

    def denied(args):
        raise PermissionDenied("User does not have MANAGE on table main.s.t\nmore detail", error_code="PERMISSION_DENIED")

    monkeypatch.setattr(refresh, "run", denied)
    assert main(["refresh"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "PermissionDenied PERMISSION_DENIED: User does not have MANAGE on table main.s.t)" in err
    assert "permissions" in err and "Traceback" not in err


def test_other_exceptions_are_not_hidden(monkeypatch):
    """Only Databricks API errors are turned into a message: a bug still raises."""
    import lakemon_jobs.refresh as refresh

    def bug(args):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(refresh, "run", bug)
    with pytest.raises(ZeroDivisionError):
        main(["refresh"])
