"""Health checks: is socrates_nb able to serve, and if not, which dependency is to blame.

``HealthService.run()`` (or ``await run_async()`` on an event loop) runs every check at once on a
small pool of daemon threads and waits at most ``timeout_s`` for them: a check that has not
answered by then is *degraded* ("timed out"), so a hung dependency never hangs the caller. A
check still running from an earlier call is not started again (a hung dependency cannot pile up
threads): later calls share it while it is young, and report it *degraded* ("still running")
once it is older than the timeout. The overall status is the worst of the checks'.

Checks are ``(name, callable)`` pairs returning a :class:`CheckResult`; a callable that raises is
*down*. The defaults are ``database``, ``migrations``, ``cache``, ``llm``, ``disk`` and ``memory``
(:data:`CHECK_NAMES`). Each run sets the ``socrates_nb_health_status`` gauge of every check
(0 ok, 1 degraded, 2 down). The public form of a report carries statuses only; the detail
(paths, hosts, revisions, sizes, error messages) is for administrators and local operators.
"""

from __future__ import annotations

import asyncio
import functools
import math
import queue
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import text

from socrates_nb import config
from socrates_nb.__about__ import __version__
from socrates_nb.cache import ReadCache
from socrates_nb.metrics import HEALTH
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import current_revision, head_revision

OK, DEGRADED, DOWN = "ok", "degraded", "down"
STATUSES = (OK, DEGRADED, DOWN)
"""From best to worst; a status's index is its ``socrates_nb_health_status`` gauge value."""
CHECK_NAMES = ("database", "migrations", "cache", "llm", "disk", "memory")
DEFAULT_TIMEOUT_S = 1.0
MIB = 1024 * 1024
MEMINFO = Path("/proc/meminfo")
NO_LLM = "no LLM provider configured"
_MAX_DETAIL = 300


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: a status, a short detail for administrators and how long it took."""

    status: str
    detail: str = ""
    duration_ms: float = 0.0

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        if not detail:
            return {"status": self.status}
        return {"status": self.status, "detail": self.detail, "duration_ms": self.duration_ms}


Check = Callable[[], CheckResult]


@dataclass(frozen=True)
class HealthReport:
    """The checks' results, the overall status, the version and the uptime."""

    status: str
    checks: dict[str, CheckResult]
    version: str
    uptime_s: float

    @property
    def http_status(self) -> int:
        """503 when down, else 200 (degraded still serves)."""
        return 503 if self.status == DOWN else 200

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        """The JSON form: statuses only, unless ``detail`` (each check's detail and duration too)."""
        return {
            "status": self.status,
            "checks": {name: result.to_dict(detail) for name, result in self.checks.items()},
            "version": self.version,
            "uptime_s": self.uptime_s,
        }


def worst(statuses: Sequence[str]) -> str:
    """The worst of ``statuses`` (ok for none)."""
    return max(statuses, key=STATUSES.index, default=OK)


@dataclass(frozen=True)
class DiskThresholds:
    """Free space below ``degraded_bytes`` or ``degraded_ratio`` of the disk is degraded, below ``down_bytes`` down."""

    degraded_bytes: int = 100 * MIB
    degraded_ratio: float = 0.05
    down_bytes: int = 10 * MIB


class LlmStates:
    """What the LLM providers say about themselves, read by the ``llm`` check.

    An LLM engine reports its provider's state here, e.g. its circuit breaker's:
    ``report("openai", "degraded", "circuit open since 12:03")`` and ``report("openai", "ok",
    "circuit closed")`` once it recovers. The check is the worst reported state (ok with
    "no LLM provider configured" while none has reported).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, CheckResult] = {}

    def report(self, provider: str, status: str, detail: str = "") -> None:
        """Record ``provider``'s current state (one of STATUSES)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self._lock:
            self._states[provider] = CheckResult(status, detail)

    def forget(self, provider: str) -> None:
        """Stop reporting ``provider`` (no longer configured)."""
        with self._lock:
            self._states.pop(provider, None)

    def states(self) -> dict[str, CheckResult]:
        """Each reporting provider's state, by name."""
        with self._lock:
            return dict(self._states)


LLM_STATES = LlmStates()
"""The process's LLM provider states (the ``llm`` check's default source)."""


