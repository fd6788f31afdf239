"""The drift statistics and the feature kinds: the ONE list every part of lakemon reads.

Each statistic is one descriptor below, and everything lakemon does with a statistic is read
from it: config validation (which names a YAML file may use, for which kind of feature), the
local monitor engine (the drift metrics table's column and the engine result that fills it),
analyze-drift's rule (the default and evidence test of each kind, which statistics are
calibrated, which are guards and on which scale, which fall back on a constant baseline) and the
HTML report. So a statistic is named here and nowhere else, and adding one is
adding its descriptor (plus its computation in the local engine and, if it has a new noise
model, that model: docs/drift.md, "Adding a statistic"; tests/drift/test_drift_registry.py
counts the places).

A statistic's name is its column in the `<table>_drift_metrics` table Databricks writes
(https://docs.databricks.com/en/lakehouse-monitoring/monitor-output.html, "Drift metrics table
schema"). Tests statistics are stored as a struct {statistic, pvalue}; their `statistic` field is
the value compared with a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)

SHARE_OF_ROWS = "of rows"
"""A guard's unit: the share of rows that moved (its threshold is the statistic's own)."""
SD = "sd"
"""A guard's unit: the average move in baseline standard deviations (its threshold is the mean
shift of a normal feature that moves the evidence test's threshold share of rows)."""
UNIT_WORDS = {SHARE_OF_ROWS: "the share of rows that moved", SD: "the average move in baseline standard deviations"}
"""How the report explains a guard's unit."""


@dataclass(frozen=True)
class Statistic:
    name: str
    """Column of the drift metrics table."""
    kind: str
    """The feature kind it applies to: NUMERIC or CATEGORICAL."""
    label: str
    """Its short name in the report's prose ("PSI", "KS")."""
    engine_value: str
    """The attribute of the local engine's comparison result (lakemon_jobs/monitor_engine/stats.py,
    NumericDrift or CategoricalDrift) that holds its value (a test's statistic)."""
    engine_pvalue: str | None = None
    """A test's: the attribute holding its p-value; the column is then the struct
    {statistic, pvalue}. None for a distance (a plain DOUBLE)."""
    noise: str | None = None
    """Its model of sampling noise (a key of lakemon_jobs.drift.noise.NOISE_MODELS, docs/drift.md
    step 4); None: lakemon knows none, the raw value is compared with the threshold."""
    calibrated: bool = False
    """When it judges a feature, analyze-drift takes its noise out and its noise model's p-value
    counts with the test's (docs/drift.md, step 4); else the raw value decides."""
    guard: bool = False
    """It also judges every feature of its kind as a guard (rule.Signal), noise taken out, in `unit`."""
    unit: str = ""
    """A guard's unit: SHARE_OF_ROWS or SD."""
    default: bool = False
    """It judges the features of its kind unless the config names another (one per kind)."""
    evidence: bool = False
    """The test whose p-value backs every statistic of its kind (one per kind)."""
    decile_bins: bool = False
    """Computed on the baseline's decile bins: blind when the baseline has fewer than 2 distinct
    deciles, where the evidence test judges instead (docs/drift.md, "Constant baselines")."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if (self.calibrated or self.guard) and self.noise is None:
            raise ValueError(f"{self.name}: calibrated or guard needs a noise model")
        if self.guard != (self.unit in (SHARE_OF_ROWS, SD)):
            raise ValueError(f"{self.name}: a guard, and only a guard, has a unit ({SHARE_OF_ROWS!r} or {SD!r})")
        if self.evidence and not self.is_test:
            raise ValueError(f"{self.name}: the evidence of a kind is a test (it has a p-value)")

    @property
    def is_test(self) -> bool:
        """Stored as a struct {statistic, pvalue} (KS, chi-squared); else a plain DOUBLE."""
        return self.engine_pvalue is not None

    def value_in(self, row: Mapping[str, Any]) -> float | None:
        """The value compared with a threshold, from one drift-metrics row read as a dict."""
        raw = row.get(self.name)
        if self.is_test:
            raw = raw and raw.get("statistic")
        return None if raw is None else float(raw)

    def pvalue_in(self, row: Mapping[str, Any]) -> float | None:
        """A test's p-value in one drift-metrics row (None for a distance or a missing value)."""
        raw = row.get(self.name) if self.is_test else None
        pvalue = raw and raw.get("pvalue")
        return None if pvalue is None else float(pvalue)


JS_DISTANCE = Statistic("js_distance", CATEGORICAL, "JS", "js", noise="bootstrap_js", calibrated=True, default=True)
CHI_SQUARED_TEST = Statistic("chi_squared_test", CATEGORICAL, "chi-squared", "chi2_statistic", "chi2_pvalue", evidence=True)
TV_DISTANCE = Statistic("tv_distance", CATEGORICAL, "TV", "tv", noise="bootstrap_tv", guard=True, unit=SHARE_OF_ROWS)
L_INFINITY_DISTANCE = Statistic("l_infinity_distance", CATEGORICAL, "L-infinity", "l_infinity")
KS_TEST = Statistic("ks_test", NUMERIC, "KS", "ks_statistic", "ks_pvalue", noise="kolmogorov", guard=True,
                    unit=SHARE_OF_ROWS, evidence=True)
WASSERSTEIN_DISTANCE = Statistic("wasserstein_distance", NUMERIC, "Wasserstein", "wasserstein", noise="quantiles",
                                 guard=True, unit=SD)
POPULATION_STABILITY_INDEX = Statistic("population_stability_index", NUMERIC, "PSI", "psi", noise="psi_chi2",
                                       calibrated=True, default=True, decile_bins=True)
"""One constant each for code about one statistic in particular (benchmarks comparing with other
libraries, tests); lakemon's own behaviour reads only the descriptors' fields."""

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


def _one_per_kind(flag: str) -> dict[str, Statistic]:
    found = {kind: [s for s in STATISTICS if s.kind == kind and getattr(s, flag)] for kind in KINDS}
    wrong = {kind: [s.name for s in found[kind]] for kind in KINDS if len(found[kind]) != 1}
    if wrong:
        raise ValueError(f"each kind needs exactly one {flag} statistic; found {wrong}")
    return {kind: found[kind][0] for kind in KINDS}


DEFAULT_STATISTIC = _one_per_kind("default")
"""What judges a feature of each kind unless the config says otherwise."""
EVIDENCE_TEST = _one_per_kind("evidence")
"""The test whose p-value backs a distance: KS for numeric features, chi-squared for categorical."""


def statistic_names(kind: str | None = None) -> tuple[str, ...]:
    """Names of the statistics (of one kind), in table order."""
    return tuple(s.name for s in STATISTICS if kind is None or s.kind == kind)


def statistics_of(kind: str) -> tuple[Statistic, ...]:
    """The statistics of one kind, in table order."""
    return tuple(s for s in STATISTICS if s.kind == kind)


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
