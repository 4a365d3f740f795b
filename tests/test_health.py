"""Health checks (services/health.py) and ``socrates health``, on both backends.

* a healthy database: every check ok, with its detail, and the gauges at 0; the public form
  carries statuses only;
* an unreachable database and an empty one are down (503), a schema behind head is degraded;
* a check that hangs is degraded once the timeout passes, is not started again while it runs,
  and never blocks the event loop; callers at the same moment share one run; a check that
  raises is down;
* the disk thresholds, the memory ratio (from a meminfo file) and the LLM provider states;
* the CLI: the table, ``--json`` with detail, exit 0 when ok or degraded (a warning), 1 when down.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url

from socrates_nb.__about__ import __version__
from socrates_nb.cache import ReadCache
from socrates_nb.cli import cli
from socrates_nb.config import normalize_database_url
from socrates_nb.services.health import (
    CHECK_NAMES,
    DEGRADED,
    DOWN,
    MIB,
    NO_LLM,
    OK,
    Check,
    CheckResult,
    DiskThresholds,
    HealthReport,
    HealthService,
    LlmStates,
)
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import _config, head_revision
from socrates_nb.workspace import Workspace

NO_LIMITS = DiskThresholds(degraded_bytes=0, degraded_ratio=0.0, down_bytes=0)
HUGE = 2**62  # bytes: more than any disk has free
MEMINFO = "MemTotal:        2097152 kB\nMemFree:          100000 kB\nMemAvailable:    1048576 kB\n"

Make = Callable[..., HealthService]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    """``make(db, **options)``: a HealthService with no disk limits, a 50%-free meminfo file and
    its own LLM states (each option can be overridden); closed after the test."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    data = tmp_path / "data"
    data.mkdir()
    made: list[HealthService] = []

    def build(db: Database, **options: object) -> HealthService:
        defaults = {"disk": NO_LIMITS, "meminfo": meminfo, "data_dir": data, "llm": LlmStates()}
        service = HealthService(db, **{**defaults, **options})  # type: ignore[arg-type]
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()


