"""In Chromium, on a phone (375×812) and a desk (1280×800): the Bookings screen under its strict CSP.

Filtering swaps the list without a page load, Back restores the previous filter, a deep link opens
the drawer, Escape closes it and focus returns, a calendar day shows its bookings, nothing scrolls
sideways at 375 px, and axe-core finds no serious or critical violation on the list, the calendar
and the drawer.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from domain.customers import add_customer
from tests.bookings_data import known_bookings
from tests.browser import chromium, horizontal_overflow, served_app, small_touch_targets, watch
from tests.helpers import PASSWORD

VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desk": {"width": 1280, "height": 800}}
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14.1 (MPL-2.0), a test asset only


async def seed(vault):
    shop = await known_bookings(vault)
    bulk = await add_customer(shop.scope, name="Zoé Bulk", email="zoe@example.com", phone="+33611223344")
    for i in range(30):  # a list longer than a screen, to scroll
        await shop.add(bulk, reference=f"ST-BULK{i:02d}", starts_at=shop.at(20 + i, 10), submitted_days_ago=2)
    return shop


def log_in(page, url: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Email").fill("owner@surf-test.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/bookings")


def listed(page) -> list[str]:
    return page.locator("#booking-list a.booking-link").evaluate_all("links => links.map(a => a.dataset.reference)")


def until(page, expression: str, arg=None, timeout_s: float = 10) -> None:
    """Poll a JavaScript predicate. (Playwright's own waiting evaluates a string with eval(), which
    the page's CSP rightly refuses; page.evaluate goes through DevTools and is not affected.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


def wait_for_list(page, expected: list[str]) -> None:
    until(page, "expected => JSON.stringify([...document.querySelectorAll('#booking-list a.booking-link')]"
                ".map(a => a.dataset.reference)) === JSON.stringify(expected)", expected)


def active(page) -> dict:
    return page.evaluate("({id: document.activeElement.id, href: document.activeElement.getAttribute('href'),"
                         " tag: document.activeElement.tagName})")


def drawer_open(page) -> bool:
    return page.evaluate("document.getElementById('drawer').childElementCount > 0")


@pytest.mark.browser
def test_filtering_swaps_the_list_in_place_and_back_restores_the_previous_filter(settings):
    with served_app(settings, seed=seed) as server, chromium() as browser:
        for name, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport, locale="en-GB")
            page = context.new_page()
            problems = watch(page)
            log_in(page, server.url)
            assert horizontal_overflow(page) == 0, name
            assert small_touch_targets(page) == [], name
            if name == "phone":
                # On the narrowest phones too, nothing scrolls sideways, and the filter bar's buttons take
                # one line: the loading indicator, hidden between requests, has no line of its own.
                page.set_viewport_size({"width": 320, "height": 640})
                assert horizontal_overflow(page) == 0
                assert page.locator(".filter-actions").bounding_box()["height"] <= 44 + 6  # one line of 44 px buttons
                page.set_viewport_size(viewport)
            page.evaluate("window.__samePage = 'yes'")  # gone if the browser loads a new page

            assert page.get_by_role("status").filter(has_text="booking").count() == 0  # nothing said on load
            page.get_by_label("Search", exact=True).press_sequentially("dubois", delay=30)
            page.wait_for_url(re.compile(r"/bookings\?q=dubois$"))
            wait_for_list(page, ["ST-HELE02", "ST-HELE03"])
            # "/" from elsewhere on the list jumps back to the search, its text selected to type over.
            page.locator("a.booking-link").first.focus()
            page.keyboard.press("/")
            assert page.evaluate("[document.activeElement.id, getSelection().toString() ||"
                                 " document.activeElement.value.slice(document.activeElement.selectionStart,"
                                 " document.activeElement.selectionEnd)]") == ["filter-q", "dubois"]
            # A screen reader hears the new count while the focus stays in the search field.
            until(page, "() => document.getElementById('list-status').textContent.trim() === '2 bookings'")
            assert page.locator("#list-status").get_attribute("role") == "status"
            assert page.evaluate("document.activeElement.id") == "filter-q"

            page.get_by_text("More filters and sorting").click()
            page.get_by_label("Booking status").select_option("completed")
            page.wait_for_url(re.compile(r"/bookings\?q=dubois&status=completed$"))
            wait_for_list(page, ["ST-HELE03"])
            assert page.evaluate("window.__samePage") == "yes", "filtering reloaded the page"

            page.go_back()
            page.wait_for_url(re.compile(r"/bookings\?q=dubois$"))
            wait_for_list(page, ["ST-HELE02", "ST-HELE03"])
            assert page.get_by_label("Search", exact=True).input_value() == "dubois"
            assert page.get_by_label("Booking status").input_value() == ""

            page.go_back()
            page.wait_for_url(server.url + "/bookings")
            until(page, "() => document.querySelectorAll('#booking-list a.booking-link').length === 25")
            assert page.get_by_label("Search", exact=True).input_value() == ""

            # Bad input: named in the filter bar, the list still there.
            page.goto(server.url + "/bookings?from=2026-02-30")
            assert "does not exist in the calendar" in page.locator("#filter-messages").inner_text()
            assert len(listed(page)) == 25
            assert horizontal_overflow(page) == 0, name
            invalid = "id => document.getElementById(id).getAttribute('aria-invalid') === 'true'"
            assert page.evaluate(invalid, "filter-from")

            # Bad input typed in place: the field is marked without a page load, and unmarked once
            # the input is good again (the impossible date, empty in the date field, is dropped).
            page.evaluate("window.__samePage = 'yes'")
            page.get_by_label("Search", exact=True).press_sequentially("z", delay=30)
            page.wait_for_url(re.compile(r"/bookings\?q=z$"))
            until(page, invalid, "filter-q")
            assert "at least 2 letters" in page.locator("#filter-messages").inner_text()
            assert not page.evaluate(invalid, "filter-from")
            page.get_by_label("Search", exact=True).press_sequentially("o", delay=30)
            page.wait_for_url(re.compile(r"/bookings\?q=zo$"))
            until(page, "id => !document.getElementById(id).hasAttribute('aria-invalid')", "filter-q")
            assert page.locator("#filter-messages").inner_text().strip() == ""
            assert page.evaluate("window.__samePage") == "yes"
            assert problems.csp_violations == problems.page_errors == problems.console_errors == [], (name, problems)
            context.close()


