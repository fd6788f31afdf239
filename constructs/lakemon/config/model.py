"""Typed configuration of one lakemon environment (one `envs/<env>.yml` file).

Every model forbids unknown keys, so a typo is an error, not a silently ignored setting.
Defaults live here, next to the field they belong to, and are documented in README.md.
The loader (`loader.py`) turns pydantic's errors into one line per problem that names the
file, the key path and what is allowed.
"""

from __future__ import annotations

import inspect
from enum import StrEnum
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..contract.principals import opens_to_everyone
from ..contract.statistics import CATEGORICAL, COLUMN_TYPES, DEFAULT_STATISTIC, NUMERIC, statistic_names
from .custom_metrics import BUILT_IN_COLUMNS, NUMERIC_OUTPUTS, OUTPUT_TYPES, TABLE, check_metrics
from .validators import (
    check_endpoint_name,
    check_granularity,
    check_identifier,
    check_quartz_cron,
    check_timezone,
)

Identifier = Annotated[str, AfterValidator(check_identifier)]
EndpointName = Annotated[str, AfterValidator(check_endpoint_name)]
QuartzCron = Annotated[str, AfterValidator(check_quartz_cron)]
TimeZone = Annotated[str, AfterValidator(check_timezone)]
Granularity = Annotated[str, AfterValidator(check_granularity)]
Principal = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, values are not coerced across types.

    Each field's docstring becomes its description (`use_attribute_docstrings`), and the class
    docstring gets a "Fields" list (key, type, default, description) built from them, so
    `help(Environment)` and IDE hovers show every key with its default, AWS CDK props style.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, use_attribute_docstrings=True
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__doc__ = fields_doc(cls)

    @model_validator(mode="after")
    def _no_terraform_templates(self) -> Strict:
        """Refuse `${` and `%{` in every text value and key of this section.

        Config text reaches cdk.tf.json as literal strings, and Terraform evaluates template
        sequences in any string: `${var.drift_webhook_url}` in a tag would copy a sensitive
        variable into the workspace, `${file("...")}` would read files of the deploying machine.
        lakemon's own references are built by the constructs, never from config text, so no
        legitimate value needs these sequences. Nested sections check themselves.
        """
        for name in type(self).model_fields:
            for text in _texts(getattr(self, name)):
                found = next((seq for seq in TERRAFORM_TEMPLATE_SEQUENCES if seq in text), None)
                if found:
                    raise ValueError(
                        f"{name}: {text!r} contains {found!r}, which Terraform would evaluate as a "
                        "template; lakemon config takes literal values only (remove it)"
                    )
        return self


TERRAFORM_TEMPLATE_SEQUENCES = ("${", "%{")
"""Terraform's template interpolation and directive openers (Terraform language docs,
"Strings and Templates": https://developer.hashicorp.com/terraform/language/expressions/strings)."""


def _texts(value: object) -> list[str]:
    """Every str in a field value: the value itself, tuple items, dict keys and values."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    return []


def _type_name(annotation: object) -> str:
    """A readable type: `str` for `Annotated[str, <validator>]`, `'a' | 'b'` for a Literal."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', repr(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", repr(annotation))


def fields_doc(cls: type[BaseModel]) -> str:
    """The class docstring followed by one entry per field: key: type (default) and description."""
    lines = [inspect.cleandoc(cls.__doc__ or cls.__name__), "", "Fields (YAML keys):"]
    for name, field in cls.model_fields.items():
        key = field.alias or name
        default = "required" if field.is_required() else f"default {field.get_default(call_default_factory=True)!r}"
        lines.append(f"  {key}: {_type_name(field.annotation)} ({default})")
        if field.description:
            lines += [f"      {line}" for line in field.description.splitlines()]
    return "\n".join(lines)


# --- workspace and state ------------------------------------------------------------------------


class Workspace(Strict):
    host: Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+/?$")]
    """Workspace URL, e.g. https://adb-123.4.azuredatabricks.net. Credentials never go here:
    the provider reads them from the environment (Azure CLI or OIDC workload identity)."""
    warehouse_id: str | None = None
    """SQL warehouse for alerts and monitors. None: alerts read `var.warehouse_id` at deploy time."""