@pytest.fixture
def idle_db(tmp_path: Path) -> Iterator[Database]:
    """A SQLite database never connected to: for checks that do not read it (one backend is enough)."""
    db = Database(normalize_database_url(f"sqlite:///{tmp_path / 'idle.db'}"))
    yield db
    db.dispose()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event hung checks wait on; set at the end of the test so their threads end."""
    event = threading.Event()
    yield event
    event.set()


def gauge(check: str) -> float | None:
    return REGISTRY.get_sample_value("socrates_nb_health_status", {"check": check})


def statuses(report: HealthReport) -> dict[str, str]:
    return {name: result.status for name, result in report.checks.items()}


def is_sqlite(db_url: str) -> bool:
    return db_url.startswith("sqlite")


def expected_where(db_url: str) -> str:
    url = make_url(db_url)
    return f"sqlite {url.database}" if is_sqlite(db_url) else f"postgresql {url.host}:{url.port}/{url.database}"


def unreachable(db_url: str, tmp_path: Path) -> Database:
    """A database that cannot be connected to: a SQLite file whose folder is gone, or a closed port."""
    if is_sqlite(db_url):
        folder = tmp_path / "gone"
        db = Database(normalize_database_url(f"sqlite:///{folder / 'socrates.db'}"))
        shutil.rmtree(folder)  # made by Database() with an empty file: without it SQLite cannot open the file
        return db
    return Database(normalize_database_url(db_url).set(host="127.0.0.1", port=1))


def previous_revision() -> str:
    down = ScriptDirectory.from_config(_config()).get_revision(head_revision()).down_revision
    assert isinstance(down, str)
    return down


def downgrade(db: Database, revision: str) -> None:
    """Leave ``db`` at ``revision``, as an older release would (tests/test_migrations.py does the same)."""
    with db._write_engine.begin() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def hanging(gate: threading.Event, calls: list[float]) -> Check:
    """A check that waits for ``gate`` (recording each start in ``calls``), then is ok."""

    def check() -> CheckResult:
        calls.append(time.monotonic())
        gate.wait(30)
        return CheckResult(OK, "released")

    return check


# --- statuses -----------------------------------------------------------------------------------


def test_a_healthy_database_passes_every_check(ws: Workspace, db_url: str, make: Make) -> None:
    report = make(ws.db).run()
    assert (report.status, report.http_status, report.version) == (OK, 200, __version__)
    assert tuple(report.checks) == CHECK_NAMES and set(statuses(report).values()) == {OK}
    details = {name: result.detail for name, result in report.checks.items()}
    assert details["database"] == expected_where(db_url)
    assert details["migrations"] == f"at revision {head_revision()} (head)"
    assert details["cache"] == "probe stored and read back"
    assert details["llm"] == NO_LLM
    assert details["memory"] == "1.0 GiB available of 2.0 GiB (50%)"
    assert all(result.duration_ms >= 0 for result in report.checks.values())
    assert {name: gauge(name) for name in CHECK_NAMES} == dict.fromkeys(CHECK_NAMES, 0.0)


def test_the_public_form_has_statuses_only(ws: Workspace, make: Make) -> None:
    report = make(ws.db, started=time.monotonic() - 100).run()
    assert report.to_dict() == {
        "status": OK, "checks": {name: {"status": OK} for name in CHECK_NAMES}, "version": __version__,
        "uptime_s": report.uptime_s,
    }
    assert 100 <= report.uptime_s < 160
    detailed = report.to_dict(detail=True)["checks"]
    assert all(set(check) == {"status", "detail", "duration_ms"} for check in detailed.values())
    assert detailed["llm"] == {"status": OK, "detail": NO_LLM, "duration_ms": report.checks["llm"].duration_ms}


def test_an_unreachable_database_is_down(db_url: str, tmp_path: Path, make: Make) -> None:
    db = unreachable(db_url, tmp_path)
    try:
        report = make(db).run()
    finally:
        db.dispose()
    assert (report.status, report.http_status) == (DOWN, 503)
    assert statuses(report) == {**dict.fromkeys(CHECK_NAMES, OK), "database": DOWN, "migrations": DOWN}
    assert report.checks["database"].detail.startswith("OperationalError: ")
    assert report.to_dict()["checks"]["database"] == {"status": DOWN}
    assert (gauge("database"), gauge("migrations"), gauge("cache")) == (2.0, 2.0, 0.0)


def test_an_empty_database_is_down(db_url: str, make: Make) -> None:
    db = Database(normalize_database_url(db_url))  # no schema: ensure_schema never ran
    try:
        report = make(db).run()
    finally:
        db.dispose()
    assert report.status == DOWN and statuses(report)["database"] == OK
    assert report.checks["migrations"] == CheckResult(
        DOWN, f"no schema (empty database); head is {head_revision()}: run `socrates db upgrade`",
        report.checks["migrations"].duration_ms,
    )


def test_a_schema_behind_head_is_degraded(ws: Workspace, make: Make) -> None:
    previous = previous_revision()
    downgrade(ws.db, previous)
    report = make(ws.db).run()
    assert (report.status, report.http_status) == (DEGRADED, 200)
    assert statuses(report) == {**dict.fromkeys(CHECK_NAMES, OK), "migrations": DEGRADED}
    assert report.checks["migrations"].detail == (
        f"at revision {previous}, this version's head is {head_revision()}: run `socrates db upgrade` "
        "(or upgrade socrates_nb if the database is newer)"
    )
    assert gauge("migrations") == 1.0


# --- timeouts and threads -------------------------------------------------------------------------


def test_a_hung_check_is_degraded_after_the_timeout_and_not_started_again(
    idle_db: Database, make: Make, gate: threading.Event
) -> None:
    calls: list[float] = []
    service = make(idle_db, timeout_s=0.5, checks=[("quick", lambda: CheckResult(OK)), ("hung", hanging(gate, calls))])
    started = time.monotonic()
    first = service.run()
    assert time.monotonic() - started < 5  # not the 30 s the check would take
    assert first.status == DEGRADED and statuses(first) == {"quick": OK, "hung": DEGRADED}
    assert first.checks["hung"] == CheckResult(DEGRADED, "timed out after 0.5 s", 500.0)
    assert gauge("hung") == 1.0
    again = service.run()  # the first run is still waiting: no second copy
    assert again.checks["hung"].status == DEGRADED and again.checks["hung"].detail.startswith("still running, started ")
    assert len(calls) == 1
    gate.set()
    deadline = time.monotonic() + 10
    while (report := service.run()).checks["hung"].status != OK:
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    assert report.checks["hung"].detail == "released" and report.status == OK
    assert len(calls) == 2  # a new run only once the hung one had ended


def test_callers_at_the_same_moment_share_one_run(idle_db: Database, make: Make, gate: threading.Event) -> None:
    calls: list[float] = []
    service = make(idle_db, timeout_s=5.0, checks=[("hung", hanging(gate, calls))])
    reports: list[HealthReport] = []
    first = threading.Thread(target=lambda: reports.append(service.run()))
    first.start()
    deadline = time.monotonic() + 5
    while not calls:  # the first caller's run has started
        assert time.monotonic() < deadline
        time.sleep(0.01)
    release = threading.Timer(0.3, gate.set)
    release.start()
    reports.append(service.run())  # joins the run in flight
    first.join(10)
    release.join(10)
    assert [r.checks["hung"].detail for r in reports] == ["released", "released"]
    assert len(calls) == 1


def test_run_async_leaves_the_event_loop_free(idle_db: Database, make: Make, gate: threading.Event) -> None:
    service = make(idle_db, timeout_s=0.3, checks=[("hung", hanging(gate, []))])

    async def main() -> tuple[HealthReport, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        report = await service.run_async()
        ticker.cancel()
        return report, ticks

    report, ticks = asyncio.run(main())
    assert report.checks["hung"].detail == "timed out after 0.3 s"
    assert ticks > 0  # a blocking wait would have let no tick run


def test_a_check_that_raises_is_down_with_the_error_as_detail(idle_db: Database, make: Make) -> None:
    def broken() -> CheckResult:
        raise RuntimeError("probe failed\nsecond line")

    report = make(idle_db, checks=[("broken", broken)]).run()
    assert report.status == DOWN and report.checks["broken"].detail == "RuntimeError: probe failed"
    assert report.to_dict() == {"status": DOWN, "checks": {"broken": {"status": DOWN}}, "version": __version__,
                                "uptime_s": report.uptime_s}


@pytest.mark.parametrize("timeout_s", [0.0, -1.0, math.nan, math.inf])
def test_the_timeout_must_be_a_positive_number(idle_db: Database, make: Make, timeout_s: float) -> None:
    with pytest.raises(ValueError, match="timeout_s must be a positive number"):
        make(idle_db, timeout_s=timeout_s)


def test_check_names_must_be_unique(idle_db: Database, make: Make) -> None:
    base = make(idle_db)
    with pytest.raises(ValueError, match="unique"):
        make(idle_db, checks=[("database", base.check_database), ("database", base.check_cache)])


# --- disk, memory, cache and LLM ------------------------------------------------------------------


def test_the_default_thresholds() -> None:
    assert DiskThresholds() == DiskThresholds(degraded_bytes=100 * MIB, degraded_ratio=0.05, down_bytes=10 * MIB)


@pytest.mark.parametrize(("thresholds", "expected"), [
    (NO_LIMITS, OK),
    (DiskThresholds(degraded_bytes=HUGE, degraded_ratio=0.0, down_bytes=0), DEGRADED),
    (DiskThresholds(degraded_bytes=0, degraded_ratio=1.0, down_bytes=0), DEGRADED),  # less than all of it is free
    (DiskThresholds(degraded_bytes=0, degraded_ratio=0.0, down_bytes=HUGE), DOWN),
])
def test_disk_thresholds(
    ws: Workspace, db_url: str, tmp_path: Path, make: Make, thresholds: DiskThresholds, expected: str
) -> None:
    result = make(ws.db, disk=thresholds).check_disk()
    assert result.status == expected
    folders = [part.split(": ")[0] for part in result.detail.split("; ")]
    # the SQLite file's folder (tmp_path) is checked too; PostgreSQL's disk is not ours to see
    assert folders == [f"data dir {tmp_path / 'data'}", *([f"database folder {tmp_path}"] if is_sqlite(db_url) else [])]


def test_a_data_dir_not_made_yet_is_measured_at_its_nearest_folder(idle_db: Database, tmp_path: Path, make: Make) -> None:
    result = make(idle_db, data_dir=tmp_path / "not" / "yet").check_disk()
    assert result.status == OK and result.detail.startswith(f"data dir {tmp_path}: ")


@pytest.mark.parametrize(("meminfo", "expected"), [
    ("MemTotal: 1000 kB\nMemAvailable: 40 kB\n", CheckResult(DEGRADED, "40.0 KiB available of 1000.0 KiB (4%)")),
    ("MemTotal: 1000 kB\nMemAvailable: 60 kB\n", CheckResult(OK, "60.0 KiB available of 1000.0 KiB (6%)")),
    ("MemTotal: 1000 kB\nMemFree: 60 kB\n", CheckResult(OK, "unknown")),  # kernels before 3.14
    (None, CheckResult(OK, "unknown")),  # no /proc (macOS, Windows)
])
def test_memory_below_five_percent_available_is_degraded(
    idle_db: Database, tmp_path: Path, make: Make, meminfo: str | None, expected: CheckResult
) -> None:
    path = tmp_path / "meminfo-case"
    if meminfo is not None:
        path.write_text(meminfo)
    assert make(idle_db, meminfo=path).check_memory() == expected


def test_the_cache_check_reports_the_shared_cache(idle_db: Database, make: Make) -> None:
    shared = ReadCache()
    for _ in range(4):
        shared.get_or_load(("user", "key"), lambda: "value")  # 1 miss, then 3 hits
    result = make(idle_db, cache=shared).check_cache()
    assert result == CheckResult(OK, "probe stored and read back; shared cache: size 1, hit ratio 0.75")


def test_llm_providers_report_their_state(idle_db: Database, make: Make) -> None:
    states = LlmStates()
    service = make(idle_db, llm=states)
    assert service.check_llm() == CheckResult(OK, NO_LLM)
    states.report("openai", DEGRADED, "circuit open")
    states.report("anthropic", OK)
    assert service.check_llm() == CheckResult(DEGRADED, "anthropic: ok; openai: degraded (circuit open)")
    states.forget("openai")
    assert service.check_llm() == CheckResult(OK, "anthropic: ok")
    with pytest.raises(ValueError, match="status must be one of ok, degraded, down"):
        states.report("openai", "broken")


# --- the CLI ---------------------------------------------------------------------------------------


def health(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, "health", *args])


def test_cli_prints_a_table_and_exits_0(ws: Workspace, db_url: str) -> None:
    service = HealthService(ws.db)  # the same checks on the same machine: what the CLI must find
    expected = service.run()
    service.close()
    result = health(db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"socrates_nb {__version__}: {expected.status}"
    assert [line.split()[:2] for line in lines[1:]] == [[name, expected.checks[name].status] for name in CHECK_NAMES]
    assert lines[1].startswith(f"  database    ok        {expected_where(db_url)}  (")


def test_cli_json_has_the_detail(ws: Workspace, db_url: str) -> None:
    result = health(db_url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"status", "checks", "version", "uptime_s"} and tuple(report["checks"]) == CHECK_NAMES
    assert all(set(check) == {"status", "detail", "duration_ms"} for check in report["checks"].values())
    assert report["checks"]["database"]["detail"] == expected_where(db_url)
    assert report["checks"]["migrations"] == {
        "status": OK, "detail": f"at revision {head_revision()} (head)",
        "duration_ms": report["checks"]["migrations"]["duration_ms"],
    }


def test_cli_warns_when_degraded_and_exits_0(ws: Workspace, db_url: str) -> None:
    downgrade(ws.db, previous_revision())
    result = health(db_url)
    assert result.exit_code == 0, result.output
    assert f"  migrations  degraded  at revision {previous_revision()}, " in result.stdout
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: health degraded: ") and "migrations" in warning[0]


def test_cli_exits_1_when_the_database_is_down(db_url: str, tmp_path: Path) -> None:
    if is_sqlite(db_url):
        (tmp_path / "folder.db").mkdir()  # a folder where the file should be: SQLite cannot open it
        url = f"sqlite:///{tmp_path / 'folder.db'}"
    else:
        url = normalize_database_url(db_url).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    result = health(url)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1].split()[:2] == ["database", DOWN]
    assert result.stderr == "error: health down: database, migrations\n"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a SQLite-only failure: its folder cannot be made
def test_cli_exits_1_when_the_database_cannot_be_opened(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = health(f"sqlite:///{tmp_path / 'file' / 'socrates.db'}", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: health down: cannot open the database: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
