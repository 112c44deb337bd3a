"""The calendar: bookings and participants per local day and experience, and a day's bookings inline.

Days are the provider's (Europe/Paris): on 2026-10-25 the clocks go back at 03:00 (UTC+2 → UTC+1),
on 2026-03-29 they go forward at 02:00 (UTC+1 → UTC+2). A booking at 00:30 local on such a day is
still 22:30 or 23:30 UTC the day before, and must land on its local day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from domain.bookings import month_summary
from domain.customers import add_customer
from tests.bookings_data import PARIS, new_shop
from tests.helpers import HX


def local(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
async def shop(vault):
    """Bookings around both daylight-saving changes of 2026 and the month boundaries, plus another provider's."""
    shop = await new_shop(vault, "cal-test")
    lou = await add_customer(shop.scope, name="Lou Marin", email="lou@example.com")
    two = [("Lou Marin", 30, {}), ("Noa Marin", 8, {})]
    await shop.add(lou, reference="CT-OCT24A", starts_at=local(2026, 10, 24, 23, 30))            # 21:30 UTC Oct 24
    await shop.add(lou, reference="CT-OCT25A", starts_at=local(2026, 10, 25, 0, 30),             # 22:30 UTC Oct 24
                   participants=two)
    await shop.add(lou, reference="CT-OCT25B", starts_at=local(2026, 10, 25, 23, 30),            # 22:30 UTC Oct 25
                   experience=shop.private)
    await shop.add(lou, reference="CT-OCT26A", starts_at=local(2026, 10, 26, 0, 30))             # 23:30 UTC Oct 25
    await shop.add(lou, reference="CT-NOV01A", starts_at=local(2026, 11, 1, 0, 30))              # 23:30 UTC Oct 31
    await shop.add(lou, reference="CT-OCT01A", starts_at=local(2026, 10, 1, 0, 30))              # 22:30 UTC Sep 30
    await shop.add(lou, reference="CT-OCT25X", starts_at=local(2026, 10, 25, 10, 0),
                   status="cancelled", payment_status="refunded")
    await shop.add(lou, reference="CT-MAR29A", starts_at=local(2026, 3, 29, 0, 30))              # 23:30 UTC Mar 28
    await shop.add(lou, reference="CT-MAR29B", starts_at=local(2026, 3, 29, 23, 30))             # 21:30 UTC Mar 29
    await shop.add(lou, reference="CT-MAR28A", starts_at=local(2026, 3, 28, 23, 30))             # 22:30 UTC Mar 28
    other = await new_shop(vault, "other-cal")
    stranger = await add_customer(other.scope, name="Stranger Danger")
    await other.add(stranger, reference="OC-OCT25A", starts_at=local(2026, 10, 25, 0, 30))
    return shop


def cell(html: str, day: str) -> str:
    match = re.search(rf'<li class="cal-day[^"]*" data-date="{day}">(.*?)</li>\s*(?=<li|</ol>)', html, re.S)
    assert match, f"no cell for {day}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


async def test_a_month_counts_bookings_and_participants_per_local_day_across_the_autumn_change(shop):
    october = await month_summary(shop.scope, 2026, 10)
    assert october.summary(date(2026, 10, 24)).bookings == 1
    day = october.summary(date(2026, 10, 25))
    assert (day.bookings, day.participants) == (2, 3)  # 00:30 and 23:30 local; the cancelled one left out
    assert [(e.experience_name, e.bookings, e.participants) for e in day.experiences] == [
        ("Cours collectif", 1, 2), ("Cours particulier", 1, 1)]
    assert october.summary(date(2026, 10, 26)).bookings == 1
    assert october.summary(date(2026, 10, 1)).bookings == 1       # 22:30 UTC on September 30
    assert october.summary(date(2026, 10, 31)) is None            # 00:30 on November 1 is November's
    assert (await month_summary(shop.scope, 2026, 11)).summary(date(2026, 11, 1)).bookings == 1
    assert (await month_summary(shop.scope, 2026, 9)).days == {}


async def test_a_month_counts_per_local_day_across_the_spring_change(shop):
    march = await month_summary(shop.scope, 2026, 3)
    assert march.summary(date(2026, 3, 28)).bookings == 1
    assert march.summary(date(2026, 3, 29)).bookings == 2
    assert march.weeks[0][0] == date(2026, 2, 23) and all(len(w) == 7 for w in march.weeks)  # Monday-first


