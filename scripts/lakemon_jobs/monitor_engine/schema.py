"""Arrow schemas of the two monitor output tables, with Databricks' column names and meanings.

On Databricks the quality monitor writes `<inference_log>_profile_metrics` and
`<inference_log>_drift_metrics`; on the embedded default the local engine writes the same two
tables. Readers (analyze-drift, reports, dashboards) therefore code against ONE schema, defined
here, and never care where the numbers came from.

Conventions shared by both tables:
- `window` is a half-open interval [start, end) in UTC; BASELINE profile rows have `window`
  null, because the baseline has no time.
- `slice_key`/`slice_value` are both null for the whole table; otherwise `slice_key` is the
  slicing expression as written in config and `slice_value` its value as a string
  ("true"/"false" for comparisons, null when the expression is null for those rows).
- `column_name` is ':table' for table-level rows (row counts, non-null columns, model quality).
- The model-id column is NAMED AFTER the monitor's `model_id_col` (lakemon's default
  `model_version`), as the documented column schemas list it (`model_id_col`, "Grouping
  columns" of https://docs.databricks.com/en/lakehouse-monitoring/monitor-output.html; see
  docs/monitoring.md). '*' means all model versions together, else one value of that column.
- Percentages (`percent_*`) are in 0..100, like Databricks.
"""

from __future__ import annotations

import pyarrow as pa

from lakemon.config.model import Model
from lakemon.contract.statistics import STATISTICS

DEFAULT_MODEL_ID_COL: str = Model.model_fields["model_id_column"].default
"""The model-id column of a model that does not set `model_id_column` (`model_version`)."""
TABLE_COLUMN = ":table"
ALL_MODELS = "*"
LOG_TYPES = ("INPUT", "BASELINE")
DRIFT_TYPES = ("BASELINE", "CONSECUTIVE")

WINDOW_TYPE = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
TEST_TYPE = pa.struct([("statistic", pa.float64()), ("pvalue", pa.float64())])
ITEM_TYPE = pa.struct([("item", pa.string()), ("count", pa.int64())])
PER_CLASS_TYPE = pa.struct(
    [("one_vs_all", pa.map_(pa.string(), pa.float64())), ("macro", pa.float64()), ("weighted", pa.float64())]
)
CONFUSION_TYPE = pa.list_(pa.struct([("prediction", pa.string()), ("label", pa.string()), ("count", pa.int64())]))
COLUMNS_DELTA_TYPE = pa.struct([("added", pa.int64()), ("missing", pa.int64())])

# --- profile metrics -------------------------------------------------------------------------------

def grouping_fields(model_id_col: str) -> list[pa.Field]:
    """The grouping columns both tables end their keys with: monitor version, granularity, slice,
    column, model id (named after the monitor's model_id_col) and the column's data type."""
    return [
        pa.field("monitor_version", pa.int64()),
        pa.field("granularity", pa.string(), nullable=False),
        pa.field("slice_key", pa.string()),
        pa.field("slice_value", pa.string()),
        pa.field("column_name", pa.string(), nullable=False),
        pa.field(model_id_col, pa.string(), nullable=False),
        pa.field("data_type", pa.string()),
    ]


def profile_key_fields(model_id_col: str) -> list[pa.Field]:
    return [
        pa.field("window", WINDOW_TYPE),
        pa.field("log_type", pa.string(), nullable=False),
        pa.field("logging_table_commit_version", pa.int32()),
        *grouping_fields(model_id_col),
    ]


PROFILE_KEY_DOC = """Which rows a profile row describes: time window (null for BASELINE), INPUT or BASELINE,
granularity ("1 day"), slice, column (':table' for the table) and model id ('*' = all) in the
column named after the monitor's model_id_col. `logging_table_commit_version`: the monitored
table's commit version the row was computed from (null from `compute_metrics`, which reads no
table); `monitor_version`: the monitor configuration's version, always 0 locally (one
configuration; Databricks increments it when the monitor is updated).
`data_type` is the Spark SQL type name of the column (null for ':table')."""

