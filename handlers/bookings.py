"""The Bookings screen (filled in by the Reservations issue)."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from domain.scope import Scope
from handlers.web import render


class BookingsController(Controller):
    path = "/bookings"

    @get("/", name="bookings")
    async def bookings(self, request: Request, provider: Scope) -> Template:
        return render(request, "bookings/page.html", None, {"provider": provider, "nav": "bookings"})
