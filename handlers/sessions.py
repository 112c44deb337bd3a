"""Server-side sessions (a file store under the data dir, or Redis): new id at login, idle and absolute timeouts.

The browser holds only a random session id; what it stands for lives in the store. The store
forgets a session after IDLE_TIMEOUT_S without a request (each request renews it), and the
login time kept inside the session ends it ABSOLUTE_TIMEOUT_S after login whatever happens.
"""

from __future__ import annotations

from pathlib import Path

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

ROTATE = "holaolas.rotate_session"
_NEW_ID = "holaolas.new_session_id"
_LOADED = "holaolas.session_loaded"

IDLE_TIMEOUT_S = 4 * 3600  # half a day on the beach without touching the phone
ABSOLUTE_TIMEOUT_S = 12 * 3600  # a working day: log in again each morning

SESSIONS_STORE = "sessions"
THROTTLE_STORE = "login-throttle"


def rotate_session(connection: ASGIConnection) -> None:
    """Ask for a new session id on this response (login, password change): the old id dies with its stored data."""
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

    def _cookie_params(self) -> dict:
        return dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))

    async def load_from_connection(self, connection: ASGIConnection) -> dict:
        if session_id := connection.cookies.get(self.config.key):
            data = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
            if data is not None:
                connection.scope[_LOADED] = data  # type: ignore[literal-required]
                return self.deserialize_data(data)
        return {}

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        cookie_id = connection.cookies.get(self.config.key)
        if scope_session is not Empty and not scope_session:
            # Nothing to keep. A visitor without a session gets no cookie and costs no storage; an id
            # the browser sent (expired, logged out, or planted) is dropped rather than brought back to life.
            if not cookie_id or cookie_id == "null":
                return
            scope_session = Empty
        store = self.config.get_store_from_app(connection.scope["app"])
        if scope_session is Empty:
            # Logout, or a dead session: forget it server-side and have the browser drop the cookie now
            # (Litestar's own deletion cookie keeps Max-Age, which browsers prefer to its past Expires).
            if cookie_id:
                await self.delete(cookie_id, store=store)
            params = {**self._cookie_params(), "max_age": 0}
            MutableScopeHeaders.from_message(message).add(
                "Set-Cookie", Cookie(key=self.config.key, value="", expires=0, **params).to_header(header=""))
            return
        if connection.scope.get(ROTATE) and cookie_id:
            await self.delete(cookie_id, store=store)
        elif cookie_id and connection.scope.get(_LOADED) == self.serialize_data(scope_session, connection.scope):
            # Unchanged: reading it already renewed it in the store, so only the cookie is renewed. Writing
            # it back could bring to life a session that a logout ended while this request was running.
            MutableScopeHeaders.from_message(message).add(
                "Set-Cookie", Cookie(key=self.config.key, value=cookie_id, **self._cookie_params()).to_header(header=""))
            return
        await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(*, secure: bool) -> SessionConfig:
    return SessionConfig(
        # Over HTTPS the __Host- prefix pins the cookie to this exact host, Secure, path /: no
        # sibling subdomain can plant a session id (fixation) or read ours.
        key="__Host-session" if secure else "session",
        max_age=IDLE_TIMEOUT_S,
        renew_on_access=True,
        secure=secure,
        httponly=True,
        samesite="lax",
        store=SESSIONS_STORE,
        exclude=["^/static/"],  # assets need no session: no store round-trip per stylesheet
    )


def session_store(redis_url: str | None, data_dir: Path) -> Store:
    if redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=redis_url, namespace="holaolas-sessions")
    from litestar.stores.file import FileStore

    return FileStore(Path(data_dir) / "sessions", create_directories=True)


def stores(redis_url: str | None, data_dir: Path) -> dict[str, Store]:
    """The app's stores: sessions, and login failures next to them (shared by every app process)."""
    sessions = session_store(redis_url, data_dir)
    if redis_url:
        throttle = sessions.with_namespace("login-throttle")  # the same Redis connection pool
    else:
        from litestar.stores.file import FileStore

        throttle = FileStore(Path(data_dir) / "login-throttle", create_directories=True)
    return {SESSIONS_STORE: sessions, THROTTLE_STORE: throttle}


async def forget_expired(app) -> None:
    """On start-up: a file store only drops an expired entry when it is read again (Redis expires keys itself)."""
    from litestar.stores.file import FileStore

    for name in (SESSIONS_STORE, THROTTLE_STORE):
        store = app.stores.get(name)
        if isinstance(store, FileStore):
            try:
                await store.delete_expired()
            except OSError:  # another process tidying at the same time; next start-up finishes the job
                pass
