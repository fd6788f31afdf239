"""`DriftAlert` and `QualityAlert`: `databricks_alert_v2` on the monitor's metrics tables.

Why SQL alerts in Databricks (not only the analyze-drift job): they keep firing if a job is
broken, and on-call sees them in the Databricks SQL alert list with the query that fired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.alert_v2 import AlertV2, AlertV2EvaluationNotificationSubscriptions

from constructs import Construct

from ..config.model import Environment, Model
from ..config.validators import check_quartz_cron, check_timezone
from ..errors import LakemonConstructError
from ..tables import ModelTables
from .destination import AlertDestination
from .queries import STATISTIC_SQL, drift_query, quality_query

DEFAULT_ALERT_CRON = "0 30 * * * ?"
"""Hourly at :30: picks up metrics soon after a refresh; an alert stays TRIGGERED (no repeat
notification) until the newest window is back under the threshold."""


def _subscriptions(destinations: Sequence[AlertDestination], emails: Sequence[str]) -> list:
    subs = [AlertV2EvaluationNotificationSubscriptions(destination_id=d.destination_id) for d in destinations]
    subs += [AlertV2EvaluationNotificationSubscriptions(user_email=e) for e in emails]
    return subs


class _MetricAlert(Construct):
    def _alert(
        self,
        *,
        display_name: str,
        query_text: str,
        source_column: str,
        operator: str,
        threshold: float,
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
        return AlertV2(
            self,
            "alert",
            display_name=display_name,
            query_text=query_text,
            warehouse_id=warehouse_id,
            parent_path=parent_path,
            evaluation={
                "source": {
                    "name": source_column,
                    "display": source_column,
                    "aggregation": "MAX" if operator == "GREATER_THAN" else "MIN",
                },
                "comparison_operator": operator,
                "threshold": {"value": {"double_value": threshold}},
                "empty_result_state": "OK",
                "notification": {"notify_on_ok": True, "subscriptions": subscriptions},
            },
            schedule={
                "quartz_cron_schedule": schedule_cron,
                "timezone_id": schedule_timezone,
                "pause_status": "UNPAUSED",
            },
            depends_on=list(depends_on) or None,
        )


class DriftAlert(_MetricAlert):
    """Fires when a feature's drift statistic in the newest window exceeds `threshold`.

    Example::

        DriftAlert.for_model(stack, "drift-alert", env=env, model=model,
                             drift_metrics_table=monitor.drift_metrics_table,
                             destinations=destinations, warehouse_id=stack.warehouse_id,
                             depends_on=[monitor.monitor])

    Props: display_name, drift_metrics_table, features, threshold in (0, 1], granularity,
    numeric_statistic / categorical_statistic, statistic_thresholds, feature_overrides
    (feature -> (statistic or None, threshold or None)), max_pvalue, warehouse_id, schedule,
    destinations / emails (at least one), parent_path, depends_on (the monitor).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        display_name: str,
        drift_metrics_table: str,
        features: Sequence[str],
        threshold: float,
        warehouse_id: str,
        granularity: str = "1 day",
        numeric_statistic: str = "population_stability_index",
        categorical_statistic: str = "js_distance",
        statistic_thresholds: Mapping[str, float] | None = None,
        feature_overrides: Mapping[str, tuple[str | None, float | None]] | None = None,
        max_pvalue: float = 0.01,
        destinations: Sequence[AlertDestination] = (),
        emails: Sequence[str] = (),
        schedule_cron: str = DEFAULT_ALERT_CRON,
        schedule_timezone: str = "UTC",
        parent_path: str | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        if not 0 < threshold <= 1:
            raise LakemonConstructError(self.node.path, f"threshold must be in (0, 1] (got {threshold})")
        if not features:
            raise LakemonConstructError(self.node.path, "a drift alert needs at least one feature")
        for statistic in (
            numeric_statistic,
            categorical_statistic,
            *(s for s, _ in (feature_overrides or {}).values() if s),
        ):
            if statistic not in STATISTIC_SQL:
                raise LakemonConstructError(
                    self.node.path,
                    f"statistic {statistic!r} is not a drift statistic; allowed: {', '.join(STATISTIC_SQL)}",
                )
        unknown = sorted(set(feature_overrides or {}) - set(features))
        if unknown:
            raise LakemonConstructError(
                self.node.path, f"overrides name features the model does not have: {', '.join(unknown)}"
            )
        self.threshold = threshold
        self.query_text = drift_query(
            drift_metrics_table=drift_metrics_table,
            features=features,
            threshold=threshold,
            granularity=granularity,
            numeric_statistic=numeric_statistic,
            categorical_statistic=categorical_statistic,
            statistic_thresholds=statistic_thresholds,
            feature_overrides=feature_overrides,
            max_pvalue=max_pvalue,
        )
        self.alert = self._alert(
            display_name=display_name,
            query_text=self.query_text,
            source_column="drift_score",
            operator="GREATER_THAN",
            threshold=threshold,
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
        drift = env.monitoring.drift
        return cls(
            scope,
            id,
            display_name=f"lakemon {env.name} {model.name}: feature drift",
            drift_metrics_table=ModelTables(env, model).drift_metrics,
            features=model.feature_names(),
            threshold=drift.threshold,
            granularity=env.monitoring.granularities[0],
            numeric_statistic=drift.numeric_statistic,
            categorical_statistic=drift.categorical_statistic,
            statistic_thresholds=dict(drift.statistic_thresholds),
            feature_overrides={f: (o.statistic, o.threshold) for f, o in drift.features.items()},
            max_pvalue=drift.max_pvalue,
            warehouse_id=warehouse_id,
            destinations=destinations,
            emails=() if destinations else env.alerts.recipients,
            schedule_timezone=env.monitoring.schedule.timezone,
            depends_on=depends_on,
        )


class QualityAlert(_MetricAlert):
    """Fires when the newest window's model quality (accuracy for classification, R2 for
    regression, from the profile metrics) falls below `threshold`. Needs a label column."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        display_name: str,
        profile_metrics_table: str,
        problem_type: str,
        threshold: float,
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
        if problem_type not in ("classification", "regression"):
            raise LakemonConstructError(
                self.node.path, f"problem_type {problem_type!r}; allowed: classification, regression"
            )
        if not 0 < threshold <= 1:
            raise LakemonConstructError(self.node.path, f"threshold must be in (0, 1] (got {threshold})")
        self.query_text = quality_query(
            profile_metrics_table=profile_metrics_table, problem_type=problem_type, granularity=granularity
        )
        self.alert = self._alert(
            display_name=display_name,
            query_text=self.query_text,
            source_column="quality",
            operator="LESS_THAN",
            threshold=threshold,
            warehouse_id=warehouse_id,
            schedule_cron=schedule_cron,
            schedule_timezone=schedule_timezone,
            destinations=destinations,
            emails=emails,
            parent_path=parent_path,
            depends_on=depends_on,
        )