PROFILE_COUNT_FIELDS = [
    pa.field("count", pa.int64()),
    pa.field("num_nulls", pa.int64()),
    pa.field("num_nan", pa.int64()),
    pa.field("num_inf", pa.int64()),
    pa.field("num_zeros", pa.int64()),
    pa.field("distinct_count", pa.int64()),
    pa.field("percent_null", pa.float64()),
    pa.field("percent_nan", pa.float64()),
    pa.field("percent_zeros", pa.float64()),
    pa.field("percent_distinct", pa.float64()),
    pa.field("non_null_columns", pa.list_(pa.string())),
]
"""Counts. `count` = rows in the window/slice/model (nulls included); `num_nulls` = SQL nulls;
`num_nan`/`num_inf` = NaN and +/-infinity (numeric only; not nulls); `num_zeros` = values equal to 0;
`distinct_count` = distinct non-null values (NaN and each infinity count once);
`percent_null/nan/zeros` = 100 * num / count; `percent_distinct` = 100 * distinct / non-null count.
`non_null_columns` (':table' rows only): monitored columns with at least one non-null value."""

PROFILE_NUMERIC_FIELDS = [
    pa.field("avg", pa.float64()),
    pa.field("stddev", pa.float64()),
    pa.field("min", pa.float64()),
    pa.field("max", pa.float64()),
    pa.field("median", pa.float64()),
    pa.field("quantiles", pa.list_(pa.float64())),
]
"""Numeric columns, over FINITE values only (NaN and +/-inf are counted above, not averaged):
mean, sample standard deviation (ddof=1; null below 2 values), min, max, median, and
`quantiles` = the 101 percentiles 0, 1, ..., 100 (numpy linear interpolation), enough to draw
the distribution. All null when the column has no finite value in the window."""

PROFILE_CATEGORICAL_FIELDS = [
    pa.field("min_length", pa.int64()),
    pa.field("max_length", pa.int64()),
    pa.field("avg_length", pa.float64()),
    pa.field("frequent_items", pa.list_(ITEM_TYPE)),
]
"""Categorical (string, boolean, and classification label/prediction) columns: string lengths in
characters (strings only) and `frequent_items`, the 100 most frequent non-null values with their
counts, most frequent first (ties by value), enough to draw the distribution."""

PROFILE_QUALITY_FIELDS = [
    pa.field("accuracy_score", pa.float64()),
    pa.field("precision", PER_CLASS_TYPE),
    pa.field("recall", PER_CLASS_TYPE),
    pa.field("f1_score", PER_CLASS_TYPE),
    pa.field("roc_auc_score", pa.float64()),
    pa.field("confusion_matrix", CONFUSION_TYPE),
    pa.field("mean_absolute_error", pa.float64()),
    pa.field("mean_squared_error", pa.float64()),
    pa.field("root_mean_squared_error", pa.float64()),
    pa.field("mean_absolute_percentage_error", pa.float64()),
    pa.field("r2_score", pa.float64()),
    pa.field("num_labeled", pa.int64()),
]
"""Model quality, on ':table' rows only, over rows whose label and prediction are not null
(`num_labeled` of them); null elsewhere. Classification: accuracy; precision/recall/F1 per class
(`one_vs_all`, keyed by the class as a string, as sklearn with average=None, zero_division=0),
their macro and support-weighted means; ROC AUC of the positive class ("1"/"true", or the larger
label) from `prediction_proba` when the model has one and both classes occur; the confusion matrix
as (prediction, label, count) triples. Regression: MAE, MSE, RMSE, MAPE (sklearn's definition:
|y - p| / max(|y|, eps)) and R2 (sklearn: null below 2 rows, 0/1 convention for constant y)."""



CUSTOM_OUTPUT_TYPES = {
    "double": pa.float64(), "float": pa.float32(), "bigint": pa.int64(), "int": pa.int32(),
    "boolean": pa.bool_(), "string": pa.string(),
}
"""A custom metric's output_data_type -> its column's Arrow type."""


def custom_fields(custom_metrics, table: str) -> list[pa.Field]:
    """One column per custom metric stored in `table` ("profile": aggregate and derived, "drift":
    drift), in config order, after the built-in columns (Databricks adds custom metrics as new
    columns of the metric tables: https://docs.databricks.com/en/lakehouse-monitoring/custom-metrics.html)."""
    kinds = ("aggregate", "derived") if table == "profile" else ("drift",)
    return [pa.field(m.name, CUSTOM_OUTPUT_TYPES[m.output_data_type]) for m in custom_metrics if m.type in kinds]