class _DaemonPool:
    """A fixed pool of daemon threads running callables into futures.

    Not a ThreadPoolExecutor: that one joins its threads when the interpreter exits, so a check
    hung on a dead dependency would keep the server (or the CLI) from exiting.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._jobs: queue.SimpleQueue[tuple[futures.Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], Any]) -> futures.Future[Any]:
        future: futures.Future[Any] = futures.Future()
        with self._lock:
            while len(self._threads) < self._size:
                thread = threading.Thread(target=self._work, name=f"socrates-health-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
        self._jobs.put((future, fn))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)

    def close(self) -> None:
        """Let the idle threads end (a busy one ends after its job)."""
        with self._lock:
            for _ in self._threads:
                self._jobs.put(None)
            self._threads = []


def _timed(check: Check) -> CheckResult:
    """Run ``check``: an exception is down (its message is the detail); the duration is set."""
    start = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is "down"
        result = CheckResult(DOWN, describe_error(exc))
    return replace(result, duration_ms=_ms(time.perf_counter() - start))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def describe_error(exc: BaseException) -> str:
    """A one-line description of ``exc`` (the driver's error for SQLAlchemy's), for the detail."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    message = lines[0] if lines else ""
    return f"{type(cause).__name__}: {message}"[:_MAX_DETAIL]


