"""Read azure-pipelines.yml the way Azure DevOps does, for the delivery tests.

Templates: `- template: <file>` entries of `stages:` and `steps:` lists are expanded with their
`parameters` (defaults applied, unknown or missing parameters refused), and `${{ parameters.x }}`
is substituted in keys and values. Any other `${{ }}` expression raises: the pipeline must not
grow template logic that these tests would silently misread.

Why an evaluator for condition expressions: the branch rules (develop deploys dev and aut, main
deploys prod, pull requests deploy nothing) live in `condition:` strings. Grepping those strings
would pass for a condition that never evaluates to true; evaluating them for simulated runs tests
what Azure DevOps will actually do. Only the subset of the expression language the pipeline uses
is implemented (documented functions, `variables['X']`, `dependencies.<stage>.result`); anything
else raises, so a new construct in the pipeline cannot silently evaluate to a wrong value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PIPELINE_FILE = REPO / "azure-pipelines.yml"
ENVIRONMENTS = ("dev", "aut", "prod")
SUCCESS = ("Succeeded", "SucceededWithIssues")


def load_pipeline(path: Path = PIPELINE_FILE, *, expand: bool = True) -> dict[str, Any]:
    """The pipeline as Azure DevOps runs it (templates expanded), or the file as written."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return expand_templates(raw, path.parent) if expand else raw


def template_files(path: Path = PIPELINE_FILE) -> list[Path]:
    """Every template file the pipeline uses, directly or through another template."""
    found: list[Path] = []

    def visit(node: Any, base: Path) -> None:
        for _, value in walk(node):
            if isinstance(value, dict) and isinstance(value.get("template"), str):
                file = (base / value["template"]).resolve()
                if file not in found:
                    found.append(file)
                    visit(yaml.safe_load(file.read_text(encoding="utf-8")), file.parent)

    visit(yaml.safe_load(path.read_text(encoding="utf-8")), path.parent)
    return found


_PARAM = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _substitute(node: Any, params: dict[str, Any], where: Path) -> Any:
    if isinstance(node, dict):
        return {_substitute(k, params, where): _substitute(v, params, where) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, params, where) for v in node]
    if not isinstance(node, str):
        return node

    def value(match: re.Match) -> Any:
        name = match.group(1)
        if name not in params:
            raise ValueError(f"{where}: unknown parameter {name!r} in {node!r}")
        return params[name]

    whole = _PARAM.fullmatch(node.strip())
    out = value(whole) if whole else _PARAM.sub(lambda m: str(value(m)), node)
    if isinstance(out, str) and "${{" in out:
        raise ValueError(f"{where}: unsupported template expression in {out!r}")
    return out