class AzurermState(Strict):
    backend: Literal["azurerm"] = "azurerm"
    resource_group_name: str
    storage_account_name: Annotated[str, Field(pattern=r"^[a-z0-9]{3,24}$")]
    container_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    key_prefix: str = "lakemon"
    """State key is `<key_prefix>/<stack>.tfstate`: one key per stack."""
    use_azuread_auth: bool = True
    """AAD (OIDC) auth to the storage account: no storage keys in the pipeline."""


class LocalState(Strict):
    backend: Literal["local"]
    path: Annotated[str, Field(pattern=r"^[^/~].*$")] = "terraform.tfstate"
    """Relative to the stack's working directory (no absolute paths in synthesized JSON), and
    inside it: no `..` part, no backslash."""

    @field_validator("path")
    @classmethod
    def _inside_the_stack(cls, value: str) -> str:
        if "\\" in value or ".." in value.split("/"):
            raise ValueError(f"{value!r} leaves the stack's folder; give a path inside it without '..' or '\\'")
        return value


State = Annotated[AzurermState | LocalState, Field(discriminator="backend")]


# --- serving ------------------------------------------------------------------------------------


class WorkloadSize(StrEnum):
    SMALL = "Small"
    MEDIUM = "Medium"
    LARGE = "Large"


WORKLOAD_SIZES = tuple(str(size) for size in WorkloadSize)
WORKLOAD_TYPES = ("CPU", "GPU_SMALL", "GPU_MEDIUM", "GPU_LARGE", "MULTIGPU_MEDIUM")
RATE_LIMIT_KEYS = ("user", "endpoint")
RENEWAL_PERIODS = ("minute",)
"""The serving values an env file may use; the ServingEndpoint construct checks its props against
the same tuples, so the two cannot disagree."""


class RateLimit(Strict):
    calls: Annotated[int, Field(gt=0)]
    key: Literal[RATE_LIMIT_KEYS] = "user"
    renewal_period: Literal[RENEWAL_PERIODS] = "minute"


class Serving(Strict):
    workload_size: WorkloadSize = WorkloadSize.SMALL
    workload_type: Literal[WORKLOAD_TYPES] = "CPU"
    scale_to_zero: bool = True
    rate_limits: tuple[RateLimit, ...] = (RateLimit(calls=100, key="user"),)
    tags: dict[str, str] = Field(default_factory=dict)


class Inference(Strict):
    retention_days: Annotated[int, Field(gt=0, le=3650)] = 90
    """How long unpacked inference logs are kept (a retention job deletes older rows)."""


# --- monitoring ---------------------------------------------------------------------------------


class Schedule(Strict):
    quartz_cron: QuartzCron = "0 0 0 * * ?"
    timezone: TimeZone = "UTC"


NumericStatistic = Literal[statistic_names(NUMERIC)]
CategoricalStatistic = Literal[statistic_names(CATEGORICAL)]
Statistic = Literal[statistic_names()]


MIN_THRESHOLD = 1e-6
"""Smallest drift or quality threshold accepted (a chosen bound, not a Databricks rule): below it a
threshold calls every difference drift, however tiny, or every model good; a value like 1e-300
is a typo, refused at load rather than silently alerting on every window (docs/reliability.md)."""


class FeatureDrift(Strict):
    """Per-feature override of which statistic judges drift and at what threshold."""

    statistic: Statistic | None = None
    threshold: Annotated[float, Field(ge=MIN_THRESHOLD, allow_inf_nan=False)] | None = None


class Drift(Strict):
    threshold: Annotated[float, Field(ge=MIN_THRESHOLD, le=1)] = 0.1
    """Threshold for the default statistics (JS distance, PSI); must be in [1e-6, 1] (MIN_THRESHOLD)."""
    numeric_statistic: NumericStatistic = DEFAULT_STATISTIC[NUMERIC].name
    categorical_statistic: CategoricalStatistic = DEFAULT_STATISTIC[CATEGORICAL].name
    statistic_thresholds: dict[Statistic, Annotated[float, Field(ge=MIN_THRESHOLD, allow_inf_nan=False)]] = Field(default_factory=dict)
    """Per-statistic thresholds that replace `threshold` for that statistic."""
    features: dict[str, FeatureDrift] = Field(default_factory=dict)
    max_pvalue: Annotated[float, Field(gt=0, lt=1)] = 0.01
    """A distance over threshold is only called drift when its test's p-value is below this."""
    min_rows: Annotated[int, Field(ge=1)] = 100
    """Windows with fewer rows are reported as 'too few rows to judge'."""
    lookback_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """How many days back analyze-drift judges windows (at most 3650, like retention)."""
    warn_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.5
    """A distance at or above warn_ratio * threshold, with drift's significance, is a warning."""
    warn_max_pvalue: Annotated[float, Field(gt=0, lt=1)] = 0.03
    """A distance at or above the threshold is a warning when its p-value is below this (divided
    by the features judged in the window): it bounds how often a window without drift carries
    any warning, as max_pvalue bounds drift. Must be at least max_pvalue."""

    @model_validator(mode="after")
    def _warn_not_stricter_than_drift(self) -> Drift:
        if self.warn_max_pvalue < self.max_pvalue:
            raise ValueError(
                f"warn_max_pvalue {self.warn_max_pvalue:g} must be >= max_pvalue {self.max_pvalue:g} "
                "(a warning needs less evidence than drift)"
            )
        return self


