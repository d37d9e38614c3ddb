"""The API reference lists every public name, and every public name shows how it is used."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
PUBLIC_MODULES = [
    "sk3kg",
    "sk3kg.vcg",
    "sk3kg.augment",
    "sk3kg.nn",
    "sk3kg.datasets",
    "sk3kg.metrics",
    "sk3kg.plotting",
]


def _public_names(module_name):
    module = importlib.import_module(module_name)
    return [(name, getattr(module, name)) for name in module.__all__]


def _documented_names(module_name):
    """Names under ``.. currentmodule:: module_name`` in api.rst, autosummary or autodata."""
    text = API_PAGE.read_text(encoding="utf-8")
    sections = re.split(r"^\.\. currentmodule:: ", text, flags=re.MULTILINE)
    body = next(s for s in sections[1:] if s.split("\n", 1)[0].strip() == module_name)
    listed = re.findall(r"^   (\w+)$", body, flags=re.MULTILINE)
    data = re.findall(r"^\.\. autodata:: (\w+)", body, flags=re.MULTILINE)
    return set(listed) | set(data)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_the_api_reference_lists_every_public_name(module_name):
    public = {name for name, _ in _public_names(module_name)}
    documented = _documented_names(module_name)
    assert public - documented == set(), f"missing from docs/api.rst: {public - documented}"
    assert documented - public == set(), f"not public in {module_name}: {documented - public}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_function_and_class_has_parameters_and_examples(module_name):
    for name, obj in _public_names(module_name):
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert "Examples\n--------\n>>> " in doc, f"{module_name}.{name} has no doctest example"
        if inspect.signature(obj).parameters:
            assert "Parameters\n----------\n" in doc, f"{module_name}.{name} has no Parameters"
