"""socrates_nb: Socratic specification gathering for Jupyter.

>>> import socrates_nb as snb
>>> ws = snb.connect()                                  # doctest: +SKIP
"""

from importlib import import_module

from socrates_nb.__about__ import __version__

_EXPORTS: dict[str, str] = {
    "CATEGORIES": "socrates_nb.categories",
    "TEMPLATES": "socrates_nb.templates",
    "ConfigError": "socrates_nb.errors",
    "ConflictError": "socrates_nb.errors",
    "DatabaseError": "socrates_nb.errors",
    "NotFoundError": "socrates_nb.errors",
    "SocratesError": "socrates_nb.errors",
    "ValidationError": "socrates_nb.errors",
    "classify": "socrates_nb.quality.classifier",
    "Finding": "socrates_nb.quality.lint",
    "lint": "socrates_nb.quality.lint",
    "run_batch": "socrates_nb.batch",
    "Project": "socrates_nb.workspace",
    "Session": "socrates_nb.workspace",
    "Specification": "socrates_nb.workspace",
    "Workspace": "socrates_nb.workspace",
    "connect": "socrates_nb.workspace",
    "configure_logging": "socrates_nb.logs",
    "ProjectBrowser": "socrates_nb.notebook.widgets",
    "SessionForm": "socrates_nb.notebook.widgets",
}
"""The public names and the module each comes from: imported when first used, so ``import
socrates_nb`` (or ``socrates_nb.errors``) loads no database, crypto or widget library."""


def __getattr__(name: str) -> object:
    """A public name (``snb.connect``, ``snb.SessionForm``...) or ``snb.metrics`` (callable:
    ``snb.metrics()`` is ``metrics.snapshot()``), imported when first used and then kept."""
    if name == "metrics":
        return import_module("socrates_nb.metrics")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, "metrics"})


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
