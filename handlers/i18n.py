"""Languages: gettext catalogs (French, English, Spanish) and Babel formatting in the provider's time zone."""

from __future__ import annotations

import io
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES = {"fr": "Français", "en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "fr"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True)
class Locality:
    """The language and time zone a response is rendered in."""

    language: str = DEFAULT_LANGUAGE
    timezone: str = "Europe/Paris"

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)


_current: ContextVar[Locality] = ContextVar("locality", default=Locality())  # noqa: B039 - frozen


def set_locality(locality: Locality) -> None:
    _current.set(locality)


def current() -> Locality:
    return _current.get()


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def translations(language: str) -> NullTranslations:
    """Compile the .po file in memory: no build step, no .mo files to keep in sync."""
    po = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def gettext(message: str, **params) -> str:
    text = translations(current().language).ugettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    text = translations(current().language).ungettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


_ = gettext


def N_(message: str) -> str:
    """Mark a msgid for extraction, to be translated later (when the language is known)."""
    return message


def pick_language(accept_language: str | None) -> str:
    if not accept_language:
        return DEFAULT_LANGUAGE
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in accept_language.split(",") if part.strip()]
    found = negotiate_locale(wanted, list(LANGUAGES), sep="_") or negotiate_locale(
        [w.split("_")[0] for w in wanted], list(LANGUAGES)
    )
    return found or DEFAULT_LANGUAGE


# Formatting ------------------------------------------------------------------------------------


def local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(current().tz)


def fmt_datetime(dt: datetime | None, format: str = "medium") -> str:
    if dt is None:
        return ""
    loc = current()
    return format_datetime(local(dt), format=format, locale=loc.language)


def fmt_date(value: date | datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return format_date(value, format=format, locale=current().language)


def fmt_time(dt: datetime | None, format: str = "short") -> str:
    if dt is None:
        return ""
    return format_time(local(dt), format=format, locale=current().language)


def fmt_money(cents: int | None, currency: str) -> str:
    if cents is None:
        return ""
    return format_currency(cents / 100, currency, locale=current().language)


def fmt_number(value) -> str:
    return format_decimal(value, locale=current().language)


def install(env) -> None:
    """Give a Jinja environment the gettext callables and the formatting filters."""
    env.add_extension("jinja2.ext.i18n")
    # Jinja's new-style gettext does the %-formatting and escaping itself: hand it the bare lookups.
    env.install_gettext_callables(
        lambda message: translations(current().language).ugettext(message),
        lambda singular, plural, n: translations(current().language).ungettext(singular, plural, n),
        newstyle=True,
    )
    env.filters.update(
        datetime=fmt_datetime,
        date=fmt_date,
        time=fmt_time,
        money=fmt_money,
        number=fmt_number,
    )
    env.globals.update(LANGUAGES=LANGUAGES, locality=current)