async def test_the_calendar_page_shows_the_counts_in_each_day_and_never_another_providers(owner):
    response = await owner.get("/bookings/calendar?month=2026-10")
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().lower().startswith("<!doctype html") and "October 2026" in html
    assert cell(html, "2026-10-24").startswith("Saturday 24 1 booking, 1 participant")
    assert "2 bookings, 3 participants" in cell(html, "2026-10-25")
    assert "Cours collectif: 2 participants (1 booking)" in cell(html, "2026-10-25")
    assert "Cours particulier: 1 participant (1 booking)" in cell(html, "2026-10-25")
    assert "1 booking" in cell(html, "2026-10-26")
    assert "booking" not in cell(html, "2026-10-31")
    assert "Stranger" not in html and "OC-OCT25A" not in html
    assert "HX-Request" in response.headers["vary"]


async def test_the_month_is_a_fragment_for_htmx_with_previous_and_next_links(owner):
    response = await owner.get("/bookings/calendar?month=2026-10", headers=HX)
    html = response.text
    assert html.lstrip().startswith('<section id="calendar"') and "<html" not in html
    for month in ("2026-09", "2026-11"):
        link = re.search(rf'<a class="button" href="/bookings/calendar\?month={month}"[^>]*>', html).group(0)
        assert 'hx-target="#calendar"' in link and 'hx-push-url="true"' in link
    day_link = re.search(r'<a class="cal-link" href="/bookings/calendar/day\?date=2026-10-25"[^>]*>', html).group(0)
    assert 'hx-target="#calendar-day"' in day_link and 'hx-push-url="true"' in day_link


async def test_this_month_marks_today(owner, shop):
    html = (await owner.get("/bookings/calendar", headers=HX)).text
    today = shop.today.isoformat()
    assert re.search(rf'<li class="cal-day[^"]*is-today[^"]*" data-date="{today}">', html)
    assert 'aria-current="date"' in html


async def test_a_day_shows_its_sessions_and_bookings_each_opening_its_drawer(owner):
    response = await owner.get("/bookings/calendar/day?date=2026-10-25", headers=HX)
    html = response.text
    assert response.status_code == 200 and "<html" not in html
    assert "Sunday, October 25, 2026" in html
    refs = re.findall(r'class="booking-link" [^>]*data-reference="([^"]+)"', html)
    assert refs == ["CT-OCT25A", "CT-OCT25X", "CT-OCT25B"]  # by time: 00:30, 10:00 (cancelled), 23:30
    assert "Cancelled" in html
    assert 'hx-target="#drawer"' in html
    sessions = re.findall(r'<h4 id="slot-\d+">(.*?)</h4>', html, re.S)
    first = " ".join(sessions[0].split())  # Babel puts a narrow no-break space before AM
    assert len(sessions) == 3 and "12:30 AM" in first and "2 participants" in first
    assert "OC-OCT25A" not in html


async def test_a_day_loaded_directly_is_the_calendar_of_its_month_with_the_day_open(owner):
    response = await owner.get("/bookings/calendar/day?date=2026-03-29")
    html = response.text
    assert html.lstrip().lower().startswith("<!doctype html") and "March 2026" in html
    panel = html.split('id="calendar-day"', 1)[1]
    assert "CT-MAR29A" in panel and "CT-MAR29B" in panel and "CT-MAR28A" not in panel
    assert re.search(r'<li class="cal-day[^"]*is-selected[^"]*" data-date="2026-03-29">', html)


async def test_bad_months_and_days_are_named_and_the_calendar_still_shows(owner, shop):
    response = await owner.get("/bookings/calendar?month=2026-13", headers=HX)
    assert response.status_code == 200
    assert "“2026-13” is not a month" in response.text
    assert f'data-date="{shop.today.isoformat()}"' in response.text  # this month instead
    day = await owner.get("/bookings/calendar/day?date=2026-02-30", headers=HX)
    assert day.status_code == 200 and "does not exist in the calendar" in day.text
    page = await owner.get("/bookings/calendar/day?date=nope")
    assert page.status_code == 200 and "is not a date" in page.text and 'id="calendar"' in page.text


async def test_the_view_switch_links_the_list_and_the_calendar(owner):
    html = (await owner.get("/bookings/calendar?month=2026-10")).text
    switch = re.search(r'<nav class="view-switch".*?</nav>', html, re.S).group(0)
    assert re.search(r'<a href="/bookings/calendar"[^>]*aria-current="page"', switch)
    assert 'hx-select="#bookings-view"' in switch and 'hx-push-url="true"' in switch
