"""ntlab: an interactive trading toolkit for JupyterLab."""

__version__ = "0.1.0"
