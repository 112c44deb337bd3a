"""The booking drawer: everything about one booking and its customer, to this provider only."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, unquote

import pytest

from domain import links
from domain.bookings import amount_due
from domain.customers import add_customer
from tests.helpers import HX, csrf_token, login


def text_of(html: str) -> str:
    """The visible text, tags dropped and spaces squeezed: what a person reads."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def drawer(client, reference: str) -> str:
    response = await client.get(f"/bookings/{reference}", headers=HX)
    assert response.status_code == 200, response.text
    return response.text


async def test_the_drawer_shows_the_booking_its_experience_date_and_statuses(owner):
    html = await drawer(owner, "ST-HELE02")
    assert html.lstrip().startswith('<div class="drawer-panel" role="dialog" aria-labelledby="drawer-title"')
    text = text_of(html)
    assert "Booking ST-HELE02" in text
    assert "Confirmed" in text and "Partly paid" in text
    assert "Cours collectif" in text
    assert "9:00 AM to 11:00 AM" in text  # the experience lasts 120 minutes, shown in Paris time


async def test_the_drawer_shows_participants_with_the_experiences_own_fields(owner):
    text = text_of(await drawer(owner, "ST-HELE02"))
    assert "2 participants" in text
    assert "Léa Dubois , 9 years old Niveau Débutant Taille de combinaison 8 ans" in text
    assert "Hugo Martin , 12 years old Niveau Débutant" in text


async def test_yes_no_answers_are_said_in_words_of_the_users_language(owner, shop):
    customer = await add_customer(shop.scope, name="Inès Roux", email="ines@example.fr")
    await shop.add(customer, reference="ST-YESNO1", starts_at=shop.at(3, 10),
                   participants=[("Inès Roux", 30, {"level": "Débutant", "can_swim": True, "photos_ok": False})])
    text = text_of(await drawer(owner, "ST-YESNO1"))
    assert "Niveau Débutant can_swim Yes photos_ok No" in text
    assert "✓" not in text and "✗" not in text
    await owner.post("/language", data={"language": "fr", "_csrf_token": await csrf_token(owner)})
    assert "can_swim Oui photos_ok Non" in text_of(await drawer(owner, "ST-YESNO1"))


async def test_the_drawer_shows_the_customer_with_mailto_tel_and_whatsapp_links(owner):
    html = await drawer(owner, "ST-HELE02")
    assert "Hélène Dubois" in html
    mailto = re.search(r'href="(mailto:[^"]+)"', html).group(1).replace("&amp;", "&")
    assert mailto.startswith("mailto:helene.dubois@example.org?subject=")
    assert 'href="tel:+33698765432"' in html  # stored from "06 98 76 54 32", E.164
    whatsapp = re.search(r'href="(https://wa\.me/[^"]+)"', html).group(1)
    assert whatsapp.startswith("https://wa.me/33698765432?text=")  # E.164 without its "+"
    message = unquote(whatsapp.split("?text=", 1)[1])
    assert message.startswith("Hello Hélène,") and "ST-HELE02" in message and "Cours collectif" in message
    assert quote("Hélène") in whatsapp  # URL-encoded into the link
    assert "+33 6 98 76 54 32" in html  # the number, readable


async def test_a_customer_without_a_phone_gets_no_call_or_whatsapp_link(owner):
    html = await drawer(owner, "ST-MARC04")
    assert "mailto:marc@example.net" in html
    assert "tel:" not in html and "wa.me" not in html


async def test_the_drawer_shows_amounts_paid_due_and_refunded(owner):
    text = text_of(await drawer(owner, "ST-HELE02"))
    assert "Total €90.00 Paid €27.00 Due €63.00" in text
    assert "Refunded" not in text.split("Amounts", 1)[1].split("Payment status", 1)[0]
    cancelled = text_of(await drawer(owner, "ST-ANNA05"))
    assert "Total €45.00 Paid €45.00 Due €0.00 Refunded €45.00" in cancelled
    assert "Cancelled" in cancelled and "Refunded" in cancelled


async def test_comments_special_needs_and_preferences_are_shown_and_marked(owner):
    html = await drawer(owner, "ST-HELE02")
    flags = re.search(r'<p class="drawer-flags">(.*?)</p>', html, re.S).group(1)
    assert "Special needs" in flags and "Comment" in flags and "Preferences" in flags
    text = text_of(html)
    assert "Special needs Allergie aux arachides" in text
    assert "Comment Nous arriverons vers 8h45." in text
    assert "Preferences Préfère les séances du matin" in text
    plain = text_of(await drawer(owner, "ST-JOSE01"))
    assert "Special needs" not in plain and "Comments and special needs" not in plain


async def test_the_drawer_shows_the_submission_date(owner):
    assert "Submitted" in text_of(await drawer(owner, "ST-HELE02"))


async def test_the_customers_other_bookings_past_and_upcoming_each_open_their_drawer(owner):
    html = await drawer(owner, "ST-HELE02")
    history = html.split('id="drawer-history"', 1)[1]
    assert "Past" in history and "ST-HELE03" in history and "ST-HELE02" not in history
    link = re.search(r'<a href="/bookings/ST-HELE03"[^>]*>', history).group(0)
    assert 'hx-get="/bookings/ST-HELE03"' in link and 'hx-target="#drawer"' in link and 'hx-push-url="true"' in link
    upcoming = (await drawer(owner, "ST-HELE03")).split('id="drawer-history"', 1)[1]
    assert "Upcoming" in upcoming and "ST-HELE02" in upcoming
    alone = text_of(await drawer(owner, "ST-JOSE01"))
    assert "This is the customer's only booking." in alone


