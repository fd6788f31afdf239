"""Destinations (secrets only from sensitive variables), drift and quality alerts; the alert SQL
is run on DuckDB (transpiled with sqlglot) against hand-made metrics tables."""

from __future__ import annotations

import json

import duckdb
import pytest
import sqlglot

from lakemon import AlertDestination, DriftAlert, LakemonConstructError, QualityAlert
from lakemon.alerting import drift_query, quality_query


def test_secret_destinations_read_sensitive_variables(make_stack, dev_env, synth_json):
    stack = make_stack(dev_env)
    AlertDestination(stack, "slack", display_name="oncall", kind="slack", secret_variable="slack_url")
    AlertDestination(
        stack, "teams", display_name="teams", kind="microsoft_teams", secret_variable="teams_url"
    )
    AlertDestination(stack, "pd", display_name="pd", kind="pagerduty", secret_variable="pd_key")
    AlertDestination(
        stack,
        "hook",
        display_name="hook",
        kind="webhook",
        secret_variable="hook_url",
        username_variable="hook_user",
        password_variable="hook_password",
    )
    AlertDestination(stack, "mail", display_name="mail", kind="email", addresses=["a@example.com"])
    out = synth_json(stack)
    by_name = {d["display_name"]: d for d in out["resource"]["databricks_notification_destination"].values()}
    assert by_name["oncall"]["destination_type"] == "SLACK"
    assert by_name["oncall"]["config"] == {"slack": {"url": "${var.slack_url}"}}
    assert by_name["teams"]["config"] == {"microsoft_teams": {"url": "${var.teams_url}"}}
    assert by_name["pd"]["config"] == {"pagerduty": {"integration_key": "${var.pd_key}"}}
    assert by_name["hook"]["config"] == {
        "generic_webhook": {
            "url": "${var.hook_url}",
            "username": "${var.hook_user}",
            "password": "${var.hook_password}",
        }
    }
    assert by_name["mail"]["config"] == {"email": {"addresses": ["a@example.com"]}}
    for name in ("slack_url", "teams_url", "pd_key", "hook_url", "hook_user", "hook_password"):
        assert out["variable"][name]["sensitive"] is True
        assert "default" not in out["variable"][name]


def test_local_url_from_config_is_never_synthesized(make_stack, dev_env, synth_json):
    stack = make_stack(dev_env)
    (webhook,) = [d for d in dev_env.alerts.destinations if d.type == "webhook"]
    assert webhook.local_url
    AlertDestination.from_config(stack, "hook", webhook)
    text = json.dumps(synth_json(stack))
    assert webhook.local_url not in text and "127.0.0.1" not in text
    assert "${var.drift_webhook_url_dev}" in text


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"kind": "email"}, "needs at least one address"),
        (
            {"kind": "email", "addresses": ["a@b.c"], "secret_variable": "x"},
            "takes addresses, not secret variables",
        ),
        ({"kind": "slack"}, "needs secret_variable"),
        ({"kind": "slack", "addresses": ["a@b.c"], "secret_variable": "x"}, "not addresses"),
        ({"kind": "slack", "secret_variable": "x", "username_variable": "u"}, "webhook destinations only"),
        ({"kind": "sms", "secret_variable": "x"}, "kind 'sms' is not allowed"),
        ({"kind": "webhook", "secret_variable": "https://hooks.example.com/T0/B0/xyz"}, "variable name"),
    ],
)
def test_destination_refusals(make_stack, dev_env, props, message):
    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError, match=message):
        AlertDestination(stack, "d", display_name="d", **props)


