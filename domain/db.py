"""The database engine chosen by HOLAOLAS_DATABASE_URL: SQLite tuned for a web app, or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import warnings
from collections import deque
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType

from domain.config import Database, Settings

SQLITE_BUSY_TIMEOUT_S = 10


class _TunedConnection(sqlite3.Connection):
    """Every SQLite connection overwrites deleted content and waits instead of failing when busy.

    Connections come and go (one per query without a pool), so per-connection pragmas go here
    rather than in a one-off set-up step. (WAL is a property of the file and is set once at start-up.)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA secure_delete = ON")
        self.execute("PRAGMA synchronous = NORMAL")


class _PooledTransaction(SQLiteTransaction):
    """A Piccolo transaction on a connection borrowed from the engine's pool, given back at the end."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine._borrow()
        try:
            await self.begin()
        except BaseException:  # e.g. BEGIN IMMEDIATE still busy after the timeout
            self.engine._discard(self.connection)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        if isinstance(exception, asyncio.CancelledError):
            # Cut off mid-query maybe: stop it and close the connection (SQLite rolls back on close).
            self.engine._discard(self.connection)
            self.engine.current_transaction.reset(self.context)
            return False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            self.engine._discard(self.connection)
            raise
        finally:
            self.engine.current_transaction.reset(self.context)
        await self.engine._give_back(self.connection)
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, keeping connections open between queries once the app starts its pool.

    Piccolo's own engine opens a new connection — and aiosqlite a new thread — for every lone
    query and every transaction, a few milliseconds each, several times per request. With the
    pool started (the app's lifespan does it, as for PostgreSQL) a query borrows an idle
    connection, or opens one when all are busy, and gives it back afterwards; at most
    `max_idle` stay open. Nothing here waits on an asyncio primitive, so a connection can be
    borrowed from any event loop (aiosqlite makes each call's future in the caller's loop).
    Readers never block each other (WAL); writers take turns through SQLite's busy timeout.

    A connection comes back only when it is clean: outside a transaction, and not abandoned
    half-way through a call (a cancelled request): otherwise it is closed, never reused.
    Without a started pool the engine behaves exactly like Piccolo's.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._idle: deque[aiosqlite.Connection] | None = None
        self._max_idle = 0

    @property
    def pooled(self) -> bool:
        return self._idle is not None

    async def start_connection_pool(self, max_idle: int = 4) -> None:
        if sqlite3.sqlite_version_info < (3, 35):  # no RETURNING: leave inserts to Piccolo's own path
            return
        self._idle, self._max_idle = deque(), max_idle

    async def close_connection_pool(self) -> None:
        idle, self._idle = self._idle, None
        while idle:
            await idle.pop().close()

    async def _borrow(self) -> aiosqlite.Connection:
        idle = self._idle
        if idle:
            try:
                return idle.pop()
            except IndexError:  # taken meanwhile by a request in another thread's event loop
                pass
        return await self.get_connection()  # Piccolo's: row factory and foreign keys on

    async def _give_back(self, connection: aiosqlite.Connection) -> None:
        if connection.in_transaction:  # e.g. a failed statement inside an implicit transaction
            try:
                await connection.rollback()
            except BaseException:
                self._discard(connection)
                raise
        if self._idle is not None and len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            await connection.close()

    @staticmethod
    def _discard(connection: aiosqlite.Connection) -> None:
        """Never reuse this connection: stop the query nobody waits for any more, then close it."""
        with contextlib.suppress(ValueError, sqlite3.Error):  # ValueError: not open (any more)
            connection._conn.interrupt()  # thread-safe in sqlite3; aiosqlite's interrupt() is this, as a coroutine
        connection.stop()  # closes it once its thread is free

    @asynccontextmanager
    async def _borrowed(self):
        connection = await self._borrow()
        try:
            yield connection
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._discard(connection)
            raise
        except BaseException:
            await self._give_back(connection)
            raise
        await self._give_back(connection)

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None,
                                     query_type: str = "generic", table=None):
        if not self.pooled:
            return await super()._run_in_new_connection(query, args, query_type, table)
        async with self._borrowed() as connection, connection.execute(query, args or []) as cursor:
            rows = await cursor.fetchall()
            if connection.in_transaction:  # a write outside a transaction: commit it now, as Piccolo does
                await connection.commit()
            return rows

    async def _run_in_existing_connection(self, connection, query: str, args: list[Any] | None = None,
                                          query_type: str = "generic", table=None):
        if not self.pooled:
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        # Foreign keys were switched on when the connection opened; Piccolo repeats it before every query.
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    def transaction(self, transaction_type: TransactionType = TransactionType.deferred,
                    allow_nested: bool = True) -> SQLiteTransaction:
        cls = _PooledTransaction if self.pooled else SQLiteTransaction
        return cls(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)


def make_engine(database: Database) -> Engine:
    if database.engine == "sqlite":
        return PooledSQLiteEngine(path=str(database.path), timeout=SQLITE_BUSY_TIMEOUT_S, factory=_TunedConnection)
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
