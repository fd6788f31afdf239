"""The drift statistics and the feature kinds: the ONE list every part of lakemon reads.

Config validation (which statistic names a YAML file may use), the local monitor engine (which
columns of the drift metrics table it fills), analyze-drift's rule (which statistic judges which
kind of feature, which are calibrated), the alert SQL and training (which features are numeric)
all import this module, so a statistic or a type is named here and nowhere else.

A statistic's name is its column in the `<table>_drift_metrics` table Databricks writes
(https://docs.databricks.com/en/lakehouse-monitoring/monitor-output.html, "Drift metrics table
schema"). Tests statistics are stored as a struct {statistic, pvalue}; their `statistic` field is
the value compared with a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)


@dataclass(frozen=True)
class Statistic:
    name: str
    """Column of the drift metrics table."""
    kind: str
    """The feature kind it applies to: NUMERIC or CATEGORICAL."""
    is_test: bool
    """Stored as a struct {statistic, pvalue} (KS, chi-squared); else a plain DOUBLE."""
    calibrated: bool
    """analyze-drift removes its sampling noise (docs/drift.md, step 4); else the raw value decides."""

    @property
    def value_sql(self) -> str:
        """SQL expression of the value compared with a threshold, over one drift-metrics row."""
        return f"{self.name}.statistic" if self.is_test else self.name


POPULATION_STABILITY_INDEX = Statistic("population_stability_index", NUMERIC, is_test=False, calibrated=True)
KS_TEST = Statistic("ks_test", NUMERIC, is_test=True, calibrated=False)
WASSERSTEIN_DISTANCE = Statistic("wasserstein_distance", NUMERIC, is_test=False, calibrated=False)
JS_DISTANCE = Statistic("js_distance", CATEGORICAL, is_test=False, calibrated=True)
CHI_SQUARED_TEST = Statistic("chi_squared_test", CATEGORICAL, is_test=True, calibrated=False)
TV_DISTANCE = Statistic("tv_distance", CATEGORICAL, is_test=False, calibrated=False)
L_INFINITY_DISTANCE = Statistic("l_infinity_distance", CATEGORICAL, is_test=False, calibrated=False)

STATISTICS: tuple[Statistic, ...] = (
    JS_DISTANCE,
    CHI_SQUARED_TEST,
    TV_DISTANCE,
    L_INFINITY_DISTANCE,
    KS_TEST,
    WASSERSTEIN_DISTANCE,
    POPULATION_STABILITY_INDEX,
)
"""In the column order of the drift metrics table."""
BY_NAME = {s.name: s for s in STATISTICS}

DEFAULT_STATISTIC = {NUMERIC: POPULATION_STABILITY_INDEX, CATEGORICAL: JS_DISTANCE}
"""What judges a feature of each kind unless the config says otherwise."""
EVIDENCE_TEST = {NUMERIC: KS_TEST, CATEGORICAL: CHI_SQUARED_TEST}
"""The test whose p-value backs a distance: KS for numeric features, chi-squared for categorical."""


def statistic_names(kind: str | None = None) -> tuple[str, ...]:
    """Names of the statistics (of one kind), in table order."""
    return tuple(s.name for s in STATISTICS if kind is None or s.kind == kind)


def statistic(name: str) -> Statistic:
    """The statistic called `name`; ValueError naming the allowed ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a drift statistic; allowed: {', '.join(BY_NAME)}") from None


QUALITY_METRIC = {"classification": "accuracy_score", "regression": "r2_score"}
"""Problem type -> the profile-metrics column that measures model quality (higher is better)."""


# --- feature kinds -----------------------------------------------------------------------------

FEATURE_KINDS: dict[str, str | None] = {
    "string": CATEGORICAL,
    "boolean": CATEGORICAL,
    "double": NUMERIC,
    "float": NUMERIC,
    "bigint": NUMERIC,
    "int": NUMERIC,
    "date": None,
    "timestamp": None,
}
"""Config column type -> the kind drift is judged as; None: profiled, but not judged for drift."""
COLUMN_TYPES = tuple(FEATURE_KINDS)
"""Every column type a model's config may use."""


def feature_kind(type_name: str) -> str | None:
    """NUMERIC, CATEGORICAL, or None for types drift does not judge (dates, timestamps)."""
    return FEATURE_KINDS.get(type_name)


def is_numeric(type_name: str) -> bool:
    return FEATURE_KINDS.get(type_name) == NUMERIC


def profile_kind(type_name: str) -> str:
    """How the monitor profiles a column: numeric types by value, everything else by counts of
    distinct values (dates and timestamps included, as categories)."""
    return NUMERIC if is_numeric(type_name) else CATEGORICAL
