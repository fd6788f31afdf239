"""The README is the user's first contact: its promises are checked like code."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from lakemon.config import model as config_model

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _first_code_block() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block, "README has no bash code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_first_screen_gives_exactly_two_commands():
    first_screen = "\n".join(README.splitlines()[:25])
    assert "```bash" in first_screen
    commands = _first_code_block()
    assert len(commands) == 2
    assert "run-local" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    test_command = _first_code_block()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci


def _fields(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_every_config_key_is_documented():
    section = README.split("## Configuration reference")[1].split("## Drift")[0]
    documented = {word for span in re.findall(r"`([^`]+)`", section) for word in re.findall(r"[a-z_]+", span)}
    missing = []
    for obj in vars(config_model).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == config_model.__name__:
            for key in _fields(obj):
                if key not in documented and key not in {"name", "type"}:
                    missing.append(f"{obj.__name__}.{key}")
    assert not missing, f"config keys missing from README's configuration reference: {missing}"


def test_every_policy_rule_is_documented_next_to_the_keys_that_satisfy_it():
    from lakemon.policy import ALL_RULES

    section = README.split("### Rules that can stop a synth")[1].split("\n## ")[0]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| `LM-")}
    for rule in ALL_RULES:
        row = rows.get(f"`{rule.id}` {rule.name}")
        assert row, f"{rule.id} is missing from README's rules that can stop a synth"
        for key in rule.config_keys:
            assert key.split(":")[0] in row, f"{rule.id}: key {key} not named next to it"
