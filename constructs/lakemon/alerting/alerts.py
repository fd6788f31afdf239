"""`DriftAlert` and `QualityAlert`: `databricks_alert_v2` on the drift verdicts table.

Why SQL alerts in Databricks (not only the analyze-drift job): on-call sees them in the
Databricks SQL alert list with the query that fired, and their notification destinations hold
the secrets. What they fire on is decided by analyze-drift (`<model>_drift_verdicts`, written by
the monitoring job): the alert SQL only reads the newest judged window's verdicts, so production
pages on exactly the decisions the embedded default rehearses (lakemon.contract.alert_queries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.alert_v2 import AlertV2, AlertV2EvaluationNotificationSubscriptions

from constructs import Construct

from ..config.model import Environment, Model
from ..config.validators import GRANULARITIES, check_quartz_cron, check_timezone
from ..contract.alert_queries import (
    count_alert_spec,
    drift_alert_spec,
    drift_query,
    quality_alert_spec,
    quality_query,
)
from ..contract.tables import ModelTables
from ..errors import LakemonConstructError
from ..model_props import NO_PROPS, ForModel
from .destination import AlertDestination

DEFAULT_ALERT_CRON = "0 30 * * * ?"
"""Hourly at :30: picks up verdicts soon after the monitoring job; an alert stays TRIGGERED (no
repeat notification) until the newest judged window has no drift verdict."""


def _subscriptions(destinations: Sequence[AlertDestination], emails: Sequence[str]) -> list:
    subs = [AlertV2EvaluationNotificationSubscriptions(destination_id=d.destination_id) for d in destinations]
    subs += [AlertV2EvaluationNotificationSubscriptions(user_email=e) for e in emails]
    return subs


class VerdictAlertProps(TypedDict):
    """What `DriftAlert.for_model` and `QualityAlert.for_model` fill from the env file."""

    display_name: str
    verdicts_table: str
    granularity: str
    emails: Sequence[str]
    schedule_timezone: str


class _VerdictAlert(ForModel, Construct):
    """An alert on the newest judged window of the verdicts table; a subclass says which query
    and which column its COUNT > 0 evaluation counts.

    Props (default in brackets):
        display_name: the alert's name in the Databricks SQL alert list (required).
        verdicts_table: `<model>_drift_verdicts`, `catalog.schema.table` (required).
        warehouse_id: the SQL warehouse that runs the query (required).
        granularity: the windows judged, one of `lakemon.config.validators.GRANULARITIES` ["1 day"].
        destinations: AlertDestination constructs to notify [none].
        emails: users to notify by e-mail [none; at least one destination or e-mail is required].
        schedule_cron: Quartz schedule of the evaluation [DEFAULT_ALERT_CRON, hourly at :30].
        schedule_timezone: IANA zone of the schedule ["UTC"].
        parent_path: workspace folder of the alert (required: an `AlertFolder`'s `path`, or a
            folder the stack otherwise declares; unset, the provider can end the create in an
            inconsistent result, see lakemon.alerting.folder).
        depends_on: resources created first, normally the verdicts table [none].
    `for_model(scope, id, *, env, model, warehouse_id=..., **props)` fills the name, table,
    granularity, time zone and (without destinations) the env's e-mail recipients (`props_for_model`).
    Thresholds and statistics are analyze-drift's settings (`monitoring.drift`), not the alert's.
    """

    query = staticmethod(drift_query)
    spec_for_model = staticmethod(drift_alert_spec)
    """The (env, model) -> AlertSpec the embedded default evaluates too (its display name is the alert's)."""
    source_column = "feature"

    @classmethod
    def props_for_model(cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS) -> VerdictAlertProps:
        """The alert of `model`'s verdicts table on the env's first granularity and time zone."""
        return VerdictAlertProps(
            display_name=cls.spec_for_model(env, model).display_name,
            verdicts_table=ModelTables(env, model).drift_verdicts,
            granularity=env.monitoring.granularities[0],
            # e-mail recipients only when no notification destination is given (they hold the secrets)
            emails=() if given.get("destinations") else env.alerts.recipients,
            schedule_timezone=env.monitoring.schedule.timezone,
        )

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
        path = self.node.path
        if len(verdicts_table.split(".")) != 3:
            raise LakemonConstructError(path, f"verdicts_table {verdicts_table!r} must be catalog.schema.table")
        if granularity not in GRANULARITIES:
            raise LakemonConstructError(
                path, f"granularity {granularity!r} is not allowed; allowed: {', '.join(GRANULARITIES)}"
            )
        try:
            check_quartz_cron(schedule_cron)
            check_timezone(schedule_timezone)
        except ValueError as exc:
            raise LakemonConstructError(path, str(exc)) from None
        if not parent_path:
            raise LakemonConstructError(
                path,
                "an alert needs parent_path: pass the path of an AlertFolder the stack declares "
                "(MonitoredModel does; see lakemon.alerting.folder for why it may not be left unset)",
            )
        subscriptions = _subscriptions(destinations, emails)
        if not subscriptions:
            raise LakemonConstructError(path, "an alert needs at least one destination or e-mail to notify")
        spec = count_alert_spec(
            display_name=display_name,
            query_text=self.query(verdicts_table=verdicts_table, granularity=granularity),
            source_column=self.source_column,
        )
        self.spec = spec
        self.query_text = spec.query_text
        self.alert = AlertV2(
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


class DriftAlert(_VerdictAlert):
    """Fires when analyze-drift judged `drift` for at least one feature in the newest judged
    window; the query's rows name the features (statistic, value, threshold, p-value).

    Example::

        DriftAlert.for_model(stack, "drift-alert", env=env, model=model,
                             destinations=destinations, warehouse_id=stack.warehouse_id,
                             parent_path=stack.alert_folder.path, depends_on=[verdicts.table])

    Props: see `_VerdictAlert` (display_name, verdicts_table, warehouse_id, granularity,
    destinations / emails, schedule_cron / schedule_timezone, parent_path (required), depends_on).
    """

    query = staticmethod(drift_query)
    spec_for_model = staticmethod(drift_alert_spec)
    source_column = "feature"


class QualityAlert(_VerdictAlert):
    """Fires when analyze-drift judged the newest judged window's model quality `degraded`
    (accuracy for classification, R2 for regression, below monitoring.quality_threshold with at
    least min_rows labelled rows). Needs a label column. Props: those of DriftAlert."""

    query = staticmethod(quality_query)
    spec_for_model = staticmethod(quality_alert_spec)
    source_column = "metric"
