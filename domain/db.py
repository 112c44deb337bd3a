"""The database engine chosen by HOLAOLAS_DATABASE_URL: SQLite tuned for a web app, or PostgreSQL."""

from __future__ import annotations

import sqlite3
import warnings

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from domain.config import Database, Settings

SQLITE_BUSY_TIMEOUT_S = 10


class _TunedConnection(sqlite3.Connection):
    """Every SQLite connection overwrites deleted content and waits instead of failing when busy.

    Piccolo opens one connection per query, so per-connection pragmas go here rather than
    in a one-off set-up step. (WAL is a property of the file and is set once at start-up.)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA secure_delete = ON")
        self.execute("PRAGMA synchronous = NORMAL")


def make_engine(database: Database) -> Engine:
    if database.engine == "sqlite":
        return SQLiteEngine(path=str(database.path), timeout=SQLITE_BUSY_TIMEOUT_S, factory=_TunedConnection)
    with warnings.catch_warnings():
        # Piccolo probes the server version on creation and warns when it is down; start-up says so once, clearly.
        warnings.simplefilter("ignore")
        return PostgresEngine(config=database.postgres_config())


def enable_wal(database: Database) -> None:
    if database.engine != "sqlite":
        return
    with sqlite3.connect(database.path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")


def use_engine(engine: Engine) -> None:
    """Point every table, and Piccolo's migrations, at `engine`."""
    from piccolo.apps.migrations.tables import Migration

    import piccolo_conf
    from domain.tables import ALL_TABLES

    piccolo_conf.DB = engine
    for table in (*ALL_TABLES, Migration):
        table._meta._db = engine


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database)


async def migrate() -> None:
    """Run every committed migration not yet applied, on whichever engine is in use."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="domain", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


async def is_empty() -> bool:
    from domain.tables import Provider

    return not await Provider.exists()