class Monitoring(Strict):
    api: Literal["data_quality", "legacy"] = "data_quality"
    """Which monitor resource the stack declares: `data_quality` (databricks_data_quality_monitor,
    the Data Quality API) or `legacy` (the deprecated databricks_quality_monitor, kept one release;
    docs/deploy.md, "Monitors on the Data Quality API")."""
    granularities: tuple[Granularity, ...] = ("1 day",)
    schedule: Schedule = Schedule()
    drift: Drift = Drift()
    quality_threshold: Annotated[float, Field(ge=MIN_THRESHOLD, le=1)] = 0.7
    """Model-quality alert fires when the newest window's quality metric falls below this."""

    @field_validator("granularities")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one granularity is required")
        if len(set(value)) != len(value):
            raise ValueError("granularities must not repeat")
        return value


# --- alerts and permissions ----------------------------------------------------------------------


class EmailDestination(Strict):
    type: Literal["email"]
    name: Annotated[str, Field(min_length=1)]
    addresses: Annotated[tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...], Field(min_length=1)]


class SecretDestination(Strict):
    """Slack, Teams, PagerDuty or webhook: the URL/key is a secret and never appears in config.

    It is read at deploy time from the sensitive Terraform variable `secret_variable` (set in
    the pipeline from a secret store as TF_VAR_<name>). A local webhook for the embedded
    default may give `local_url` (loopback only), which is never synthesized.
    """

    type: Literal["slack", "microsoft_teams", "pagerduty", "webhook"]
    name: Annotated[str, Field(min_length=1)]
    secret_variable: Identifier
    username_variable: Identifier | None = None
    """Webhook basic-auth user name, also a sensitive variable (webhook only)."""
    password_variable: Identifier | None = None
    """Webhook basic-auth password, also a sensitive variable (webhook only)."""
    local_url: Annotated[str, Field(pattern=r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/.*)?$")] | None = None
    """Loopback URL the embedded default posts to instead (never synthesized)."""

    @field_validator("local_url")
    @classmethod
    def _port_in_range(cls, value: str | None) -> str | None:
        if value is not None:
            port = value.split("//", 1)[1].split("/", 1)[0].partition(":")[2]
            if port and not 1 <= int(port) <= 65535:
                raise ValueError(f"port {port} is outside 1-65535")
        return value


Destination = Annotated[EmailDestination | SecretDestination, Field(discriminator="type")]


class Alerts(Strict):
    recipients: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()
    """Email addresses for job failures and monitor failures."""
    destinations: tuple[Destination, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> Alerts:
        names = [d.name for d in self.destinations]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"destination names must be unique; repeated: {', '.join(dupes)}")
        return self


class Permissions(Strict):
    query: tuple[Principal, ...] = ()
    """Groups/service principals that may query endpoints (CAN_QUERY)."""
    manage: tuple[Principal, ...] = ()
    """Groups/service principals that may manage endpoints, jobs and monitors (CAN_MANAGE)."""
    read_tables: tuple[Principal, ...] = ()
    """Groups that may read the inference and metrics tables (SELECT)."""

    @model_validator(mode="after")
    def _no_open_endpoint(self) -> Permissions:
        for principal in (*self.query, *self.manage):
            problem = opens_to_everyone(principal)
            if problem:
                raise ValueError(problem)
        return self


# --- jobs --------------------------------------------------------------------------------------


class Jobs(Strict):
    package_index: Annotated[str, Field(pattern=r"^https://[^\s@]+$")] | None = None
    """pip index (simple API URL, e.g. an Azure Artifacts feed's `.../pypi/simple/`) the jobs
    install `lakemon[jobs]==<release version>` from (`--index-url`, never an extra index) when no
    wheel file is uploaded. None (default): the jobs install the wheel the stack uploads to the
    artifacts volume, and synth refuses to write a job without one (a bare `lakemon` would come
    from whatever index the workspace resolves first: dependency confusion). No credentials in
    the URL."""


# --- models --------------------------------------------------------------------------------------


class ProblemType(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


ColumnType = Literal[COLUMN_TYPES]


class Column(Strict):
    name: Identifier
    type: ColumnType


class Promotion(Strict):
    metric: Literal["roc_auc", "f1", "accuracy", "precision", "recall", "r2", "rmse", "mae"] = "roc_auc"
    min_improvement: Annotated[float, Field(ge=0)] = 0.0
    """The challenger becomes champion only if it beats the champion by more than this."""


BUNDLED_SOURCES = ("marvel", "dc", "co2")
"""Data sets shipped with lakemon: load_comic's publishers, and co2 (statsmodels' weekly CO2, the forecasting template)."""
TABLE_SOURCE = r"[A-Za-z0-9_]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+"


ESTIMATOR_PARAMS: dict[str, frozenset[str]] = {
    "HistGradientBoostingClassifier": frozenset(
        "categorical_features class_weight early_stopping interaction_cst l2_regularization learning_rate loss "
        "max_bins max_depth max_features max_iter max_leaf_nodes min_samples_leaf monotonic_cst n_iter_no_change "
        "scoring tol validation_fraction verbose warm_start".split()
    ),
    "HistGradientBoostingRegressor": frozenset(
        "categorical_features early_stopping interaction_cst l2_regularization learning_rate loss max_bins "
        "max_depth max_features max_iter max_leaf_nodes min_samples_leaf monotonic_cst n_iter_no_change quantile "
        "scoring tol validation_fraction verbose warm_start".split()
    ),
    "Ridge": frozenset("alpha copy_X fit_intercept max_iter positive solver tol".split()),
}
"""`training.params` keys each estimator takes: its scikit-learn `get_params()` keys without
`random_state` (that is `training.seed`). A table, so loading a config does not import
scikit-learn (about a second); a test keeps it equal to the installed scikit-learn's."""


class Training(Strict):
    source: str = "bundled:marvel"
    """`bundled:<name>` for a data set shipped in the wheel (marvel, dc), or a three-part Unity
    Catalog table name `catalog.schema.table` (letters, digits, `_`): nothing that could name a
    file outside the project."""
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    """numpy's and scikit-learn's seeds are 0 to 2**32 - 1."""

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        import re

        if value.startswith("bundled:"):
            if value.removeprefix("bundled:") not in BUNDLED_SOURCES:
                raise ValueError(f"unknown bundled data set {value!r}; bundled: {', '.join('bundled:' + b for b in BUNDLED_SOURCES)}")
        elif not re.fullmatch(TABLE_SOURCE, value):
            raise ValueError(f"{value!r} is neither bundled:<name> nor a table name catalog.schema.table")
        return value
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    """Estimator hyper-parameters, logged to MLflow."""
    estimator: Literal["hist_gradient_boosting", "ridge"] = "hist_gradient_boosting"
    """scikit-learn's HistGradientBoosting{Classifier,Regressor}, or Ridge (regression only: a
    linear model extrapolates a trending series, which trees cannot)."""
    time_column: Identifier | None = None
    """Set: the split is chronological, the latest `test_fraction` of this column's values are the
    test set (a backtest); None: a random split."""
    baseline: Literal["training", "backtest"] = "training"
    """What register writes as the monitor's baseline: the training rows scored by the model, or
    the test rows scored out of sample (`backtest`, with a `time_column`: a forecast's errors)."""

    @model_validator(mode="after")
    def _backtest_needs_time(self) -> Training:
        if self.baseline == "backtest" and self.time_column is None:
            raise ValueError("baseline: backtest needs a time_column (the backtest is the chronological test split)")
        return self


class Retraining(Strict):
    """Opt-in retraining on confirmed drift (`models[].retraining`). Write the key quoted,
    `"on": drift`: YAML 1.1 reads a bare `on` as the boolean true, which the loader refuses.

    When analyze-drift's verdicts show drift in a window that ended within `window_days`, the
    retraining job trains a challenger on the original training data plus the labelled
    inference-log rows of those days, and the gate compares challenger and champion on
    held-out recent labelled rows (docs/retraining.md)."""

    on: Literal["drift"] = "drift"
    """What starts a retrain: `drift`, a drift verdict in analyze-drift's verdicts table."""
    min_labelled_rows: Annotated[int, Field(ge=10)] = 500
    """Fewest labelled inference-log rows in the recent windows a retrain needs (they are split
    into rows added to the training data and rows held out for the gate)."""
    window_days: Annotated[int, Field(ge=1, le=3650)] = 7
    """How many days back (from the newest judged window's end) count as recent."""
    holdout_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """Share of the recent labelled rows held out to score champion and challenger."""


class CustomMetricThreshold(Strict):
    """When a custom metric's value is judged `degraded` (like the built-in quality metric):
    above `max`, or below `min` (one or both)."""

    max: float | None = None
    """Degraded when the metric is above this (errors: MAPE, sMAPE, |bias|)."""
    min: float | None = None
    """Degraded when the metric is below this (scores: accuracy-like)."""

    @model_validator(mode="after")
    def _one_bound(self) -> CustomMetricThreshold:
        if self.max is None and self.min is None:
            raise ValueError("a threshold needs max, min or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class CustomMetric(Strict):
    """One custom metric of the model's monitor, as Databricks defines it (docs/monitoring.md,
    "Custom metrics"): the same definition goes to the Databricks monitor's `custom_metrics` and
    to the local engine, which evaluates it with DuckDB after SQLGlot transpiles it."""

    name: Identifier
    """Column of the metric in the profile (aggregate, derived) or drift (drift) metrics table."""
    type: Literal["aggregate", "derived", "drift"]
    """aggregate: over the rows; derived: over other metrics of the row; drift: current vs base."""
    definition: Annotated[str, Field(min_length=1)]
    """Jinja template of one Databricks SQL expression, e.g. `avg(abs({{prediction_col}} - {{label_col}}))`."""
    input_columns: tuple[str, ...] = (TABLE,)
    """Monitored columns the metric is computed for (`{{input_column}}`), or `:table` (default)."""
    output_data_type: Literal[tuple(OUTPUT_TYPES)] = "double"
    """Spark type of the value (synthesized as Databricks' StructField JSON)."""
    threshold: CustomMetricThreshold | None = None
    """Judge the metric per window like the built-in quality metric (verdicts, alert, report)."""

    @model_validator(mode="after")
    def _shape(self) -> CustomMetric:
        if not self.input_columns:
            raise ValueError("input_columns needs at least one column or ':table'")
        if len(set(self.input_columns)) != len(self.input_columns):
            raise ValueError("input_columns must not repeat")
        if self.name in BUILT_IN_COLUMNS:
            raise ValueError(f"name {self.name!r} is a built-in column of the metrics tables; choose another")
        if self.threshold is not None and self.output_data_type not in NUMERIC_OUTPUTS:
            raise ValueError("a threshold needs a numeric output_data_type")
        return self


class ModelMonitoring(Strict):
    """Per-model monitor settings (`models[].monitoring`)."""

    custom_metrics: tuple[CustomMetric, ...] = ()
    """Custom metrics of this model's monitor, computed on Databricks and locally alike."""

    @field_validator("custom_metrics")
    @classmethod
    def _unique(cls, value: tuple[CustomMetric, ...]) -> tuple[CustomMetric, ...]:
        names = [m.name for m in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"custom metric names must be unique; repeated: {', '.join(dupes)}")
        return value


class Model(Strict):
    """One served model (an entry of `models:`): its columns, endpoint, promotion and training."""

    name: Identifier
    """Registered model name; the Unity Catalog name is `<catalog>.<schema>.<name>`."""
    template: Literal["classification", "regression", "forecasting"] | None = None
    """Preset this model started from (see lakemon/templates); merged before validation."""
    problem_type: ProblemType
    """`classification` or `regression`; picks the monitor's problem type and quality metrics."""
    features: tuple[Column, ...]
    """Input columns `{name, type}` the model is served and monitored on."""
    label: Column
    """Ground-truth column; labels arrive later and are joined into the inference log."""
    prediction: Column = Column(name="prediction", type="double")
    """Output column of the model."""
    prediction_proba: Identifier | None = None
    """Probability of the positive class; classification only (enables ROC AUC)."""
    model_id_column: Identifier = "model_version"
    """Inference-log column holding the served model version (the monitor's model id)."""
    timestamp_column: Identifier = "timestamp"
    """Inference-log column holding the request time (the monitor's time axis)."""
    endpoint_name: EndpointName | None = None
    """Defaults to `<name>-<env>` with '_' turned into '-'."""
    slicing_exprs: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    """SQL expressions the monitor slices its metrics by (e.g. a categorical feature)."""
    promotion: Promotion = Promotion()
    """When a newly trained challenger becomes the champion."""
    training: Training = Training()
    """Training data, split and hyper-parameters."""
    retraining: Retraining | None = None
    """Retrain on confirmed drift (opt in); None: never retrained automatically."""
    quality_threshold: Annotated[float, Field(ge=MIN_THRESHOLD, le=1)] | None = None
    """This model's model-quality threshold (accuracy or R2); None: `monitoring.quality_threshold`.
    Models of one environment can differ: a regressor's R2 is not comparable to an accuracy."""
    monitoring: ModelMonitoring = ModelMonitoring()
    """This model's monitor: its custom metrics (checked at load: SQL, columns, types)."""

    @model_validator(mode="after")
    def _columns_consistent(self) -> Model:
        if not self.features:
            raise ValueError("a model needs at least one feature")
        names = [c.name for c in self.features] + [self.label.name, self.prediction.name]
        if self.prediction_proba:
            names.append(self.prediction_proba)
        names += [self.model_id_column, self.timestamp_column]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"column names must be unique across features, label and outputs; repeated: {', '.join(dupes)}")
        if self.prediction_proba and self.problem_type is not ProblemType.CLASSIFICATION:
            raise ValueError("prediction_proba is only allowed for classification models")
        if self.training.estimator == "ridge" and self.problem_type is not ProblemType.REGRESSION:
            raise ValueError("training.estimator ridge is a regressor; use it with problem_type regression")
        self._params_known()
        self._slicing_columns_known()
        metrics = self.monitoring.custom_metrics
        if metrics:
            if self.model_id_column in {m.name for m in metrics}:
                raise ValueError(f"monitoring.custom_metrics: {self.model_id_column!r} is the model-id column's name")
            try:
                check_metrics(metrics, self.monitored_columns(), prediction_col=self.prediction.name,
                                 label_col=self.label.name)
            except ValueError as exc:
                raise ValueError(f"monitoring.{exc}") from None
        return self

    def estimator_class(self) -> str:
        """The scikit-learn estimator class training builds (training.estimator and problem_type)."""
        if self.training.estimator == "ridge":
            return "Ridge"
        regression = self.problem_type is ProblemType.REGRESSION
        return "HistGradientBoostingRegressor" if regression else "HistGradientBoostingClassifier"

    def _params_known(self) -> None:
        """Every `training.params` key is a parameter of the estimator training builds (an unknown
        one would only fail at train time, in the workspace)."""
        allowed = ESTIMATOR_PARAMS[self.estimator_class()]
        for key in self.training.params:
            if key == "random_state":
                raise ValueError("training.params.random_state: set training.seed instead (it seeds the estimator)")
            if key not in allowed:
                raise ValueError(
                    f"training.params.{key}: not a parameter of {self.estimator_class()}{_nearest(key, allowed)}; "
                    f"parameters: {', '.join(sorted(allowed))}"
                )

    def _slicing_columns_known(self) -> None:
        """Every column a slicing expression reads is a column of the inference log the monitor
        reads (features, label, outputs, model id, timestamp): Databricks would only fail at the
        monitor's refresh. A plain column name is checked directly; anything else is parsed with
        SQLGlot in the Databricks dialect, as custom metrics are."""
        import re

        known = {**self.monitored_columns(), self.model_id_column: "string", self.timestamp_column: "timestamp"}
        lower = {name.lower(): name for name in known}
        for i, expr in enumerate(self.slicing_exprs):
            where = f"slicing_exprs[{i}]"
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expr.strip()):
                names = [expr.strip()]
            else:
                from sqlglot import exp

                from .custom_metrics import parse

                try:
                    tree = parse(expr)
                except ValueError as exc:
                    raise ValueError(f"{where}: {expr!r}: {exc}") from None
                names = [c.name for c in tree.find_all(exp.Column)]
            for name in names:
                if name.lower() not in lower:
                    raise ValueError(
                        f"{where}: {expr!r} reads {name!r}, not a column of the inference log"
                        f"{_nearest(name, known)}; columns: {', '.join(sorted(known))}"
                    )

    def monitored_columns(self) -> dict[str, str]:
        """Inference-log columns a custom metric may read (name -> config type): features,
        prediction, probability, label."""
        cols = {c.name: c.type for c in self.features}
        cols[self.prediction.name] = self.prediction.type
        if self.prediction_proba:
            cols[self.prediction_proba] = "double"
        cols[self.label.name] = self.label.type
        return cols

    def endpoint(self, env: str) -> str:
        return self.endpoint_name or f"{self.name}-{env}".replace("_", "-")

    def feature_names(self) -> list[str]:
        return [c.name for c in self.features]


def _nearest(name: str, known) -> str:
    """' (nearest: a, b)' for the closest known names (difflib), or ''."""
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return f" (nearest: {', '.join(close)})" if close else ""


# --- the environment -----------------------------------------------------------------------------


class Environment(Strict):
    """One environment file (`envs/<env>.yml`), validated: everything one stack is built from.

    Load it with `load_environment(path)`; the README's configuration reference lists the same
    keys with the policy rules they satisfy.
    """

    name: Identifier
    """Equals the file name (dev for envs/dev.yml); the stack is named after it."""
    workspace: Workspace
    """The Databricks workspace (host; optional SQL warehouse)."""
    state: State
    """Terraform state: `azurerm` (one key per stack, AAD auth) or `local` (a trial)."""
    catalog: Identifier
    """Unity Catalog catalog of the models, tables and artifacts volume."""
    schema_: Identifier = Field(alias="schema")
    """Schema inside `catalog` (YAML key `schema`)."""
    protect_data: bool = False
    """True in prod: tables holding logs, baselines and metrics get prevent_destroy (policy LM-DATA-1)."""
    serving: Serving = Serving()
    """Serving endpoint size, scaling, AI-gateway rate limits and tags."""
    inference: Inference = Inference()
    """Inference-log retention."""
    monitoring: Monitoring = Monitoring()
    """Monitor windows, refresh schedule (policy LM-MON-2), drift rule and quality threshold."""
    alerts: Alerts = Alerts()
    """Failure recipients (policy LM-MON-1) and notification destinations."""
    permissions: Permissions = Permissions()
    """Groups that may query, manage and read; `users` is refused (policy LM-SERVE-2)."""
    jobs: Jobs = Jobs()
    """Where the jobs install lakemon from when no wheel file is uploaded."""
    models: tuple[Model, ...]
    """The served models, one `MonitoredModel` each."""

    @model_validator(mode="after")
    def _unique_models(self) -> Environment:
        if not self.models:
            raise ValueError("at least one model is required")
        for attr, what in ((lambda m: m.name, "model names"), (lambda m: m.endpoint(self.name), "endpoint names")):
            values = [attr(m) for m in self.models]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate {what}: {', '.join(dupes)}")
        self._drift_features_known()
        return self

    def _drift_features_known(self) -> None:
        """`monitoring.drift.features` names a feature of some model, and its statistic is of that
        feature's kind (a numeric statistic for a string feature would never be computed)."""
        from ..contract.statistics import BY_NAME, feature_kind

        kinds = {c.name: feature_kind(c.type) for m in self.models for c in m.features}
        for name, override in self.monitoring.drift.features.items():
            if name not in kinds:
                raise ValueError(
                    f"monitoring.drift.features: {name!r} is not a feature of any model; features: {', '.join(sorted(kinds))}"
                )
            if override.statistic and kinds[name] and BY_NAME[override.statistic].kind != kinds[name]:
                raise ValueError(
                    f"monitoring.drift.features.{name}.statistic: {override.statistic} is a {BY_NAME[override.statistic].kind} "
                    f"statistic but {name} is {kinds[name]}"
                )

    def full_name(self, table_or_model: str) -> str:
        """Three-part Unity Catalog name in this environment's catalog and schema."""
        return f"{self.catalog}.{self.schema_}.{table_or_model}"

    def model(self, name: str | None = None) -> Model:
        if name is None:
            return self.models[0]
        for m in self.models:
            if m.name == name:
                return m
        import difflib

        known = [m.name for m in self.models]
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise KeyError(f"no model {name!r} in env {self.name}{hint}; known: {', '.join(known)}")
