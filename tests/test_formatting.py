"""Dates, times and money are shown in the provider's language and time zone (Babel)."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.i18n import Locality, fmt_date, fmt_money, fmt_time, set_locality


def test_times_are_shown_in_the_provider_time_zone_across_daylight_saving():
    set_locality(Locality(language="fr", timezone="Europe/Paris"))
    # 2026-03-29 is the spring change in Paris: 00:30 UTC is 01:30 (UTC+1) and 07:30 UTC is 09:30 (UTC+2).
    assert fmt_time(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)) == "01:30"
    assert fmt_time(datetime(2026, 3, 29, 7, 30, tzinfo=UTC)) == "09:30"
    # 23:30 UTC on 24 October is already the 25th in Paris.
    assert fmt_date(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "short") == "25/10/2026"


def test_money_follows_the_language():
    set_locality(Locality(language="fr"))
    assert fmt_money(123450, "EUR").replace("\u202f", " ").replace("\xa0", " ") == "1 234,50 €"
    set_locality(Locality(language="en"))
    assert fmt_money(123450, "EUR") == "€1,234.50"
    set_locality(Locality(language="es", timezone="Europe/Madrid"))
    assert fmt_money(4500, "EUR").replace("\xa0", " ") == "45,00 €"
