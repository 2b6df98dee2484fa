"""Sphinx configuration of the sksig documentation.

Build from the repository root (after ``pip install ".[docs]"``)::

    sphinx-build -W -b html docs docs/_build/html

The gallery (``examples/plot_*.py``) is executed during the build. Nothing here needs
the network: intersphinx inventories are optional (see ``SKSIG_DOCS_INTERSPHINX``)
and MathJax is loaded by the reader's browser.
"""

import os
import warnings


import sksig

project = "sksig"
author = "the sksig developers"
copyright = "the sksig developers"  # noqa: A001
version = release = sksig.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "sg_execution_times.rst"]
root_doc = "index"
default_role = "literal"

# -- autosummary / autodoc / numpydoc --------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = True
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
# Types such as "ndarray of shape (n, d)" are prose, not cross-reference targets.
numpydoc_xref_param_type = False

# -- intersphinx: optional, never a warning-as-error -----------------------------------
# CI and many developer machines are offline. Links to numpy / scikit-learn / torch are
# only made when SKSIG_DOCS_INTERSPHINX=1 is set (a machine with network access); by
# default no inventory is fetched, so `sphinx-build -W` cannot fail on a download.
intersphinx_mapping = {}
if os.environ.get("SKSIG_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
    }
intersphinx_timeout = 10

# -- math ------------------------------------------------------------------------------
# MathJax from its default CDN; SKSIG_DOCS_MATHJAX overrides the URL (for example a
# local copy for offline reading).
if os.environ.get("SKSIG_DOCS_MATHJAX"):
    mathjax_path = os.environ["SKSIG_DOCS_MATHJAX"]

# -- sphinx-gallery --------------------------------------------------------------------
warnings.filterwarnings(
    "ignore", category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every examples/plot_*.py is executed; other scripts are shown without running.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    # Back-references: every API page lists the gallery examples that use it.
    "doc_module": ("sksig",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sksig {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": []}
html_show_sourcelink = False

