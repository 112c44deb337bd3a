"""CSRF, Origin checks, cookies and security headers, asserted on real responses; templates that CSP allows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from litestar.middleware.csrf import generate_csrf_token
from litestar.testing import AsyncTestClient

from handlers.security import CONTENT_SECURITY_POLICY
from handlers.sessions import IDLE_TIMEOUT_S
from tests.helpers import csrf_from, login, provider_with_staff
from tests.test_isolation import route_cases

ROOT = Path(__file__).resolve().parent.parent


def set_cookies(response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie of a response: name → its attributes (lower-case keys; flags map to "")."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        attributes = {}
        for part in rest.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            attributes[key.lower()] = value
        attributes["value"] = rest.split(";")[0]
        cookies[name] = attributes
    return cookies


def assert_security_headers(response, *, https: bool = False, cacheable: bool = False) -> None:
    h = response.headers
    csp = h["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "same-origin"
    assert h["x-frame-options"] == "DENY"
    if https:
        assert h["strict-transport-security"].startswith("max-age=31536000")
    else:
        assert "strict-transport-security" not in h
    if not cacheable:
        assert h["cache-control"] == "no-store", response.url


# CSRF and Origin -----------------------------------------------------------------------------


async def _logged_in(vault, client, slug: str) -> str:
    await provider_with_staff(vault, slug, language="en")
    await login(client, f"owner@{slug}.test")
    return csrf_from((await client.get("/bookings")).text)


async def test_a_state_change_needs_the_right_token_and_our_own_origin(settings, vault, client):
    token = await _logged_in(vault, client, "csrf")
    form = {"language": "es", "next": "/bookings"}

    async def post(headers=None, data=None):
        return await client.post("/language", data=data if data is not None else form, headers=headers or {},
                                 follow_redirects=False)

    refused = {
        "no token": await post(),
        "wrong token": await post({"x-csrftoken": generate_csrf_token("some other secret")}),
        "garbage token": await post({"x-csrftoken": "x" * 20}),
        "wrong form token": await post(data={**form, "_csrf_token": token[:-4] + "0000"}),
        "foreign Origin": await post({"x-csrftoken": token, "origin": "https://evil.example"}),
        "Origin: null": await post({"x-csrftoken": token, "origin": "null"}),
        "look-alike Origin": await post({"x-csrftoken": token, "origin": "http://testserver.local.evil.example"}),
        "cross-site fetch": await post({"x-csrftoken": token, "sec-fetch-site": "cross-site"}),
    }
    for why, response in refused.items():
        assert response.status_code == 403, why
        assert_security_headers(response)
        assert "This page has expired" in response.text, why  # not "your role": it is an old or foreign page
    assert (await client.get("/bookings")).text.count('lang="en"') >= 1  # nothing changed

    accepted = {
        "header token, our Origin": await post({"x-csrftoken": token, "origin": "http://testserver.local",
                                                "sec-fetch-site": "same-origin"}),
        "form token, no Origin": await post(data={**form, "_csrf_token": token}),
    }
    for why, response in accepted.items():
        assert (response.status_code, response.headers["location"]) == (303, "/bookings"), why
    assert '<html lang="es">' in (await client.get("/bookings")).text


async def test_logging_in_needs_the_token_too(settings, vault, client):
    await provider_with_staff(vault, "logincsrf", language="en")
    await client.get("/login")
    response = await client.post("/login", data={"email": "owner@logincsrf.test", "password": "x" * 12},
                                 follow_redirects=False)
    assert response.status_code == 403


async def test_an_htmx_request_refused_for_its_token_gets_a_fragment(settings, vault, client):
    await _logged_in(vault, client, "csrffrag")
    response = await client.post("/language", data={"language": "es"}, headers={"hx-request": "true"})
    assert response.status_code == 403
    assert "<html" not in response.text and 'role="alert"' in response.text


async def test_get_never_reaches_a_state_changing_route(settings, vault, app, client):
    token = await _logged_in(vault, client, "verbs")
    by_path: dict[str, set[str]] = {}
    for case in route_cases(app):
        by_path.setdefault(case.path, set()).add(case.method)
    post_only = [path for path, methods in by_path.items() if "GET" not in methods]
    assert "/logout" in post_only and "/language" in post_only
    for path in post_only:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        response = await client.get(concrete, headers={"x-csrftoken": token}, follow_redirects=False)
        assert response.status_code == 405, f"GET {path}: {response.status_code}"
        assert_security_headers(response)
    assert (await client.get("/bookings", follow_redirects=False)).status_code == 200  # still logged in


# Cookies and headers -------------------------------------------------------------------------


async def test_cookies_and_headers_over_plain_http(settings, vault, client):
    await provider_with_staff(vault, "http", language="en")
    page = await client.get("/login")
    assert_security_headers(page)
    csrf = set_cookies(page)["csrftoken"]
    assert "httponly" in csrf and csrf["samesite"].lower() == "lax" and csrf["path"] == "/"
    assert "secure" not in csrf

    logged_in = await login(client, "owner@http.test")
    assert_security_headers(logged_in)
    session = set_cookies(logged_in)["session"]
    assert "httponly" in session and session["samesite"].lower() == "lax" and session["path"] == "/"
    assert "secure" not in session and "domain" not in session
    assert session["max-age"] == str(IDLE_TIMEOUT_S)
    assert len(session["value"]) == 64  # 32 random bytes

    dashboard = await client.get("/bookings")
    assert_security_headers(dashboard)
    assert "HX-Request" in dashboard.headers["vary"]

    static = await client.get("/static/app.css")
    assert_security_headers(static, cacheable=True)
    assert "max-age=31536000" in static.headers["cache-control"] and "no-store" not in static.headers["cache-control"]
    assert "set-cookie" not in static.headers  # assets carry no session

    missing = await client.get("/no/such/page")
    assert missing.status_code == 404
    assert_security_headers(missing)

    out = await client.post("/logout", data={"_csrf_token": csrf_from(dashboard.text)}, follow_redirects=False)
    assert_security_headers(out)
    assert out.headers["clear-site-data"] == '"cache", "storage"'
    gone = set_cookies(out)["session"]
    assert gone["value"] in ("", '""') and gone["max-age"] == "0"


async def test_cookies_and_headers_over_https(settings, vault, monkeypatch):
    from app import create_app

    monkeypatch.setenv("HOLAOLAS_HTTPS", "1")
    app = create_app(settings)
    await provider_with_staff(vault, "https", language="en")
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as client:
        page = await client.get("/login")
        assert_security_headers(page, https=True)
        cookies = set_cookies(page)
        assert "csrftoken" not in cookies
        csrf = cookies["__Host-csrftoken"]
        assert {"secure", "httponly"} <= set(csrf) and csrf["path"] == "/" and "domain" not in csrf

        token = csrf_from(page.text)
        logged_in = await client.post("/login", data={"email": "owner@https.test", "password": "correct horse battery",
                                                      "_csrf_token": token}, follow_redirects=False)
        assert logged_in.status_code == 303
        assert_security_headers(logged_in, https=True)
        session = set_cookies(logged_in)["__Host-session"]
        # __Host- cookies must be Secure, for path / and without Domain, or browsers refuse them.
        assert {"secure", "httponly"} <= set(session) and session["path"] == "/" and "domain" not in session
        assert session["samesite"].lower() == "lax"
        dashboard = await client.get("/bookings")
        assert dashboard.status_code == 200
        assert_security_headers(dashboard, https=True)
        missing = await client.get("/no/such/page")
        assert_security_headers(missing, https=True)


def test_the_content_security_policy_is_strict():
    directives = {d.split()[0]: d.split()[1:] for d in CONTENT_SECURITY_POLICY.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["form-action"] == ["'self'"]
    assert "unsafe" not in CONTENT_SECURITY_POLICY


# Templates that a strict CSP allows ----------------------------------------------------------

FORBIDDEN_IN_TEMPLATES = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "hx-on (htmx would need eval)": re.compile(r"\b(data-)?hx-on", re.I),
    "js: or javascript: value": re.compile(r"[\"'{,\s](js|javascript):", re.I),
    "htmx trigger filter (evaluated as JavaScript)": re.compile(r"hx-trigger\s*=\s*[\"'][^\"']*\[", re.I),
}


def _templates() -> list[Path]:
    return sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_needs_nothing_a_strict_csp_forbids(template):
    text = template.read_text()
    found = [what for what, pattern in FORBIDDEN_IN_TEMPLATES.items() if pattern.search(text)]
    assert not found, f"{template.name}: {found}"


def test_htmx_is_configured_to_need_no_inline_style_or_eval():
    base = (ROOT / "templates" / "base.html").read_text()
    match = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', base)
    assert match, "base.html sets htmx's configuration"
    config = json.loads(match.group(1))
    assert config.get("includeIndicatorCSS") is False  # htmx would otherwise insert a <style> element
    assert not re.search(r"\beval\(|new Function\(", (ROOT / "static" / "app.js").read_text())


def test_htmx_keeps_no_page_copies_in_browser_storage():
    htmx = next((ROOT / "static").glob("htmx-*.min.js")).read_text()
    # htmx 4 restores history by asking the server again; it never writes pages to web storage.
    assert "localStorage" not in htmx and "sessionStorage" not in htmx


async def test_error_pages_speak_the_users_language(settings, vault, client):
    await provider_with_staff(vault, "langue", language="en")
    await login(client, "staff@langue.test")
    response = await client.get("/settings/staff")
    assert response.status_code == 403 and '<html lang="en">' in response.text

