"""Sphinx configuration of the API reference (built in CI: sphinx-build -W -b html docs/api ...)."""

project = "infoflow"
author = "the infoflow developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon"]
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_typehints = "none"          # the numpy-style docstrings say the types and shapes
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
exclude_patterns = ["_build"]
# numpy-style type fields name shapes ("uint8 [n_agents, 3]"): their words are not references
suppress_warnings = ["ref.python"]
html_theme = "alabaster"
