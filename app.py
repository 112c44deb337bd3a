"""HolaOlas: the Litestar application factory."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import sys
import threading
import warnings
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.logging import LoggingConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from domain.config import ConfigError, Settings, ensure_data_dir, load_settings
from domain.db import enable_wal, make_engine, use_engine
from domain.keys import Vault, open_vault
from handlers import ROUTE_HANDLERS, access_log
from handlers.cli import HolaOlasCLI
from handlers.i18n import N_, _, install
from handlers.security import STALE_FORM_DETAILS, origin_check_middleware, security_headers_middleware
from handlers.sessions import forget_expired, session_config, stores
from handlers.web import (
    NO_STORE,
    PUBLIC,
    apply_locality,
    provide_scope,
    require_login,
    set_request_locality,
    wants_fragment,
)

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("holaolas")


def run_async(coro):
    """Run a coroutine to completion from synchronous code, even when an event loop is already running."""
    result: dict = {}

    def runner():
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _engine():
    """The engine every table uses (set by use_engine)."""
    from domain.tables import Provider

    return Provider._meta.db


async def _schema_exists() -> bool:
    from domain.tables import Provider

    return await Provider.table_exists()


async def _preflight(settings: Settings) -> Vault | None:
    """Prove the database is reachable and the master key opens it, before serving anything."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Piccolo warns about a failed connection; we say it once, below
            exists = await _schema_exists()
        if not exists:
            return None  # a fresh database: `litestar db migrate` makes the schema, the key comes after
    except OSError as exc:
        raise ConfigError(f"Cannot reach the database: {exc}.") from None
    except Exception as exc:  # noqa: BLE001 - the drivers' own errors (asyncpg, sqlite3) have no common base
        raise ConfigError(f"Cannot open the database: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    return await open_vault(settings)


def _secret(settings: Settings) -> str:
    """The CSRF signing secret: from HOLAOLAS_SECRET, or a file made once in the data dir (shared by processes)."""
    if os.environ.get("HOLAOLAS_SECRET"):
        return os.environ["HOLAOLAS_SECRET"]
    path = settings.data_dir / "csrf.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _static_versions() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        for p in (ROOT / "static").iterdir()
        if p.is_file()
    }


def _template_engine(static_versions: dict[str, str]) -> JinjaTemplateEngine:
    env = Environment(
        loader=FileSystemLoader(ROOT / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install(env)
    env.globals["static"] = lambda name: f"/static/{name}?v={static_versions.get(name, '0')}"
    return JinjaTemplateEngine.from_environment(env)


# Error pages ------------------------------------------------------------------------------------

def _error(request: Request, status: int, title: str, message: str) -> Template:
    """An error is a page on a direct load and a small message in place for an htmx swap.

    `title` and `message` are msgids (marked with N_): they are translated here, once the
    request's language is known — an error may be raised before the before_request hook ran.
    """
    apply_locality(request)
    template = "errors/_message.html" if wants_fragment(request) else "errors/page.html"
    return Template(template, context={"status": status, "title": _(title), "message": _(message)},
                    status_code=status, headers=NO_STORE)


def _not_authorized(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=401, headers={"HX-Redirect": "/login"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/login?next={target}" if request.method == "GET" else "/login", status_code=303)


def _forbidden(request: Request, exc: Exception) -> Response:
    if getattr(exc, "detail", None) in STALE_FORM_DETAILS:
        return _error(request, 403, N_("This page has expired"), N_("Reload the page and try again."))
    return _error(request, 403, N_("Not allowed"), N_("Your account cannot do this. Ask the owner of the account."))


def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, N_("Not found"), N_("This page does not exist, or it is not yours to see."))


def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        return _error(request, 405, N_("Not allowed"), N_("This address does not accept that request."))
    if exc.status_code == 403:
        return _forbidden(request, exc)
    if exc.status_code >= 500:
        return _server_error(request, exc)
    return _error(request, exc.status_code, N_("Something is wrong with this request"),
                  N_("Check what you typed and try again."))


def _server_error(request: Request, exc: Exception) -> Response:
    # Only the exception type: an exception message may quote personal data.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.scope.get("route_handler").name
              if request.scope.get("route_handler") else request.url.path)
    return _error(request, 500, N_("Something went wrong"), N_("We could not complete this. Nothing was changed; try again."))


def create_app(settings: Settings | None = None) -> Litestar:
    try:
        return _create_app(settings or load_settings())
    except ConfigError as exc:
        # One clear line for the operator, not a traceback.
        print(f"holaolas: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _create_app(settings: Settings) -> Litestar:
    access_log.install()  # searches are in query strings: never in the server's log
    ensure_data_dir(settings)
    enable_wal(settings.database)
    use_engine(make_engine(settings.database))
    vault = run_async(_preflight(settings))
    https = os.environ.get("HOLAOLAS_HTTPS", "") in ("1", "true", "yes")

    async def start_pool(app: Litestar) -> None:
        if not settings.db_pool:
            return
        if settings.database.engine == "postgres":
            await _engine().start_connection_pool(min_size=2, max_size=10)
        else:
            await _engine().start_connection_pool(max_idle=4)

    async def close_pool(app: Litestar) -> None:
        if settings.db_pool:
            await _engine().close_connection_pool()

    async def open_vault_late(app: Litestar) -> None:
        if app.state.vault is None:
            app.state.vault = await open_vault(settings)

    static_router = create_static_files_router(
        path="/static",
        directories=[ROOT / "static"],
        cache_control=CacheControlHeader(max_age=31536000, public=True),  # URLs carry a content hash
        name="static",
        opt=PUBLIC,
    )
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, static_router],
        dependencies={"provider": Provide(provide_scope)},
        guards=[require_login],  # closed by default: a route is public only with opt=PUBLIC
        openapi_config=None,  # no API to document; its viewer pages would load scripts from a CDN (CSP)
        before_request=set_request_locality,
        template_config=TemplateConfig(engine=_template_engine(_static_versions())),
        plugins=[HTMXPlugin(), HolaOlasCLI()],
        middleware=[session_config(secure=https).middleware, origin_check_middleware],
        stores=stores(settings.redis_url, settings.data_dir),
        csrf_config=CSRFConfig(
            secret=_secret(settings),
            cookie_name="__Host-csrftoken" if https else "csrftoken",
            cookie_secure=https,
            cookie_httponly=True,
            header_name="x-csrftoken",
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6),
        exception_handlers={
            NotAuthorizedException: _not_authorized,
            PermissionDeniedException: _forbidden,
            NotFoundException: _not_found,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        on_startup=[start_pool, open_vault_late, forget_expired],
        on_shutdown=[close_pool],
        logging_config=LoggingConfig(log_exceptions="debug", disable_stack_trace={Exception}) if not settings.debug else None,
        debug=settings.debug,
    )
    app.state.vault = vault
    app.state.settings = settings
    # Outside Litestar's own exception handling, so 404s and errors raised by middleware get the headers too.
    app.asgi_handler = security_headers_middleware(app.asgi_handler, https=https)
    return app