async def test_a_direct_load_renders_the_list_with_the_drawer_open(owner):
    response = await owner.get("/bookings/ST-HELE02")
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().lower().startswith("<!doctype html")
    assert 'id="booking-list"' in html and 'id="booking-filters"' in html
    host = html.split('<div id="drawer"', 1)[1]
    assert 'role="dialog"' in host and "Booking ST-HELE02" in host
    assert re.search(r'<a class="button drawer-close" href="/bookings"', host)
    assert "HX-Request" in response.headers["vary"]


async def test_the_drawer_url_keeps_the_filtered_list_under_it(owner):
    # Each row of a filtered list opens a drawer whose URL holds the filters...
    filters = {"q": "dubois", "status": "confirmed"}
    listing = (await owner.get("/bookings", params=filters, headers=HX)).text
    row = re.search(r'<a class="booking-link" href="([^"]+)"[^>]*>', listing)
    assert row.group(1) == "/bookings/ST-HELE02?q=dubois&amp;status=confirmed"
    assert 'hx-get="/bookings/ST-HELE02?q=dubois&amp;status=confirmed"' in row.group(0)
    # ...so that URL, reloaded or shared, opens over the same list (Hélène's completed booking
    # ST-HELE03 stays filtered out), and closing it or moving to another booking keeps the filters.
    page = (await owner.get("/bookings/ST-HELE02", params=filters)).text
    under, host = page.split('<div id="drawer"', 1)
    assert 'value="dubois"' in under and "1 booking" in text_of(under.split('id="booking-list"', 1)[1])
    assert "ST-HELE03" not in under
    assert re.search(r'<a class="button drawer-close" href="/bookings\?q=dubois&amp;status=confirmed"', host)
    assert '<a href="/bookings/ST-HELE03?q=dubois&amp;status=confirmed"' in host
    # The fragment (the drawer alone) keeps them in its links too; bad filters are dropped, not an error.
    fragment = (await owner.get("/bookings/ST-HELE02", params={**filters, "payment": "nope"}, headers=HX)).text
    assert 'href="/bookings?q=dubois&amp;status=confirmed"' in fragment
    assert 'href="/bookings/ST-HELE03?q=dubois&amp;status=confirmed"' in fragment


async def test_a_drawer_opened_from_a_calendar_day_reopens_over_that_day(owner, shop):
    day = shop.today + timedelta(days=1)  # ST-HELE02, tomorrow 09:00 in Paris
    panel = (await owner.get("/bookings/calendar/day", params={"date": day.isoformat()}, headers=HX)).text
    assert f'href="/bookings/ST-HELE02?day={day.isoformat()}"' in panel
    response = await owner.get("/bookings/ST-HELE02", params={"day": day.isoformat()})
    assert response.status_code == 200
    under, host = response.text.split('<div id="drawer"', 1)
    assert 'id="calendar"' in under and 'id="booking-list"' not in under  # the calendar, not the list
    assert f'data-date="{day.isoformat()}"' in under and 'id="day-title"' in under  # with that day open
    assert "Booking ST-HELE02" in host
    assert f'class="button drawer-close" href="/bookings/calendar/day?date={day.isoformat()}"' in host
    # An impossible day is set aside: the drawer opens over the list, as without it.
    fallback = (await owner.get("/bookings/ST-HELE02", params={"day": "2026-02-31"})).text
    assert 'id="booking-list"' in fallback and "Booking ST-HELE02" in fallback


async def test_a_reference_is_found_whatever_its_case(owner):
    assert "Booking ST-HELE02" in await drawer(owner, "st-hele02")


@pytest.mark.parametrize("reference", ["OS-JOSE01", "ST-NOPE99"])
async def test_a_foreign_or_unknown_reference_is_not_found(owner, reference):
    page = await owner.get(f"/bookings/{reference}")
    assert page.status_code == 404
    assert "José Other" not in page.text and "jose.garcia" not in page.text
    fragment = await owner.get(f"/bookings/{reference}", headers=HX)
    assert fragment.status_code == 404
    assert "<html" not in fragment.text and "Not found" in fragment.text


async def test_staff_see_the_drawer_too(client, shop):
    await login(client, "staff@surf-test.test")
    assert "Hélène Dubois" in (await client.get("/bookings/ST-HELE02", headers=HX)).text


# Links and amounts, without HTTP ----------------------------------------------------------------


def test_contact_links_use_e164_and_encode_the_message():
    assert links.tel("06 12 34 56 78", "FR") == "tel:+33612345678"
    assert links.whatsapp("06 12 34 56 78", "Bonjour Léa, à demain !", "FR") == (
        "https://wa.me/33612345678?text=Bonjour%20L%C3%A9a%2C%20%C3%A0%20demain%20%21")
    assert links.whatsapp("+34 612 34 56 78", region="FR") == "https://wa.me/34612345678"
    assert links.whatsapp("not a number", "hi") is None and links.tel(None) is None
    assert links.mailto("lea@example.com", subject="Votre réservation") == (
        "mailto:lea@example.com?subject=Votre%20r%C3%A9servation")
    assert links.mailto("no-at-sign") is None


@pytest.mark.parametrize(("status", "total", "paid", "due"), [
    ("confirmed", 9000, 2700, 6300),
    ("confirmed", 9000, 9000, 0),
    ("confirmed", 9000, 9500, 0),     # overpaid: nothing due (the excess is a refund matter)
    ("cancelled", 9000, 0, 0),        # a cancelled booking owes nothing
    ("cancelled", 4500, 4500, 0),     # refunded or not, never "due"
])
def test_amount_due_is_total_minus_paid_and_nothing_when_cancelled(status, total, paid, due):
    assert amount_due(status, total, paid) == due
