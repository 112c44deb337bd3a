"""Login (throttled), logout, the language switch and the password change."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from msgspec import Struct

from domain.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordRefused,
    StaffMember,
    authenticate,
    change_password,
    password_issue,
)
from domain.scope import Scope
from domain.tables import Provider
from handlers.i18n import LANGUAGES, _, ngettext
from handlers.sessions import THROTTLE_STORE, rotate_session
from handlers.throttle import LoginThrottle, account_key, address_key
from handlers.web import FORM, NO_STORE, PUBLIC, ProviderScope, clock, live_staff


class LoginForm(Struct):
    email: str = ""
    password: str = ""
    next: str = ""


class LanguageForm(Struct):
    language: str = ""
    next: str = ""


class PasswordForm(Struct):
    current_password: str = ""
    new_password: str = ""
    new_password_again: str = ""


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or urlsplit(target).netloc:
        return "/bookings"
    return target


def throttle(request: Request) -> LoginThrottle:
    return LoginThrottle(request.app.stores.get(THROTTLE_STORE), clock=lambda: clock(request))


def client_address(request: Request) -> str:
    # The peer address as the server sees it. Behind a proxy, run uvicorn with --proxy-headers and
    # --forwarded-allow-ips so this is the visitor's address, not the proxy's.
    return request.client.host if request.client else "unknown"


def wait_message(seconds: int) -> str:
    if seconds >= 60:
        minutes = (seconds + 59) // 60
        return ngettext("Too many failed attempts. Try again in %(num)d minute.",
                        "Too many failed attempts. Try again in %(num)d minutes.", minutes)
    return ngettext("Too many failed attempts. Try again in %(num)d second.",
                    "Too many failed attempts. Try again in %(num)d seconds.", seconds)


def start_session(request: Request, staff: StaffMember, *, language: str, timezone: str, login_at: float) -> None:
    """A fresh session id for a freshly proven identity: whatever id the browser had before is worthless now."""
    rotate_session(request)
    request.set_session({
        "staff_id": staff.id,
        "pwd": staff.password_changed_at.isoformat(),
        "login_at": login_at,
        "lang": language,
        "tz": timezone,
    })


class AuthController(Controller):
    path = "/"

    @get("/login", name="login", opt=PUBLIC)
    async def login_page(self, request: Request, next: FromQuery[str] = "") -> Template | Redirect:
        if await live_staff(request):
            return Redirect(safe_next(next), status_code=303)
        return Template("login.html", context={"next": safe_next(next), "email": "", "error": None}, headers=NO_STORE)

    @post("/login", opt=PUBLIC)
    async def login(self, request: Request, data: Annotated[LoginForm, FORM]) -> Template | Redirect:
        def refused(message: str, status: int, headers: dict | None = None) -> Template:
            # One message for an unknown email and a wrong password: nothing tells which it was.
            return Template("login.html", context={"next": safe_next(data.next), "email": data.email, "error": message},
                            status_code=status, headers={**NO_STORE, **(headers or {})})

        guard = throttle(request)
        keys = [account_key(data.email), address_key(client_address(request))]
        if wait := await guard.wait_s(keys):
            return refused(wait_message(wait), 429, {"Retry-After": str(wait)})
        staff = await authenticate(data.email, data.password)
        if staff is None:
            await guard.failed(keys)
            return refused(_("Wrong email or password."), 400)
        await guard.succeeded(keys[0])
        provider = await Provider.select(Provider.timezone, Provider.language).where(
            Provider.id == staff.provider_id).first()
        chosen = (request.scope.get("session") or {}).get("lang")  # picked on the login page
        start_session(request, staff, language=staff.language or chosen or provider["language"],
                      timezone=provider["timezone"], login_at=clock(request))
        return Redirect(safe_next(data.next), status_code=303)

    @post("/logout", name="logout", opt=PUBLIC)
    async def logout(self, request: Request) -> Redirect:
        # Public so that a session which already expired still gets its cookie and the browser's copies cleared.
        request.clear_session()
        return Redirect("/login", status_code=303, headers={**NO_STORE, "Clear-Site-Data": '"cache", "storage"'})

    @post("/language", name="language", opt=PUBLIC)
    async def set_language(self, request: Request, data: Annotated[LanguageForm, FORM]) -> Redirect:
        session = dict(request.scope.get("session") or {})
        if data.language in LANGUAGES:
            session["lang"] = data.language
            request.set_session(session)
        return Redirect(safe_next(data.next), status_code=303)

    @get("/", name="home", opt=PUBLIC)
    async def home(self) -> Redirect:
        return Redirect("/bookings", status_code=303)


class AccountController(Controller):
    """The logged-in person's own account (any role)."""

    path = "/account"

    @get("/password", name="password")
    async def password_page(self, request: Request, provider: ProviderScope) -> Template:
        return _password_page(provider)

    @post("/password")
    async def change(self, request: Request, provider: ProviderScope, data: Annotated[PasswordForm, FORM]) -> Template:
        errors: dict[str, str] = {}
        if data.new_password != data.new_password_again:
            errors["new_password_again"] = _("The two new passwords are not the same.")
        issue = password_issue(data.new_password)
        if issue == "too_short":
            errors["new_password"] = _("The new password must have at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)
        elif issue == "too_long":
            errors["new_password"] = _("The new password must have at most %(num)d characters.", num=MAX_PASSWORD_LENGTH)
        if errors:
            return _password_page(provider, errors=errors, status=400)

        # Someone at an unattended, logged-in phone must not get unlimited guesses at the password either.
        guard = throttle(request)
        keys = [account_key(f"staff-{provider.staff_id}"), address_key(client_address(request))]
        if wait := await guard.wait_s(keys):
            return _password_page(provider, errors={"current_password": wait_message(wait)}, status=429)
        try:
            staff = await change_password(provider.staff_id, data.current_password, data.new_password)
        except PasswordRefused:
            await guard.failed(keys)
            return _password_page(provider, errors={"current_password": _("This is not your current password.")},
                                  status=400)
        await guard.succeeded(keys[0])
        session = request.scope.get("session") or {}
        # The new stamp ends every other session of this account; this one carries on under a new id.
        start_session(request, staff, language=session.get("lang", ""), timezone=session.get("tz", ""),
                      login_at=session.get("login_at") or clock(request))
        return _password_page(provider, done=True)


def _password_page(provider: Scope, *, errors: dict | None = None, done: bool = False, status: int = 200) -> Template:
    return Template("account/password.html", status_code=status, headers=NO_STORE, context={
        "provider": provider, "nav": "account", "errors": errors or {}, "done": done,
        "min_length": MIN_PASSWORD_LENGTH,
    })
