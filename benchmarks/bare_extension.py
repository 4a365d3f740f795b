"""The baseline of ``bench_http.py``: a bare Jupyter ``APIHandler`` answering ``{}``.

Loaded into the same server as socrates_nb (``ServerApp.jpserver_extensions``), so both
are measured through one server, one IO loop and one set of Jupyter request hooks.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

BARE_PATH = "/bench/bare"


class BareHandler(APIHandler):
    """No authentication, no database: the cheapest JSON answer the server can give."""

    @allow_unauthenticated
    def get(self) -> None:
        self.finish("{}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    serverapp.web_app.add_handlers(".*$", [(url_path_join(serverapp.base_url, BARE_PATH), BareHandler)])