def test_drift_alert_uses_env_threshold_and_destinations(make_stack, prod_env, resources_of):
    stack = make_stack(prod_env)
    destinations = stack.destinations
    DriftAlert.for_model(
        stack,
        "drift",
        env=prod_env,
        model=prod_env.model(),
        warehouse_id=stack.warehouse_id,
        destinations=destinations,
    )
    (alert,) = resources_of(stack, "databricks_alert_v2")
    evaluation = alert["evaluation"]
    assert evaluation["comparison_operator"] == "GREATER_THAN"
    assert evaluation["threshold"] == {"value": {"double_value": 0.05}}
    assert evaluation["source"]["name"] == "drift_score" and evaluation["source"]["aggregation"] == "MAX"
    assert len(evaluation["notification"]["subscriptions"]) == 2
    assert all(
        s["destination_id"].startswith("${databricks_notification_destination.")
        for s in evaluation["notification"]["subscriptions"]
    )
    assert (
        "FROM mlops_prod.marvel_characters.alive_classifier_inference_log_drift_metrics"
        in alert["query_text"]
    )
    assert alert["warehouse_id"] == "${var.warehouse_id}"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"threshold": 0.0}, r"threshold must be in \(0, 1\]"),
        ({"threshold": 1.5}, r"threshold must be in \(0, 1\]"),
        ({"emails": ()}, "at least one destination or e-mail"),
        ({"features": ()}, "at least one feature"),
        ({"numeric_statistic": "psi"}, "not a drift statistic"),
        ({"feature_overrides": {"nope": (None, 0.2)}}, "features the model does not have: nope"),
        ({"schedule_cron": "daily"}, "6 or 7 fields"),
    ],
)
def test_drift_alert_refusals(make_stack, dev_env, props, message):
    stack = make_stack(dev_env)
    base = dict(
        display_name="d",
        drift_metrics_table="c.s.t_drift_metrics",
        features=("a", "b"),
        threshold=0.1,
        warehouse_id="w",
        emails=("x@example.com",),
    )
    base.update(props)
    with pytest.raises(LakemonConstructError, match=message):
        DriftAlert(stack, "drift", **base)


