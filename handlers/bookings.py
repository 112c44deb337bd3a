"""The Bookings screen: the filtered list, the calendar and its days, and the booking drawer."""

from __future__ import annotations

from babel.dates import get_day_names
from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from domain import links
from domain.bookings import (
    BOOKING_STATUSES,
    PAYMENT_STATUSES,
    PRESETS,
    SORTS,
    BookingDetail,
    BookingFilters,
    FilterError,
    booking_detail,
    day_bookings,
    list_bookings,
    month_summary,
    parse_day,
    parse_month,
    today_for,
)
from domain.scope import Scope
from handlers.i18n import LANGUAGES, Locality, _, current, fmt_date, fmt_time, set_locality
from handlers.web import ProviderScope, render, wants_fragment

LIST_URL = "/bookings"
CALENDAR_DAY_URL = "/bookings/calendar/day"


def _field_label(field: str) -> str:
    return {
        "q": _("Search"), "from": _("From"), "to": _("To"), "preset": _("Dates"), "experience": _("Experience"),
        "status": _("Booking status"), "payment": _("Payment status"), "sort": _("Sort by"), "page": _("Page"),
        "month": _("Month"), "date": _("Day"),
    }.get(field, field)


def filter_message(error: FilterError) -> str:
    """A filter the domain set aside, in the provider's words (the value shown is what they typed)."""
    params = {"field": _field_label(error.field), "value": error.value[:40]}
    messages = {
        "not_a_date": _("%(field)s: “%(value)s” is not a date. Pick one in the calendar or write it as YYYY-MM-DD."),
        "impossible_date": _("%(field)s: %(value)s does not exist in the calendar."),
        "date_out_of_range": _("%(field)s: choose a date between the years 2000 and 2100."),
        "dates_reversed": _("The end date is before the start date: the end date is ignored."),
        "unknown_preset": _("Unknown choice of dates “%(value)s”: showing every date."),
        "unknown_experience": _("This experience does not exist: showing every experience."),
        "unknown_status": _("Unknown booking status “%(value)s”: showing every status."),
        "unknown_payment_status": _("Unknown payment status “%(value)s”: showing every payment status."),
        "unknown_sort": _("Unknown order “%(value)s”: using the default order."),
        "bad_page": _("“%(value)s” is not a page number: showing the first page."),
        "query_too_short": _("Type at least 2 letters, a reference, an email or a phone number to search."),
        "not_a_month": _("“%(value)s” is not a month (YYYY-MM): showing this month."),
    }
    return messages.get(error.code, _("%(field)s: this value cannot be used.")) % params


def _choices() -> dict:
    """The options of the filter bar, labelled for the current language."""
    return {
        "presets": [("", _("Any date"))] + list(zip(PRESETS, (_("Today"), _("Tomorrow"), _("This week"),
                                                              _("Upcoming"), _("Past")), strict=True)),
        "statuses": list(zip(BOOKING_STATUSES, (_("Pending"), _("Confirmed"), _("Completed"), _("Cancelled"),
                                                _("No-show")), strict=True)),
        "payment_statuses": list(zip(PAYMENT_STATUSES, (_("Unpaid"), _("Partly paid"), _("Paid"), _("Refunded")),
                                     strict=True)),
        "sorts": [("", _("Best order for the dates"))] + list(zip(SORTS, (
            _("Experience date, soonest first"), _("Experience date, latest first"),
            _("Submitted, oldest first"), _("Submitted, newest first"),
            _("Amount, smallest first"), _("Amount, largest first")), strict=True)),
    }


async def _list_context(request: Request, provider: Scope, *, whole_page: bool = True) -> dict:
    found = await list_bookings(provider, request.query_params, with_choices=whole_page)
    return {
        "provider": provider, "nav": "bookings", "view": "list", "filters": found.filters,
        "invalid_fields": {e.field for e in found.errors}, "messages": [filter_message(e) for e in found.errors],
        "page": found.page, "experiences": found.experiences, "list_url": _list_url(found.filters),
        **_choices(),
    }


def _list_url(filters: BookingFilters) -> str:
    query = filters.query_string()
    return LIST_URL + ("?" + query if query else "")


async def _calendar_context(request: Request, provider: Scope, first=None, errors=()) -> dict:
    today = today_for(provider)
    if first is None:
        first, error = parse_month(request.query_params.get("month"), today)
        errors = (*errors, error) if error else errors
    month = await month_summary(provider, first.year, first.month)
    return {
        "provider": provider, "nav": "bookings", "view": "calendar", "month": month, "today": today,
        **_weekday_names(),
        "messages": [filter_message(e) for e in errors],
        "day": None, "slots": None,
    }


