"""Sphinx configuration of the sk3kg documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``; the
gallery in ``examples/`` is executed during the build.
"""

import importlib
import os
import pkgutil
import warnings
from importlib.metadata import version as _version

from sphinx.pycode import ModuleAnalyzer

os.environ.setdefault("MPLBACKEND", "Agg")

project = "sk3kg"
author = "The sk3kg developers"
copyright = "2026, The sk3kg developers"
release = _version("sk3kg")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "py:obj"
nitpicky = False

# API reference: one page per public name, generated from the docstrings.
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# No network at build time: intersphinx inventories are not fetched.
intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {"sk3kg": None},
    "doc_module": ("sk3kg",),
    "backreferences_dir": "gen_modules/backreferences",
    "matplotlib_animations": False,
    "abort_on_example_error": True,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
}

# Figures drawn by ``.. plot::`` in the user guide.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.dpi": 110}

html_theme = "pydata_sphinx_theme"
html_title = f"sk3kg {version}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# Torch and matplotlib say nothing users need in the built pages.
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-GUI backend.*")


def _definition_comment(name):
    """The ``#:`` comment of a re-exported constant, read in the private module defining it."""
    package, _, attribute = name.rpartition(".")
    path = getattr(importlib.import_module(package), "__path__", [])
    for module in pkgutil.iter_modules(path, package + "."):
        comments = ModuleAnalyzer.for_module(module.name).find_attr_docs()
        if ("", attribute) in comments:
            return list(comments[("", attribute)])
    return None


def _document_constants(app, what, name, obj, options, lines):
    """Sphinx reads ``#:`` comments only in the named module; ours sit where defined."""
    if what == "data" and (comment := _definition_comment(name)):
        lines[:] = comment


def setup(app):
    app.connect("autodoc-process-docstring", _document_constants)
