"""Custom metrics as Databricks defines them: one definition for the workspace and the local engine.

A custom metric (https://docs.databricks.com/en/lakehouse-monitoring/custom-metrics.html, the
provider's `databricks_quality_monitor.custom_metrics` block at v1.99.0: `definition`,
`input_columns`, `name`, `output_data_type`, `type`, all required, `MonitorMetric` in
internal/service/catalog_tf/model.go) is a Jinja template of ONE SQL column expression, without
joins or subqueries:

- aggregate: over the monitored table's rows of each window, slice and model id; stored in the
  profile metrics table, in the rows of each input column (`:table`: the table's row);
- derived: over aggregate (or other derived) metrics of the same row, by name; profile table;
- drift: `{{current_df}}.<metric> - {{base_df}}.<metric>`, the window against the baseline or
  the previous window; stored in the drift metrics table.
Template variables (same page, "Create definition"): `{{input_column}}`, `{{prediction_col}}`,
`{{label_col}}` (inference-log monitors), `{{current_df}}`, `{{base_df}}`.

This module renders the template as Databricks does (variable substitution), parses the result
with SQLGlot in the Databricks dialect, and checks it at config load (so at synth): unparsable
SQL, a join or subquery, an unknown column or referenced metric, an aggregate metric without an
aggregate function, and an output type that contradicts what the expression gives. The local
engine renders and transpiles through the same functions (`render`, `to_duckdb`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

TABLE = ":table"
"""`input_columns: [":table"]`: the metric uses several columns and lands in the table's row."""

METRIC_TYPES = {
    "aggregate": "CUSTOM_METRIC_TYPE_AGGREGATE",
    "derived": "CUSTOM_METRIC_TYPE_DERIVED",
    "drift": "CUSTOM_METRIC_TYPE_DRIFT",
}
"""Config spelling -> the provider's `type` value (MonitorMetric.Type_ at v1.99.0)."""

OUTPUT_TYPES = {
    "double": "double",
    "float": "float",
    "bigint": "long",
    "int": "integer",
    "boolean": "boolean",
    "string": "string",
}
"""Config spelling (Spark SQL type names, as the model's columns) -> the Spark JSON type name that
`output_data_type` carries (`pyspark.sql.types.DoubleType().typeName()` is "double",
LongType "long", IntegerType "integer")."""

NUMERIC_OUTPUTS = ("double", "float", "bigint", "int")

BUILT_IN_COLUMNS = frozenset(
    "accuracy_score avg avg_delta avg_length chi_squared_test column_name confusion_matrix count count_delta "
    "data_type distinct_count drift_type f1_score frequent_items granularity js_distance ks_test "
    "l_infinity_distance log_type logging_table_commit_version max max_length mean_absolute_error "
    "mean_absolute_percentage_error mean_squared_error median min min_length monitor_version non_null_columns "
    "non_null_columns_delta num_inf num_labeled num_nan num_nulls num_zeros percent_distinct "
    "percent_distinct_delta percent_nan percent_null percent_null_delta percent_zeros percent_zeros_delta "
    "population_stability_index precision quantiles r2_score recall roc_auc_score root_mean_squared_error "
    "slice_key slice_value stddev tv_distance wasserstein_distance window window_cmp".split()
)
"""Columns the metrics tables already have (lakemon_jobs.monitor_engine.schema; a test keeps the two
equal): a custom metric is a new column, so its name must differ from these and the model-id column."""

TEMPLATE_VARIABLES = {
    "aggregate": ("input_column", "prediction_col", "label_col"),
    "derived": (),
    "drift": ("current_df", "base_df"),
}
"""Which Jinja variables each type may use: the documented meaning of each (a derived metric
reads metric values, a drift metric two rows of them) leaves no use for the others."""

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_OTHER = re.compile(r"\{%|\{#")


def output_data_type_json(output_type: str) -> str:
    """`output_data_type` as Databricks wants it: a Spark StructField as JSON, exactly what
    `pyspark.sql.types.StructField("output", DoubleType()).json()` gives (keys sorted, no spaces)."""
    field = {"metadata": {}, "name": "output", "nullable": True, "type": OUTPUT_TYPES[output_type]}
    return json.dumps(field, sort_keys=True, separators=(",", ":"))


def variables(definition: str) -> list[str]:
    """The Jinja variables a definition uses, in order of first use."""
    seen: list[str] = []
    for name in _VARIABLE.findall(definition):
        if name not in seen:
            seen.append(name)
    return seen