def _weekday_names() -> dict:
    """Monday-first day names in the current language, looked up once rather than once per day."""
    language = current().language
    wide = get_day_names("wide", context="stand-alone", locale=language)
    short = get_day_names("abbreviated", context="stand-alone", locale=language)
    return {"weekdays": [wide[i] for i in range(7)], "weekdays_short": [short[i] for i in range(7)]}


def _message_language(provider: Scope, detail: BookingDetail) -> str:
    """The customer's own language when we speak it, else the provider's."""
    for language in (detail.customer.language, provider.language):
        if language in LANGUAGES:
            return language
    return current().language


def _contact(provider: Scope, detail: BookingDetail) -> links.ContactLinks:
    """mailto:, tel: and wa.me links, the message pre-filled with the customer's first name and booking."""
    before = current()
    set_locality(Locality(language=_message_language(provider, detail), timezone=provider.timezone))
    try:
        params = {"first_name": detail.customer.first_name, "provider": provider.name,
                  "reference": detail.reference, "experience": detail.experience_name,
                  "date": fmt_date(detail.starts_at, "full"), "time": fmt_time(detail.starts_at)}
        message = _("Hello %(first_name)s, this is %(provider)s about your booking %(reference)s: "
                    "%(experience)s on %(date)s at %(time)s.") % params
        subject = _("Your booking %(reference)s with %(provider)s") % params
    finally:
        set_locality(before)
    return links.contact_links(detail.customer.email, detail.customer.phone, region=provider.phone_region,
                               subject=subject, message=message)


class BookingsController(Controller):
    path = "/bookings"

    @get("/", name="bookings")
    async def bookings(self, request: Request, provider: ProviderScope) -> Template:
        """The list; an htmx request gets the list region only. Bad filters are named, never an error page."""
        context = await _list_context(request, provider, whole_page=not wants_fragment(request))
        return render(request, "bookings/page.html", "bookings/_results.html", context)

    @get("/calendar", name="bookings-calendar")
    async def calendar(self, request: Request, provider: ProviderScope) -> Template:
        context = await _calendar_context(request, provider)
        return render(request, "bookings/calendar.html", "bookings/_calendar.html", context)

    @get("/calendar/day", name="bookings-calendar-day")
    async def calendar_day(self, request: Request, provider: ProviderScope) -> Template:
        day, error = parse_day(request.query_params.get("date"))
        errors = (error,) if error else ()
        if wants_fragment(request):
            context = {"provider": provider, "day": day, "day_messages": [filter_message(e) for e in errors],
                       "slots": await day_bookings(provider, day) if day else None}
            return render(request, "bookings/calendar.html", "bookings/_day.html", context)
        context = await _calendar_context(request, provider, first=(day or today_for(provider)).replace(day=1),
                                          errors=errors)
        context.update(day=day, slots=await day_bookings(provider, day) if day else None)
        return render(request, "bookings/calendar.html", None, context)

    @get("/{reference:str}", name="booking")
    async def booking(self, request: Request, provider: ProviderScope, reference: FromPath[str]) -> Template:
        """The drawer; loaded directly, the whole page with the drawer open over the screen it came from.

        That screen travels in the drawer's query: the list's filters (`?q=…&status=…`), or a
        calendar day (`?day=YYYY-MM-DD`); without either, the unfiltered list.
        """
        detail = await booking_detail(provider, reference)
        if detail is None:
            raise NotFoundException()
        day, _unusable = parse_day(request.query_params.get("day"))  # no day or a bad one: the list, as without
        if day:
            under, close_url = f"day={day.isoformat()}", f"{CALENDAR_DAY_URL}?date={day.isoformat()}"
        else:
            filters, _errors = BookingFilters.parse(request.query_params)
            under, close_url = filters.query_string(), _list_url(filters)
        drawer = {"detail": detail, "contact": _contact(provider, detail), "under": under, "close_url": close_url}
        if wants_fragment(request):
            return render(request, "bookings/page.html", "bookings/_drawer.html", {"provider": provider, **drawer})
        if day:
            context = await _calendar_context(request, provider, first=day.replace(day=1))
            context.update(day=day, slots=await day_bookings(provider, day))
            return render(request, "bookings/calendar.html", None, {**context, **drawer})
        context = await _list_context(request, provider)
        return render(request, "bookings/page.html", None, {**context, **drawer})
