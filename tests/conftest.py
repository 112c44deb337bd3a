"""Test fixtures: a fresh, migrated database per test, on SQLite and (when reachable, always in CI) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from domain.config import Database, Settings, load_settings
from domain.db import make_engine, migrate, use_engine
from domain.tables import ALL_TABLES

IN_CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("HOLAOLAS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/holaolas_test")


def _postgres_reachable(db: Database) -> bool:
    try:
        with socket.create_connection((db.host, db.port), timeout=1):
            return True
    except OSError:
        return False


def _pg_database() -> Database:
    from domain.config import parse_database_url

    return parse_database_url(PG_URL, Path("."))


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: behaviour specific to the SQLite file")


def pytest_collection_modifyitems(config, items):
    # Browser tests run last: Playwright's sync machinery must not precede asyncio tests.
    items.sort(key=lambda item: 1 if item.get_closest_marker("browser") else 0)


async def _run_sql(db: Database, statements: list[str], dbname: str = "postgres") -> None:
    import asyncpg

    conn = await asyncpg.connect(**{**db.postgres_config(), "database": dbname})
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test: migrations run once per session, not per test."""
    path = tmp_path_factory.mktemp("template") / "holaolas.sqlite"
    db = Database(engine="sqlite", path=path)
    use_engine(make_engine(db))
    asyncio.run(migrate())
    return path


@pytest.fixture(scope="session")
def postgres_database():
    """A database of this test run's own (named after its process), dropped at the end.

    Two runs on one machine (a developer's and CI's, or two checkouts) never share one.
    """
    base = _pg_database()
    if not _postgres_reachable(base):
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but {base.host}:{base.port} is not reachable")
        pytest.skip(f"PostgreSQL not reachable at {base.host}:{base.port}")
    db = replace(base, name=f"{base.name}_{os.getpid()}")
    asyncio.run(_run_sql(db, [f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)', f'CREATE DATABASE "{db.name}"']))
    use_engine(make_engine(db))
    asyncio.run(migrate())
    yield db
    asyncio.run(_run_sql(db, [f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)']))


def _truncate_all(db: Database) -> None:
    names = ", ".join(t._meta.tablename for t in ALL_TABLES)
    asyncio.run(_run_sql(db, [f"TRUNCATE {names} RESTART IDENTITY CASCADE"], dbname=db.name))


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path) -> Settings:
    """Settings with a data dir of this test's own and a database holding only the schema."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        path = data_dir / "holaolas.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(engine="sqlite", path=path)
    else:
        database = request.getfixturevalue("postgres_database")
        _truncate_all(database)
    base = load_settings({})
    # The test client runs the app in a loop of its own: PostgreSQL's pool cannot serve the test's loop
    # too, SQLite's can (so SQLite tests run on the pooled connections production uses).
    s = replace(base, data_dir=data_dir, database=database, master_key_env=None, redis_url=None, debug=False,
                db_pool=request.param == "sqlite")
    use_engine(make_engine(database))
    return s


@pytest.fixture
def sqlite_settings(tmp_path, sqlite_template) -> Settings:
    """For what only the SQLite file can show (its raw bytes)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "holaolas.sqlite"
    shutil.copy(sqlite_template, path)
    database = Database(engine="sqlite", path=path)
    use_engine(make_engine(database))
    return replace(load_settings({}), data_dir=data_dir, database=database, master_key_env=None, redis_url=None,
                   db_pool=False)


@pytest.fixture
async def vault(settings):
    from domain.keys import open_vault

    return await open_vault(settings)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
async def app(settings):
    from app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
async def shop(vault):
    """The known bookings of tests/bookings_data.py (a test module may define a shop of its own)."""
    from tests.bookings_data import known_bookings

    return await known_bookings(vault)


@pytest.fixture
async def owner(client, shop):
    """The test client, logged in as the shop's owner."""
    from tests.helpers import login

    await login(client, f"owner@{shop.scope.slug}.test")
    return client
