"""SQLite connections kept open between queries (domain.db.PooledSQLiteEngine), on a real file.

What a user would notice if the pool were wrong: a write lost or half-kept after an error, a
screen reading a stale or locked database, a request left hanging after another one was cut
off. Each test drives the engine the app uses, on its own copy of the migrated database.
"""

from __future__ import annotations

import asyncio
import contextvars
import shutil
import sqlite3
import threading

import pytest
from piccolo.querystring import QueryString

from app import run_async
from domain.config import Database
from domain.db import PooledSQLiteEngine, make_engine


@pytest.fixture
async def engine(tmp_path, sqlite_template):
    path = tmp_path / "pool.sqlite"
    shutil.copy(sqlite_template, path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE)")
    engine = make_engine(Database(engine="sqlite", path=path))
    assert isinstance(engine, PooledSQLiteEngine)
    await engine.start_connection_pool(max_idle=2)
    yield engine
    await engine.close_connection_pool()


def q(sql: str, *args) -> QueryString:
    return QueryString(sql, *args)


def labels_on_disk(engine) -> list[str]:
    """What another process would read: a plain sqlite3 connection of its own."""
    with sqlite3.connect(engine.path) as conn:
        return [row[0] for row in conn.execute("SELECT label FROM probe ORDER BY id")]


async def test_queries_reuse_one_connection_instead_of_opening_one_each(engine):
    threads_before = threading.active_count()
    for i in range(30):
        await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", f"row {i}"))
        rows = await engine.run_querystring(q("SELECT COUNT(*) AS n FROM probe"))
        assert rows[0]["n"] == i + 1
    assert len(engine._idle) == 1  # one connection served the 60 queries, kept open
    assert threading.active_count() <= threads_before + 1  # aiosqlite: a thread per open connection
    assert labels_on_disk(engine) == [f"row {i}" for i in range(30)]  # committed, not only cached


async def test_a_failed_write_outside_a_transaction_leaves_the_connection_usable(engine):
    await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "first"))
    with pytest.raises(sqlite3.IntegrityError):
        await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "first"))
    await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "second"))
    assert labels_on_disk(engine) == ["first", "second"]
    assert not any(connection.in_transaction for connection in engine._idle)


async def test_a_transaction_that_fails_keeps_nothing_and_gives_back_a_clean_connection(engine):
    with pytest.raises(sqlite3.IntegrityError):
        async with engine.transaction():
            await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "half"))
            await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "half"))
    assert labels_on_disk(engine) == []
    assert [c.in_transaction for c in engine._idle] == [False]
    async with engine.transaction():
        await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "whole"))
    assert labels_on_disk(engine) == ["whole"]


async def test_a_read_transaction_sees_one_snapshot_while_another_connection_writes(engine):
    await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "before"))
    async with engine.transaction():
        first = await engine.run_querystring(q("SELECT COUNT(*) AS n FROM probe"))
        # Another request writes meanwhile (a context of its own, outside this transaction): its query
        # borrows a second connection.
        writer = asyncio.create_task(engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "during")),
                                     context=contextvars.Context())
        await writer
        again = await engine.run_querystring(q("SELECT COUNT(*) AS n FROM probe"))
    assert first[0]["n"] == again[0]["n"] == 1
    after = await engine.run_querystring(q("SELECT COUNT(*) AS n FROM probe"))
    assert after[0]["n"] == 2
    assert len(engine._idle) == 2


async def test_many_concurrent_requests_get_their_own_connection_and_the_pool_keeps_a_few(engine):
    async def one_request(i: int) -> int:
        async with engine.transaction():
            await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", f"request {i}"))
            await asyncio.sleep(0.01)  # hold the connection while the others start
            rows = await engine.run_querystring(q("SELECT COUNT(*) AS n FROM probe WHERE label = {}",
                                                   f"request {i}"))
            return rows[0]["n"]

    results = await asyncio.gather(*(one_request(i) for i in range(8)))
    assert results == [1] * 8
    assert sorted(labels_on_disk(engine)) == sorted(f"request {i}" for i in range(8))
    assert len(engine._idle) == 2  # max_idle: the other connections were closed


async def test_a_cancelled_query_is_stopped_and_its_connection_never_handed_on(engine):
    """A request cut off (the user navigated away) must not leave its query running or its connection busy."""
    threads_before = threading.active_count()
    endless = q("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
                "SELECT COUNT(*) AS n FROM n")  # minutes of work if nothing stopped it
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(engine.run_querystring(endless), timeout=0.05)
    assert len(engine._idle) == 0  # set aside, not given back
    loop = asyncio.get_running_loop()
    started = loop.time()
    rows = await engine.run_querystring(q("SELECT 41 + 1 AS n"))
    assert rows[0]["n"] == 42
    assert loop.time() - started < 0.5  # a fresh connection, not queued behind the abandoned query
    while threading.active_count() > threads_before + 1 and loop.time() - started < 5:
        await asyncio.sleep(0.01)
    assert threading.active_count() == threads_before + 1  # the abandoned one: interrupted and closed


async def test_a_transaction_cut_off_keeps_nothing_and_its_connection_is_closed(engine):
    threads_before = threading.active_count()

    async def cut_off_request():
        async with engine.transaction():
            await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "never kept"))
            await engine.run_querystring(q("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                           "WHERE i < 1000000000) SELECT COUNT(*) AS n FROM n"))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(cut_off_request(), timeout=0.05)
    assert len(engine._idle) == 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    while threading.active_count() > threads_before and loop.time() - started < 5:
        await asyncio.sleep(0.01)
    assert threading.active_count() == threads_before  # interrupted and closed
    assert labels_on_disk(engine) == []
    await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "next request"))
    assert labels_on_disk(engine) == ["next request"]


async def test_connections_serve_queries_from_another_event_loop(engine):
    await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "from the test's loop"))
    assert len(engine._idle) == 1
    # The test client runs the app in a loop of its own; direct domain calls run in the test's.
    rows = run_async(engine.run_querystring(q("SELECT label FROM probe")))
    assert rows == [{"label": "from the test's loop"}]
    assert len(engine._idle) == 1


async def test_closing_the_pool_closes_its_connections_and_queries_still_work(engine):
    await engine.run_querystring(q("SELECT 1"))
    idle = list(engine._idle)
    await engine.close_connection_pool()
    assert not engine.pooled
    assert all(connection._connection is None for connection in idle)  # closed
    await engine.run_querystring(q("INSERT INTO probe (label) VALUES ({})", "unpooled"))
    assert labels_on_disk(engine) == ["unpooled"]


def test_the_app_opens_the_pool_with_its_lifespan_and_closes_it_after(sqlite_settings):
    from dataclasses import replace

    from litestar.testing import TestClient

    from app import _engine, create_app

    app = create_app(replace(sqlite_settings, db_pool=True))
    with TestClient(app=app) as client:
        assert _engine().pooled
        assert client.get("/login").status_code == 200
    assert not _engine().pooled
