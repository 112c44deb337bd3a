"""Shared web plumbing: page-or-fragment rendering, who is logged in, roles, the locality of a request.

Access control is closed by default: the app-wide guard `require_login` refuses every route
that does not say `opt=PUBLIC`, and a route (or a whole controller) that says `opt=OWNER_ONLY`
is refused to staff with a 403. Tests read these marks from the app to build the route table.
"""

from __future__ import annotations

import time

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body
from litestar.response import Template

from domain.accounts import StaffMember, get_staff_and_provider
from domain.scope import Scope, scope_from_row
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES, Locality, pick_language, set_locality
from handlers.sessions import ABSOLUTE_TIMEOUT_S

NO_STORE = {"Cache-Control": "no-store", "Vary": "HX-Request"}
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)  # a POST's body as an HTML form sends it

# A handler parameter `provider: ProviderScope` receives the logged-in provider (see provide_scope).
ProviderScope = NamedDependency[Scope]

PUBLIC = {"public": True}  # reachable without logging in (login page, language switch, static files)
OWNER_ONLY = {"owner_only": True}  # exports, erasure, settings, staff management


def wants_fragment(request: Request) -> bool:
    """An htmx swap asks for the region only; a direct load, a reload or a history restore needs the page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-request-type", "partial") != "full"
        and headers.get("hx-history-restore-request") != "true"
    )


def render(request: Request, page: str, fragment: str | None, context: dict, *, status_code: int = 200,
           headers: dict | None = None) -> Template:
    """The same URL renders the whole page or, for htmx, only the region that changes."""
    name = fragment if fragment and wants_fragment(request) else page
    return Template(template_name=name, context=context, status_code=status_code,
                    headers={**NO_STORE, **(headers or {})})


def apply_locality(connection: ASGIConnection) -> None:
    """Language and time zone for every string and date this response shows (error pages included)."""
    session = connection.scope.get("session") or {}
    language = session.get("lang") or pick_language(connection.headers.get("accept-language"))
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    set_locality(Locality(language=language, timezone=session.get("tz") or "Europe/Paris"))


async def set_request_locality(request: Request) -> None:
    """before_request hook (see apply_locality)."""
    apply_locality(request)


def clock(connection: ASGIConnection) -> float:
    """The app's clock (tests put a fake one in app.state.clock)."""
    return getattr(connection.app.state, "clock", time.time)()


async def live_staff(connection: ASGIConnection) -> StaffMember | None:
    """The staff member this request's session belongs to, if the session is still good.

    A session dies when the account is deactivated, when its password changes (or anything else
    that bumps the stamp), and ABSOLUTE_TIMEOUT_S after login. A dead session is cleared.
    """
    session = connection.scope.get("session") or {}
    staff_id = session.get("staff_id")
    if not staff_id:
        return None
    found = await get_staff_and_provider(staff_id)
    staff, provider_row = found if found else (None, None)
    login_at = session.get("login_at")
    if (
        staff is None
        or staff.password_changed_at.isoformat() != session.get("pwd")
        or not isinstance(login_at, int | float)
        or clock(connection) - login_at > ABSOLUTE_TIMEOUT_S
    ):
        connection.clear_session()
        return None
    connection.state.provider_row = provider_row  # provide_scope needs no second query
    return staff


async def require_login(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: a live session on every route not marked PUBLIC; the owner role where OWNER_ONLY."""
    if handler.opt.get("public"):
        return
    staff = await live_staff(connection)
    if staff is None:
        raise NotAuthorizedException()
    connection.state.staff = staff
    apply_locality(connection)  # so a 403 below already speaks the user's language
    if handler.opt.get("owner_only") and staff.role != "owner":
        raise PermissionDeniedException()


async def provide_scope(request: Request) -> Scope:
    """The logged-in staff member's provider: every handler that touches customer data takes this."""
    staff = request.state.get("staff") or await live_staff(request)
    if staff is None:
        raise NotAuthorizedException()
    return scope_from_row(request.app.state.vault, request.state.provider_row, staff_id=staff.id, role=staff.role)


def require_owner(scope: Scope) -> None:
    """For a handler that decides inside (an export of one kind or another): staff get a 403."""
    if not scope.is_owner:
        raise PermissionDeniedException()
