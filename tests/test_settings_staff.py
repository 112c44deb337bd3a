"""Settings → Staff: an owner adds accounts and hands over a first password; refusals say why."""

from __future__ import annotations

import re

import pytest

from domain.tables import AuditEvent, Staff
from tests.helpers import HX, csrf_from, login, provider_with_staff

HANDOVER = re.compile(r'<p class="handover-password"><code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code></p>')


async def add(client, email: str, role: str = "staff", *, htmx: bool = False):
    token = csrf_from((await client.get("/settings/staff")).text)
    return await client.post("/settings/staff", data={"email": email, "role": role, "_csrf_token": token},
                             headers=HX if htmx else None)


async def accounts() -> list[tuple[str, str]]:
    return sorted((r["email"], r["role"]) for r in await Staff.select(Staff.email, Staff.role))


async def test_an_owner_adds_a_staff_account_that_logs_in_with_the_password_shown_once(settings, vault, client):
    scope = await provider_with_staff(vault, "crew", language="en")
    await login(client, "owner@crew.test")
    response = await add(client, "  Nina.Surf@Example.COM ", htmx=True)
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<section id="staff"') and "<html" not in html  # the section, swapped
    assert "Account created for nina.surf@example.com." in html
    password = HANDOVER.search(html).group(1)
    assert 'class="staff-email">nina.surf@example.com<' in html  # in the table, as the login is written
    assert 'id="new-staff-email"' in html and 'value=""' in html  # the form is ready for the next one
    assert response.headers["cache-control"] == "no-store"

    row = await Staff.select().where(Staff.email == "nina.surf@example.com").first()
    assert row["provider"] == scope.provider_id and row["role"] == "staff" and row["active"]
    assert password not in row["password_hash"] and row["password_hash"].startswith("$argon2id$")
    # The same page, reloaded, never shows the password again.
    assert password not in (await client.get("/settings/staff")).text

    # The audit trail names the account by id, never by its email.
    event = await AuditEvent.select().where(AuditEvent.action == "staff_added").first()
    assert event["subject"] == f"staff:{row['id']}" and event["provider"] == scope.provider_id
    assert "nina" not in str(event).lower() and password not in str(event)

    client.cookies.clear()
    await login(client, "nina.surf@example.com", password)
    assert (await client.get("/bookings", follow_redirects=False)).status_code == 200
    assert (await client.get("/settings/staff", follow_redirects=False)).status_code == 403  # staff, not owner


async def test_an_owner_can_add_another_owner_and_without_htmx_gets_the_whole_page(settings, vault, client):
    await provider_with_staff(vault, "duo", language="en")
    await login(client, "owner@duo.test")
    response = await add(client, "partner@duo.test", role="owner")
    assert response.status_code == 200 and response.text.lstrip().lower().startswith("<!doctype html")
    assert HANDOVER.search(response.text)
    assert ("partner@duo.test", "owner") in await accounts()


@pytest.mark.parametrize(("email", "role", "field", "message"), [
    ("", "staff", "email", "Enter the email address they will log in with."),
    ("   ", "staff", "email", "Enter the email address they will log in with."),
    ("nina", "staff", "email", "This is not an email address"),
    ("nina@localhost", "staff", "email", "This is not an email address"),
    ("two@signs@x.test", "staff", "email", "This is not an email address"),
    ("staff@crew.test", "staff", "email", "This email already logs in to HolaOlas"),  # one of ours
    ("OWNER@other.test", "staff", "email", "This email already logs in to HolaOlas"),  # another provider's
    ("ok@crew.test", "admin", "role", "Choose Staff or Owner."),
])
async def test_a_refused_account_says_why_keeps_what_was_typed_and_creates_nothing(
        settings, vault, client, email, role, field, message):
    await provider_with_staff(vault, "crew", language="en")
    await provider_with_staff(vault, "other", language="en")
    await login(client, "owner@crew.test")
    before = await accounts()
    events = await AuditEvent.count()
    for htmx in (True, False):
        response = await add(client, email, role, htmx=htmx)
        assert response.status_code == 422
        html = response.text
        assert ("<html" in html) != htmx
        assert f'id="new-staff-{field}-error">{message}' in html
        assert re.search(rf'id="new-staff-{field}"[^>]*aria-invalid="true"', html)
        if field == "email" and email.strip():
            assert f'value="{email}"' in html  # what was typed stays, to be corrected
        assert not HANDOVER.search(html)
    assert await accounts() == before and await AuditEvent.count() == events


async def test_only_owners_add_accounts_and_never_to_another_provider(settings, vault, client):
    other = await provider_with_staff(vault, "other", language="en")
    await provider_with_staff(vault, "crew", language="en")
    await login(client, "staff@crew.test")
    token = csrf_from((await client.get("/bookings")).text)
    refused = await client.post("/settings/staff", data={"email": "new@crew.test", "_csrf_token": token})
    assert refused.status_code == 403
    client.cookies.clear()
    await login(client, "owner@crew.test")
    # A provider field in the form is not read: the account belongs to the logged-in owner's provider.
    token = csrf_from((await client.get("/settings/staff")).text)
    await client.post("/settings/staff", data={"email": "new@crew.test", "provider": str(other.provider_id),
                                               "_csrf_token": token})
    row = await Staff.select().where(Staff.email == "new@crew.test").first()
    assert row["provider"] != other.provider_id
    assert [e for e, _ in await accounts() if e == "new@crew.test"] == ["new@crew.test"]


async def test_switching_an_account_off_and_on_is_in_the_audit_trail(settings, vault, client):
    await provider_with_staff(vault, "crew", language="en")
    await login(client, "owner@crew.test")
    staff = await Staff.select(Staff.id).where(Staff.email == "staff@crew.test").first()
    token = csrf_from((await client.get("/settings/staff")).text)
    for active in ("0", "1"):
        await client.post(f"/settings/staff/{staff['id']}/active", data={"active": active, "_csrf_token": token})
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.subject).order_by(AuditEvent.id)
    assert [(e["action"], e["subject"]) for e in events] == [
        ("staff_deactivated", f"staff:{staff['id']}"), ("staff_reactivated", f"staff:{staff['id']}")]


async def test_an_account_is_never_left_without_its_audit_event(settings, vault, monkeypatch):
    from domain import accounts, audit

    scope = await provider_with_staff(vault, "crew", language="en")

    async def broken(*args, **kwargs):
        raise RuntimeError("the audit trail could not be written")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        await accounts.add_staff(scope, email="half@crew.test", role="staff")
    assert await Staff.exists().where(Staff.email == "half@crew.test") is False  # rolled back whole


async def test_adding_an_account_needs_the_csrf_token_and_our_origin(settings, vault, client):
    await provider_with_staff(vault, "crew", language="en")
    await login(client, "owner@crew.test")
    token = csrf_from((await client.get("/settings/staff")).text)
    before = await accounts()
    no_token = await client.post("/settings/staff", data={"email": "forged@crew.test"})
    foreign = await client.post("/settings/staff", data={"email": "forged@crew.test", "_csrf_token": token},
                                headers={"origin": "https://evil.example"})
    assert no_token.status_code == foreign.status_code == 403
    assert await accounts() == before
