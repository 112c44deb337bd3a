"""Shared web plumbing: page-or-fragment rendering, the logged-in scope, the locality of a request."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.response import Template

from domain.accounts import get_staff
from domain.scope import Scope, load_scope
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES, Locality, pick_language, set_locality

NO_STORE = {"Cache-Control": "no-store", "Vary": "HX-Request"}


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


async def set_request_locality(request: Request) -> None:
    """before_request hook: language and time zone for every string and date this response shows."""
    session = request.scope.get("session") or {}
    language = session.get("lang") or pick_language(request.headers.get("accept-language"))
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    set_locality(Locality(language=language, timezone=session.get("tz") or "Europe/Paris"))


async def provide_scope(request: Request) -> Scope:
    """The logged-in staff member's provider: every handler that touches customer data takes this."""
    session = request.scope.get("session") or {}
    staff_id = session.get("staff_id")
    if not staff_id:
        raise NotAuthorizedException()
    staff = await get_staff(staff_id)
    # A deactivated account or a changed password ends every session opened before it.
    if staff is None or staff.password_changed_at.isoformat() != session.get("pwd"):
        request.clear_session()
        raise NotAuthorizedException()
    return await load_scope(request.app.state.vault, provider_id=staff.provider_id, staff_id=staff.id, role=staff.role)


def require_owner(scope: Scope) -> None:
    if not scope.is_owner:
        raise PermissionDeniedException()