def render(definition: str, values: Mapping[str, str]) -> str:
    """The definition with each `{{variable}}` replaced by its value (what Jinja does with plain
    variables); KeyError for a variable without a value."""
    return _VARIABLE.sub(lambda m: values[m.group(1)], definition)


def _sqlglot():
    import sqlglot  # a few hundred ms: only when a model declares custom metrics

    return sqlglot


def parse(sql: str):
    """The one column expression `sql` is (Databricks dialect), or ValueError saying why not."""
    sqlglot = _sqlglot()
    from sqlglot import exp

    try:
        select = sqlglot.parse_one(f"SELECT {sql}", read="databricks")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"unparsable SQL ({first})") from None
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        raise ValueError("must be one SQL expression (no commas at the top level)")
    if any(select.args.get(k) for k in ("from", "joins", "where", "group", "having", "order", "limit")):
        raise ValueError("must be one SQL expression, without FROM, WHERE or other clauses")
    expr = select.expressions[0]
    if expr.find(exp.Select, exp.Subquery, exp.Join):
        raise ValueError("cannot contain joins or subqueries (Databricks rule for custom metrics)")
    return expr


def to_duckdb(sql: str) -> str:
    """A rendered Databricks SQL expression in DuckDB's dialect (SQLGlot)."""
    return parse(sql).sql(dialect="duckdb")


def referenced_columns(sql: str) -> list[tuple[str, str]]:
    """(qualifier, name) of every column reference in a rendered expression, lower case."""
    from sqlglot import exp

    return [(c.table.lower(), c.name.lower()) for c in parse(sql).find_all(exp.Column)]


def _type_kind(type_sql: str) -> str | None:
    """number, boolean, string, or None (SQLGlot could not tell)."""
    t = type_sql.upper()
    if t.startswith(("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INT", "SMALLINT", "TINYINT", "REAL")):
        return "number"
    if t.startswith("BOOLEAN"):
        return "boolean"
    if t.startswith(("VARCHAR", "TEXT", "STRING", "CHAR")):
        return "string"
    return None


def _output_kind(output_type: str) -> str:
    return "number" if output_type in NUMERIC_OUTPUTS else output_type


def result_type(sql: str, schema: Mapping[str, Mapping[str, str]]) -> str | None:
    """The SQL type SQLGlot infers for a rendered expression over `schema` (table -> column ->
    SQL type; table "t" for plain references), or None when it cannot."""
    sqlglot = _sqlglot()
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    tables = ", ".join(f"t AS {name}" if name != "t" else "t" for name in schema)
    flat = {"t": {c: t for cols in schema.values() for c, t in cols.items()}}
    try:
        tree = sqlglot.parse_one(f"SELECT {sql} AS v FROM {tables}", read="databricks")
        tree = annotate_types(qualify(tree, schema=flat, dialect="databricks"), schema=flat, dialect="databricks")
        inferred = tree.expressions[0].type
    except Exception:  # noqa: BLE001 - type inference is advisory: unknown, not an error
        return None
    return None if inferred is None or inferred.sql().upper() in ("UNKNOWN", "NULL") else inferred.sql()


def check_metrics(metrics: Iterable, columns: Mapping[str, str], *, prediction_col: str, label_col: str) -> None:
    """ValueError naming the metric (its index) and the problem, for the first bad definition.

    `metrics`: config entries with name, type, definition, input_columns, output_data_type;
    `columns`: the monitored table's columns (name -> config type). Derived and drift metrics
    may reference aggregate and derived metrics computed for every one of their input columns."""
    metrics = list(metrics)
    sql_types = {name: _SQL_TYPE.get(t, "STRING") for name, t in columns.items()}
    declared = {m.name: m for m in metrics}
    for i, m in enumerate(metrics):
        where = f"custom_metrics[{i}] ({m.name})"
        try:
            _check_one(m, declared, columns, sql_types, prediction_col=prediction_col, label_col=label_col)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    _check_cycles(metrics)


_SQL_TYPE = {
    "string": "STRING", "double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT", "int": "INT",
    "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP",
}


def sample_values(m, *, prediction_col: str, label_col: str) -> dict[str, str]:
    """Template values for checking a definition: the first input column, the model's columns,
    and the two drift aliases as the local engine names them."""
    first = next((c for c in m.input_columns if c != TABLE), TABLE)
    return {
        "input_column": first, "prediction_col": prediction_col, "label_col": label_col,
        "current_df": "current_df", "base_df": "base_df",
    }