@pytest.mark.browser
def test_a_deep_link_opens_the_drawer_and_escape_closes_it_returning_focus_and_scroll(settings):
    with served_app(settings, seed=seed) as server, chromium() as browser:
        for name, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport, locale="en-GB")
            page = context.new_page()
            problems = watch(page)
            log_in(page, server.url)

            # A deep link: the page with the drawer open, focus inside it.
            page.goto(server.url + "/bookings/ST-HELE02")
            panel = page.locator("#drawer .drawer-panel")
            panel.wait_for()
            until(page, "() => document.activeElement && document.activeElement.id === 'drawer-title'")
            assert "Hélène Dubois" in panel.inner_text() and "Allergie aux arachides" in panel.inner_text()
            box = page.locator("#drawer").bounding_box()
            if name == "phone":
                assert box["x"] == 0 and box["width"] == viewport["width"], box  # the whole screen
            else:
                assert box["x"] > 600 and box["width"] < 700, box  # a side panel over the list
            assert horizontal_overflow(page) == 0, name
            assert small_touch_targets(page) == [], name
            # The keyboard: on a phone the drawer is a modal dialog, Tab and Shift+Tab never reach the
            # list hidden under it; on a desk it is a side panel and the list beside it stays reachable.
            where = []
            for key in ["Tab"] * 25 + ["Shift+Tab"] * 30:
                page.keyboard.press(key)
                where.append(page.evaluate("document.getElementById('drawer').contains(document.activeElement)"
                                           " ? 'drawer' : document.activeElement.closest('#bookings-view, header')"
                                           " ? 'behind' : 'elsewhere'"))
            if name == "phone":
                assert "behind" not in where and where.count("drawer") > 40, where
                assert page.locator("#drawer [role=dialog]").get_attribute("aria-modal") == "true"
            else:
                assert "behind" in where and page.locator("#drawer [role=dialog]").get_attribute("aria-modal") is None
            page.keyboard.press("Escape")
            until(page, "() => document.getElementById('drawer').childElementCount === 0")
            assert page.url == server.url + "/bookings"
            assert page.evaluate("document.getElementById('bookings-view').inert") is False

            # A deep link that holds the list's filters opens over that list; Escape lands on it,
            # focus on the booking's row (nothing opened the drawer on this page).
            page.goto(server.url + "/bookings/ST-HELE02?q=dubois")
            panel.wait_for()
            assert page.locator("#filter-q").input_value() == "dubois"
            assert listed(page) == ["ST-HELE02", "ST-HELE03"]
            page.keyboard.press("Escape")
            page.wait_for_url(server.url + "/bookings?q=dubois")
            until(page, "() => document.activeElement && document.activeElement.dataset.reference === 'ST-HELE02'")
            assert listed(page) == ["ST-HELE02", "ST-HELE03"]

            # From the list: scrolled down, a row opens the drawer; Escape brings focus and scroll back.
            page.goto(server.url + "/bookings?sort=date")
            row = page.locator("#booking-list a.booking-link").nth(15)
            row.scroll_into_view_if_needed()
            page.mouse.wheel(0, 200)
            page.wait_for_timeout(100)
            scrolled = page.evaluate("window.scrollY")
            assert scrolled > 0
            reference = row.get_attribute("data-reference")
            row.click()
            page.wait_for_url(server.url + f"/bookings/{reference}?sort=date")  # the list's state goes along
            until(page, "() => document.activeElement && document.activeElement.id === 'drawer-title'")
            page.keyboard.press("Escape")
            page.wait_for_url(server.url + "/bookings?sort=date")
            until(page, "ref => document.activeElement && document.activeElement.dataset.reference === ref",
                  reference)
            assert not drawer_open(page)
            assert abs(page.evaluate("window.scrollY") - scrolled) <= 2, name
            assert len(listed(page)) == 25  # the list was never reloaded away

            # The close button and the browser's Back close it too.
            row.click()
            page.wait_for_url(server.url + f"/bookings/{reference}?sort=date")
            page.get_by_role("link", name="Close the booking").click()
            page.wait_for_url(server.url + "/bookings?sort=date")
            assert not drawer_open(page)
            row.click()
            page.wait_for_url(server.url + f"/bookings/{reference}?sort=date")
            page.go_back()
            page.wait_for_url(server.url + "/bookings?sort=date")
            until(page, "() => document.getElementById('drawer').childElementCount === 0")
            assert problems.csp_violations == problems.page_errors == problems.console_errors == [], (name, problems)
            context.close()


