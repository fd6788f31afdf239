"""`DriftAlert` and `QualityAlert`: `databricks_alert_v2` on the drift verdicts table.

Why SQL alerts in Databricks (not only the analyze-drift job): on-call sees them in the
Databricks SQL alert list with the query that fired, and their notification destinations hold
the secrets. What they fire on is decided by analyze-drift (`<model>_drift_verdicts`, written by
the monitoring job): the alert SQL only reads the newest judged window's verdicts, so production
pages on exactly the decisions the embedded default rehearses (lakemon.alerting.queries).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.alert_v2 import AlertV2, AlertV2EvaluationNotificationSubscriptions

from constructs import Construct

from ..config.model import Environment, Model
from ..config.validators import GRANULARITIES, check_quartz_cron, check_timezone
from ..errors import LakemonConstructError
from .destination import AlertDestination
from .queries import AlertSpec, drift_alert_spec, drift_query, quality_alert_spec, quality_query

DEFAULT_ALERT_CRON = "0 30 * * * ?"
"""Hourly at :30: picks up verdicts soon after the monitoring job; an alert stays TRIGGERED (no
repeat notification) until the newest judged window has no drift verdict."""


def _subscriptions(destinations: Sequence[AlertDestination], emails: Sequence[str]) -> list:
    subs = [AlertV2EvaluationNotificationSubscriptions(destination_id=d.destination_id) for d in destinations]
    subs += [AlertV2EvaluationNotificationSubscriptions(user_email=e) for e in emails]
    return subs


class _VerdictAlert(Construct):
    def _alert(
        self,
        spec: AlertSpec,
        *,
        warehouse_id: str,
        schedule_cron: str,
        schedule_timezone: str,
        destinations: Sequence[AlertDestination],
        emails: Sequence[str],
        parent_path: str | None,
        depends_on: Sequence[ITerraformDependable],
    ) -> AlertV2:
        try:
            check_quartz_cron(schedule_cron)
            check_timezone(schedule_timezone)
        except ValueError as exc:
            raise LakemonConstructError(self.node.path, str(exc)) from None
        subscriptions = _subscriptions(destinations, emails)
        if not subscriptions:
            raise LakemonConstructError(
                self.node.path, "an alert needs at least one destination or e-mail to notify"
            )
        self.spec = spec
        self.query_text = spec.query_text
        return AlertV2(
            self,
            "alert",
            display_name=spec.display_name,
            query_text=spec.query_text,
            warehouse_id=warehouse_id,
            parent_path=parent_path,
            evaluation={
                "source": {
                    "name": spec.source_column,
                    "display": spec.source_column,
                    "aggregation": spec.aggregation,
                },
                "comparison_operator": spec.operator,
                "threshold": {"value": {"double_value": spec.threshold}},
                "empty_result_state": spec.empty_result_state,
                "notification": {"notify_on_ok": True, "subscriptions": subscriptions},
            },
            schedule={
                "quartz_cron_schedule": schedule_cron,
                "timezone_id": schedule_timezone,
                "pause_status": "UNPAUSED",
            },
            depends_on=list(depends_on) or None,
        )


def _check_table(path: str, verdicts_table: str, granularity: str) -> None:
    if len(verdicts_table.split(".")) != 3:
        raise LakemonConstructError(path, f"verdicts_table {verdicts_table!r} must be catalog.schema.table")
    if granularity not in GRANULARITIES:
        raise LakemonConstructError(
            path, f"granularity {granularity!r} is not allowed; allowed: {', '.join(GRANULARITIES)}"
        )


class DriftAlert(_VerdictAlert):
    """Fires when analyze-drift judged `drift` for at least one feature in the newest judged
    window; the query's rows name the features (statistic, value, threshold, p-value).

    Example::

        DriftAlert.for_model(stack, "drift-alert", env=env, model=model,
                             destinations=destinations, warehouse_id=stack.warehouse_id,
                             depends_on=[verdicts.table])

    Props: display_name, verdicts_table (`<model>_drift_verdicts`), granularity, warehouse_id,
    schedule_cron/schedule_timezone, destinations / emails (at least one), parent_path,
    depends_on (the verdicts table). Thresholds and statistics are analyze-drift's settings
    (`monitoring.drift`), not the alert's.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        display_name: str,
        verdicts_table: str,
        warehouse_id: str,
        granularity: str = "1 day",
        destinations: Sequence[AlertDestination] = (),
        emails: Sequence[str] = (),
        schedule_cron: str = DEFAULT_ALERT_CRON,
        schedule_timezone: str = "UTC",
        parent_path: str | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        _check_table(self.node.path, verdicts_table, granularity)
        spec = AlertSpec(
            display_name=display_name,
            query_text=drift_query(verdicts_table=verdicts_table, granularity=granularity),
            source_column="feature",
            aggregation="COUNT",
            operator="GREATER_THAN",
            threshold=0.0,
        )
        self.alert = self._alert(
            spec,
            warehouse_id=warehouse_id,
            schedule_cron=schedule_cron,
            schedule_timezone=schedule_timezone,
            destinations=destinations,
            emails=emails,
            parent_path=parent_path,
            depends_on=depends_on,
        )

    @classmethod
    def for_model(
        cls,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str,
        destinations: Sequence[AlertDestination] = (),
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> DriftAlert:
        spec = drift_alert_spec(env, model)
        alert = cls(
            scope,
            id,
            display_name=spec.display_name,
            verdicts_table=_table_of(env, model),
            granularity=env.monitoring.granularities[0],
            warehouse_id=warehouse_id,
            destinations=destinations,
            emails=() if destinations else env.alerts.recipients,
            schedule_timezone=env.monitoring.schedule.timezone,
            depends_on=depends_on,
        )
        assert alert.spec == spec  # the construct and the embedded default evaluate the same alert
        return alert


class QualityAlert(_VerdictAlert):
    """Fires when analyze-drift judged the newest judged window's model quality `degraded`
    (accuracy for classification, R2 for regression, below monitoring.quality_threshold with at
    least min_rows labelled rows). Needs a label column."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        display_name: str,
        verdicts_table: str,
        warehouse_id: str,
        granularity: str = "1 day",
        destinations: Sequence[AlertDestination] = (),
        emails: Sequence[str] = (),
        schedule_cron: str = DEFAULT_ALERT_CRON,
        schedule_timezone: str = "UTC",
        parent_path: str | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        _check_table(self.node.path, verdicts_table, granularity)
        spec = AlertSpec(
            display_name=display_name,
            query_text=quality_query(verdicts_table=verdicts_table, granularity=granularity),
            source_column="metric",
            aggregation="COUNT",
            operator="GREATER_THAN",
            threshold=0.0,
        )
        self.alert = self._alert(
            spec,
            warehouse_id=warehouse_id,
            schedule_cron=schedule_cron,
            schedule_timezone=schedule_timezone,
            destinations=destinations,
            emails=emails,
            parent_path=parent_path,
            depends_on=depends_on,
        )

    @classmethod
    def for_model(
        cls,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str,
        destinations: Sequence[AlertDestination] = (),
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> QualityAlert:
        spec = quality_alert_spec(env, model)
        alert = cls(
            scope,
            id,
            display_name=spec.display_name,
            verdicts_table=_table_of(env, model),
            granularity=env.monitoring.granularities[0],
            warehouse_id=warehouse_id,
            destinations=destinations,
            emails=() if destinations else env.alerts.recipients,
            schedule_timezone=env.monitoring.schedule.timezone,
            depends_on=depends_on,
        )
        assert alert.spec == spec
        return alert


def _table_of(env: Environment, model: Model) -> str:
    from ..tables import ModelTables

    return ModelTables(env, model).drift_verdicts