def _check_one(m, declared, columns, sql_types, *, prediction_col: str, label_col: str) -> None:
    from sqlglot import exp

    if _JINJA_OTHER.search(m.definition):
        raise ValueError("definition: only {{variable}} substitutions are supported, no {% %} or {# #} blocks")
    allowed = TEMPLATE_VARIABLES[m.type]
    for name in variables(m.definition):
        if name not in allowed:
            raise ValueError(
                f"definition: template variable {{{{{name}}}}} is not available to a {m.type} metric; "
                f"allowed: {', '.join('{{' + a + '}}' for a in allowed) or 'none'}"
            )
    named = [c for c in m.input_columns if c != TABLE]
    if TABLE in m.input_columns and named:
        raise ValueError("input_columns: ':table' stands alone (the metric is computed once for the table)")
    if "input_column" in variables(m.definition) and not named:
        raise ValueError("definition uses {{input_column}}, which needs named input_columns, not ':table'")
    for c in named:
        if c not in columns:
            raise ValueError(f"input_columns: unknown input column {c!r}; known: {', '.join(columns)}")
    rendered = render(m.definition, sample_values(m, prediction_col=prediction_col, label_col=label_col))
    try:
        expr = parse(rendered)
    except ValueError as exc:
        raise ValueError(f"definition: {exc}") from None
    refs = [(c.table.lower(), c.name.lower()) for c in expr.find_all(exp.Column)]
    has_agg = expr.find(exp.AggFunc) is not None
    if m.type == "aggregate":
        for table, name in refs:
            if table or name not in columns:
                raise ValueError(f"definition: unknown input column {'.'.join(p for p in (table, name) if p)!r}")
        if not has_agg:
            raise ValueError("definition: an aggregate metric must aggregate its rows (e.g. avg(...), count(...))")
        schema = {"t": sql_types}
    else:
        if has_agg:
            raise ValueError(f"definition: a {m.type} metric reads metric values, it cannot aggregate rows")
        schema: dict[str, dict[str, str]] = {}
        for table, name in refs:
            target = declared.get(name)
            if m.type == "drift" and table not in ("current_df", "base_df"):
                raise ValueError(
                    f"definition: {name!r} must be read as {{{{current_df}}}}.{name} or {{{{base_df}}}}.{name}"
                )
            if m.type == "derived" and table:
                raise ValueError(f"definition: unknown referenced metric {table}.{name!r}")
            if target is None or target.type == "drift" or target is m:
                raise ValueError(f"definition: unknown referenced metric {name!r} (an aggregate or derived metric)")
            missing = [c for c in m.input_columns if c not in target.input_columns]
            if missing:
                raise ValueError(f"definition: metric {name!r} is not computed for input column(s) {', '.join(missing)}")
            schema.setdefault(table or "t", {})[name] = _SQL_TYPE[target.output_data_type]
        schema = schema or {"t": {}}
    inferred = result_type(rendered, schema)
    kind = inferred and _type_kind(inferred)
    if kind is not None and kind != _output_kind(m.output_data_type):
        raise ValueError(
            f"output_data_type: {m.output_data_type!r} does not fit the definition, which gives {inferred}"
        )


def _check_cycles(metrics: list) -> None:
    """Derived metrics that reference each other in a circle can never be computed."""
    deps = {
        m.name: {n for _, n in referenced_columns(render(m.definition, {v: v for v in variables(m.definition)}))}
        for m in metrics if m.type == "derived"
    }
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 1:
            raise ValueError(f"custom_metrics: derived metrics reference each other in a circle: {' -> '.join([*path, name])}")
        if state.get(name) == 2 or name not in deps:
            return
        state[name] = 1
        for nxt in sorted(deps[name]):
            visit(nxt, [*path, name])
        state[name] = 2

    for name in deps:
        visit(name, [])


def evaluation_order(metrics: Iterable) -> list:
    """Derived metrics in an order where each comes after the derived metrics it reads."""
    derived = [m for m in metrics if m.type == "derived"]
    names = {m.name for m in derived}
    done: list = []
    placed: set[str] = set()
    pending = list(derived)
    while pending:
        for m in pending:
            needs = {n for _, n in referenced_columns(render(m.definition, {}))} & names
            if needs <= placed | {m.name}:
                done.append(m)
                placed.add(m.name)
                pending.remove(m)
                break
        else:  # a circle: refused at config load; never loop forever
            raise ValueError("derived custom metrics reference each other in a circle")
    return done
