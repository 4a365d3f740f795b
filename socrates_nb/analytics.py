"""Analytics: the acting user's data as read-only DuckDB views, for SQL and notebooks.

``Analytics.open(ws)`` reads the user's projects, sessions, questions, answers, spec items,
conflicts and audit rows through SQLAlchemy, in one read transaction and one SELECT per
table, into typed Arrow tables, and registers them as views of an in-memory DuckDB
connection. It is a snapshot: later writes show after ``refresh()``. DuckDB never sees the
source database (its sqlite/postgres scanners are extensions downloaded at runtime), so
nothing run on the views can write there. ``sql()`` checks a query's syntax tree before
DuckDB runs it: one SELECT reading only the views and its own WITH names, no table function
but a few generators, no function that reads DuckDB's settings or the environment. See
docs/ANALYTICS.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Union

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Select, String, Text, cast, select, type_coerce
from sqlalchemy.exc import DBAPIError

from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import DatabaseError, NotFoundError, ValidationError
from socrates_nb.quality.maturity import CAPABILITY_CATEGORIES, CONFLICT_PENALTY, Maturity, compute_maturity
from socrates_nb.services.validation import shown
from socrates_nb.services.views import Actor
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import format_ref, utcnow
from socrates_nb.templates import get_template

if TYPE_CHECKING:
    from socrates_nb.workspace import Workspace

class _HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


ProjectRef = Union[str, uuid.UUID, _HasId]
"""A project: its name, its id, or anything with an ``id`` (a ``Project`` handle or view)."""
Params = Union[Sequence[object], Mapping[str, object], None]

_ARROW: Mapping[str, pa.DataType] = {
    "uuid": pa.string(),
    "text": pa.string(),
    "json": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "ts": pa.timestamp("us", tz="UTC"),
}


# --- the views: columns, and how each table's rows are limited to the acting user --------------


@dataclass(frozen=True)
class _Col:
    """A view column: selected (``expr``) or computed from the selected ones (``derive``)."""

    name: str
    kind: str
    expr: Any = None
    derive: Callable[[Mapping[str, Sequence[Any]]], list[Any]] | None = None


@dataclass(frozen=True)
class _View:
    """A view: its columns, the table they come from, and the joins that reach the owner column."""

    name: str
    columns: tuple[_Col, ...]
    source: Any
    owner: Any
    joins: tuple[tuple[Any, Any], ...] = ()

    def select(self, user_id: uuid.UUID) -> Select[Any]:
        """One SELECT of the user's rows, as the driver returns them (Arrow converts them, not Python)."""
        stmt = select(*(_raw(c).label(c.name) for c in self.columns if c.expr is not None)).select_from(self.source)
        for table, on in self.joins:
            stmt = stmt.join(table, on)
        return stmt.where(self.owner == user_id)


def _raw(col: _Col) -> Any:
    """Ids and JSON as text (SQL cast); timestamps without SQLAlchemy's per-value conversion."""
    if col.kind in ("uuid", "json"):
        return cast(col.expr, Text)
    return type_coerce(col.expr, String) if col.kind == "ts" else col.expr


def _refs(columns: Mapping[str, Sequence[Any]]) -> list[Any]:
    return [format_ref(p, s) for p, s in zip(columns["ref_prefix"], columns["ref_seq"])]


_P, _S, _Q, _A, _I, _C, _L = (
    models.Project, models.Session, models.Question, models.Answer, models.SpecItem, models.Conflict, models.AuditLog,
)

