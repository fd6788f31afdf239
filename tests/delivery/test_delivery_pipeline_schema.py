"""azure-pipelines.yml is valid against the official Azure Pipelines schema.

The schema is Microsoft's service schema (azure-pipelines-vscode, MIT, license file next to it),
copied here so the test does not depend on anything outside the repository. YAML is read with
the YAML core types, as the VS Code extension does: pipeline-level scalars such as
`timeoutInMinutes` must be strings, task inputs keep their types (booleans stay booleans).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
from ado_pipeline import load_pipeline

SCHEMA_FILE = Path(__file__).with_name("azure-pipelines.schema.json")


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def schema_errors(pipeline: dict) -> list[str]:
    """One line per error: the deepest failing paths, so a failure says where to look."""
    lines = []
    for error in validator().iter_errors(pipeline):
        best = jsonschema.exceptions.best_match([error])
        leaves = [best]
        while leaves[0].context:
            leaves = sorted(leaves[0].context, key=lambda e: -len(e.absolute_path))[:1]
        leaf = leaves[0]
        lines.append(f"{'/'.join(map(str, leaf.absolute_path))}: {leaf.message[:200]}")
    return lines


def test_schema_copy_is_the_official_one_with_its_license():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$id"].startswith("https://github.com/Microsoft/azure-pipelines-vscode/")
    assert "MIT License" in SCHEMA_FILE.with_name("azure-pipelines.schema.LICENSE").read_text(
        encoding="utf-8"
    )


def test_pipeline_is_valid_against_the_official_schema():
    assert schema_errors(load_pipeline()) == []


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda p: p["stages"][1].update(lockBehavior="whenever"), id="unknown-lock-behavior"),
        pytest.param(lambda p: p["stages"][0]["jobs"][0].update(timeoutInMinutes=30), id="number-not-string"),
        pytest.param(lambda p: p["stages"][1]["jobs"][0].update(enviroment="typo"), id="misspelt-key"),
        pytest.param(
            lambda p: p["stages"][0]["jobs"][0]["steps"].append(
                {"task": "AzureCLI@2", "inputs": {"scriptType": "bash"}}
            ),
            id="task-missing-required-input",
        ),
    ],
)
def test_the_schema_check_rejects_a_broken_pipeline(break_it):
    broken = copy.deepcopy(load_pipeline())
    break_it(broken)
    assert schema_errors(broken), "the schema accepted a pipeline Azure DevOps would reject"


def test_the_file_as_written_and_every_template_are_valid_too():
    """Azure DevOps checks the main file and each template file on their own before expanding."""
    import yaml
    from ado_pipeline import PIPELINE_FILE, template_files

    assert schema_errors(load_pipeline(expand=False)) == []
    files = template_files(PIPELINE_FILE)
    assert len(files) == 2
    for file in files:
        # A name built from `${{ parameters.x }}` only becomes valid once expanded (the expanded
        # pipeline is checked above); every other rule applies to the template as written.
        errors = [e for e in schema_errors(yaml.safe_load(file.read_text(encoding="utf-8"))) if "${{" not in e]
        assert errors == [], file.name
