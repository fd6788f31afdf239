"""The SQL the alerts run on the monitor's metrics tables (Databricks SQL dialect).

Kept as plain functions so that tests can run them (transpiled with sqlglot) on DuckDB against
hand-made metrics tables: an alert whose query is wrong would otherwise fail silently in prod.

Drift score: each feature's statistic is scaled so that its own threshold maps onto the env
threshold T: score = value * T / threshold_of_that_statistic (or of that feature). The alert then
fires when the newest window's largest score exceeds T, so T itself (0.1 in dev, 0.05 in prod)
is what the alert compares with, even when per-statistic thresholds differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# statistic -> SQL expression over one drift_metrics row
STATISTIC_SQL = {
    "population_stability_index": "population_stability_index",
    "ks_test": "ks_test.statistic",
    "wasserstein_distance": "wasserstein_distance",
    "js_distance": "js_distance",
    "chi_squared_test": "chi_squared_test.statistic",
    "tv_distance": "tv_distance",
    "l_infinity_distance": "l_infinity_distance",
}
PVALUE_SQL = "coalesce(ks_test.pvalue, chi_squared_test.pvalue, 0.0)"
"""p-value of the row's test: KS for numeric columns, chi-squared for categorical ones."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _num(value: float) -> str:
    return repr(float(value))


def drift_query(
    *,
    drift_metrics_table: str,
    features: Sequence[str],
    threshold: float,
    granularity: str,
    numeric_statistic: str = "population_stability_index",
    categorical_statistic: str = "js_distance",
    statistic_thresholds: Mapping[str, float] | None = None,
    feature_overrides: Mapping[str, tuple[str | None, float | None]] | None = None,
    max_pvalue: float = 0.01,
) -> str:
    """Rows (column_name, statistic, value, drift_score) of the newest BASELINE window, largest first.

    Only model features, the whole table (no slice), and rows whose test rejects "same
    distribution" at `max_pvalue` count. The alert's source is MAX(drift_score) > threshold.
    """
    thresholds = dict(statistic_thresholds or {})
    overrides = dict(feature_overrides or {})

    def scaled(statistic: str, own: float | None = None) -> str:
        own = own if own is not None else thresholds.get(statistic, threshold)
        return f"{STATISTIC_SQL[statistic]} * {_num(threshold / own)}"

    default_score = f"coalesce({scaled(numeric_statistic)}, {scaled(categorical_statistic)})"
    default_name = (
        f"CASE WHEN {STATISTIC_SQL[numeric_statistic]} IS NOT NULL THEN {_quote(numeric_statistic)} "
        f"ELSE {_quote(categorical_statistic)} END"
    )
    default_value = f"coalesce({STATISTIC_SQL[numeric_statistic]}, {STATISTIC_SQL[categorical_statistic]})"
    score, name, value = default_score, default_name, default_value
    if overrides:
        whens_score, whens_name, whens_value = [], [], []
        for feature, (statistic, own) in sorted(overrides.items()):
            if statistic is None:
                own_score = (
                    f"coalesce({scaled(numeric_statistic, own)}, {scaled(categorical_statistic, own)})"
                    if own is not None
                    else default_score
                )
                whens_score.append(f"WHEN {_quote(feature)} THEN {own_score}")
                continue
            whens_score.append(f"WHEN {_quote(feature)} THEN {scaled(statistic, own)}")
            whens_name.append(f"WHEN {_quote(feature)} THEN {_quote(statistic)}")
            whens_value.append(f"WHEN {_quote(feature)} THEN {STATISTIC_SQL[statistic]}")
        score = f"CASE column_name {' '.join(whens_score)} ELSE {default_score} END"
        if whens_name:
            name = f"CASE column_name {' '.join(whens_name)} ELSE {default_name} END"
            value = f"CASE column_name {' '.join(whens_value)} ELSE {default_value} END"
    feature_list = ", ".join(_quote(f) for f in features)
    scope = f"drift_type = 'BASELINE' AND granularity = {_quote(granularity)} AND slice_key IS NULL"
    return (
        f"-- lakemon drift alert: newest BASELINE window, threshold {threshold}\n"
        f"WITH newest AS (\n"
        f"  SELECT max(`window`.start) AS window_start FROM {drift_metrics_table} WHERE {scope}\n"
        f"), scored AS (\n"
        f"  SELECT `window`.start AS window_start, column_name,\n"
        f"         {name} AS statistic,\n"
        f"         {value} AS value,\n"
        f"         {score} AS drift_score,\n"
        f"         {PVALUE_SQL} AS pvalue\n"
        f"  FROM {drift_metrics_table}\n"
        f"  WHERE {scope} AND column_name IN ({feature_list})\n"
        f")\n"
        f"SELECT s.window_start, s.column_name, s.statistic, s.value, s.drift_score, s.pvalue\n"
        f"FROM scored s JOIN newest n ON s.window_start = n.window_start\n"
        f"WHERE s.drift_score IS NOT NULL AND s.pvalue < {_num(max_pvalue)}\n"
        f"ORDER BY s.drift_score DESC"
    )


# problem type -> the profile-metrics column that measures model quality (higher is better)
QUALITY_METRIC = {"classification": "accuracy_score", "regression": "r2_score"}


def quality_query(*, profile_metrics_table: str, problem_type: str, granularity: str) -> str:
    """The newest INPUT window's model-quality metric (whole table, all model versions)."""
    metric = QUALITY_METRIC[problem_type]
    scope = (
        f"log_type = 'INPUT' AND column_name = ':table' AND slice_key IS NULL AND model_id = '*' "
        f"AND granularity = {_quote(granularity)} AND {metric} IS NOT NULL"
    )
    return (
        f"-- lakemon quality alert: {metric} of the newest window\n"
        f"SELECT `window`.start AS window_start, {metric} AS quality\n"
        f"FROM {profile_metrics_table}\n"
        f"WHERE {scope}\n"
        f"  AND `window`.start = (SELECT max(`window`.start) FROM {profile_metrics_table} WHERE {scope})"
    )