def _template(ref: dict[str, Any], base: Path, section: str) -> tuple[list[Any], Path]:
    file = (base / ref["template"]).resolve()
    body = yaml.safe_load(file.read_text(encoding="utf-8"))
    declared = {p["name"]: p for p in body.get("parameters", [])}
    given = ref.get("parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(f"{file}: unknown parameter(s) {unknown}")
    params = {}
    for name, spec in declared.items():
        if name in given:
            params[name] = given[name]
        elif "default" in spec:
            params[name] = spec["default"]
        else:
            raise ValueError(f"{file}: parameter {name!r} is required")
    return _substitute(body[section], params, file), file.parent


def expand_templates(node: Any, base: Path) -> Any:
    """`node` with every stage and step template replaced by what it expands to."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("stages", "steps") and isinstance(value, list):
                items: list[Any] = []
                for item in value:
                    if isinstance(item, dict) and "template" in item:
                        body, where = _template(item, base, key)
                        items.extend(expand_templates(body, where))
                    else:
                        items.append(expand_templates(item, base))
                out[key] = items
            else:
                out[key] = expand_templates(value, base)
        return out
    if isinstance(node, list):
        return [expand_templates(v, base) for v in node]
    return node


def stages(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["stage"]: s for s in pipeline["stages"]}


def depends_on(pipeline: dict[str, Any], name: str) -> list[str]:
    """A stage's dependencies; without `dependsOn` a stage depends on the stage before it."""
    ordered = [s["stage"] for s in pipeline["stages"]]
    stage = stages(pipeline)[name]
    if "dependsOn" not in stage:
        index = ordered.index(name)
        return [ordered[index - 1]] if index else []
    value = stage["dependsOn"]
    return [value] if isinstance(value, str) else list(value or [])


def ancestors(pipeline: dict[str, Any], name: str) -> set[str]:
    found: set[str] = set()
    todo = depends_on(pipeline, name)
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(depends_on(pipeline, current))
    return found


def job_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps of a job, or of every lifecycle hook of a deployment job's strategy, in order."""
    if "steps" in job:
        return list(job["steps"])
    steps: list[dict[str, Any]] = []
    for strategy in (job.get("strategy") or {}).values():
        for hook in ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic"):
            steps.extend((strategy.get(hook) or {}).get("steps", []))
        for hook in (strategy.get("on") or {}).values():
            steps.extend(hook.get("steps", []))
    return steps


def step_script(step: dict[str, Any]) -> str:
    """The shell text a step runs (script/bash steps and AzureCLI@2 inline scripts)."""
    for key in ("script", "bash"):
        if key in step:
            return step[key]
    return (step.get("inputs") or {}).get("inlineScript", "")


def commands(step: dict[str, Any]) -> list[str]:
    """Non-empty, non-comment lines of a step's script, stripped."""
    lines = (line.strip() for line in step_script(step).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def environment_name(job: dict[str, Any]) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        return env.get("name")
    return env


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in a YAML tree, mappings' keys included as ('<key>', key)."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, "<key>"), key
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


# --- condition expressions ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)"
    r"|(?P<punct>[(),\[\]]))"
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot parse condition at {text[pos:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class RunContext:
    """What a condition can see: pipeline variables and the results of the stage's dependencies."""

    def __init__(self, variables: dict[str, str], dependencies: dict[str, str], canceled: bool = False):
        self.variables = {k.lower(): v for k, v in variables.items()}
        self.dependencies = dependencies
        self.canceled = canceled


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _eq(a: Any, b: Any) -> bool:
    return _as_str(a).lower() == _as_str(b).lower()


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value not in (None, "", 0)


def evaluate(condition: str, ctx: RunContext) -> bool:
    tokens = _tokenize(condition)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal pos
        token = tokens[pos]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r} in {condition!r}")
        pos += 1
        return token

    def expression() -> Any:
        kind, text = take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind != "name":
            raise ValueError(f"unexpected {text!r} in {condition!r}")
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        if text == "variables":
            take("[")
            name = expression()
            take("]")
            return ctx.variables.get(str(name).lower(), "")
        if text.startswith("variables."):
            return ctx.variables.get(text[len("variables.") :].lower(), "")
        if text.startswith("dependencies."):
            parts = text.split(".")
            if len(parts) != 3 or parts[2] != "result":
                raise ValueError(f"unsupported dependency reference {text!r}")
            if parts[1] not in ctx.dependencies:
                raise ValueError(f"{text!r} names a stage that is not in dependsOn")
            return ctx.dependencies[parts[1]]
        take("(")
        args: list[Any] = []
        while peek() and peek()[1] != ")":
            args.append(expression())
            if peek() and peek()[1] == ",":
                take(",")
        take(")")
        return call(text, args)

    def call(name: str, args: list[Any]) -> Any:
        # Status functions take stage names; without, they look at every dependency (Microsoft
        # Learn, "Expressions: job status check functions").
        if name.lower() in ("succeeded", "failed", "succeededorfailed") and args:
            for stage in args:
                if stage not in ctx.dependencies:
                    raise ValueError(f"{name}({stage!r}) names a stage that is not in dependsOn")
            results = [ctx.dependencies[a] for a in args]
        else:
            results = list(ctx.dependencies.values())
        match name.lower():
            case "and":
                return all(_truthy(a) for a in args)
            case "or":
                return any(_truthy(a) for a in args)
            case "not":
                return not _truthy(args[0])
            case "eq":
                return _eq(args[0], args[1])
            case "ne":
                return not _eq(args[0], args[1])
            case "in":
                return any(_eq(args[0], a) for a in args[1:])
            case "notin":
                return not any(_eq(args[0], a) for a in args[1:])
            case "startswith":
                return _as_str(args[0]).lower().startswith(_as_str(args[1]).lower())
            case "endswith":
                return _as_str(args[0]).lower().endswith(_as_str(args[1]).lower())
            case "contains":
                return _as_str(args[1]).lower() in _as_str(args[0]).lower()
            case "succeeded":
                return not ctx.canceled and all(r in SUCCESS for r in results)
            case "canceled":
                return ctx.canceled
            case "failed":
                return any(r == "Failed" for r in results)
            case "succeededorfailed":
                return all(r in (*SUCCESS, "Failed") for r in results)
            case "always":
                return True
        raise ValueError(f"unsupported function {name!r} in {condition!r}")

    value = expression()
    if pos != len(tokens):
        raise ValueError(f"trailing tokens in {condition!r}")
    return _truthy(value)


def simulate(
    pipeline: dict[str, Any],
    *,
    branch: str,
    reason: str = "IndividualCI",
    failing: frozenset[str] = frozenset(),
    outcomes: dict[str, str] | None = None,
    cancel_during: str | None = None,
) -> dict[str, str]:
    """Result of every stage for one run: 'Succeeded', 'Failed' (stage in `failing`), the result
    `outcomes` gives a stage that runs (e.g. 'SucceededWithIssues'), 'Canceled' for the stage the
    run is canceled during (later stages then see canceled() true), or 'Skipped'."""
    variables = {"Build.SourceBranch": branch, "Build.Reason": reason}
    outcomes = dict(outcomes or {})
    canceled = False
    results: dict[str, str] = {}
    pending = [s["stage"] for s in pipeline["stages"]]
    while pending:
        ready = [n for n in pending if all(d in results for d in depends_on(pipeline, n))]
        if not ready:
            raise ValueError(f"dependency cycle among {pending}")
        for name in ready:
            deps = {d: results[d] for d in depends_on(pipeline, name)}
            condition = stages(pipeline)[name].get("condition", "succeeded()")
            runs = evaluate(condition, RunContext(variables, deps, canceled))
            if not runs:
                results[name] = "Skipped"
            elif name == cancel_during:
                results[name], canceled = "Canceled", True
            else:
                results[name] = "Failed" if name in failing else outcomes.get(name, "Succeeded")
            pending.remove(name)
    return results
