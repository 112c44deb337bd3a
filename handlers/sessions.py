"""Server-side sessions (a file store under the data dir, or Redis) with a new session id at login."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Message, ScopeSession

ROTATE = "holaolas.rotate_session"
_NEW_ID = "holaolas.new_session_id"

IDLE_TIMEOUT_S = 8 * 3600  # a working day on the beach
ABSOLUTE_TIMEOUT_S = 7 * 24 * 3600


def rotate_session(connection: ASGIConnection) -> None:
    """Ask for a new session id on this response (login): the old id dies with its stored data."""
    connection.scope[ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection) -> str:
        if connection.scope.get(ROTATE):
            new_id = connection.scope.get(_NEW_ID)
            if not new_id:
                new_id = self.generate_session_id()
                connection.scope[_NEW_ID] = new_id  # type: ignore[literal-required]
            return new_id
        return super().get_session_id(connection)

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        if connection.scope.get(ROTATE) and (old_id := connection.cookies.get(self.config.key)):
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(*, secure: bool) -> SessionConfig:
    return SessionConfig(
        key="__Host-session" if secure else "session",
        max_age=IDLE_TIMEOUT_S,
        renew_on_access=True,
        secure=secure,
        httponly=True,
        samesite="lax",
        store="sessions",
    )


def session_store(redis_url: str | None, data_dir) -> Store:
    if redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=redis_url, namespace="holaolas-sessions")
    from litestar.stores.file import FileStore

    return FileStore(data_dir / "sessions", create_directories=True)