@pytest.mark.browser
def test_a_calendar_day_shows_its_bookings_and_each_opens_its_drawer(settings):
    with served_app(settings, seed=seed) as server, chromium() as browser:
        today = server.seeded.today.isoformat()
        for name, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport, locale="en-GB")
            page = context.new_page()
            problems = watch(page)
            log_in(page, server.url)
            page.get_by_role("link", name="Calendar").click()
            page.wait_for_url(server.url + "/bookings/calendar")
            page.locator("#calendar").wait_for()
            assert horizontal_overflow(page) == 0, name
            assert small_touch_targets(page) == [], name
            weekdays = page.locator(".calendar-weekdays")
            assert weekdays.is_visible() == (name == "desk")  # a grid on a desk, an agenda on a phone
            if name == "phone":
                # The narrowest phones: the month and its arrows on one line (the hidden loading
                # indicator takes no room), and nothing scrolls sideways.
                page.set_viewport_size({"width": 320, "height": 640})
                assert horizontal_overflow(page) == 0
                title, arrows = (page.locator(s).bounding_box() for s in ("#calendar-title", ".calendar-nav"))
                assert arrows["y"] < title["y"] + title["height"], (title, arrows)
                page.set_viewport_size(viewport)

            page.locator(f'li[data-date="{today}"] a.cal-link').click()
            page.wait_for_url(server.url + f"/bookings/calendar/day?date={today}")
            day = page.locator("#calendar-day")
            day.locator("a.booking-link").first.wait_for()
            assert "ST-JOSE01" in day.inner_html() and "José García" in day.inner_text()
            day.locator('a.booking-link[data-reference="ST-JOSE01"]').click()
            page.wait_for_url(server.url + f"/bookings/ST-JOSE01?day={today}")
            page.locator("#drawer .drawer-panel").wait_for()
            page.keyboard.press("Escape")
            page.wait_for_url(server.url + f"/bookings/calendar/day?date={today}")
            # Reloaded, the drawer's URL opens over the same calendar day; Escape returns to it.
            day.locator('a.booking-link[data-reference="ST-JOSE01"]').click()
            page.wait_for_url(server.url + f"/bookings/ST-JOSE01?day={today}")
            page.reload()
            page.locator("#drawer .drawer-panel").wait_for()
            assert "José García" in page.locator("#calendar-day").inner_text()
            page.keyboard.press("Escape")
            page.wait_for_url(server.url + f"/bookings/calendar/day?date={today}")
            until(page, "() => document.activeElement && document.activeElement.dataset.reference === 'ST-JOSE01'")
            # Done with the day: back to the month, the day's own place in it focused.
            page.get_by_role("link", name="Back to the month").click()
            page.wait_for_url(server.url + f"/bookings/calendar?month={today[:7]}")
            until(page, "() => !document.getElementById('day-title')")
            until(page, "d => document.activeElement && document.activeElement.closest('li[data-date]')"
                        " && document.activeElement.closest('li[data-date]').dataset.date === d", today)
            assert horizontal_overflow(page) == 0, name
            assert problems.csp_violations == problems.page_errors == problems.console_errors == [], (name, problems)
            context.close()


