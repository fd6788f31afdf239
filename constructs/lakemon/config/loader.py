"""Load `envs/<env>.yml` into a validated `Environment`, or fail with one clear line per problem.

Why a custom error layer: pydantic's messages name the field but not the file, and say
"Extra inputs are not permitted" without saying what *is* permitted. Users editing YAML need
`envs/prod.yml: monitoring.drift.threshold: must be > 0 and <= 1 (got 1.5)`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from .model import Environment
from .templates import TEMPLATE_NAMES, load_template


class ConfigError(Exception):
    """Bad configuration. `problems` holds one human-readable line per problem."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


MAX_DEPTH = 32
"""Deepest nesting an environment file may have (the real schema needs 6); deeper input is an
error, never a RecursionError from the YAML parser, the merge or the validator."""
MAX_NODES = 100_000
"""Most values (counting each alias as the values it repeats) an environment file may expand to.
The committed files have a few hundred; an alias "bomb" (`a: &a [x, x]`, `b: &b [*a, *a]`, ...
ten levels deep) is small on disk and expands to billions, which would hang the loader.
Counted on the composed node graph before anything is built, so a bomb costs its size on disk."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one).

    YAML merge keys (`<<: *defaults`) work as in PyYAML: keys written next to the merge override
    the merged ones; only keys written twice in the same mapping are duplicates."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # SafeLoader.construct_mapping flattens merges below
        if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]` or `{a: 1}: x`: a list or map as a key
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "map"
            raise yaml.constructor.ConstructorError(
                None, None, f"a {kind} is used as a key; keys must be text", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"]
        ) from None
    try:
        return _bounded_load(text, path)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, controls)
        line = text[: exc.position].count("\n") + 1
        raise ConfigError([f"{path}: line {line}: invalid YAML: character {exc.character!r} is not allowed"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
        raise ConfigError([f"{path}: {where}invalid YAML: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: nested too deeply (more than {MAX_DEPTH} levels)"]) from None


def _bounded_load(text: str, path: Path) -> Any:
    """yaml.load with _UniqueKeyLoader, refusing a document that expands beyond MAX_NODES."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = expanded_size(node)
        if size > MAX_NODES:
            raise ConfigError([
                f"{path}: its aliases expand to more than {MAX_NODES:,} values (an alias bomb?); "
                "write the values out or use fewer nested aliases"
            ])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def expanded_size(root: yaml.Node) -> int:
    """How many values `root` stands for once every alias is expanded, computed once per node
    (an alias is the same node object reached twice), iteratively (no recursion limit)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 0) for c in children)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def plain_data(raw: Any, path: Path) -> str:
    """`raw` as JSON text, or ConfigError naming every value YAML gave a type config never has.

    Validation runs on this JSON text in pydantic's strict JSON mode: a list may become a tuple
    and a string an enum, but nothing crosses types (`true` is not 1, `"5"` is not 5, `1.5` is
    not an integer). YAML's own conversions are caught here first: an unquoted date, a key that
    YAML read as a number or boolean (`1:`, `yes:`), binary data, and nesting beyond MAX_DEPTH.
    """
    problems: list[str] = []

    def walk(value: Any, loc: tuple, depth: int) -> Any:
        where = _format_loc(loc)
        if depth > MAX_DEPTH:
            problems.append(f"{path}: {where}: nested too deeply (more than {MAX_DEPTH} levels)")
            return None
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(
                        f"{path}: {_format_loc((*loc, str(key)))}: key {key!r} is a {type(key).__name__}, "
                        "not text; quote it"
                    )
                    continue
                out[key] = walk(item, (*loc, key), depth + 1)
            return out
        if isinstance(value, list):
            return [walk(item, (*loc, i), depth + 1) for i, item in enumerate(value)]
        if value is None or isinstance(value, str | bool | int | float):
            return value
        if isinstance(value, dt.date):
            problems.append(f"{path}: {where}: YAML read {value.isoformat()} as a date; quote it if it is text")
            return None
        problems.append(f"{path}: {where}: a {type(value).__name__} value is not allowed here")
        return None

    plain = walk(raw, (), 0)
    if problems:
        raise ConfigError(problems)
    return json.dumps(plain, allow_nan=True)


def deep_merge(base: dict, override: dict) -> dict:
    """Recursively merge `override` onto a copy of `base`; lists and scalars are replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _apply_templates(raw: dict, problems: list[str], path: Path) -> dict:
    models = raw.get("models")
    if not isinstance(models, list):
        return raw
    out = []
    for i, model in enumerate(models):
        if isinstance(model, dict) and "template" in model:
            name = model["template"]
            if name not in TEMPLATE_NAMES:
                problems.append(
                    f"{path}: models[{i}].template: unknown template {name!r}; allowed: {', '.join(TEMPLATE_NAMES)}"
                )
                out.append(model)
                continue
            model = deep_merge(load_template(name), model)
        out.append(model)
    return {**raw, "models": out}