def profile_metrics_schema(model_id_col: str = DEFAULT_MODEL_ID_COL, custom_metrics=()) -> pa.Schema:
    """The profile metrics table of a monitor whose model_id_col is `model_id_col` (and whose
    custom metrics are `custom_metrics`, MonitorSettings.custom_metrics)."""
    return pa.schema(
        profile_key_fields(model_id_col) + PROFILE_COUNT_FIELDS + PROFILE_NUMERIC_FIELDS
        + PROFILE_CATEGORICAL_FIELDS + PROFILE_QUALITY_FIELDS + custom_fields(custom_metrics, "profile")
    )


PROFILE_METRICS_SCHEMA = profile_metrics_schema()
"""With the default model-id column; use `profile_metrics_schema(model_id_col)` for a model's own."""

# --- drift metrics ---------------------------------------------------------------------------------

def drift_key_fields(model_id_col: str) -> list[pa.Field]:
    return [
        pa.field("window", WINDOW_TYPE, nullable=False),
        pa.field("window_cmp", WINDOW_TYPE),
        pa.field("drift_type", pa.string(), nullable=False),
        *grouping_fields(model_id_col),
    ]


DRIFT_KEY_DOC = """What is compared: `window` against `window_cmp` (the previous window of the same granularity
for CONSECUTIVE; null for BASELINE, which compares against the baseline table's rows of the same
slice and model id, or all baseline rows when the baseline has none of that model id)."""

DRIFT_DELTA_FIELDS = [
    pa.field("count_delta", pa.float64()),
    pa.field("avg_delta", pa.float64()),
    pa.field("percent_null_delta", pa.float64()),
    pa.field("percent_zeros_delta", pa.float64()),
    pa.field("percent_distinct_delta", pa.float64()),
    pa.field("non_null_columns_delta", COLUMNS_DELTA_TYPE),
]
"""Differences of profile values, current minus comparison (`count`, `avg`, `percent_*`).
`non_null_columns_delta` (':table' rows): how many columns became non-null (`added`) or are
null/absent now but were not in the comparison (`missing`)."""

DRIFT_STATISTIC_FIELDS = [pa.field(s.name, TEST_TYPE if s.is_test else pa.float64()) for s in STATISTICS]
"""One column per statistic of lakemon.contract.statistics (the registry), in its order. Distribution distances; null when either side has no values (or the column is absent there).
Categorical (nulls are a category of their own; the 100 most frequent values of both sides (ties by value)
together keep their own category, the rest share "other"): `js_distance` = Jensen-Shannon
distance, base 2 (scipy.spatial.distance.jensenshannon); `chi_squared_test` = scipy.stats.
chi2_contingency on the 2 x k count table, no continuity correction (categories empty on both
sides dropped; one category left -> statistic 0, p-value 1); `tv_distance` = half the L1
distance of the two frequency vectors; `l_infinity_distance` = their largest absolute difference.
Numeric (finite values only): `ks_test` = scipy.stats.ks_2samp two-sided (method 'auto');
`wasserstein_distance` = scipy.stats.wasserstein_distance; `population_stability_index` =
sum((c - b) * ln(c / b)) over 10 bins cut at the comparison side's deciles (left-closed bins,
outer bins open, duplicate edges merged), proportions floored at 1e-4."""



def drift_metrics_schema(model_id_col: str = DEFAULT_MODEL_ID_COL, custom_metrics=()) -> pa.Schema:
    """The drift metrics table of a monitor whose model_id_col is `model_id_col` (and custom metrics)."""
    return pa.schema(
        drift_key_fields(model_id_col) + DRIFT_DELTA_FIELDS + DRIFT_STATISTIC_FIELDS
        + custom_fields(custom_metrics, "drift")
    )


DRIFT_METRICS_SCHEMA = drift_metrics_schema()
"""With the default model-id column; use `drift_metrics_schema(model_id_col)` for a model's own."""
