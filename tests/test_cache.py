"""The read cache: counted hits and misses, invalidation on write, per-user keys, TTL setting."""

from __future__ import annotations

import threading
import time

import pytest

import socrates_nb as snb
from socrates_nb.cache import CacheStats, ReadCache
from socrates_nb.workspace import Workspace


def delta(ws: Workspace, before: CacheStats) -> tuple[int, int]:
    now = ws.cache_stats()
    return now.hits - before.hits, now.misses - before.misses


def test_hits_and_misses_are_counted(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    ws.cache.clear()
    before = ws.cache_stats()
    ws.projects()
    assert delta(ws, before) == (0, 1)
    ws.projects()
    ws.projects()
    assert delta(ws, before) == (2, 1)
    ws.projects(limit=5)  # another page is another key
    assert delta(ws, before) == (2, 2)
    p.specification()
    p.specification()
    ws.project("Shop")
    ws.project("Shop")
    assert delta(ws, before) == (4, 4)
    stats = ws.cache_stats()
    assert stats.size == 4
    assert stats.hit_ratio == pytest.approx(stats.hits / (stats.hits + stats.misses))
    assert CacheStats(0, 0, 0).hit_ratio == 0.0


def test_cached_reads_send_no_sql(ws: Workspace, count_queries) -> None:  # noqa: ANN001
    p = ws.create_project("Shop")
    ws.projects()
    p.specification()
    with count_queries() as c:
        ws.projects()
        p.specification()
        ws.project(p.id)
        ws.project(p.id)
    assert c.count == 1  # only the first ws.project(p.id) went to the database (one query)


def test_create_then_list_shows_it_immediately(ws: Workspace) -> None:
    assert ws.projects().total == 0
    ws.create_project("First")
    page = ws.projects()
    assert page.total == 1 and [p.name for p in page.items] == ["First"]
    assert ws.projects(status="active").total == 1
    ws.create_project("Second")
    assert [p.name for p in ws.projects().items] == ["Second", "First"]
    assert ws.projects(status="active").total == 2


def test_answer_then_specification_shows_the_new_item_immediately(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    s = p.start_session()
    assert p.specification().items == ()
    by_name = ws.project("Shop").specification()
    assert by_name.items == ()
    s.answer("Shops sell spare parts.")
    assert [i.ref for i in p.specification().items] == ["GOAL-001"]
    assert [i.ref for i in ws.project("Shop").specification().items] == ["GOAL-001"]
    s.answer("Mechanics buy parts. Garages order in bulk.")
    spec = p.specification()
    assert [i.ref for i in spec.items] == ["GOAL-001", "USR-001", "USR-002"]
    assert spec.maturity.score > by_name.maturity.score


def test_sessions_list_sees_a_new_session_immediately(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    assert p.sessions() == []
    s = p.start_session()
    assert [x.id for x in p.sessions()] == [s.id]
    s.answer("Shops sell parts.")
    assert p.sessions()[0].answer_count == 1
    s.complete()
    assert p.sessions()[0].status == "completed"


def test_resolving_a_conflict_shows_immediately(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    turn = p.start_session().answer("p95 latency under 200 ms. p95 latency under 2 s.")  # performance items
    assert [i.ref for i in p.specification().items] == ["NFR-PERF-001", "NFR-PERF-002"]
    assert len(p.specification().conflicts) == 1
    p.resolve_conflict(turn.conflicts[0], "keep_a")
    spec = p.specification()
    assert spec.conflicts == () and [i.ref for i in spec.items] == ["NFR-PERF-001"]


def test_keys_are_per_user_even_in_a_shared_cache(ws: Workspace, other_ws: Workspace) -> None:
    # bob's workspace shares alice's cache object: only the user id in the key keeps them apart
    bob = Workspace(other_ws.db, other_ws.user, ws.cache)
    alice_project = ws.create_project("Alice only")
    ws.projects()
    ws.projects()
    alice_project.specification()
    before = ws.cache_stats()
    page = bob.projects()
    assert page.total == 0 and page.items == ()
    assert delta(ws, before) == (0, 1), "bob's first list must be a miss, not alice's cached page"
    with pytest.raises(snb.NotFoundError):
        bob.project("Alice only")
    with pytest.raises(snb.NotFoundError):
        bob._specs.specification(bob.user, alice_project.id)
    bob.create_project("Bob only")
    # bob's write invalidates bob's entries only
    assert delta(ws, before)[0] == 0
    hits_before = ws.cache_stats().hits
    assert [p.name for p in ws.projects().items] == ["Alice only"]
    assert ws.cache_stats().hits == hits_before + 1
    assert [p.name for p in bob.projects().items] == ["Bob only"]


def test_ttl_zero_disables_caching(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCRATES_CACHE_TTL", "0")
    with snb.connect(db_url, user="alice") as w:
        w.create_project("Shop")
        for _ in range(3):
            w.projects()
            w.project("Shop").specification()
        stats = w.cache_stats()
        assert (stats.hits, stats.misses, stats.size) == (0, 9, 0)


def test_ttl_from_environment_expires_entries(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCRATES_CACHE_TTL", "0.2")
    with snb.connect(db_url, user="alice") as w, snb.connect(db_url, user="alice") as other_process:
        assert w.projects().total == 0
        other_process.create_project("Elsewhere")  # another workspace: w's cache is not told
        assert w.projects().total == 0  # stale within the TTL, as documented
        time.sleep(0.3)
        assert w.projects().total == 1


@pytest.mark.parametrize("value", ["abc", "-1", "", "nan", "inf", "5s", "1e400"])
def test_invalid_cache_ttl_is_a_config_error(tmp_path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:  # noqa: ANN001
    monkeypatch.setenv("SOCRATES_CACHE_TTL", value)
    with pytest.raises(snb.ConfigError) as err:
        snb.connect(f"sqlite:///{tmp_path / 'x.db'}", user="alice")
    assert not (tmp_path / "x.db").exists()
    assert str(err.value) == f"SOCRATES_CACHE_TTL: expected a number of seconds >= 0, got {value!r}"


# --- the cache object itself --------------------------------------------------------------


def test_invalidate_by_prefix() -> None:
    cache = ReadCache(ttl=60)
    for key in (("u1", "projects", 0), ("u1", "projects", 1), ("u1", "spec", "p"), ("u2", "projects", 0)):
        cache.get_or_load(key, lambda key=key: key)
    assert cache.invalidate("u1", "projects") == 2
    assert cache.stats().size == 2
    assert cache.invalidate("u1") == 1
    assert cache.invalidate("u3") == 0
    assert cache.get_or_load(("u2", "projects", 0), lambda: "reloaded") == ("u2", "projects", 0)
    cache.clear()
    assert cache.stats().size == 0


def test_a_load_overtaken_by_a_write_is_not_stored() -> None:
    cache = ReadCache(ttl=60)

    def load_during_write() -> str:
        cache.invalidate("u1")  # a write commits while the value is being loaded
        return "old"

    assert cache.get_or_load(("u1", "k"), load_during_write) == "old"
    assert cache.get_or_load(("u1", "k"), lambda: "new") == "new"
    assert cache.get_or_load(("u1", "k"), lambda: "newer") == "new"


def test_entries_expire_after_the_ttl() -> None:
    cache = ReadCache(ttl=0.05)
    assert cache.get_or_load(("u", "k"), lambda: 1) == 1
    assert cache.get_or_load(("u", "k"), lambda: 2) == 1
    time.sleep(0.1)
    assert cache.get_or_load(("u", "k"), lambda: 3) == 3


def test_maxsize_bounds_the_cache() -> None:
    cache = ReadCache(maxsize=3, ttl=60)
    for i in range(10):
        cache.get_or_load(("u", i), lambda i=i: i)
    assert cache.stats().size == 3


def test_counters_are_thread_safe() -> None:
    cache = ReadCache(ttl=60)

    def work() -> None:
        for i in range(500):
            cache.get_or_load(("u", i % 10), lambda i=i: i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = cache.stats()
    assert stats.hits + stats.misses == 2000 and stats.size == 10
