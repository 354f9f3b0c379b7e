"""The examples in the shared rooms' docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "specola.config",
    "specola.runs",
    "specola.plotting.labels",
    "specola.plotting.limits",
    "specola.plotting.panels",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
