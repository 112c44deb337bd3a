"""Helpers shared by tests: providers with staff, logging in through the real form."""

from __future__ import annotations

import re

from domain.accounts import create_staff
from domain.keys import Vault
from domain.providers import create_provider
from domain.scope import Scope, load_scope

PASSWORD = "correct horse battery"
HX = {"HX-Request": "true", "HX-Request-Type": "partial"}  # what htmx sends for a swap


async def provider_with_staff(vault: Vault, slug: str, *, language: str = "fr", tz: str = "Europe/Paris",
                              whatsapp: str = "+33600000000") -> Scope:
    """A provider with an owner (owner@<slug>.test) and a staff member (staff@<slug>.test)."""
    provider_id = await create_provider(vault, slug=slug, name=f"Surf {slug}", language=language,
                                        timezone_name=tz, whatsapp=whatsapp)
    await create_staff(provider_id=provider_id, email=f"owner@{slug}.test", password=PASSWORD, role="owner")
    await create_staff(provider_id=provider_id, email=f"staff@{slug}.test", password=PASSWORD, role="staff")
    return await load_scope(vault, provider_id=provider_id)


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def login(client, email: str, password: str = PASSWORD):
    page = await client.get("/login")
    token = csrf_from(page.text)
    response = await client.post("/login", data={"email": email, "password": password, "_csrf_token": token},
                                 follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


async def csrf_token(client) -> str:
    """The token of the logged-in page, as htmx would send it in X-CSRFToken."""
    page = await client.get("/bookings")
    return csrf_from(page.text)


def session_id(client, name: str = "session") -> str | None:
    """The session id the client holds now (None when it holds none)."""
    return client.cookies.get(name)


def use_session_id(client, value: str, name: str = "session") -> None:
    """Replace the client's session cookie, as a browser replaying an old cookie (or an attacker) would."""
    client.cookies.delete(name)
    client.cookies.set(name, value, domain=client.base_url.host)
