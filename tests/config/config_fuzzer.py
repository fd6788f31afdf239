"""A seeded fuzzer for environment files (hostile input): mutate the committed env files and check
that each mutant is either refused with a clean ConfigError or loaded exactly as written.

Outcomes per case:
- clean: ConfigError whose every line names the file (no other exception);
- correct: loaded, and the mutated value reads back unchanged (same JSON value, same type);
- traceback: any other exception escaped the loader;
- wrong: loaded, but the value reads back different (a coercion such as true -> 1);
- lost: loaded, but an added key is not in the result (silently ignored);
- hang: the loader took more than HANG_S seconds (an alias bomb did, before).

A sixth of the cases are hostile ones that must be refused (HOSTILE: YAML complex keys, alias
bombs, `..` in the state path or the training source, unknown drift features, a statistic of
the wrong kind, a negative seed, an infinite threshold, an email destination without
addresses, a slicing expression reading an unknown column, an unknown training param, a tiny
threshold); loading one is counted as wrong ("silently accepted"). Their counts per class are
in the result as `hostile:<class>:<outcome>`.

    .venv/bin/python tests/config/config_fuzzer.py [cases] [seed]   # prints the counts
"""

from __future__ import annotations

import copy
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ENV_FILES = ("dev", "aut", "prod")

ODD_VALUES = [
    True, False, None, 0, -1, 1, 2**63, 10**400, 0.5, -0.0, 1e308, float("inf"), float("nan"),
    "", " ", "true", "1", "0.1", "x" * 5000, "${var.drift_webhook_url_dev}", '${file("/etc/passwd")}',
    "%{ if true }x%{ endif }", "\ud7ff\u202e", "line\nbreak", "a/b", "ml platform", "../../etc",
    [], [1, 2], ["a"], {}, {"a": 1}, {"nested": {"deeper": [1, {"x": None}]}},
]


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
        yield path
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
        yield path
    else:
        yield path


def _get(node, path):
    for part in path:
        node = node[part]
    return node


def _mutate(raw: dict, rng: random.Random) -> tuple[dict, str, tuple, object]:
    data = copy.deepcopy(raw)
    paths = [p for p in _leaves(data) if p]
    path = rng.choice(paths)
    parent = _get(data, path[:-1])
    kind = rng.choice(["replace", "replace", "delete", "add_key", "type_swap", "type_swap", "type_swap"])
    if kind == "type_swap":  # aim at scalars: that is where coercion hides
        scalars = [p for p in paths if isinstance(_get(data, p), bool | int | float | str)]
        path = rng.choice(scalars)
        parent = _get(data, path[:-1])
    if kind == "delete":
        del parent[path[-1]]
        return data, kind, path, None
    if kind == "add_key" and isinstance(parent, dict):
        key = rng.choice(["extra", "Workspace", "monitoring_", "retention_days", "${x}"])
        parent[key] = rng.choice(ODD_VALUES)
        return data, kind, (*path[:-1], key), parent[key]
    old = parent[path[-1]]
    if kind == "type_swap" and isinstance(old, bool | int | float | str):
        if isinstance(old, bool):
            swaps = [int(old), str(old).lower(), "yes"]
        elif isinstance(old, int):
            swaps = [bool(old % 2), str(old), float(old) + 0.5, float(old)]
        elif isinstance(old, float):
            swaps = [str(old), True, int(old)]
        else:
            swaps = [1, True, old + "\n", 1.5]
        value = rng.choice(swaps)
    else:
        value = rng.choice(ODD_VALUES)
    parent[path[-1]] = copy.deepcopy(value)
    return data, "replace", path, value


def _same(read, written) -> bool:
    """JSON equality that also tells 1 from true and 1 from 1.0 (types must survive)."""
    if isinstance(written, float) and written != written:
        return isinstance(read, float) and read != read
    if type(written) is not type(read) and not (isinstance(written, list) and isinstance(read, list)):
        return isinstance(written, int) and not isinstance(written, bool) and type(read) is float and read == written
    if isinstance(written, list):
        return len(read) == len(written) and all(_same(r, w) for r, w in zip(read, written, strict=True))
    if isinstance(written, dict):
        return read.keys() >= written.keys() and all(_same(read[k], w) for k, w in written.items())
    return read == written


def _text_mutant(text: str, rng: random.Random) -> bytes:
    """Mutations of the file's text that no YAML dump produces."""
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines))
    kind = rng.choice(["bytes", "nest", "dup", "merge", "tab", "anchor_bomb"])
    if kind == "bytes":
        data = text.encode()
        cut = rng.randrange(len(data))
        return data[:cut] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + data[cut:]
    if kind == "nest":
        depth = rng.choice([40, 500, 20000])
        lines.insert(at, "deep: " + "[" * depth + "]" * depth + "\n")
    elif kind == "dup":
        top = [line for line in lines if line[:1].isalpha()]
        lines.append(rng.choice(top))
    elif kind == "merge":
        lines.insert(0, "x: &base {warehouse_id: abc}\n")
        lines.append("\n")
    elif kind == "tab":
        lines[at] = "\t" + lines[at]
    else:
        lines.insert(0, "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n")
    return "".join(lines).encode()


