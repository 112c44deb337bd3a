"""Settings (owners only): the provider's staff accounts, switched on and off."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from msgspec import Struct

from domain.accounts import CannotDeactivateSelf, list_staff, set_staff_active
from handlers.i18n import _
from handlers.web import NO_STORE, OWNER_ONLY, ProviderScope, render, wants_fragment


class ActiveForm(Struct):
    active: str = ""  # "1" switches the account on, anything else off


class SettingsController(Controller):
    path = "/settings"
    opt = OWNER_ONLY

    @get("/staff", name="settings_staff")
    async def staff(self, request: Request, provider: ProviderScope) -> Template:
        members = await list_staff(provider)
        return render(request, "settings/staff.html", "settings/_staff.html",
                      {"provider": provider, "nav": "settings", "members": members})

    @post("/staff/{staff_id:int}/active", name="settings_staff_active")
    async def set_active(self, request: Request, provider: ProviderScope, staff_id: FromPath[int],
                         data: Annotated[ActiveForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
                         ) -> Template | Redirect:
        try:
            member = await set_staff_active(provider, staff_id, data.active == "1")
        except CannotDeactivateSelf:
            return render(request, "errors/page.html", "errors/_message.html", {
                "status": 409, "title": _("Not possible"),
                "message": _("You cannot deactivate your own account."),
            }, status_code=409)
        if member is None:
            raise NotFoundException()
        if wants_fragment(request):
            return Template("settings/_staff_row.html", context={"provider": provider, "member": member},
                            headers=NO_STORE)
        return Redirect("/settings/staff", status_code=303)
