"""ntlab: an interactive trading toolkit for JupyterLab."""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Lab", "__version__"]


def __getattr__(name: str) -> Any:
    # Lab is imported on first use so `import ntlab` stays light for scripts and the core.
    if name == "Lab":
        from ntlab.lab import Lab

        return Lab
    raise AttributeError(f"module 'ntlab' has no attribute {name!r}")
