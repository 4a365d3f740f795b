"""The package facade: ``import socrates_nb`` is cheap and every public name still resolves."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import socrates_nb as snb

HEAVY = ("sqlalchemy", "alembic", "cryptography", "prometheus_client", "ipywidgets", "duckdb", "structlog")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("statement", ["import socrates_nb", "import socrates_nb.errors",
                                       "from socrates_nb import ValidationError"])
def test_importing_the_package_or_its_errors_loads_no_heavy_library(statement: str) -> None:
    loaded = _loaded_after(statement)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert len([m for m in loaded if m.startswith("socrates_nb")]) <= 4  # the package, __about__, errors


def test_every_public_name_resolves() -> None:
    for name in snb.__all__:
        assert getattr(snb, name) is not None, name
    assert callable(snb.metrics) and snb.connect.__module__ == "socrates_nb.workspace"
    assert set(snb.__all__) <= set(dir(snb))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        snb.nothing_here  # noqa: B018
