"""socrates_nb: Socratic specification gathering for Jupyter.

>>> import socrates_nb as snb
>>> ws = snb.connect()                                  # doctest: +SKIP
"""

from socrates_nb.__about__ import __version__
from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import (
    ConfigError,
    ConflictError,
    DatabaseError,
    NotFoundError,
    SocratesError,
    ValidationError,
)
from socrates_nb.quality.classifier import classify
from socrates_nb.quality.lint import Finding, lint
from socrates_nb.templates import TEMPLATES
from socrates_nb.batch import run_batch
from socrates_nb.workspace import Project, Session, Specification, Workspace, connect
from socrates_nb import metrics  # callable: snb.metrics() is metrics.snapshot()
from socrates_nb.logs import configure_logging



_WIDGETS = ("ProjectBrowser", "SessionForm")


def __getattr__(name: str) -> object:
    """``snb.SessionForm`` and ``snb.ProjectBrowser`` import ipywidgets only when first used."""
    if name in _WIDGETS:
        from socrates_nb.notebook import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """The Jupyter Server extension (the REST API), loaded only by a server."""
    from socrates_nb.server import _jupyter_server_extension_points as points

    return points()


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext socrates_nb`` registers the ``%socrates`` magics."""
    from socrates_nb.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext socrates_nb`` removes them."""
    from socrates_nb.notebook.magics import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "CATEGORIES",
    "configure_logging",
    "metrics",
    "TEMPLATES",
    "ConfigError",
    "ConflictError",
    "Finding",
    "DatabaseError",
    "NotFoundError",
    "Project",
    "ProjectBrowser",
    "Session",
    "SessionForm",
    "SocratesError",
    "Specification",
    "ValidationError",
    "Workspace",
    "__version__",
    "classify",
    "connect",
    "run_batch",
    "lint",
    "load_ipython_extension",
    "unload_ipython_extension",
]
