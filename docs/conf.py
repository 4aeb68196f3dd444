"""Sphinx configuration of the jointeffects documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html``. Before reading the sources
this writes the validation pages from the benchmark result files; sphinx-gallery runs the
examples in ``docs/examples/`` during the build, so their output cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

import validation_pages  # noqa: E402  (lives beside this file)

from jointeffects import __version__  # noqa: E402

validation_pages.write_all()

project = "jointeffects"
author = "the jointeffects developers"
copyright = "2026, the jointeffects developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "reproduction_text.md",
    "examples/README.rst",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.json",
]
templates_path = ["_templates"]

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
# Plain parameter types: cross-references would need intersphinx, and the build is offline.
numpydoc_xref_param_type = False


sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
}

html_theme = "furo"
html_title = f"jointeffects {version}"
html_static_path: list[str] = []
