"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from msgspec import Struct

from domain.accounts import authenticate
from domain.tables import Provider
from handlers.i18n import LANGUAGES, _
from handlers.sessions import rotate_session
from handlers.web import NO_STORE


class LoginForm(Struct):
    email: str = ""
    password: str = ""
    next: str = ""


class LanguageForm(Struct):
    language: str = ""
    next: str = ""


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/bookings"
    return target


class AuthController(Controller):
    path = "/"

    @get("/login", name="login")
    async def login_page(self, request: Request, next: str = "") -> Template | Redirect:
        if (request.scope.get("session") or {}).get("staff_id"):
            return Redirect(safe_next(next))
        return Template("login.html", context={"next": safe_next(next), "email": "", "error": None}, headers=NO_STORE)

    @post("/login")
    async def login(self, request: Request,
                    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        staff = await authenticate(data.email, data.password)
        if staff is None:
            return Template(
                "login.html",
                context={"next": safe_next(data.next), "email": data.email,
                         "error": _("Wrong email or password.")},
                status_code=400,
                headers=NO_STORE,
            )
        provider = await Provider.select(Provider.timezone, Provider.language).where(
            Provider.id == staff.provider_id).first()
        # A fresh session id at login: whatever id the browser had before is worthless now.
        rotate_session(request)
        request.set_session({
            "staff_id": staff.id,
            "pwd": staff.password_changed_at.isoformat(),
            "lang": staff.language or provider["language"],
            "tz": provider["timezone"],
        })
        return Redirect(safe_next(data.next), status_code=303)

    @post("/logout", name="logout")
    async def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/login", status_code=303, headers={"Clear-Site-Data": '"cache", "storage"'})

    @post("/language", name="language")
    async def set_language(self, request: Request,
                           data: Annotated[LanguageForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Redirect:
        session = dict(request.scope.get("session") or {})
        if data.language in LANGUAGES:
            session["lang"] = data.language
            request.set_session(session)
        return Redirect(safe_next(data.next), status_code=303)

    @get("/", name="home")
    async def home(self) -> Redirect:
        return Redirect("/bookings")
