"""Settings read from the environment, checked once, with one clear line when they are wrong."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class ConfigError(Exception):
    """A start-up problem the operator must fix; its message is the one line they will read."""


@dataclass(frozen=True)
class Database:
    engine: str  # "sqlite" or "postgres"
    path: Path | None = None  # sqlite
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = None
    name: str = "postgres"

    def postgres_config(self) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.name,
        }


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: Database
    master_key_env: str | None
    redis_url: str | None
    debug: bool
    # Keep database connections open between queries, opened and closed with the app (PostgreSQL: a new
    # connection costs ~35 ms; SQLite: a connection and a thread, a few ms). PostgreSQL's pool belongs to
    # one event loop, so tests whose app runs in another loop (Litestar's test client) turn it off.
    db_pool: bool = True

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.key"


def parse_database_url(url: str, data_dir: Path) -> Database:
    """`sqlite:///relative/or//absolute/path` or `postgres://user:pass@host:port/name`."""
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///"):]
        if not raw:
            raise ConfigError(f"HOLAOLAS_DATABASE_URL {url!r} names no SQLite file (e.g. sqlite:///data/holaolas.sqlite).")
        if raw == ":memory:":
            raise ConfigError("HOLAOLAS_DATABASE_URL: an in-memory SQLite database cannot be shared between queries; use a file.")
        return Database(engine="sqlite", path=Path(raw))
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        name = parts.path.lstrip("/")
        try:
            port = parts.port or 5432
        except ValueError:
            raise ConfigError(f"HOLAOLAS_DATABASE_URL has an invalid port: {_redact(url)}") from None
        if not parts.hostname or not name:
            raise ConfigError(
                f"HOLAOLAS_DATABASE_URL must look like postgres://user:password@host:5432/dbname, got {_redact(url)}"
            )
        return Database(
            engine="postgres",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            name=name,
        )
    raise ConfigError(
        f"HOLAOLAS_DATABASE_URL must start with sqlite:/// or postgres://, got {_redact(url)}"
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return repr(url)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("HOLAOLAS_DATA_DIR") or "data")
    url = env.get("HOLAOLAS_DATABASE_URL") or f"sqlite:///{data_dir / 'holaolas.sqlite'}"
    return Settings(
        data_dir=data_dir,
        database=parse_database_url(url, data_dir),
        master_key_env=env.get("HOLAOLAS_MASTER_KEY") or None,
        redis_url=env.get("HOLAOLAS_REDIS_URL") or None,
        debug=env.get("HOLAOLAS_DEBUG", "") in ("1", "true", "yes"),
        db_pool=env.get("HOLAOLAS_DB_POOL", "1") not in ("0", "false", "no"),
    )


def ensure_data_dir(settings: Settings) -> None:
    """The data dir holds the SQLite file, the key file and sessions: it must be writable."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the data directory {settings.data_dir}: {exc.strerror}.") from None
    _probe_writable(settings.data_dir, "The data directory {path} is not writable by this user ({reason}); fix its "
                    "permissions or set HOLAOLAS_DATA_DIR.")
    if settings.database.engine == "sqlite":
        parent = settings.database.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"Cannot create the directory {parent} for the SQLite file: {exc.strerror}.") from None
        _probe_writable(parent, "The directory {path} of the SQLite database is not writable by this user ({reason}).")


def _probe_writable(path: Path, message: str) -> None:
    """Write a file rather than trust os.access, which says yes to root even on a read-only mount."""
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(message.format(path=path, reason=exc.strerror or type(exc).__name__)) from None