def _format_loc(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def _unwrap(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic model classes reachable from a field annotation (through Optional, unions, tuples)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):  # Optional/unions, Annotated, tuple[...] alike
        found += _unwrap(arg)
    return found


def _allowed_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    """Field names (YAML spelling) allowed at `loc`, the path of the offending key's parent."""
    candidates: list[type[BaseModel]] = [root]
    for part in loc:
        if isinstance(part, int) or not candidates:
            continue
        nxt: list[type[BaseModel]] = []
        for model in candidates:
            for fname, field in model.model_fields.items():
                if part in (fname, field.alias) or part in [m.__name__ for m in _unwrap(field.annotation)]:
                    nxt += _unwrap(field.annotation)
            # discriminated unions appear in the loc as the tag value ('azurerm', 'email', ...)
            if part not in model.model_fields and candidates:
                nxt += [m for m in candidates if _tag_matches(m, part)]
        candidates = nxt or candidates
    keys: set[str] = set()
    for model in candidates:
        keys |= {field.alias or name for name, field in model.model_fields.items()}
    return sorted(keys)


def _tag_matches(model: type[BaseModel], tag: Any) -> bool:
    field = model.model_fields.get("type") or model.model_fields.get("backend")
    return field is not None and tag in (get_args(field.annotation) or ())


def _describe(error: dict, path: Path) -> str:
    """One line per problem: newlines in keys or values are shown escaped."""
    return _describe_raw(error, path).replace("\n", "\\n")


def _describe_raw(error: dict, path: Path) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    # Drop discriminator tags and pydantic's internal segments from the shown path.
    shown = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or "function-" in p)))
    if kind == "extra_forbidden":
        allowed = _allowed_keys(Environment, shown[:-1])
        return f"{path}: {_format_loc(shown)}: unknown key; allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"{path}: {_format_loc(shown)}: required key is missing"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    got = error.get("input")
    shown_got = json.dumps(got) if isinstance(got, bool) else repr(got)  # YAML spelling: true, not True
    suffix = "" if isinstance(got, dict | list) or got is None else f" (got {shown_got})"
    return f"{path}: {_format_loc(shown)}: {message}{suffix}"


def parse_environment(raw: Any, path: Path) -> Environment:
    """Validate already-parsed YAML for the environment named after `path`'s stem."""
    env_name = path.stem
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the file must hold a mapping of settings, got {type(raw).__name__}"])
    if "name" in raw and raw["name"] != env_name:
        raise ConfigError([f"{path}: name: {raw['name']!r} differs from the file name {env_name!r}; rename one"])
    problems: list[str] = []
    text = plain_data(raw, path)  # before merging: the merge must not meet deep or odd values
    raw = _apply_templates({**json.loads(text), "name": env_name}, problems, path)
    if problems:
        raise ConfigError(problems)
    try:
        return Environment.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise ConfigError(sorted({_describe(e, path) for e in exc.errors()})) from None


def load_environment(path: str | Path) -> Environment:
    """Load and validate one environment file."""
    path = Path(path)
    return parse_environment(read_yaml(path), path)


def environment_files(envs_dir: str | Path) -> list[Path]:
    """The environment files in `envs_dir`, sorted; files starting with '_' are not environments."""
    envs_dir = Path(envs_dir)
    files = sorted(p for p in envs_dir.glob("*.yml") if not p.name.startswith("_"))
    if not files:
        raise ConfigError([f"{envs_dir}: no environment files (*.yml) found"])
    return files


def load_environments(envs_dir: str | Path) -> dict[str, Environment]:
    """Load every environment in `envs_dir`, reporting the problems of all files at once."""
    envs: dict[str, Environment] = {}
    problems: list[str] = []
    for path in environment_files(envs_dir):
        try:
            envs[path.stem] = load_environment(path)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return envs
