"""In Chromium: log in on a phone-sized screen, reach the dashboard, use htmx, log out — with a strict CSP."""

from __future__ import annotations

import re

import pytest

from domain.tables import Provider
from tests.browser import chromium, horizontal_overflow, served_app, small_touch_targets, watch, web_storage
from tests.helpers import PASSWORD, provider_with_staff

PHONE = {"width": 360, "height": 740}
LONG_NAME = "École de surf de la Grande Plage"


@pytest.mark.browser
def test_login_dashboard_and_logout_in_chromium_without_csp_violations(settings):
    async def seed(vault):
        scope = await provider_with_staff(vault, "plage", language="en")
        await Provider.update({Provider.name: LONG_NAME}).where(Provider.id == scope.provider_id)
        return scope

    # Chromium is launched per test: Playwright's sync API holds an event loop while it runs, which the
    # asyncio.run() of the database fixtures cannot share, so it must not outlive a test.
    with served_app(settings, seed=seed) as server, chromium() as browser:
        context = browser.new_context(viewport=PHONE, locale="en-GB")
        page = context.new_page()
        problems = watch(page)

        page.goto(server.url + "/bookings")
        assert re.search(r"/login\?next=/bookings$", page.url)
        assert horizontal_overflow(page) == 0 and small_touch_targets(page) == []

        # A wrong password first: the generic message, the email kept, the password not.
        page.get_by_label("Email").fill("owner@plage.test")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text() == "Wrong email or password."
        assert page.get_by_label("Email").input_value() == "owner@plage.test"

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.url + "/bookings")
        assert page.get_by_role("heading", level=1, name="Bookings", exact=True).is_visible()
        # The provider's whole name in the top bar, on two lines if need be, never cut with "…".
        brand = page.locator(".topbar .brand")
        assert brand.inner_text() == LONG_NAME
        assert brand.evaluate("b => b.scrollWidth <= b.clientWidth && b.getBoundingClientRect().right <= innerWidth")

        # An htmx request carries the CSRF token it inherits from <body>: switch a staff account off in place.
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url(server.url + "/settings/staff")
        assert horizontal_overflow(page) == 0 and small_touch_targets(page) == []
        row = page.locator("tr", has_text="staff@plage.test")
        row.get_by_role("button", name="Deactivate").click()
        row.get_by_role("button", name="Reactivate").wait_for()
        assert "Deactivated" in row.inner_text()
        assert page.url == server.url + "/settings/staff"  # swapped in place, no page load
        page.reload()
        assert "Deactivated" in page.locator("tr", has_text="staff@plage.test").inner_text()

        # Adding an account: a refusal lands in the form (a 422 swapped in place), then the account
        # is created and its first password shown once, without a page load.
        page.get_by_role("button", name="Create the account").click()
        page.locator("#new-staff-email-error").wait_for()
        assert page.locator("#new-staff-email-error").inner_text() == "Enter the email address they will log in with."
        page.get_by_label("Email").fill("nina@plage.test")
        page.get_by_label("Role").select_option("staff")
        page.get_by_role("button", name="Create the account").click()
        page.get_by_role("status").wait_for()
        assert "Account created for nina@plage.test." in page.get_by_role("status").inner_text()
        assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", page.locator(".handover-password code").inner_text())
        assert page.locator("tr", has_text="nina@plage.test").is_visible()
        assert page.url == server.url + "/settings/staff"
        assert horizontal_overflow(page) == 0 and small_touch_targets(page) == []

        # The session ends while the page is open: the next htmx action lands on the login page,
        # not as an error inside the table.
        context.clear_cookies(name="session")
        page.locator("tr", has_text="staff@plage.test").get_by_role("button", name="Reactivate").click()
        page.wait_for_url(server.url + "/login")
        page.get_by_label("Email").fill("owner@plage.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.url + "/bookings")

        page.get_by_role("link", name="Settings").click()
        page.wait_for_url(server.url + "/settings/staff")
        assert "Deactivated" in page.locator("tr", has_text="staff@plage.test").inner_text()  # nothing changed
        page.go_back()
        page.wait_for_url(server.url + "/bookings")
        page.get_by_role("link", name="Account").click()
        page.wait_for_url(server.url + "/account/password")
        assert small_touch_targets(page) == []
        # On a phone the language switch is on the Account page (the top bar keeps the provider's name).
        assert not page.locator(".topbar .language-switch").is_visible()
        page.get_by_role("button", name="ES").click()
        page.get_by_role("heading", level=1, name="Cuenta").wait_for()
        page.get_by_role("button", name="EN").click()
        page.get_by_role("heading", level=1, name="Account").wait_for()

        assert web_storage(page) == {"local": [], "session": []}  # htmx kept no copy of any page

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(server.url + "/login")
        page.goto(server.url + "/bookings")
        assert "/login" in page.url  # the old session is gone
        assert web_storage(page) == {"local": [], "session": []}

        assert problems.csp_violations == []
        assert problems.page_errors == []
        # The browser logs only the refusals the test asked for; no 404 (the favicon included).
        assert [re.search(r"status of (\d+)", e).group(1) for e in problems.console_errors] == ["400", "422", "401"]

        # The watch does see violations: an inline style attribute, set on purpose, is reported.
        page.evaluate("document.body.setAttribute('style', 'color: red')")
        page.wait_for_function("true")
        page.wait_for_timeout(200)
        assert any("style-src" in v for v in problems.csp_violations)
        context.close()