HANG_S = 5.0
BOMB = "".join(
    [f"b0: &b0 [{', '.join(['lol'] * 9)}]\n"]
    + [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]\n" for i in range(1, 10)]
)


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _hostile(original: str, rng: random.Random) -> tuple[str, bytes]:
    """(class, file content) of a mutant that must be refused."""
    kind = rng.choice(list(HOSTILE))
    if kind == "complex_key":
        key = rng.choice(["? [a, b]\n: 1\n", "? {a: 1}\n: 1\n", "[x, y]: 1\n", "{k: v}: 1\n"])
        return kind, (original + "\n" + key).encode()
    if kind == "alias_bomb":
        at = rng.choice(["top", "models"])
        if at == "top":
            return kind, (BOMB + original).encode()
        return kind, (original + "\nunknown_bomb:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())).encode()
    data = yaml.safe_load(original)
    model = rng.randrange(len(data["models"]))
    if kind == "state_path_traversal":
        data["state"] = {"backend": "local", "path": rng.choice(["../x.tfstate", "a/../../b.tfstate", "..\\x"])}
    elif kind == "training_source_traversal":
        _set(data, ("models", model, "training", "source"), rng.choice(["bundled:../../etc/passwd", "../data.csv", "a/b.c"]))
    elif kind == "unknown_drift_feature":
        data.setdefault("monitoring", {}).setdefault("drift", {})["features"] = {"no_such_feature": {"threshold": 0.2}}
    elif kind == "wrong_kind_statistic":
        numeric = [f["name"] for f in data["models"][0]["features"] if f["type"] in ("double", "bigint", "int", "float")]
        data.setdefault("monitoring", {}).setdefault("drift", {})["features"] = {numeric[0]: {"statistic": "js_distance"}}
    elif kind == "negative_seed":
        _set(data, ("models", model, "training", "seed"), rng.choice([-1, -(2**40), 2**33]))
    elif kind == "infinite_threshold":
        data.setdefault("monitoring", {}).setdefault("drift", {})["statistic_thresholds"] = {"ks_test": float("inf")}
    elif kind == "unknown_slicing_column":
        _set(data, ("models", model, "slicing_exprs"), [rng.choice(["no_such_column", "sexx = 'M'", "upper(nope)"])])
    elif kind == "unknown_training_param":
        _set(data, ("models", model, "training", "params"), {rng.choice(["learning_rat", "n_estimators", "random_state"]): 1})
    elif kind == "tiny_threshold":
        data.setdefault("monitoring", {}).setdefault("drift", {})["threshold"] = rng.choice([1e-300, 5e-324, 1e-7])
    elif kind == "empty_email_list":
        data.setdefault("alerts", {})["destinations"] = [{"type": "email", "name": "team", "addresses": []}]
    return kind, yaml.safe_dump(data, allow_unicode=True).encode()


HOSTILE = ("complex_key", "alias_bomb", "state_path_traversal", "training_source_traversal", "unknown_drift_feature",
           "wrong_kind_statistic", "negative_seed", "infinite_threshold", "empty_email_list", "unknown_slicing_column",
           "unknown_training_param", "tiny_threshold")


def _load_outcome(file: Path) -> tuple[str, object]:
    """("clean" | "traceback" | "loaded", the environment or None), and "hang" if slow."""
    from lakemon.config import ConfigError, load_environment

    started = time.monotonic()
    try:
        env = load_environment(file)
        outcome = "loaded"
    except ConfigError as exc:
        lines = str(exc).splitlines()
        env, outcome = None, "clean" if lines and all(line.startswith(f"{file}: ") for line in lines) else "traceback"
    except Exception:  # noqa: BLE001 - any other exception is the finding
        env, outcome = None, "traceback"
    return ("hang" if time.monotonic() - started > HANG_S else outcome), env


def run_case(case: int, seed: int, tmp: Path) -> str:
    rng = random.Random(seed * 100_003 + case)
    name = rng.choice(ENV_FILES)
    original = (REPO / "envs" / f"{name}.yml").read_text()
    file = tmp / f"{name}.yml"
    if rng.random() < 1 / 6:
        kind, content = _hostile(original, rng)
        file.write_bytes(content)
        outcome, _ = _load_outcome(file)
        return f"hostile:{kind}:" + ("wrong" if outcome == "loaded" else outcome)
    if rng.random() < 0.25:
        file.write_bytes(_text_mutant(original, rng))
        kind, path, value = "text", (), None
    else:
        data, kind, path, value = _mutate(yaml.safe_load(original), rng)
        file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    outcome, env = _load_outcome(file)
    if outcome != "loaded":
        return outcome
    if kind in ("delete", "text") or path and path[0] == "models" and len(path) > 2 and path[2] in ("template",):
        return "correct"
    dumped = json.loads(env.model_dump_json(by_alias=True))
    try:
        read = _get(dumped, path)
    except (KeyError, IndexError, TypeError):
        return "lost" if kind == "add_key" else "wrong"
    return "correct" if _same(read, value) else "wrong"


def fuzz(cases: int, seed: int, tmp: Path) -> Counter:
    counts: Counter = Counter()
    for case in range(cases):
        outcome = run_case(case, seed, tmp)
        counts[outcome] += 1
        if outcome.startswith("hostile:"):
            counts[outcome.rsplit(":", 1)[1]] += 1  # also in the overall outcome
    counts["tried"] = cases
    return counts


if __name__ == "__main__":
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 17
    with tempfile.TemporaryDirectory() as folder:
        counts = fuzz(n, seed, Path(folder))
    print({k: v for k, v in sorted(counts.items()) if not k.startswith("hostile:")})
    for key, value in sorted(counts.items()):
        if key.startswith("hostile:"):
            print(f"  {key}: {value}")