def test_quality_alert_fires_below_threshold(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    QualityAlert(
        stack,
        "quality",
        display_name="q",
        profile_metrics_table="c.s.t_profile_metrics",
        problem_type="classification",
        threshold=0.7,
        warehouse_id="w",
        emails=["x@example.com"],
    )
    (alert,) = resources_of(stack, "databricks_alert_v2")
    assert alert["evaluation"]["comparison_operator"] == "LESS_THAN"
    assert alert["evaluation"]["threshold"]["value"]["double_value"] == 0.7
    assert "accuracy_score" in alert["query_text"]


# --- the SQL itself, executed ---------------------------------------------------------------------

DRIFT_ROWS = [
    # window start, drift_type, granularity, slice_key, column, psi, js, ks p, chi2 p
    ("2024-01-01", "BASELINE", "1 day", None, "age", 0.50, None, 0.001, None),  # old window: ignored
    ("2024-01-02", "BASELINE", "1 day", None, "age", 0.08, None, 0.001, None),  # numeric, under 0.1
    ("2024-01-02", "BASELINE", "1 day", None, "color", None, 0.30, None, 0.0001),  # categorical, over
    ("2024-01-02", "BASELINE", "1 day", None, "noisy", None, 0.90, None, 0.40),  # over, but p-value too high
    ("2024-01-02", "BASELINE", "1 day", "color", "age", 0.99, None, 0.0, None),  # a slice: ignored
    ("2024-01-02", "CONSECUTIVE", "1 day", None, "age", 0.99, None, 0.0, None),  # consecutive: ignored
    ("2024-01-02", "BASELINE", "1 day", None, "prediction", 0.99, None, 0.0, None),  # not a feature
]


def _duckdb_with_drift_table() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    con.execute(
        'CREATE TABLE s.t_drift_metrics ("window" STRUCT(start TIMESTAMP, "end" TIMESTAMP), drift_type VARCHAR, '
        "granularity VARCHAR, slice_key VARCHAR, column_name VARCHAR, population_stability_index DOUBLE, "
        "js_distance DOUBLE, ks_test STRUCT(statistic DOUBLE, pvalue DOUBLE), "
        "chi_squared_test STRUCT(statistic DOUBLE, pvalue DOUBLE), wasserstein_distance DOUBLE, tv_distance DOUBLE, "
        "l_infinity_distance DOUBLE)"
    )
    for start, kind, gran, slice_key, column, psi, js, ks_p, chi_p in DRIFT_ROWS:
        con.execute(
            "INSERT INTO s.t_drift_metrics VALUES ({'start': ?::TIMESTAMP, 'end': ?::TIMESTAMP}, ?, ?, ?, ?, ?, ?, "
            "CASE WHEN ? IS NULL THEN NULL ELSE {'statistic': 0.5, 'pvalue': ?} END, "
            "CASE WHEN ? IS NULL THEN NULL ELSE {'statistic': 9.0, 'pvalue': ?} END, NULL, NULL, NULL)",
            [start, start, kind, gran, slice_key, column, psi, js, ks_p, ks_p, chi_p, chi_p],
        )
    return con


def _run(con, databricks_sql: str) -> list[tuple]:
    duck_sql = sqlglot.transpile(databricks_sql, read="databricks", write="duckdb")[0]
    return con.execute(duck_sql.replace("c.s.", "s.")).fetchall()


def test_drift_query_finds_the_newest_window_features_over_threshold():
    con = _duckdb_with_drift_table()
    sql = drift_query(
        drift_metrics_table="c.s.t_drift_metrics",
        features=["age", "color", "noisy"],
        threshold=0.1,
        granularity="1 day",
    )
    rows = _run(con, sql)
    # newest window only; 'noisy' is dropped by its p-value; slices/consecutive/non-features ignored
    assert [(r[1], r[2], round(r[4], 6)) for r in rows] == [
        ("color", "js_distance", 0.3),
        ("age", "population_stability_index", 0.08),
    ]
    assert max(r[4] for r in rows) > 0.1  # the alert (MAX(drift_score) > 0.1) fires because of 'color'


def test_drift_query_scales_per_statistic_and_feature_thresholds():
    con = _duckdb_with_drift_table()
    sql = drift_query(
        drift_metrics_table="c.s.t_drift_metrics",
        features=["age", "color"],
        threshold=0.1,
        granularity="1 day",
        statistic_thresholds={"js_distance": 0.6},
        feature_overrides={"age": (None, 0.05)},
    )
    scores = {r[1]: r[4] for r in _run(con, sql)}
    # color: 0.30 * 0.1/0.6 = 0.05 (under); age: 0.08 * 0.1/0.05 = 0.16 (over)
    assert scores["color"] == pytest.approx(0.05)
    assert scores["age"] == pytest.approx(0.16)


def test_quality_query_reads_the_newest_whole_table_window():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    con.execute(
        'CREATE TABLE s.t_profile_metrics ("window" STRUCT(start TIMESTAMP, "end" TIMESTAMP), log_type VARCHAR, '
        "granularity VARCHAR, slice_key VARCHAR, column_name VARCHAR, model_id VARCHAR, accuracy_score DOUBLE)"
    )
    rows = [
        ("2024-01-01", "INPUT", ":table", "*", None, 0.90),
        ("2024-01-02", "INPUT", ":table", "*", None, 0.60),
        ("2024-01-02", "INPUT", ":table", "3", None, 0.99),  # one model version: ignored
        ("2024-01-02", "BASELINE", ":table", "*", None, 0.95),  # baseline: ignored
        ("2024-01-03", "INPUT", "age", "*", None, None),  # a column row, no quality metric
    ]
    for start, log_type, column, model_id, slice_key, acc in rows:
        con.execute(
            "INSERT INTO s.t_profile_metrics VALUES ({'start': ?::TIMESTAMP, 'end': ?::TIMESTAMP}, ?, '1 day', ?, ?, ?, ?)",
            [start, start, log_type, slice_key, column, model_id, acc],
        )
    sql = quality_query(
        profile_metrics_table="c.s.t_profile_metrics", problem_type="classification", granularity="1 day"
    )
    result = _run(con, sql)
    assert [round(r[1], 6) for r in result] == [0.6]
