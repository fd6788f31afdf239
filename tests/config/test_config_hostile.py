"""Hostile env files: YAML complex keys and alias bombs end in one line naming the file, within
seconds; a file of normal size with aliases still loads."""

from __future__ import annotations

import time
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
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_environment(path)
    assert time.monotonic() - started < 10
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
