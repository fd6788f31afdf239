"""Hostile env files: YAML complex keys and alias bombs end in one line naming the file (a bomb
is refused by its size before it expands: the message names the node limit; an expanded one would
not finish); a file of normal size with aliases still loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakemon.config import ConfigError, load_environment
from lakemon.config.loader import MAX_NODES, expanded_size

REPO = Path(__file__).resolve().parents[2]
DEV_TEXT = (REPO / "envs" / "dev.yml").read_text()


def _bomb(levels: int, under: str) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    body = "\n".join("  " + line for line in lines)
    return DEV_TEXT + f"\n{under}:\n{body}\n"


def _one_line_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "dev.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_environment(path)
    message = str(caught.value)
    assert all(line.startswith(f"{path}: ") for line in message.splitlines()), message
    return message


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    """Under an unknown key: the size is checked on the composed nodes, before any key is
    looked at, so where the bomb sits does not matter."""
    message = _one_line_error(tmp_path, _bomb(10, "unknown_top_level_key"))  # 9**10 = 3.5 billion values
    assert "alias" in message and f"{MAX_NODES:,}" in message


@pytest.mark.parametrize(
    "key", ["? [a, b]\n: 1", "? {a: 1}\n: 1", "[a, b]: 1", "{a: 1}: 1"],
)
def test_a_list_or_map_as_a_key_is_one_line(tmp_path, key):
    message = _one_line_error(tmp_path, DEV_TEXT + "\n" + key + "\n")
    assert "is used as a key; keys must be text" in message


def test_expanded_size_counts_each_alias_as_what_it_repeats():
    node = yaml.compose("a: &x [1, 2]\nb: [*x, *x]\n")
    # mapping 1 + keys a,b 2 + list x (1 + 2) + list b (1 + 2 * 3)
    assert expanded_size(node) == 1 + 2 + 3 + 7


def test_the_committed_env_files_are_far_below_the_limit():
    for path in sorted((REPO / "envs").glob("*.yml")):
        assert expanded_size(yaml.compose(path.read_text())) < MAX_NODES / 50


# --- values accepted silently before -------------------------------------------------------------

DEV = yaml.safe_load(DEV_TEXT)


def _edited(edit) -> str:
    import copy

    data = copy.deepcopy(DEV)
    edit(data)
    return yaml.safe_dump(data, sort_keys=False)


def _set(*path_and_value):
    *path, value = path_and_value

    def edit(data):
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_set("state", {"backend": "local", "path": "../../elsewhere/terraform.tfstate"}), "leaves the stack's folder"),
        (_set("state", {"backend": "local", "path": "state/../../x.tfstate"}), "leaves the stack's folder"),
        (_set("models", 0, "training", "source", "bundled:../../etc/passwd"), "unknown bundled data set"),
        (_set("models", 0, "training", "source", "../training.csv"), "neither bundled:<name> nor a table name"),
        (_set("models", 0, "training", "source", "a.b..c"), "neither bundled:<name> nor a table name"),
        (_set("models", 0, "training", "source", "bundled:marvel${var.x}"), "unknown bundled data set"),
        (_set("models", 0, "training", "seed", -1), "seed"),
        (_set("models", 0, "training", "seed", 2**40), "seed"),
        (_set("monitoring", "drift", "features", {"no_such_feature": {"threshold": 0.2}}), "not a feature of any model"),
        (_set("monitoring", "drift", "features", {"appearances": {"statistic": "js_distance"}}),
         "is a categorical statistic but appearances is numeric"),
        (_set("monitoring", "drift", "features", {"align": {"threshold": float("inf")}}), "threshold"),
        (_set("monitoring", "drift", "statistic_thresholds", {"ks_test": float("inf")}), "statistic_thresholds"),
        (_set("alerts", "destinations", [{"type": "email", "name": "team", "addresses": []}]), "addresses"),
    ],
)
def test_values_once_accepted_silently_are_refused_in_one_line(tmp_path, edit, expected):
    message = _one_line_error(tmp_path, _edited(edit))
    assert expected in message, message
    assert len(message.splitlines()) == 1
