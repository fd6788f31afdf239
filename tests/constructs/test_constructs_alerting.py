"""Destinations (secrets only from sensitive variables), drift and quality alerts; the alert SQL
is run on DuckDB (transpiled with sqlglot) against hand-made verdicts tables."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
import sqlglot

from lakemon import AlertDestination, DriftAlert, LakemonConstructError, QualityAlert
from lakemon.alerting import drift_alert_spec, drift_query, quality_query


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


def test_drift_alert_reads_only_the_verdicts_table(make_stack, prod_env, resources_of):
    stack = make_stack(prod_env)
    destinations = stack.destinations
    DriftAlert.for_model(
        stack,
        "drift",
        env=prod_env,
        model=prod_env.model(),
        warehouse_id=stack.warehouse_id,
        destinations=destinations,
        parent_path=stack.alert_folder.path,
    )
    (alert,) = resources_of(stack, "databricks_alert_v2")
    (folder,) = resources_of(stack, "databricks_directory")
    assert folder["path"] == "/Shared/lakemon/prod/alerts"
    assert alert["parent_path"].startswith("${databricks_directory.") and alert["parent_path"].endswith(".path}")
    evaluation = alert["evaluation"]
    assert evaluation["comparison_operator"] == "GREATER_THAN"
    assert evaluation["threshold"] == {"value": {"double_value": 0.0}}
    assert evaluation["source"] == {"name": "feature", "display": "feature", "aggregation": "COUNT"}
    assert evaluation["empty_result_state"] == "OK"
    assert len(evaluation["notification"]["subscriptions"]) == 2
    assert all(
        s["destination_id"].startswith("${databricks_notification_destination.")
        for s in evaluation["notification"]["subscriptions"]
    )
    tables = set(re.findall(r"(?:FROM|JOIN)\s+([\w.]+)", alert["query_text"]))
    assert tables == {"mlops_prod.marvel_characters.alive_classifier_drift_verdicts", "newest"}
    # no threshold, p-value or statistic logic is left in the alert: the rule decided
    for word in ("0.05", "pvalue <", "js_distance", "population_stability_index", "threshold *"):
        assert word not in alert["query_text"]
    assert alert["query_text"] == drift_alert_spec(prod_env, prod_env.model()).query_text
    assert alert["warehouse_id"] == "${var.warehouse_id}"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"emails": ()}, "at least one destination or e-mail"),
        ({"verdicts_table": "t_drift_verdicts"}, "must be catalog.schema.table"),
        ({"granularity": "1 fortnight"}, "granularity '1 fortnight' is not allowed"),
        ({"schedule_cron": "daily"}, "6 or 7 fields"),
        ({"parent_path": None}, "an alert needs parent_path"),
    ],
)
def test_drift_alert_refusals(make_stack, dev_env, props, message):
    stack = make_stack(dev_env)
    base = dict(
        display_name="d",
        verdicts_table="c.s.t_drift_verdicts",
        warehouse_id="w",
        emails=("x@example.com",),
        parent_path="/Shared/lakemon/dev/alerts",
    )
    base.update(props)
    with pytest.raises(LakemonConstructError, match=message):
        DriftAlert(stack, "drift", **base)


def test_quality_alert_fires_on_a_degraded_verdict(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    QualityAlert.for_model(
        stack, "quality", env=dev_env, model=dev_env.model(), warehouse_id="w", destinations=stack.destinations,
        parent_path="/Shared/lakemon/dev/alerts",
    )
    (alert,) = resources_of(stack, "databricks_alert_v2")
    assert alert["evaluation"]["comparison_operator"] == "GREATER_THAN"
    assert alert["evaluation"]["source"] == {"name": "metric", "display": "metric", "aggregation": "COUNT"}
    assert "v.verdict = 'degraded'" in alert["query_text"]
    assert "alive_classifier_drift_verdicts" in alert["query_text"] and "0.7" not in alert["query_text"]


# --- the SQL itself, executed ---------------------------------------------------------------------

VERDICT_ROWS = [
    # subject, window start, granularity, feature, statistic, verdict
    ("drift", "2024-01-01", "1 day", "age", "population_stability_index", "drift"),  # older window: ignored
    ("drift", "2024-01-02", "1 day", "age", "population_stability_index", "ok"),
    ("drift", "2024-01-02", "1 day", "color", "js_distance", "drift"),
    ("drift", "2024-01-02", "1 day", "noisy", "js_distance", "warn"),
    ("drift", "2024-01-02", "1 day", "zip", "js_distance", "drift"),
    ("drift", "2024-01-03", "1 day", "age", "population_stability_index", "too_few_rows"),  # not judged
    ("drift", "2024-01-03", "1 day", "color", "js_distance", "unavailable"),  # not judged
    ("drift", "2024-01-09", "1 week", "color", "js_distance", "ok"),  # other granularity
    ("quality", "2024-01-01", "1 day", ":table", "accuracy_score", "degraded"),
    ("quality", "2024-01-02", "1 day", ":table", "accuracy_score", "ok"),
    ("quality", "2024-01-03", "1 day", ":table", "accuracy_score", "too_few_rows"),
]


def _duckdb_with_verdicts(rows) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    con.execute(
        "CREATE TABLE s.t_drift_verdicts (subject VARCHAR, granularity VARCHAR, window_start TIMESTAMP, "
        "window_end TIMESTAMP, feature VARCHAR, statistic VARCHAR, value DOUBLE, adjusted DOUBLE, threshold DOUBLE, "
        "pvalue DOUBLE, verdict VARCHAR, row_count BIGINT, rule_version VARCHAR, run_id VARCHAR)"
    )
    for subject, start, gran, feature, statistic, verdict in rows:
        con.execute(
            "INSERT INTO s.t_drift_verdicts VALUES (?, ?, ?::TIMESTAMP, ?::TIMESTAMP + INTERVAL 1 DAY, ?, ?, 0.3, 0.2, "
            "0.1, 1e-6, ?, 500, 'r', 'run')",
            [subject, gran, start, start, feature, statistic, verdict],
        )
    return con


def _run(con, databricks_sql: str) -> list[tuple]:
    duck_sql = sqlglot.transpile(databricks_sql, read="databricks", write="duckdb")[0]
    return con.execute(duck_sql.replace("c.s.", "s.")).fetchall()


def test_drift_query_names_the_drifted_features_of_the_newest_judged_window():
    con = _duckdb_with_verdicts(VERDICT_ROWS)
    rows = _run(con, drift_query(verdicts_table="c.s.t_drift_verdicts", granularity="1 day"))
    # 2024-01-03 has no judged verdict (too_few_rows, unavailable): the newest judged is 01-02
    assert [(str(r[0].date()), r[2], r[3]) for r in rows] == [
        ("2024-01-02", "color", "js_distance"),
        ("2024-01-02", "zip", "js_distance"),
    ]


def test_drift_query_is_empty_when_the_newest_judged_window_has_no_drift():
    rows = [r for r in VERDICT_ROWS if r[3] not in ("color", "zip")]
    assert _run(_duckdb_with_verdicts(rows), drift_query(verdicts_table="c.s.t_drift_verdicts", granularity="1 day")) == []


def test_quality_query_reads_the_newest_judged_quality_window():
    con = _duckdb_with_verdicts(VERDICT_ROWS)
    sql = quality_query(verdicts_table="c.s.t_drift_verdicts", granularity="1 day")
    assert _run(con, sql) == []  # newest judged (01-02) is ok; the degraded 01-01 is older
    degraded = [r for r in VERDICT_ROWS if not (r[0] == "quality" and r[1] == "2024-01-02")]
    [row] = _run(_duckdb_with_verdicts(degraded), sql)
    assert str(row[0].date()) == "2024-01-01" and row[2] == "accuracy_score"


@pytest.mark.parametrize("path", ["Shared/x", "/Workspace/Shared/x", "/Shared/x/", "/Shared//x"])
def test_alert_folder_refuses_paths_in_another_form(make_stack, dev_env, path):
    from lakemon import AlertFolder

    with pytest.raises(LakemonConstructError, match="without the /Workspace prefix"):
        AlertFolder(make_stack(dev_env), "f", path=path)
