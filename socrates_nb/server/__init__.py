"""The Jupyter Server extension: socrates_nb's authenticated REST API under ``{base_url}socrates/api/v1/``."""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from socrates_nb.server.app import SocratesApp

    return [{"module": "socrates_nb.server", "app": SocratesApp}]