def size(n: float) -> str:
    """Bytes, readably (``1.5 GiB``)."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def where(db: Database) -> str:
    """The database's dialect and location, without its password or query string."""
    url = db.url
    if db.is_sqlite:
        return f"sqlite {url.database}"
    port = f":{url.port}" if url.port else ""
    return f"{db.dialect} {url.host or 'localhost'}{port}/{url.database or ''}"


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (the data dir may not be created yet)."""
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def read_meminfo(path: Path = MEMINFO) -> dict[str, int]:
    """``/proc/meminfo`` as bytes by field (empty when the file is missing or unreadable)."""
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return {}
    values: dict[str, int] = {}
    for line in lines:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    return values


class HealthService:
    """Runs the health checks of one database (and, optionally, the shared read cache).

    ``checks`` replaces the default list (:meth:`default_checks`) of ``(name, callable)``; names
    must be unique. ``disk`` and ``memory_degraded_ratio`` set the thresholds, ``data_dir`` and
    ``meminfo`` what the disk and memory checks read, ``llm`` where providers report their state.
    ``started`` is the ``time.monotonic()`` the uptime counts from (default: now).
    """

    def __init__(
        self,
        db: Database,
        cache: ReadCache | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        started: float | None = None,
        *,
        checks: Sequence[tuple[str, Check]] | None = None,
        disk: DiskThresholds = DiskThresholds(),
        memory_degraded_ratio: float = 0.05,
        data_dir: Path | None = None,
        meminfo: Path = MEMINFO,
        llm: LlmStates = LLM_STATES,
    ) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}")
        self.db = db
        self.cache = cache
        self.timeout_s = float(timeout_s)
        self.started = time.monotonic() if started is None else started
        self.disk = disk
        self.memory_degraded_ratio = memory_degraded_ratio
        self.data_dir = config.data_dir() if data_dir is None else data_dir
        self.meminfo = meminfo
        self.llm = llm
        self.checks: tuple[tuple[str, Check], ...] = tuple(self.default_checks() if checks is None else checks)
        names = [name for name, _ in self.checks]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"check names must be unique and at least one: {names}")
        self._pool = _DaemonPool(len(names))  # one thread per check: at most one run of each is in flight
        self._lock = threading.Lock()
        self._running: dict[str, tuple[futures.Future[CheckResult], float]] = {}
        self._head: str | None = None

    def default_checks(self) -> list[tuple[str, Check]]:
        """The checks of :data:`CHECK_NAMES`, in that order."""
        return [
            ("database", self.check_database), ("migrations", self.check_migrations), ("cache", self.check_cache),
            ("llm", self.check_llm), ("disk", self.check_disk), ("memory", self.check_memory),
        ]

    # --- running --------------------------------------------------------------------------------

    def run(self) -> HealthReport:
        """Run every check and wait at most ``timeout_s`` (blocking)."""
        start, jobs = self._start()
        futures.wait([job for job, _ in jobs.values() if isinstance(job, futures.Future)], timeout=self.timeout_s)
        return self._report(start, jobs)

    async def run_async(self) -> HealthReport:
        """Run every check and wait at most ``timeout_s`` without blocking the event loop."""
        start, jobs = self._start()
        waiting = [asyncio.wrap_future(job) for job, _ in jobs.values() if isinstance(job, futures.Future)]
        if waiting:
            await asyncio.wait(waiting, timeout=self.timeout_s)
        return self._report(start, jobs)

    def close(self) -> None:
        """Let the pool's idle threads end (the service must not be run afterwards)."""
        self._pool.close()

    def _start(self) -> tuple[float, dict[str, tuple[futures.Future[CheckResult] | None, float]]]:
        """When this call started, and each check's future and when it started: a new run, the one
        still in flight if it is younger than the timeout (callers at the same moment share it), or
        None for an older one (hung: it is not waited for)."""
        jobs: dict[str, tuple[futures.Future[CheckResult] | None, float]] = {}
        now = time.monotonic()
        with self._lock:
            for name, check in self.checks:
                previous = self._running.get(name)
                if previous is not None and not previous[0].done():
                    future, since = previous
                    jobs[name] = (future if now - since < self.timeout_s else None, since)
                    continue
                future = self._pool.submit(functools.partial(_timed, check))
                self._running[name] = (future, now)
                jobs[name] = (future, now)
        return now, jobs

    def _report(self, start: float, jobs: dict[str, tuple[futures.Future[CheckResult] | None, float]]) -> HealthReport:
        results: dict[str, CheckResult] = {}
        now = time.monotonic()
        for name, (job, since) in jobs.items():
            if job is not None and job.done() and not job.cancelled():
                results[name] = job.result()
            elif since < start:  # started by an earlier call, and not finished yet
                results[name] = CheckResult(DEGRADED, f"still running, started {now - since:.1f} s ago", _ms(now - since))
            else:
                results[name] = CheckResult(DEGRADED, f"timed out after {self.timeout_s:g} s", _ms(self.timeout_s))
            HEALTH.labels(check=name).set(STATUSES.index(results[name].status))
        return HealthReport(
            status=worst([r.status for r in results.values()]),
            checks=results,
            version=__version__,
            uptime_s=round(now - self.started, 3),
        )

    # --- the checks -----------------------------------------------------------------------------

    def check_database(self) -> CheckResult:
        """``SELECT 1`` answers (any error is down)."""
        with self.db.read_rows(single_statement=True) as conn:
            conn.execute(text("SELECT 1")).scalar_one()
        return CheckResult(OK, where(self.db))

    def check_migrations(self) -> CheckResult:
        """The schema is at this version's head revision (another revision is degraded, none down)."""
        if self._head is None:
            self._head = head_revision()
        current = current_revision(self.db)
        if current is None:
            return CheckResult(DOWN, f"no schema (empty database); head is {self._head}: run `socrates db upgrade`")
        if current != self._head:
            return CheckResult(
                DEGRADED, f"at revision {current}, this version's head is {self._head}: run `socrates db upgrade` "
                          "(or upgrade socrates_nb if the database is newer)")
        return CheckResult(OK, f"at revision {current} (head)")

    def check_cache(self) -> CheckResult:
        """A probe value is stored in a private ReadCache and read back; the shared cache's lock is free."""
        probe, token = ReadCache(maxsize=1, ttl=60, counted=False), object()  # not in the cache metrics
        stored = probe.get_or_load(("health",), lambda: token)
        read = probe.get_or_load(("health",), lambda: None)
        if stored is not token or read is not token:
            return CheckResult(DOWN, "a probe value stored in a ReadCache did not read back")
        if self.cache is None:
            return CheckResult(OK, "probe stored and read back")
        stats = self.cache.stats()  # takes the shared cache's lock: a stuck lock times out here
        return CheckResult(OK, f"probe stored and read back; shared cache: size {stats.size}, "
                               f"hit ratio {stats.hit_ratio:.2f}")

    def check_llm(self) -> CheckResult:
        """The worst state the LLM providers reported (ok with no provider)."""
        states = self.llm.states()
        if not states:
            return CheckResult(OK, NO_LLM)
        shown = "; ".join(f"{name}: {s.status}{f' ({s.detail})' if s.detail else ''}" for name, s in sorted(states.items()))
        return CheckResult(worst([s.status for s in states.values()]), shown[:_MAX_DETAIL])

    def check_disk(self) -> CheckResult:
        """Free space of the data dir and (SQLite) the database's folder against the thresholds."""
        folders = {"data dir": _existing(self.data_dir)}
        if self.db.is_sqlite and self.db.url.database:
            database_folder = _existing(Path(self.db.url.database).parent)
            if database_folder != folders["data dir"]:
                folders["database folder"] = database_folder
        statuses, parts = [], []
        for label, folder in folders.items():
            usage = shutil.disk_usage(folder)
            if usage.free < self.disk.down_bytes:
                status = DOWN
            elif usage.free < self.disk.degraded_bytes or usage.free < self.disk.degraded_ratio * usage.total:
                status = DEGRADED
            else:
                status = OK
            statuses.append(status)
            share = usage.free / usage.total if usage.total else 0.0
            parts.append(f"{label} {folder}: {size(usage.free)} free ({usage.free} bytes, {share:.0%} of {size(usage.total)})")
        return CheckResult(worst(statuses), "; ".join(parts))

    def check_memory(self) -> CheckResult:
        """MemAvailable against MemTotal (below the ratio is degraded); ok "unknown" without /proc/meminfo."""
        info = read_meminfo(self.meminfo)
        total, available = info.get("MemTotal"), info.get("MemAvailable")
        if not total or available is None:
            return CheckResult(OK, "unknown")
        status = DEGRADED if available < self.memory_degraded_ratio * total else OK
        return CheckResult(status, f"{size(available)} available of {size(total)} ({available / total:.0%})")