_VIEWS: tuple[_View, ...] = (
    _View("projects", (
        _Col("id", "uuid", _P.id), _Col("name", "text", _P.name), _Col("description", "text", _P.description),
        _Col("template", "text", _P.template), _Col("status", "text", _P.status), _Col("version", "int", _P.version),
        _Col("created_at", "ts", _P.created_at), _Col("updated_at", "ts", _P.updated_at),
    ), _P, _P.user_id),
    _View("sessions", (
        _Col("id", "uuid", _S.id), _Col("project_id", "uuid", _S.project_id), _Col("engine", "text", _S.engine),
        _Col("status", "text", _S.status), _Col("answer_count", "int", _S.answer_count),
        _Col("question_count", "int", _S.question_count), _Col("created_at", "ts", _S.created_at),
        _Col("completed_at", "ts", _S.completed_at),
    ), _S, _P.user_id, ((_P, _S.project_id == _P.id),)),
    _View("questions", (
        _Col("id", "uuid", _Q.id), _Col("session_id", "uuid", _Q.session_id), _Col("project_id", "uuid", _Q.project_id),
        _Col("seq", "int", _Q.seq), _Col("bank_key", "text", _Q.bank_key), _Col("category", "text", _Q.category),
        _Col("text", "text", _Q.text), _Col("why", "text", _Q.why), _Col("status", "text", _Q.status),
        _Col("probe_item_id", "uuid", _Q.probe_item_id), _Col("probe_depth", "int", _Q.probe_depth),
        _Col("asked_at", "ts", _Q.asked_at),
    ), _Q, _P.user_id, ((_P, _Q.project_id == _P.id),)),
    _View("answers", (
        _Col("id", "uuid", _A.id), _Col("session_id", "uuid", _A.session_id), _Col("project_id", "uuid", _S.project_id),
        _Col("question_id", "uuid", _A.question_id), _Col("seq", "int", _A.seq), _Col("text", "text", _A.text),
        _Col("maturity_after", "float", _A.maturity_after), _Col("created_at", "ts", _A.created_at),
    ), _A, _P.user_id, ((_S, _A.session_id == _S.id), (_P, _S.project_id == _P.id))),
    _View("spec_items", (
        _Col("id", "uuid", _I.id), _Col("ref", "text", derive=_refs), _Col("project_id", "uuid", _I.project_id),
        _Col("answer_id", "uuid", _I.answer_id), _Col("ref_prefix", "text", _I.ref_prefix),
        _Col("ref_seq", "int", _I.ref_seq), _Col("category", "text", _I.category), _Col("key", "text", _I.key),
        _Col("value", "json", _I.value), _Col("text", "text", _I.text),
        _Col("confidence", "float", _I.confidence), _Col("findings", "json", _I.findings),
        _Col("is_current", "bool", _I.is_current), _Col("superseded_by", "uuid", _I.superseded_by),
        _Col("created_at", "ts", _I.created_at),
    ), _I, _P.user_id, ((_P, _I.project_id == _P.id),)),
    _View("conflicts", (
        _Col("id", "uuid", _C.id), _Col("project_id", "uuid", _C.project_id), _Col("type", "text", _C.type),
        _Col("severity", "text", _C.severity), _Col("item_a_id", "uuid", _C.item_a_id),
        _Col("item_b_id", "uuid", _C.item_b_id), _Col("explanation", "text", _C.explanation),
        _Col("status", "text", _C.status), _Col("resolution", "text", _C.resolution),
        _Col("resolution_text", "text", _C.resolution_text), _Col("created_at", "ts", _C.created_at),
        _Col("resolved_at", "ts", _C.resolved_at),
    ), _C, _P.user_id, ((_P, _C.project_id == _P.id),)),
    _View("audit_logs", (
        _Col("id", "uuid", _L.id), _Col("action", "text", _L.action), _Col("resource_type", "text", _L.resource_type),
        _Col("resource_id", "text", _L.resource_id), _Col("client_address", "text", _L.client_address),
        _Col("user_agent", "text", _L.user_agent), _Col("changes", "json", _L.changes),
        _Col("created_at", "ts", _L.created_at),
    ), _L, _L.user_id),
)

VIEWS: tuple[str, ...] = tuple(v.name for v in _VIEWS)
"""The view names, in load order."""


# --- loading the snapshot ---------------------------------------------------------------------


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[Sequence[Any]]:
    """Rows turned into ``width`` columns (empty ones when there are no rows)."""
    return list(zip(*rows)) if rows else [()] * width


