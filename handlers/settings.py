"""Settings (owners only): the provider's staff accounts — added, switched on and off."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from msgspec import Struct

from domain.accounts import CannotDeactivateSelf, StaffRefused, add_staff, list_staff, set_staff_active
from domain.scope import Scope
from handlers.i18n import N_, _
from handlers.web import FORM, NO_STORE, OWNER_ONLY, ProviderScope, render, wants_fragment


class ActiveForm(Struct):
    active: str = ""  # "1" switches the account on, anything else off


class NewStaffForm(Struct):
    email: str = ""
    role: str = "staff"


STAFF_PROBLEMS = {
    "email_missing": N_("Enter the email address they will log in with."),
    "email_invalid": N_("This is not an email address (for example: name@example.com)."),
    "email_taken": N_("This email already logs in to HolaOlas: choose another address."),
    "role_unknown": N_("Choose Staff or Owner."),
}


async def _staff_section(request: Request, provider: Scope, *, form: NewStaffForm | None = None, errors: dict | None = None,
                         created: dict | None = None, status_code: int = 200) -> Template:
    """The staff section: the whole Settings page, or for htmx the section alone."""
    return render(request, "settings/staff.html", "settings/_staff.html", {
        "provider": provider, "nav": "settings", "members": await list_staff(provider),
        "form": form or NewStaffForm(), "errors": errors or {}, "created": created,
    }, status_code=status_code)


class SettingsController(Controller):
    path = "/settings"
    opt = OWNER_ONLY

    @get("/staff", name="settings_staff")
    async def staff(self, request: Request, provider: ProviderScope) -> Template:
        return await _staff_section(request, provider)

    @post("/staff", name="settings_staff_add")
    async def add(self, request: Request, provider: ProviderScope,
                  data: Annotated[NewStaffForm, FORM]) -> Template:
        """A new account; its first password is shown once, in the answer, to be handed over."""
        try:
            member, password = await add_staff(provider, email=data.email, role=data.role)
        except StaffRefused as refused:
            errors = {field: _(STAFF_PROBLEMS[code]) for field, code in refused.problems.items()}
            return await _staff_section(request, provider, form=data, errors=errors, status_code=422)
        return await _staff_section(request, provider, created={"member": member, "password": password})

    @post("/staff/{staff_id:int}/active", name="settings_staff_active")
    async def set_active(self, request: Request, provider: ProviderScope, staff_id: FromPath[int],
                         data: Annotated[ActiveForm, FORM]
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
