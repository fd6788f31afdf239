"""`help()` and IDEs show real constructor signatures and a documented default
per field (AWS CDK props style)."""

from __future__ import annotations

import inspect
import pydoc
import re

import pytest

import lakemon
from lakemon import Environment, LakemonStack, Model, MonitoredModel
from lakemon.config import model as config_model


@pytest.mark.parametrize("cls", [MonitoredModel, LakemonStack])
def test_help_shows_the_constructor_and_documents_every_parameter(cls):
    signature = inspect.signature(cls)
    names = [p for p in signature.parameters if p not in ("self",)]
    assert "args" not in names and "kwargs" not in names, signature
    rendered = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    assert f"{cls.__name__}(scope: 'Construct'" in rendered
    doc = inspect.getdoc(cls)
    for name in names:
        assert re.search(rf"^\s+{name}: \S", doc, re.MULTILINE), f"{cls.__name__} does not document {name}"
    for name, parameter in signature.parameters.items():
        if parameter.default is not inspect.Parameter.empty and parameter.kind is parameter.KEYWORD_ONLY:
            section = doc.split(f"{name}:", 1)[1].split("\n\n")[0]
            assert "Default" in section or "default" in section, f"{name}: no documented default"


def test_every_public_construct_shows_its_own_constructor():
    for name in lakemon.__all__:
        value = getattr(lakemon, name)
        if isinstance(value, type) and type(value).__name__ == "JSIIMeta":
            parameters = inspect.signature(value).parameters
            assert "args" not in parameters, name


def test_a_subclass_shows_its_own_constructor_not_its_parents():
    class TeamModel(MonitoredModel):
        def __init__(self, scope, id: str, *, team: str) -> None:  # pragma: no cover - not called
            raise NotImplementedError

    assert list(inspect.signature(TeamModel).parameters) == ["scope", "id", "team"]


@pytest.mark.parametrize("cls", [Environment, Model])
def test_environment_and_model_list_every_field_with_default_and_meaning(cls):
    doc = cls.__doc__
    assert "Fields (YAML keys):" in doc
    for name, field in cls.model_fields.items():
        key = field.alias or name
        line = re.search(rf"^  {key}: (?P<type>.+) \((?P<default>required|default .+)\)$", doc, re.MULTILINE)
        assert line, f"{cls.__name__}.{key} is not listed"
        assert "Annotated" not in line["type"] and "AfterValidator" not in line["type"]
        assert field.description, f"{cls.__name__}.{key} has no docstring"
    assert "Fields (YAML keys):" in pydoc.render_doc(cls, renderer=pydoc.plaintext)


def test_every_config_section_lists_its_fields():
    for obj in vars(config_model).values():
        if isinstance(obj, type) and issubclass(obj, config_model.Strict) and obj is not config_model.Strict:
            for name, field in obj.model_fields.items():
                assert f"  {field.alias or name}: " in obj.__doc__, (obj.__name__, name)