def _canonical_uuids(ids: pa.Array) -> pa.Array:
    """UUID text in the canonical 8-4-4-4-12 form (SQLite stores 32 hex digits, PostgreSQL gives it hyphenated)."""
    parts = [pc.utf8_slice_codeunits(ids, a, b) for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    return pc.if_else(pc.equal(pc.utf8_length(ids), 32), pc.binary_join_element_wise(*parts, "-"), ids)


def _utc_times(values: Sequence[Any]) -> pa.Array:
    """Timestamps in UTC from SQLite's stored text (UTC, without zone) or PostgreSQL's aware datetimes."""
    times = pa.array(values)
    if pa.types.is_string(times.type):
        times = times.cast(pa.timestamp("us"))
    return times.cast(_ARROW["ts"])


def _array(kind: str, values: Sequence[Any]) -> pa.Array:
    if kind == "uuid":
        return _canonical_uuids(pa.array(values, pa.string()))
    return _utc_times(values) if kind == "ts" else pa.array(values, type=_ARROW[kind])


def _arrow(view: _View, rows: Sequence[Sequence[Any]]) -> pa.Table:
    """The view's rows as an Arrow table with its declared types."""
    selected = [c for c in view.columns if c.expr is not None]
    raw = dict(zip((c.name for c in selected), _columns(rows, len(selected))))
    arrays = [_array(c.kind, raw[c.name] if c.derive is None else c.derive(raw)) for c in view.columns]
    return pa.Table.from_arrays(arrays, names=[c.name for c in view.columns])


def _snapshot_connection(db: Database) -> Connection:
    """A connection whose transaction reads one consistent state and cannot write.

    SQLite (WAL): a deferred ``BEGIN`` reads one snapshot until the transaction ends.
    PostgreSQL: ``REPEATABLE READ READ ONLY`` (READ COMMITTED gives every SELECT its own).
    """
    conn = db.engine.connect()
    if db.is_sqlite:
        return conn
    return conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def load_snapshot(db: Database, user_id: uuid.UUID) -> dict[str, pa.Table]:
    """Every view's rows of one user, read in one transaction with one SELECT per table."""
    try:
        with _snapshot_connection(db) as conn, conn.begin():
            return {v.name: _arrow(v, conn.execute(v.select(user_id)).all()) for v in _VIEWS}
    except DBAPIError as exc:
        raise DatabaseError(f"cannot read the database for analytics: {exc.orig}") from exc


def _duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that cannot download or load extensions, nor touch files; times in UTC."""
    con = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "enable_external_access": False,
    })
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    return con


def _read_only(query: object) -> str:
    """``query`` if it is one SELECT statement, else a ValidationError."""
    if not isinstance(query, str):
        raise ValidationError(f"query must be SQL text, got {shown(query)}")
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise ValidationError(f"invalid analytics query: {exc}") from exc
    if len(statements) != 1:
        raise ValidationError(f"give exactly one SQL statement, got {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise ValidationError(
            f"the analytics views are read-only: only SELECT queries run here, got {_keyword(statements[0])}"
        )
    return query


def _keyword(statement: Any) -> str:
    """What a statement is, as its author wrote it (``INSTALL`` and ``CHECKPOINT`` are LOAD and CALL inside)."""
    if statement.type == duckdb.StatementType.MULTI:
        return "a statement DuckDB runs as several (PIVOT): write it as a SELECT with GROUP BY and FILTER"
    words = str(getattr(statement, "query", "")).split(None, 1)
    word = words[0].upper() if words else ""
    return word if word.isalpha() and word not in ("WITH", "SELECT", "FROM") else statement.type.name


# --- what a SELECT may reach: the views, its own WITH names, and functions that read nothing else -----

_TABLE_FUNCTIONS = ("range", "generate_series", "unnest", "json_each", "json_tree")
"""The table functions a query may call: generators over its arguments."""

_FILES = "reads files or the network, and analytics reads only its snapshot"
_HOST = "reads DuckDB's configuration, extensions, secrets or the host's state"
_SQL_TEXT = "runs SQL given as text, which escapes this check"
_STATE = "changes DuckDB's state"
_SCALAR_REFUSED: Mapping[str, str] = {
    "current_setting": "reads DuckDB's settings", "getenv": "reads the environment",
    "write_log": "writes DuckDB's log", "json_execute_serialized_sql": _SQL_TEXT,
}


def _table_function_refusal(name: str) -> str:
    """Why the table function ``name`` may not run (it is not one of ``_TABLE_FUNCTIONS``)."""
    if name.startswith(("read_", "parquet_")) or name.endswith("_scan") or name in ("glob", "sniff_csv"):
        reason = _FILES
    elif name in ("query", "query_table", "json_execute_serialized_sql"):
        reason = _SQL_TEXT
    elif name in ("checkpoint", "force_checkpoint", "truncate_duckdb_logs") or name.startswith(
        ("enable_", "disable_", "register_", "deregister_", "create_", "destroy_", "add_", "remove_")
    ):
        reason = _STATE
    elif name.startswith(("duckdb_", "pragma_")) or name in ("which_secret",):
        reason = _HOST
    else:
        reason = "is not one of the table functions analytics allows"
        return f"{name}() is refused in analytics queries: it {reason} ({', '.join(_TABLE_FUNCTIONS)})"
    return f"{name}() is refused in analytics queries: it {reason}; query the views ({', '.join(VIEWS)})"


def _table_refusal(name: str, qualified: str) -> str:
    """Why the table ``qualified`` (``name`` without its schema) may not be read."""
    if any(c in name for c in "./\\:"):  # DuckDB reads such a name as a file ('data.csv')
        return f"{name!r} names a file: analytics queries read no files; query the views ({', '.join(VIEWS)})"
    return f"{qualified!r} is not an analytics view: queries read {', '.join(VIEWS)} and their own WITH names"


def _nodes(node: Any, names: frozenset[str]) -> Iterator[tuple[dict[str, Any], frozenset[str]]]:
    """Every dict of a serialized syntax tree with the WITH names visible where it stands.

    A query's WITH names are visible in its body and in the WITH queries after their own
    definition (their own too, so that recursive ones can refer to themselves).
    """
    if isinstance(node, list):
        for child in node:
            yield from _nodes(child, names)
        return
    if not isinstance(node, dict):
        return
    ctes = (node.get("cte_map") or {}).get("map") or []
    if ctes:
        defined = [str(entry["key"]).lower() for entry in ctes]
        for i, entry in enumerate(ctes):
            yield from _nodes(entry.get("value"), names | frozenset(defined[: i + 1]))
        names = names | frozenset(defined)
    yield node, names
    for key, child in node.items():
        if key != "cte_map":
            yield from _nodes(child, names)


def _qualified(node: Mapping[str, Any], name_key: str) -> str:
    parts = [node.get("catalog_name") or node.get("catalog"), node.get("schema_name") or node.get("schema"),
             node.get(name_key)]
    return ".".join(str(p) for p in parts if p)


def _check_reach(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """A ValidationError unless the SELECT reads only the views, its WITH names and allowed functions.

    DuckDB's own parser gives the syntax tree (``json_serialize_sql``); a form it cannot
    serialize (PIVOT, UNPIVOT) is refused rather than run unchecked.
    """
    tree = json.loads(con.execute("SELECT json_serialize_sql($1)", [query]).fetchall()[0][0])
    if tree.get("error"):
        raise ValidationError(
            "this form of query cannot be checked for refused functions, so it does not run: write it as a plain "
            f"SELECT (PIVOT as GROUP BY with FILTER); DuckDB says: {tree.get('error_message')}"
        )
    views = frozenset(VIEWS)
    table_functions: set[int] = set()
    for node, ctes in _nodes(tree["statements"], frozenset()):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            table_functions.add(id(function))
            name = str(function.get("function_name", "")).lower()
            if name not in _TABLE_FUNCTIONS:
                raise ValidationError(_table_function_refusal(name))
        elif kind == "BASE_TABLE" or (kind == "SHOW_REF" and node.get("show_type") == "SHOW"):
            name = str(node.get("table_name", ""))
            local = name.lower()
            qualified = _qualified(node, "table_name")
            schema, catalog = node.get("schema_name", ""), node.get("catalog_name", "")
            view = local in views and schema in ("", "main") and catalog in ("", "memory", "temp")
            catalog_view = schema == "information_schema" and catalog in ("", "memory")  # the views' own columns
            if local not in ctes and not view and not catalog_view:
                raise ValidationError(_table_refusal(name, qualified))
        elif node.get("class") == "FUNCTION" and id(node) not in table_functions:
            name = str(node.get("function_name", "")).lower()
            if name in _SCALAR_REFUSED:
                raise ValidationError(f"{name}() is refused in analytics queries: it {_SCALAR_REFUSED[name]}")


# --- helper queries ---------------------------------------------------------------------------

_PROJECTS = "SELECT id, name, template FROM projects WHERE $project IS NULL OR id = $project ORDER BY name, id"


def _contribution(alias: str = "") -> str:
    """SQL for what one item adds to its category's sum (``quality.maturity.contribution``)."""
    counted = ", ".join(f"'{c}'" for c in sorted(CAPABILITY_CATEGORIES))
    return f"CASE WHEN {alias}category IN ({counted}) THEN 1 ELSE {alias}confidence::DECIMAL(18, 9) END"


_CURRENT_SUMS = """
SELECT project_id, category, count(*) AS items, sum({contribution})::DOUBLE AS confidence_sum,
       bool_or(key LIKE '%.scope') AS out_of_scope
FROM spec_items
WHERE is_current AND ($project IS NULL OR project_id = $project)
GROUP BY project_id, category
""".format(contribution=_contribution())

_CONFLICTS_BY_TYPE = """
SELECT type, severity, count(*) AS total,
       count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE status = 'resolved') AS resolved,
       count(*) FILTER (WHERE status = 'dismissed') AS dismissed
FROM conflicts
WHERE $project IS NULL OR project_id = $project
GROUP BY type, severity
ORDER BY total DESC, type, severity
"""

_ANSWERS_PER_SESSION = """
WITH a AS (SELECT session_id, count(*) AS answers FROM answers GROUP BY session_id),
     q AS (SELECT session_id, count(*) AS questions, count(*) FILTER (WHERE status = 'skipped') AS skipped
           FROM questions GROUP BY session_id),
     i AS (SELECT a.session_id, count(*) AS items FROM spec_items i JOIN answers a ON a.id = i.answer_id
           GROUP BY a.session_id)
SELECT p.id AS project_id, p.name AS project, s.id AS session_id, s.status, s.created_at AS started_at,
       s.completed_at, coalesce(a.answers, 0) AS answers, coalesce(q.questions, 0) AS questions,
       coalesce(q.skipped, 0) AS skipped, coalesce(i.items, 0) AS items
FROM sessions s JOIN projects p ON p.id = s.project_id
LEFT JOIN a ON a.session_id = s.id LEFT JOIN q ON q.session_id = s.id LEFT JOIN i ON i.session_id = s.id
WHERE $project IS NULL OR p.id = $project
ORDER BY p.name, p.id, s.created_at, s.id
"""

_SEVERITIES = tuple(CONFLICT_PENALTY)

# The state after turn k is everything recorded before turn k + 1 began (for the last turn:
# everything). An item counts from its created_at until it was superseded: the latest of its
# superseding item's created_at and the closing times of its conflicts (keep_a / keep_b
# supersede an item by an older one, at the conflict's resolution). A conflict is open from its
# created_at until its resolved_at. Each event is assigned to the last turn begun at or before
# it (ASOF join), and running sums per turn give the confidence sum per category and the open
# conflicts per severity (DECIMAL: exact, whatever the order), one column each.
_REPLAY = """
WITH turns AS (
    SELECT a.project_id, a.id AS answer_id, a.session_id, a.seq, a.created_at AS answered_at,
           a.maturity_after AS recorded,
           row_number() OVER (PARTITION BY a.project_id ORDER BY a.created_at, s.created_at, a.seq) AS turn
    FROM answers a JOIN sessions s ON s.id = a.session_id
    WHERE $project IS NULL OR a.project_id = $project
),
closed AS (
    SELECT item_id, max(resolved_at) AS at
    FROM (SELECT item_a_id AS item_id, resolved_at FROM conflicts
          UNION ALL SELECT item_b_id, resolved_at FROM conflicts)
    GROUP BY item_id
),
events AS (
    SELECT project_id, 'sum' AS kind, category AS key, created_at AS at, {contribution} AS delta
    FROM spec_items
    UNION ALL
    SELECT i.project_id, 'sum', i.category, greatest(coalesce(j.created_at, i.created_at), c.at),
           -{contribution_i}
    FROM spec_items i LEFT JOIN spec_items j ON j.id = i.superseded_by LEFT JOIN closed c ON c.item_id = i.id
    WHERE NOT i.is_current
    UNION ALL
    SELECT project_id, 'open', severity, created_at, 1 FROM conflicts
    UNION ALL
    SELECT project_id, 'open', severity, resolved_at, -1 FROM conflicts WHERE resolved_at IS NOT NULL
),
deltas AS (
    SELECT e.project_id, coalesce(t.turn, 1) AS turn, e.kind, e.key, sum(e.delta) AS delta
    FROM events e ASOF LEFT JOIN turns t ON t.project_id = e.project_id AND e.at >= t.answered_at
    WHERE $project IS NULL OR e.project_id = $project
    GROUP BY ALL
),
state AS (
    SELECT t.project_id, t.turn, k.kind, k.key,
           sum(coalesce(d.delta, 0)) OVER (PARTITION BY t.project_id, k.kind, k.key ORDER BY t.turn) AS value
    FROM turns t
    JOIN (SELECT DISTINCT project_id, kind, key FROM deltas) k ON k.project_id = t.project_id
    LEFT JOIN deltas d ON d.project_id = t.project_id AND d.turn = t.turn AND d.kind = k.kind AND d.key = k.key
)
SELECT t.project_id, t.turn, t.session_id, t.seq, t.answer_id, t.answered_at, t.recorded, {state}
FROM turns t LEFT JOIN state s ON s.project_id = t.project_id AND s.turn = t.turn
GROUP BY ALL
ORDER BY t.project_id, t.turn
""".format(contribution=_contribution(), contribution_i=_contribution("i."), state=", ".join(
    f"coalesce(sum(s.value) FILTER (WHERE s.kind = '{kind}' AND s.key = '{key}'), 0)::DOUBLE"
    for kind, keys in (("sum", CATEGORIES), ("open", _SEVERITIES)) for key in keys
))


class _Project(NamedTuple):
    id: str
    name: str
    template: str


class _Current(NamedTuple):
    """A project's current items per category and its coverage by the maturity formula."""

    project: _Project
    items: Mapping[str, int]
    sums: Mapping[str, float]
    maturity: Maturity


class _Turn(NamedTuple):
    """One answer of a project and the maturity after it (replayed)."""

    project_id: str
    turn: int
    session_id: str
    seq: int
    answer_id: str
    answered_at: datetime
    recorded: float
    maturity: Maturity


_MATURITY_BY_CATEGORY = pa.schema([
    ("project_id", pa.string()), ("project", pa.string()), ("template", pa.string()), ("category", pa.string()),
    ("weight", pa.float64()), ("target", pa.float64()), ("items", pa.int64()), ("confidence_sum", pa.float64()),
    ("coverage", pa.float64()),
])
_MATURITY_OVER_TURNS = pa.schema([
    ("turn", pa.int64()), ("session_id", pa.string()), ("seq", pa.int64()), ("answer_id", pa.string()),
    ("answered_at", _ARROW["ts"]), ("score", pa.float64()), ("penalty", pa.float64()), ("recorded", pa.float64()),
])
_SLOWEST_CATEGORIES = pa.schema([
    ("project_id", pa.string()), ("project", pa.string()), ("rank", pa.int64()), ("category", pa.string()),
    ("coverage", pa.float64()), ("turns_to_cover", pa.int64()), ("turns", pa.int64()),
])


def _table(schema: pa.Schema, rows: Sequence[Sequence[Any]]) -> pa.Table:
    columns = _columns(rows, len(schema))
    return pa.Table.from_arrays([pa.array(col, type=f.type) for col, f in zip(columns, schema)], schema=schema)


# --- the public object --------------------------------------------------------------------------


class Analytics:
    """Read-only DuckDB views of one user's data, as of the last (re)load.

    Views: ``projects, sessions, questions, answers, spec_items, conflicts, audit_logs``.
    ``sql()`` queries them; the helpers return ready-made DuckDB relations.
    """

    def __init__(self, db: Database, user: Actor) -> None:
        self.user = user
        self.con: duckdb.DuckDBPyConnection = _duckdb()
        self._db = db
        self._tables: dict[str, pa.Table]
        self.snapshot_at: datetime
        self.refresh()

    @classmethod
    def open(cls, ws: Workspace) -> Analytics:
        """A snapshot of ``ws.user``'s data in ``ws.db``."""
        return cls(ws.db, ws.user)

    # --- snapshot ------------------------------------------------------------------------

    def refresh(self) -> Analytics:
        """Reload every view from the database (a new snapshot); returns ``self``."""
        taken = utcnow()
        tables = load_snapshot(self._db, self.user.id)
        for name, table in tables.items():
            self.con.register(name, table)
        self._tables, self.snapshot_at = tables, taken
        return self

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows per view in the snapshot."""
        return {name: table.num_rows for name, table in self._tables.items()}

    def close(self) -> None:
        """Close the DuckDB connection (the source database is not touched)."""
        self.con.close()

    def __enter__(self) -> Analytics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        width = max(map(len, VIEWS))
        head = (f"Analytics of {self.user.username!r}: snapshot of {self.snapshot_at:%Y-%m-%d %H:%M:%S} UTC "
                "(refresh() reloads it)")
        rows = [f"  {'view':<{width}}  {'rows':>9}"]
        rows += [f"  {name:<{width}}  {n:>9,}" for name, n in self.row_counts.items()]
        return "\n".join([head, *rows])

    # --- queries -------------------------------------------------------------------------

    def sql(self, query: str, params: Params = None) -> duckdb.DuckDBPyRelation:
        """Run one SELECT on the views; returns a DuckDB relation.

        ``params`` fill ``?`` / ``$1`` (a list) or ``$name`` (a dict) placeholders. Another
        kind of statement, or SQL DuckDB rejects, raises ValidationError with DuckDB's
        message. The relation runs when fetched (``fetchall()``, printing, ...).
        """
        query = _read_only(query)
        try:
            _check_reach(self.con, query)
        except duckdb.Error as exc:
            raise ValidationError(f"analytics query failed: {exc}") from exc
        return self._run(query, params)

    def maturity_by_category(self, project: ProjectRef | None = None) -> duckdb.DuckDBPyRelation:
        """Per project (or one ``project``) and category: the current items' count, confidence sum and coverage.

        Columns ``project_id, project, template, category, weight, target, items,
        confidence_sum, coverage``. DuckDB adds up the confidences; coverage is
        ``quality.maturity.compute_maturity``'s, so it equals the specification's. Categories
        of weight 0 in the template and categories declared out of scope do not count and are
        left out. Ordered by project name, then category.
        """
        rows = []
        for c in self._current(self._project_filter(project)):
            template = get_template(c.project.template)
            rows += [
                (c.project.id, c.project.name, template.name, cat, template.weight(cat), template.target(cat),
                 c.items.get(cat, 0), c.sums.get(cat, 0.0), coverage)
                for cat, coverage in c.maturity.coverage.items()
            ]
        return self.con.from_arrow(_table(_MATURITY_BY_CATEGORY, rows))

    def conflicts_by_type(self, project: ProjectRef | None = None) -> duckdb.DuckDBPyRelation:
        """Conflicts per type and severity: ``type, severity, total, open, resolved, dismissed``, most first."""
        return self._run(_CONFLICTS_BY_TYPE, {"project": self._project_filter(project)})

    def answers_per_session(self, project: ProjectRef | None = None) -> duckdb.DuckDBPyRelation:
        """One row per session: ``project_id, project, session_id, status, started_at, completed_at,
        answers, questions`` (asked), ``skipped`` and ``items`` (extracted from its answers,
        superseded ones included). Ordered by project name, then session start."""
        return self._run(_ANSWERS_PER_SESSION, {"project": self._project_filter(project)})

    def maturity_over_turns(self, project: ProjectRef) -> duckdb.DuckDBPyRelation:
        """The project's maturity after each answer: ``turn, session_id, seq, answer_id, answered_at,
        score, penalty, recorded``.

        ``turn`` numbers the project's answers 1..N over all its sessions, in answer order.
        ``score`` (and its open-conflict ``penalty``) is ``compute_maturity`` of the project as it
        stood after that answer, replayed from the snapshot: the items current and the
        conflicts open just before the next answer (for the last answer: now, so it equals the
        specification's score). An item counts until it is superseded, a conflict until it is
        resolved or dismissed. ``recorded`` is the score the turn itself stored; the two differ
        only where a conflict was resolved between two answers (``score`` counts the
        resolution at the earlier answer, ``recorded`` at the later one).
        """
        return self.con.from_arrow(_table(_MATURITY_OVER_TURNS, [
            (t.turn, t.session_id, t.seq, t.answer_id, t.answered_at, t.maturity.score, t.maturity.penalty, t.recorded)
            for t in self._replay(self._project_id(project))
        ]))

    def slowest_categories(self, project: ProjectRef | None = None) -> duckdb.DuckDBPyRelation:
        """Per project, its counted categories ranked from slowest to converge to fastest.

        Columns ``project_id, project, rank, category, coverage, turns_to_cover, turns``.
        ``coverage`` is the category's coverage now (as in ``maturity_by_category``);
        ``turns_to_cover`` is the first turn (as in ``maturity_over_turns``) after which the
        category's coverage was 1.0, NULL if it never was; ``turns`` is the project's number of
        answers. Rank 1 is the slowest: categories not fully covered now come first, the least
        covered first; then covered ones by ``turns_to_cover``, the most turns first; ties in
        the canonical category order. Ordered by project name, then rank.
        """
        project_id = self._project_filter(project)
        history: dict[str, list[_Turn]] = {}
        for turn in self._replay(project_id):
            history.setdefault(turn.project_id, []).append(turn)
        rows = []
        for current in self._current(project_id):
            turns = history.get(current.project.id, [])
            coverage = current.maturity.coverage
            first = {cat: next((t.turn for t in turns if t.maturity.coverage[cat] >= 1.0), None) for cat in coverage}
            ranked = sorted(coverage, key=lambda c: (coverage[c] >= 1.0, coverage[c], -(first[c] or 0),
                                                     CATEGORIES.index(c)))
            rows += [(current.project.id, current.project.name, rank, cat, coverage[cat], first[cat], len(turns))
                     for rank, cat in enumerate(ranked, 1)]
        return self.con.from_arrow(_table(_SLOWEST_CATEGORIES, rows))

    # --- internals -----------------------------------------------------------------------

    def _run(self, query: str, params: Params = None) -> duckdb.DuckDBPyRelation:
        try:
            return self.con.sql(query, params=params)
        except duckdb.Error as exc:
            raise ValidationError(f"analytics query failed: {exc}") from exc

    def _project_id(self, project: ProjectRef) -> str:
        """The id of one of the user's projects in the snapshot, given its name, id or handle."""
        ref = getattr(project, "id", project)
        if not isinstance(ref, (str, uuid.UUID)):
            raise ValidationError(f"project must be a project name, id or handle, got {shown(project)}")
        try:
            key = str(uuid.UUID(str(ref)))
        except ValueError:
            key = str(ref).strip()
        found = self._run("SELECT id FROM projects WHERE id = $key OR name = $key", {"key": key}).fetchall()
        if not found:
            raise NotFoundError(
                f"project {shown(str(ref))} not found in the analytics snapshot of "
                f"{self.snapshot_at:%Y-%m-%d %H:%M:%S} UTC; refresh() reloads it"
            )
        return str(found[0][0])

    def _project_filter(self, project: ProjectRef | None) -> str | None:
        return None if project is None else self._project_id(project)

    def _current(self, project_id: str | None) -> list[_Current]:
        """The projects (all, or one) with their current items per category and maturity."""
        projects = [_Project(*row) for row in self._run(_PROJECTS, {"project": project_id}).fetchall()]
        items: dict[str, dict[str, int]] = {}
        sums: dict[str, dict[str, float]] = {}
        scoped: dict[str, set[str]] = {}
        for pid, category, n, total, out in self._run(_CURRENT_SUMS, {"project": project_id}).fetchall():
            items.setdefault(pid, {})[category] = n
            sums.setdefault(pid, {})[category] = total
            if out:
                scoped.setdefault(pid, set()).add(category)
        return [
            _Current(p, items.get(p.id, {}), sums.get(p.id, {}),
                     compute_maturity(get_template(p.template), sums.get(p.id, {}),
                                      out_of_scope=frozenset(scoped.get(p.id, ()))))
            for p in projects
        ]

    def _replay(self, project_id: str | None) -> list[_Turn]:
        """Every answer of the projects (all, or one) with the maturity after it, in turn order."""
        templates = {pid: get_template(t) for pid, _, t in self._run(_PROJECTS, {"project": project_id}).fetchall()}
        turns = []
        for pid, turn, session_id, seq, answer_id, at, recorded, *state in self._run(
            _REPLAY, {"project": project_id}
        ).fetchall():
            sums = dict(zip(CATEGORIES, state))
            open_conflicts = {s: round(n) for s, n in zip(_SEVERITIES, state[len(CATEGORIES):])}
            maturity = compute_maturity(templates[pid], sums, open_conflicts)
            turns.append(_Turn(pid, turn, session_id, seq, answer_id, at, recorded, maturity))
        return turns