@pytest.mark.browser
def test_axe_finds_no_serious_or_critical_violation_on_the_list_calendar_and_drawer(settings):
    axe = AXE.read_text()
    with served_app(settings, seed=seed) as server, chromium() as browser:
        found = {}
        for name, viewport in VIEWPORTS.items():
            # CSP (script-src 'self') rightly refuses an injected script: this context alone bypasses it.
            context = browser.new_context(viewport=viewport, locale="en-GB", bypass_csp=True)
            page = context.new_page()
            log_in(page, server.url)
            for screen in ("/bookings?q=dubois", "/bookings/calendar/day?date=" + server.seeded.today.isoformat(),
                           "/bookings/ST-HELE02"):
                page.goto(server.url + screen)
                page.add_script_tag(content=axe)
                violations = page.evaluate("""async () => {
                    const result = await axe.run(document, {resultTypes: ['violations']});
                    return result.violations
                      .filter(v => v.impact === 'serious' || v.impact === 'critical')
                      .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
                }""")
                found[(name, screen)] = violations
            context.close()
        assert all(not v for v in found.values()), {k: v for k, v in found.items() if v}


@pytest.mark.browser
def test_without_a_connection_the_screen_says_so_and_recovers(settings):
    with served_app(settings, seed=seed) as server, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORTS["phone"], locale="en-GB")
        page = context.new_page()
        log_in(page, server.url)
        alert = page.locator("#connection-alert")
        assert not alert.is_visible()

        context.set_offline(True)
        page.locator("#filter-q").fill("dubois")
        alert.wait_for(state="visible")
        assert alert.get_attribute("role") == "alert"
        assert "No connection: nothing was changed." in alert.inner_text()
        assert len(listed(page)) == 25  # the list as it was, not an error inside it
        page.get_by_role("button", name="OK").click()
        assert not alert.is_visible()
        page.locator("a.booking-link").first.click()  # a booking cannot open offline either: said, not silent
        alert.wait_for(state="visible")
        assert not drawer_open(page) and page.url == server.url + "/bookings"
        page.get_by_role("button", name="OK").click()
        assert not alert.is_visible()

        context.set_offline(False)
        page.locator("#filter-q").fill("dubois ")
        page.locator("#filter-q").press("Enter")
        wait_for_list(page, ["ST-HELE02", "ST-HELE03"])
        assert not alert.is_visible()
        context.set_offline(True)
        page.locator("#filter-q").fill("jose")
        alert.wait_for(state="visible")
        context.set_offline(False)
        page.locator("#filter-q").fill("josé")
        wait_for_list(page, ["ST-JOSE01"])
        assert not alert.is_visible()  # the next answer hides it
        context.close()
