"""Sphinx configuration of specola's API reference (built from the numpydoc docstrings).

Build: ``python -m sphinx -W --keep-going -b html docs/api build/api`` (tests/test_api_docs.py does this in CI).
"""

import specola

project = "specola"
author = "specola developers"
release = version = specola.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
suppress_warnings = ["ref.python"]  # ambiguous short names in rendered type hints are not errors of the docs
nitpicky = False
html_theme = "alabaster"
html_title = f"specola {release} API"
exclude_patterns = ["_build"]
napoleon_use_ivar = True  # dataclass fields: listed once, in the docstring
