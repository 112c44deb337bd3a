"""The Bookings list over HTTP: every filter, their combinations, the search semantics, sorting, pages, bad input.

Known data (tests/bookings_data.py), in the provider's time zone (Europe/Paris):

    ST-ANNA05  Anna Schmidt    today −30 d     group    45 €  refunded  cancelled
    ST-HELE03  Hélène Dubois   yesterday       private  90 €  paid      completed
    ST-JOSE01  José García     today 12:00     group    90 €  paid      confirmed   (+ Lucía García)
    ST-HELE02  Hélène Dubois   tomorrow 09:00  group    90 €  partial   confirmed   (Léa Dubois, Hugo Martin)
    ST-MARC04  Marc Petit      today +10 d     private  45 €  unpaid    pending

and another provider whose José has the same email and phone, with booking OS-JOSE01.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import domain.bookings as bookings
from domain.bookings import BookingFilters, FilterError, text_query
from domain.customers import add_customer
from tests.bookings_data import ALL_REFERENCES
from tests.helpers import HX


def references(html: str) -> list[str]:
    return re.findall(r'class="booking-link" [^>]*data-reference="([^"]+)"', html)


def row_of(html: str, reference: str) -> str:
    for chunk in html.split('<li class="booking-row')[1:]:
        if f'href="/bookings/{reference}"' in chunk:
            return chunk
    raise AssertionError(f"{reference} is not listed")


def force_broad(monkeypatch) -> None:
    """Make every search take the plan for thousands of candidates: probes, a capped count."""
    async def many(scope, tq, limit):
        return limit

    monkeypatch.setattr(bookings, "_estimate", many)


@pytest.fixture(params=["few candidates", "many candidates"])
def plan(request, monkeypatch):
    """Run a search test through both search plans: they must agree on every result."""
    if request.param == "many candidates":
        force_broad(monkeypatch)
    return request.param


async def listed(client, query: str = "") -> list[str]:
    response = await client.get("/bookings" + (f"?{query}" if query else ""), headers=HX)
    assert response.status_code == 200, response.text
    return references(response.text)


# The list and its two renderings ---------------------------------------------------------------


async def test_the_list_shows_every_booking_of_the_provider_and_none_of_another(owner):
    response = await owner.get("/bookings")
    assert response.status_code == 200
    assert references(response.text) == ["ST-MARC04", "ST-HELE02", "ST-JOSE01", "ST-HELE03", "ST-ANNA05"]
    assert "OS-JOSE01" not in response.text and "José Other" not in response.text
    assert "5 bookings" in response.text


async def test_a_row_shows_date_experience_customer_participants_amount_and_payment_status(owner):
    row = row_of((await owner.get("/bookings")).text, "ST-HELE02")
    assert "Cours collectif" in row
    assert "Hélène Dubois" in row
    assert "2 participants" in row and "Léa Dubois" in row and "Hugo Martin" in row
    assert "€90.00" in row and "Partly paid" in row
    assert "9:00" in row
    assert "Special needs" in row


async def test_the_same_url_renders_the_whole_page_or_only_the_list_for_htmx(owner):
    page = await owner.get("/bookings?q=jose")
    fragment = await owner.get("/bookings?q=jose", headers=HX)
    assert page.text.lstrip().lower().startswith("<!doctype html")
    assert 'id="booking-filters"' in page.text and 'id="booking-list"' in page.text
    assert 'value="jose"' in page.text
    assert fragment.text.lstrip().startswith('<section id="booking-list"')
    assert "<html" not in fragment.text and 'id="booking-filters"' not in fragment.text
    assert references(page.text) == references(fragment.text) == ["ST-JOSE01"]
    for response in (page, fragment):
        assert "HX-Request" in response.headers["vary"]
        assert response.headers["cache-control"] == "no-store"


async def test_a_history_restore_gets_the_whole_page(owner):
    response = await owner.get("/bookings?q=jose", headers={**HX, "HX-History-Restore-Request": "true"})
    assert response.text.lstrip().lower().startswith("<!doctype html")


async def test_the_filter_bar_swaps_the_list_and_pushes_its_url(owner):
    html = (await owner.get("/bookings")).text
    form = re.search(r'<form id="booking-filters"[^>]*>', html, re.S).group(0)
    assert 'hx-get="/bookings"' in form and 'hx-target="#booking-list"' in form and 'hx-push-url="true"' in form
    assert "delay:300ms" in form and 'hx-indicator="#booking-loading"' in form
    for label_for in ("filter-q", "filter-preset", "filter-from", "filter-to", "filter-experience", "filter-status",
                      "filter-payment", "filter-sort"):
        assert f'<label for="{label_for}">' in html, f"{label_for} has no label"


async def test_a_row_opens_the_drawer_with_its_own_url(owner):
    row = row_of((await owner.get("/bookings")).text, "ST-JOSE01")
    assert 'hx-get="/bookings/ST-JOSE01"' in row and 'hx-target="#drawer"' in row and 'hx-push-url="true"' in row


async def test_a_returning_customer_is_marked(owner):
    html = (await owner.get("/bookings")).text
    assert "Returning customer" in row_of(html, "ST-HELE02")
    assert "Returning customer" in row_of(html, "ST-HELE03")
    assert "Returning customer" not in row_of(html, "ST-JOSE01")


# Free-text search ----------------------------------------------------------------------------


NAME_SEARCHES = [
    ("jose", {"ST-JOSE01"}),                      # "jose" finds "José"
    ("JOSÉ", {"ST-JOSE01"}),
    ("garc", {"ST-JOSE01"}),                      # a word prefix
    ("lucia", {"ST-JOSE01"}),                     # a participant
    ("hugo", {"ST-HELE02"}),
    ("lea dubois", {"ST-HELE02"}),                # participant, whose surname only the booker's tokens carry
    ("martin hele", {"ST-HELE02"}),               # one word a participant's, the other the booker's
    ("dubois", {"ST-HELE02", "ST-HELE03"}),
    ("Hélène", {"ST-HELE02", "ST-HELE03"}),
    ("hugo petit", set()),                        # every word must match
    ("xavier", set()),
    ("jose other", set()),                        # the other provider's customer
]
REFERENCE_SEARCHES = [
    ("ST-HELE", {"ST-HELE02", "ST-HELE03"}),
    ("st-hele0", {"ST-HELE02", "ST-HELE03"}),
    ("sthele02", {"ST-HELE02"}),                  # typed without the hyphen
    ("ST-JOSE01", {"ST-JOSE01"}),
    ("OS-JOSE01", set()),                         # another provider's reference
]
EMAIL_SEARCHES = [
    ("jose.garcia@example.com", {"ST-JOSE01"}),
    ("JOSE.GARCIA@EXAMPLE.COM", {"ST-JOSE01"}),
    ("helene.dubois@example.org", {"ST-HELE02", "ST-HELE03"}),
    ("jose.garcia@example", set()),               # exact, not a prefix
]
PHONE_SEARCHES = [
    ("06 12 34 56 78", {"ST-JOSE01"}),            # stored as +33612345678
    ("+33 6 12 34 56 78", {"ST-JOSE01"}),
    ("0033612345678", {"ST-JOSE01"}),
    ("06.98.76.54.32", {"ST-HELE02", "ST-HELE03"}),
    ("+49 151 23456789", {"ST-ANNA05"}),
    ("06 00 00 00 00", set()),
]


async def check_searches(client, cases, hint: str | None = None):
    for query, expected in cases:
        response = await client.get("/bookings", params={"q": query}, headers=HX)
        assert set(references(response.text)) == expected, f"q={query!r}"
        if hint and expected:
            assert hint in response.text, f"q={query!r}"


async def test_search_by_customer_or_participant_name_accent_and_case_free(owner, plan):
    await check_searches(owner, NAME_SEARCHES)


async def test_search_by_reference_prefix(owner, plan):
    await check_searches(owner, REFERENCE_SEARCHES)


async def test_search_by_exact_email(owner, plan):
    await check_searches(owner, EMAIL_SEARCHES, hint="exactly this email")


async def test_search_by_phone_in_any_format(owner, plan):
    await check_searches(owner, PHONE_SEARCHES, hint="whatever the way it is written")


async def test_search_never_reaches_another_providers_customer_with_the_same_email_or_phone(owner, plan):
    for query in ("jose.garcia@example.com", "+33612345678", "jose"):
        response = await owner.get("/bookings", params={"q": query})
        assert "OS-JOSE01" not in response.text and "José Other" not in response.text


async def test_a_broad_search_counts_up_to_a_cap(owner, monkeypatch):
    monkeypatch.setattr(bookings, "SEARCH_CAP", 3)
    force_broad(monkeypatch)
    response = await owner.get("/bookings", params={"q": "ST"}, headers=HX)  # every reference starts with ST
    assert "More than 3 bookings" in response.text
    assert set(references(response.text)) == ALL_REFERENCES  # the page itself is whole
    two = await owner.get("/bookings", params={"q": "ST-HELE"}, headers=HX)  # under the cap: exact
    assert "2 bookings" in two.text and "More than" not in two.text


# Dates --------------------------------------------------------------------------------------


async def test_date_presets_in_the_providers_time_zone(owner, shop):
    today = await listed(owner, "preset=today")
    assert "ST-JOSE01" in today and "ST-HELE02" not in today and "ST-HELE03" not in today
    assert await listed(owner, "preset=tomorrow") == ["ST-HELE02"]
    week = await listed(owner, "preset=week")
    assert "ST-JOSE01" in week and "ST-MARC04" not in week and "ST-ANNA05" not in week
    upcoming = await listed(owner, "preset=upcoming")
    assert {"ST-HELE02", "ST-MARC04"} <= set(upcoming) and not {"ST-HELE03", "ST-ANNA05"} & set(upcoming)
    past = await listed(owner, "preset=past")
    assert {"ST-HELE03", "ST-ANNA05"} <= set(past) and not {"ST-HELE02", "ST-MARC04"} & set(past)


async def test_a_date_range_includes_both_days(owner, shop):
    yesterday, tomorrow = shop.today - timedelta(days=1), shop.today + timedelta(days=1)
    assert set(await listed(owner, f"from={yesterday}&to={tomorrow}")) == {"ST-HELE03", "ST-JOSE01", "ST-HELE02"}
    assert set(await listed(owner, f"from={tomorrow}")) == {"ST-HELE02", "ST-MARC04"}
    assert set(await listed(owner, f"to={yesterday}")) == {"ST-ANNA05", "ST-HELE03"}
    assert set(await listed(owner, f"preset=upcoming&to={tomorrow}")) == {"ST-HELE02"} | (
        {"ST-JOSE01"} if shop.at(0, 12) > datetime.now(UTC) else set())


# Statuses, experiences and their combinations -------------------------------------------------


FILTER_CASES = [
    ("status=cancelled", {"ST-ANNA05"}),
    ("status=pending", {"ST-MARC04"}),
    ("status=confirmed", {"ST-JOSE01", "ST-HELE02"}),
    ("payment=partial", {"ST-HELE02"}),
    ("payment=paid", {"ST-JOSE01", "ST-HELE03"}),
    ("payment=refunded", {"ST-ANNA05"}),
    ("status=completed&payment=paid", {"ST-HELE03"}),
    ("status=confirmed&payment=unpaid", set()),
    ("preset=upcoming&payment=unpaid", {"ST-MARC04"}),
    ("q=dubois&status=completed", {"ST-HELE03"}),
    ("q=dubois&preset=upcoming", {"ST-HELE02"}),
    ("q=06 98 76 54 32&payment=partial", {"ST-HELE02"}),
]


async def test_status_payment_and_combined_filters(owner):
    for query, expected in FILTER_CASES:
        assert set(await listed(owner, query)) == expected, query


async def test_experience_filter_alone_and_combined(owner, shop):
    assert set(await listed(owner, f"experience={shop.private}")) == {"ST-HELE03", "ST-MARC04"}
    assert set(await listed(owner, f"experience={shop.group}&q=dubois")) == {"ST-HELE02"}
    tomorrow = shop.today + timedelta(days=1)
    assert set(await listed(owner, f"experience={shop.group}&from={tomorrow}")) == {"ST-HELE02"}


# Sorting and pages ------------------------------------------------------------------------------


SORTS = [
    ("date", ["ST-ANNA05", "ST-HELE03", "ST-JOSE01", "ST-HELE02", "ST-MARC04"]),
    ("-date", ["ST-MARC04", "ST-HELE02", "ST-JOSE01", "ST-HELE03", "ST-ANNA05"]),
    ("submitted", ["ST-ANNA05", "ST-HELE03", "ST-JOSE01", "ST-HELE02", "ST-MARC04"]),
    ("-submitted", ["ST-MARC04", "ST-HELE02", "ST-JOSE01", "ST-HELE03", "ST-ANNA05"]),
    ("amount", ["ST-ANNA05", "ST-MARC04", "ST-HELE02", "ST-HELE03", "ST-JOSE01"]),  # ties by reference
    ("-amount", ["ST-JOSE01", "ST-HELE03", "ST-HELE02", "ST-MARC04", "ST-ANNA05"]),
]


async def test_sort_orders(owner):
    for sort, expected in SORTS:
        assert await listed(owner, f"sort={sort}") == expected, sort


async def test_default_order_follows_the_dates_asked_for(owner):
    # (Today's 12:00 booking is past or upcoming depending on when the test runs.)
    past = [r for r in await listed(owner, "preset=past") if r != "ST-JOSE01"]
    upcoming = [r for r in await listed(owner, "preset=upcoming") if r != "ST-JOSE01"]
    assert past == ["ST-HELE03", "ST-ANNA05"]  # latest first
    assert upcoming == ["ST-HELE02", "ST-MARC04"]  # soonest first


async def test_pages_keep_the_filters_and_the_last_page_is_the_limit(owner, shop):
    bulk = await add_customer(shop.scope, name="Zoé Bulk", email="zoe@example.com")
    for i in range(30):
        await shop.add(bulk, reference=f"ST-BULK{i:02d}", starts_at=shop.at(20 + i, 10), submitted_days_ago=2)
    first = await owner.get("/bookings", params={"q": "bulk", "sort": "date"}, headers=HX)
    assert "30 bookings" in first.text and "Page 1 of 2" in first.text
    assert references(first.text) == [f"ST-BULK{i:02d}" for i in range(25)]
    next_link = re.search(r'<a class="button" rel="next" href="([^"]+)"[^>]*>', first.text)
    assert next_link and 'hx-push-url="true"' in next_link.group(0) and 'hx-target="#booking-list"' in next_link.group(0)
    url = next_link.group(1).replace("&amp;", "&")
    assert "q=bulk" in url and "sort=date" in url and "page=2" in url
    second = await owner.get(url, headers=HX)
    assert references(second.text) == [f"ST-BULK{i:02d}" for i in range(25, 30)]
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    beyond = await owner.get("/bookings", params={"q": "bulk", "sort": "date", "page": "9"}, headers=HX)
    assert references(beyond.text) == references(second.text)


async def test_one_booking_is_counted_in_the_singular_and_none_shows_an_empty_state(owner):
    assert "1 booking<" in (await owner.get("/bookings?q=ST-JOSE01", headers=HX)).text.replace("\n", "")
    empty = await owner.get("/bookings?q=xavier", headers=HX)
    assert "No booking matches these filters." in empty.text and "0 bookings" in empty.text
    # A search that finds nothing says how searching works (a half-typed phone or email finds nothing).
    how = "emails and phone numbers only when typed whole"
    assert how in (await owner.get("/bookings?q=06 98 76", headers=HX)).text
    assert how in (await owner.get("/bookings?q=helene.dubois@", headers=HX)).text
    other_filters = await owner.get("/bookings?status=no_show", headers=HX)
    assert "No booking matches these filters." in other_filters.text and how not in other_filters.text


# Bad input: a message in the filter bar, the list still there ----------------------------------


BAD_INPUT = [
    ("from=2026-02-30", "2026-02-30 does not exist in the calendar"),
    ("to=banana", "“banana” is not a date"),
    ("from=1850-01-01", "between the years 2000 and 2100"),
    ("from=2026-06-10&to=2026-06-01", "The end date is before the start date"),
    ("status=bogus", "Unknown booking status “bogus”"),
    ("payment=free", "Unknown payment status “free”"),
    ("preset=someday", "Unknown choice of dates “someday”"),
    ("sort=random", "Unknown order “random”"),
    ("page=abc", "“abc” is not a page number"),
    ("experience=999999", "This experience does not exist"),
    ("q=a", "Type at least 2 letters"),
]


async def test_bad_input_is_named_in_the_filter_bar_and_the_list_still_shows(owner):
    for query, message in BAD_INPUT:
        page = await owner.get(f"/bookings?{query}")
        assert page.status_code == 200, query
        messages = re.search(r'<div id="filter-messages"[^>]*>(.*?)</div>', page.text, re.S).group(1)
        assert message in messages, query
        assert set(references(page.text)) == ALL_REFERENCES, query
        if not query.startswith("page="):  # every other bad value has its control marked
            assert 'aria-invalid="true"' in page.text, query

        fragment = await owner.get(f"/bookings?{query}", headers=HX)
        assert fragment.status_code == 200, query  # htmx swaps it like any list; never an error page
        assert fragment.text.lstrip().startswith('<section id="booking-list"'), query
        partial = re.search(r'<hx-partial hx-target="#filter-messages"[^>]*>(.*?)</hx-partial>', fragment.text, re.S)
        assert partial and message in partial.group(1), query
        assert set(references(fragment.text)) == ALL_REFERENCES, query


async def test_a_good_request_clears_the_messages_of_a_bad_one(owner):
    fragment = await owner.get("/bookings?status=confirmed", headers=HX)
    partial = re.search(r'<hx-partial hx-target="#filter-messages"[^>]*>(.*?)</hx-partial>', fragment.text, re.S)
    assert partial and partial.group(1).strip() == ""


async def test_another_providers_experience_is_an_unknown_experience(owner, vault, shop):
    from tests.bookings_data import new_shop

    stranger = await new_shop(vault, "stranger-shop")
    response = await owner.get(f"/bookings?experience={stranger.group}", headers=HX)
    assert "This experience does not exist" in response.text
    assert set(references(response.text)) == ALL_REFERENCES


async def test_the_list_needs_a_login(client, shop):
    response = await client.get("/bookings", follow_redirects=False)
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


# The domain's reading of the filters (no database) --------------------------------------------


@pytest.mark.parametrize(("params", "field", "code"), [
    ({"from": "2026-02-30"}, "from", "impossible_date"),
    ({"to": "30/02/2026"}, "to", "not_a_date"),
    ({"from": "2200-01-01"}, "from", "date_out_of_range"),
    ({"from": "2026-05-02", "to": "2026-05-01"}, "to", "dates_reversed"),
    ({"preset": "soon"}, "preset", "unknown_preset"),
    ({"experience": "x1"}, "experience", "unknown_experience"),
    ({"status": "done"}, "status", "unknown_status"),
    ({"payment": "free"}, "payment", "unknown_payment_status"),
    ({"sort": "name"}, "sort", "unknown_sort"),
    ({"page": "0"}, "page", "bad_page"),
    ({"q": "!"}, "q", "query_too_short"),
])
def test_filters_report_each_bad_value_with_a_code(params, field, code):
    filters, errors = BookingFilters.parse(params)
    assert errors == (FilterError(field, code, params[field]),)
    assert filters == (BookingFilters(date_from=date(2026, 5, 2)) if code == "dates_reversed" else BookingFilters())


def test_good_filters_round_trip_through_their_query_string():
    filters, errors = BookingFilters.parse({"q": " José  García ", "from": "2026-07-01", "to": "2026-07-31",
                                            "preset": "upcoming", "experience": "3", "status": "confirmed",
                                            "payment": "paid", "sort": "-amount", "page": "2"})
    assert not errors
    assert filters.q == "José García"
    again, _ = BookingFilters.parse(dict(filters.params()))
    assert again == filters
    assert "page" not in dict(filters.params(page=1))


def test_time_range_uses_the_local_day_across_daylight_saving():
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 10, 25, 10, 0, tzinfo=UTC)  # Sunday, the clocks went back at 03:00
    start, end = BookingFilters(preset="today").time_range(now, paris)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC) and end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    start, end = BookingFilters(preset="week").time_range(now, paris)
    assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC) and end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    start, end = BookingFilters(date_from=date(2026, 3, 29), date_to=date(2026, 3, 29)).time_range(now, paris)
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC) and end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    start, end = BookingFilters(preset="upcoming", date_to=date(2026, 10, 26)).time_range(now, paris)
    assert start == now and end == datetime(2026, 10, 26, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(("query", "kind", "email", "phone", "words"), [
    ("Jose.Garcia@Example.com", "email", "jose.garcia@example.com", None, ()),
    ("06 12 34 56 78", "phone", None, "+33612345678", ()),
    ("+44 7700 900123", "phone", None, "+447700900123", ()),
    ("José García", "text", None, None, ("jose", "garcia")),
    ("ST-7F3K", "text", None, None, ("st",)),
])
def test_what_a_search_is_taken_for(query, kind, email, phone, words):
    tq = text_query(query, "FR")
    assert (tq.kind, tq.email, tq.phone, tq.words) == (kind, email, phone, words)
