"""Bookings: writing them sealed and indexed; reading them back filtered, by day, and in detail."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count, Sum
from piccolo.querystring import QueryString

from domain.crypto import NAME_PREFIX_MIN, name_matches, name_words, normalise_email, normalise_phone
from domain.customers import CustomerView, open_customer
from domain.scope import Scope
from domain.tables import Booking, Customer, Experience, NameToken, Participant

BOOKING_STATUSES = ("pending", "confirmed", "completed", "cancelled", "no_show")
PAYMENT_STATUSES = ("unpaid", "partial", "paid", "refunded")
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


@dataclass(frozen=True)
class ParticipantInput:
    name: str
    age: int | None = None
    answers: dict = field(default_factory=dict)  # the experience's participant fields: key → value


def new_reference(scope: Scope) -> str:
    prefix = "".join(part[0] for part in scope.slug.split("-") if part)[:2].upper() or "HO"
    return prefix + "-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


# A booking's and a participant's columns, in the order booking_rows gives their values.
BOOKING_ROW = ("id", "provider", "reference", "customer", "slot", "experience", "starts_at", "participant_count",
               "total_cents", "paid_cents", "refunded_cents", "currency", "payment_status", "status", "comments",
               "special_needs", "submitted_at", "source")
PARTICIPANT_ROW = ("id", "provider", "booking", "position", "name", "age", "answers")


def booking_rows(scope: Scope, *, customer_id: uuid.UUID, slot_id: int, experience_id: int, starts_at: datetime,
                 reference: str, participants: Sequence[ParticipantInput], total_cents: int, paid_cents: int = 0,
                 refunded_cents: int = 0, currency: str | None = None, payment_status: str = "unpaid",
                 status: str = "confirmed", comments: str | None = None, special_needs: str | None = None,
                 submitted_at: datetime, source: str = "website", booking_id: uuid.UUID,
                 participant_ids: Sequence[uuid.UUID]) -> tuple[tuple, list[tuple]]:
    """A new booking's values in BOOKING_ROW order and its participants' in PARTICIPANT_ROW order,
    sealed. No I/O. (Plain values, like customer_row: the bulk loader writes them directly.)"""
    if status not in BOOKING_STATUSES or payment_status not in PAYMENT_STATUSES:
        raise ValueError("unknown status")
    s, pid, bid = scope.sealer, scope.provider_id, booking_id
    row = (
        bid, pid, reference, customer_id, slot_id, experience_id, starts_at, len(participants), total_cents,
        paid_cents, refunded_cents, currency or scope.currency, payment_status, status,
        s.seal("booking", "comments", bid, comments or None),
        s.seal("booking", "special_needs", bid, special_needs or None),
        submitted_at, source,
    )
    people = []
    for position, (p, participant_id) in enumerate(zip(participants, participant_ids, strict=True)):
        key = str(participant_id)  # the associated data holds the id as text: format it once
        people.append((
            participant_id, pid, bid, position,
            s.seal("participant", "name", key, p.name.strip()),
            s.seal("participant", "age", key, None if p.age is None else str(p.age)),
            s.seal_json("participant", "answers", key, p.answers or {}),
        ))
    return row, people


def booking_name_tokens(name_tokens: Callable[[str], set[int]], participant_names: Iterable[str],
                        customer_name_tokens: set[int] | None) -> set[int]:
    """The name tokens a booking indexes: its participants', except those the booker's name gives
    already (a family shares its surname; such a word finds the booking through its customer)."""
    tokens: set[int] = set()
    for name in participant_names:
        tokens |= name_tokens(name)
    return tokens - (customer_name_tokens or set())


def build_booking(scope: Scope, *, participants: Sequence[ParticipantInput],
                  customer_name_tokens: set[int] | None = None, submitted_at: datetime | None = None,
                  booking_id: uuid.UUID | None = None,
                  **fields) -> tuple[Booking, list[Participant], list[NameToken]]:
    """The rows to insert for a booking (see booking_rows) and its name tokens. No I/O.

    `customer_name_tokens`: the booker's, when the caller has them (see booking_name_tokens).
    """
    bid = booking_id or uuid.uuid4()
    row, people = booking_rows(scope, participants=participants, submitted_at=submitted_at or datetime.now(UTC),
                               booking_id=bid, participant_ids=[uuid.uuid4() for _ in participants], **fields)
    tokens = booking_name_tokens(scope.sealer.name_tokens, (p.name for p in participants), customer_name_tokens)
    return (Booking(**dict(zip(BOOKING_ROW, row, strict=True))),
            [Participant(**dict(zip(PARTICIPANT_ROW, values, strict=True))) for values in people],
            [NameToken(provider=scope.provider_id, token=t, booking=bid) for t in tokens])


async def add_booking(scope: Scope, **fields) -> uuid.UUID:
    booking, participants, tokens = build_booking(scope, **fields)
    async with Booking._meta.db.transaction():
        await Booking.insert(booking)
        if participants:
            await Participant.insert(*participants)
        if tokens:
            await NameToken.insert(*tokens)
    return booking.id


# =============================================================================================
# Reading: the Bookings screen's filters, search, calendar and drawer.
#
# Every query below starts from `provider == scope.provider_id`; ciphertexts are opened only
# for the rows about to be shown (one page, one day, one booking).

PAGE_SIZE = 25
PRESETS = ("today", "tomorrow", "week", "upcoming", "past")
SORTS = ("date", "-date", "submitted", "-submitted", "amount", "-amount")
MAX_QUERY_LENGTH = 100
MIN_YEAR, MAX_YEAR = 2000, 2100
OTHER_BOOKINGS_LIMIT = 200
REFERENCE_MAX = 16  # Booking.reference is a Varchar(16)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REFERENCE_PREFIX = re.compile(r"[A-Z0-9]{2}-?[A-Z0-9]*")
_PHONE_CHARS = re.compile(r"[\d\s+().\-/]+")
_MIN_PHONE_DIGITS = 6


@dataclass(frozen=True)
class FilterError:
    """Why one filter value was set aside. `code` is stable; the screen puts it into words.

    Codes: not_a_date, impossible_date, date_out_of_range, dates_reversed, unknown_preset,
    unknown_experience, unknown_status, unknown_payment_status, unknown_sort, bad_page,
    query_too_short, and for the calendar not_a_month.
    """

    field: str
    code: str
    value: str = ""


@dataclass(frozen=True)
class BookingFilters:
    """What the provider asked the Bookings list for. Built only through `parse`, so always valid.

    `preset` and `date_from`/`date_to` combine: the range is their intersection. An empty `sort`
    means "what suits the dates": soonest first for today/tomorrow/this week/upcoming or a date
    range, latest first for the past, and newest submissions first when no date is chosen.
    """

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    preset: str = ""
    experience: int | None = None
    status: str = ""
    payment: str = ""
    sort: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str], *, experience_ids: Collection[int] | None = None,
              ) -> tuple[BookingFilters, tuple[FilterError, ...]]:
        """Read query parameters; each bad value is dropped and reported, the others still apply."""
        errors: list[FilterError] = []

        def text(name: str) -> str:
            value = params.get(name)
            return value.strip() if isinstance(value, str) else ""

        q = " ".join(text("q").split())[:MAX_QUERY_LENGTH]
        if q and not _searchable(q):
            errors.append(FilterError("q", "query_too_short", q))
            q = ""

        dates = {}
        for name in ("from", "to"):
            raw = text(name)
            dates[name] = None
            if raw:
                value, code = _parse_date(raw)
                if code:
                    errors.append(FilterError(name, code, raw))
                dates[name] = value
        if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
            errors.append(FilterError("to", "dates_reversed", text("to")))
            dates["to"] = None

        preset = text("preset")
        if preset and preset not in PRESETS:
            errors.append(FilterError("preset", "unknown_preset", preset))
            preset = ""

        experience = None
        raw = text("experience")
        if raw:
            if raw.isdigit() and (experience_ids is None or int(raw) in experience_ids):
                experience = int(raw)
            else:
                errors.append(FilterError("experience", "unknown_experience", raw))

        status = text("status")
        if status and status not in BOOKING_STATUSES:
            errors.append(FilterError("status", "unknown_status", status))
            status = ""
        payment = text("payment")
        if payment and payment not in PAYMENT_STATUSES:
            errors.append(FilterError("payment", "unknown_payment_status", payment))
            payment = ""
        sort = text("sort")
        if sort and sort not in SORTS:
            errors.append(FilterError("sort", "unknown_sort", sort))
            sort = ""

        page = 1
        raw = text("page")
        if raw:
            if raw.isdigit() and 0 < int(raw) < 1_000_000:
                page = int(raw)
            else:
                errors.append(FilterError("page", "bad_page", raw))

        filters = cls(q=q, date_from=dates["from"], date_to=dates["to"], preset=preset, experience=experience,
                      status=status, payment=payment, sort=sort, page=page)
        return filters, tuple(errors)

    # What the filters mean ----------------------------------------------------------------------

    @property
    def effective_sort(self) -> str:
        if self.sort:
            return self.sort
        if self.preset == "past":
            return "-date"
        if self.preset or self.date_from or self.date_to:
            return "date"
        return "-submitted"

    def time_range(self, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The [start, end) instants, in UTC, of the dates asked for, in the provider's time zone."""
        today = now.astimezone(tz).date()
        start = end = None
        if self.preset == "today":
            start, end = local_midnight(today, tz), local_midnight(today + timedelta(days=1), tz)
        elif self.preset == "tomorrow":
            start, end = local_midnight(today + timedelta(days=1), tz), local_midnight(today + timedelta(days=2), tz)
        elif self.preset == "week":
            monday = today - timedelta(days=today.weekday())
            start, end = local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz)
        elif self.preset == "upcoming":
            start = now.astimezone(UTC)
        elif self.preset == "past":
            end = now.astimezone(UTC)
        if self.date_from:
            first = local_midnight(self.date_from, tz)
            start = first if start is None else max(start, first)
        if self.date_to:
            after = local_midnight(self.date_to + timedelta(days=1), tz)
            end = after if end is None else min(end, after)
        return start, end

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.date_from or self.date_to or self.preset or self.experience
                    or self.status or self.payment)

    def params(self, **changes) -> list[tuple[str, str]]:
        """The filters as query parameters, defaults left out, in a stable order."""
        f = replace(self, **changes)
        pairs = [
            ("q", f.q), ("preset", f.preset),
            ("from", f.date_from.isoformat() if f.date_from else ""),
            ("to", f.date_to.isoformat() if f.date_to else ""),
            ("experience", str(f.experience) if f.experience else ""),
            ("status", f.status), ("payment", f.payment), ("sort", f.sort),
            ("page", str(f.page) if f.page > 1 else ""),
        ]
        return [(k, v) for k, v in pairs if v]

    def query_string(self, **changes) -> str:
        return urlencode(self.params(**changes))


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (a day starting in a DST gap starts when the clocks jump)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _parse_date(raw: str) -> tuple[date | None, str | None]:
    if not _DATE.fullmatch(raw):
        return None, "not_a_date"
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None, "impossible_date"
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return None, "date_out_of_range"
    return value, None


# Free-text search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TextQuery:
    """What a search box entry can mean: an email, a phone number, a reference prefix, name words."""

    text: str
    email: str | None = None  # normalised
    phone: str | None = None  # E.164
    reference_prefixes: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # folded name words of 2+ letters

    @property
    def kind(self) -> str:
        if self.email:
            return "email"
        if self.phone:
            return "phone"
        return "text"

    def matches(self, reference: str, customer_name: str, customer_email: str | None, customer_phone: str | None,
                participant_names: Sequence[str]) -> bool:
        """The re-check after decryption: blind-index tokens are 32-bit and names are cut at 8 letters."""
        if any(reference.startswith(p) for p in self.reference_prefixes):
            return True
        if self.email and normalise_email(customer_email) == self.email:
            return True
        if self.phone and customer_phone == self.phone:
            return True
        if self.words:
            return all(name_matches(customer_name, w) or any(name_matches(n, w) for n in participant_names)
                       for w in self.words)
        return False


def _searchable(q: str) -> bool:
    return bool("@" in q or sum(c.isdigit() for c in q) >= _MIN_PHONE_DIGITS or _reference_prefixes(q)
                or _name_query_words(q))


def _reference_prefixes(q: str) -> tuple[str, ...]:
    compact = q.replace(" ", "").upper()
    if len(compact) > REFERENCE_MAX or not _REFERENCE_PREFIX.fullmatch(compact):
        return ()
    prefixes = [compact]
    if len(compact) > 2 and compact[2] != "-" and len(compact) < REFERENCE_MAX:
        prefixes.append(compact[:2] + "-" + compact[2:])  # "sk7f3" is typed for "SK-7F3…"
    return tuple(prefixes)


def _name_query_words(q: str) -> tuple[str, ...]:
    return tuple(w for w in name_words(q) if len(w) >= NAME_PREFIX_MIN and not any(c.isdigit() for c in w))


def text_query(q: str, phone_region: str) -> TextQuery | None:
    """Decide what a search can be: with an @ an email (exact); mostly digits a phone (any format)
    or a reference; otherwise a reference prefix or name-word prefixes."""
    q = q.strip()
    if not q:
        return None
    if "@" in q:
        return TextQuery(q, email=normalise_email(q))
    phone = None
    if _PHONE_CHARS.fullmatch(q) and sum(c.isdigit() for c in q) >= _MIN_PHONE_DIGITS:
        phone = normalise_phone(q, phone_region)
    return TextQuery(q, phone=phone, reference_prefixes=_reference_prefixes(q),
                     words=() if phone else _name_query_words(q))


# How a search runs. Its candidates — the booking ids its blind-index tokens, the customer index
# and the reference index give — are estimated first (index ranges, counted up to a limit), then:
# - the count is exact from the candidates when they are up to a few thousand (from the indexes
#   alone when no other filter applies); beyond, the provider's bookings are tested one by one with
#   index probes and counting stops at SEARCH_CAP ("more than 1,000");
# - the page is read from the candidates when they are few; otherwise the provider's bookings are
#   walked in the order asked, each tested with index probes, until the page is full — quick
#   precisely because many match.
# Either way the cost follows what is shown, not the provider's size. Measured in docs/benchmarks.md.

SEARCH_CAP = 1000
EXACT_COUNT_LIMIT = 4000  # estimated candidates up to which the count is exact
CANDIDATE_PAGE_LIMIT = 700  # estimated candidates up to which the page is read from them


def _q(sql: str, *args) -> QueryString:
    return QueryString(sql, *args)


def _name_word_ids(pid: int, token: int) -> QueryString:
    """Ids of the bookings whose booker's name or one of whose participants' names has this token."""
    return _q(
        'SELECT "booking"."id" FROM "booking" WHERE "booking"."customer" IN ('
        'SELECT "name_token"."customer" FROM "name_token" WHERE "name_token"."provider" = {} '
        'AND "name_token"."token" = {} AND "name_token"."customer" IS NOT NULL) '
        'UNION SELECT "name_token"."booking" FROM "name_token" WHERE "name_token"."provider" = {} '
        'AND "name_token"."token" = {} AND "name_token"."booking" IS NOT NULL',
        pid, token, pid, token,
    )


def _candidate_ids(scope: Scope, tq: TextQuery) -> QueryString | None:
    """A UNION of the booking ids each meaning of the search finds, every branch provider-scoped."""
    pid, sealer = scope.provider_id, scope.sealer
    parts = []
    for prefix in tq.reference_prefixes:
        # A range the (provider, reference) index serves on both engines and in any collation
        # (references use only [2-9A-Z-], all ≤ "Z"), then LIKE for the exact prefix.
        parts.append(_q('SELECT "booking"."id" FROM "booking" WHERE "booking"."provider" = {} '
                        'AND "booking"."reference" >= {} AND "booking"."reference" <= {} '
                        'AND "booking"."reference" LIKE {}',
                        pid, prefix, prefix + "Z" * REFERENCE_MAX, prefix + "%"))
    by_contact = 'SELECT "booking"."id" FROM "booking" WHERE "booking"."customer" IN ({})'
    if tq.email:
        parts.append(_q(by_contact, _q('SELECT "customer"."id" FROM "customer" WHERE "customer"."provider" = {} '
                                       'AND "customer"."email_index" = {}', pid, sealer.email_token(tq.email))))
    if tq.phone:
        parts.append(_q(by_contact, _q('SELECT "customer"."id" FROM "customer" WHERE "customer"."provider" = {} '
                                       'AND "customer"."phone_index" = {}', pid,
                                       sealer.phone_token(tq.phone, scope.phone_region))))
    tokens = sealer.name_query_tokens(" ".join(tq.words)) if tq.words else []
    if tokens:
        # Each word a prefix of the booker's or a participant's name: the intersection of the words.
        # (Participants' tokens that the booker's name already gives are not stored on the booking,
        # see build_booking: such a word matches through the booker.)
        sql = 'SELECT "w0"."id" FROM ({}) AS "w0"'
        args = [_name_word_ids(pid, tokens[0])]
        for i, token in enumerate(tokens[1:]):
            sql += (" WHERE " if i == 0 else " AND ") + '"w0"."id" IN ({})'
            args.append(_name_word_ids(pid, token))
        parts.append(_q(sql, *args))
    if not parts:
        return None
    return _q(" UNION ".join("{}" for _ in parts), *parts)


def _probe_condition(scope: Scope, tq: TextQuery):
    """The same meanings as per-row tests the indexes answer in one probe each (the broad plan)."""
    pid, sealer = scope.provider_id, scope.sealer
    condition = None

    def either(part):
        nonlocal condition
        condition = part if condition is None else condition | part

    for prefix in tq.reference_prefixes:
        either((Booking.reference >= prefix) & (Booking.reference <= prefix + "Z" * REFERENCE_MAX)
               & Booking.reference.like(prefix + "%"))
    if tq.email:
        either(Booking.customer.is_in(Customer.select(Customer.id).where(
            (Customer.provider == pid) & (Customer.email_index == sealer.email_token(tq.email)))))
    if tq.phone:
        either(Booking.customer.is_in(Customer.select(Customer.id).where(
            (Customer.provider == pid) & (Customer.phone_index == sealer.phone_token(tq.phone, scope.phone_region)))))
    every_word = None
    for token in sealer.name_query_tokens(" ".join(tq.words)) if tq.words else []:
        word = WhereRaw(
            '(EXISTS (SELECT 1 FROM "name_token" WHERE "name_token"."provider" = {} AND "name_token"."token" = {} '
            'AND "name_token"."customer" = "booking"."customer") OR EXISTS (SELECT 1 FROM "name_token" '
            'WHERE "name_token"."provider" = {} AND "name_token"."token" = {} AND "name_token"."booking" = "booking"."id"))',
            pid, token, pid, token)
        every_word = word if every_word is None else every_word & word
    if every_word is not None:
        either(every_word)
    return condition


async def _at_most(query: QueryString, limit: int) -> int:
    """How many rows `query` gives, counting no further than `limit`."""
    rows = await Booking.raw('SELECT COUNT(*) AS "n" FROM ({} LIMIT {}) AS "capped"', query, limit)
    return rows[0]["n"]


async def _estimate(scope: Scope, tq: TextQuery, limit: int) -> int:
    """About how many bookings the search can find (an upper bound for several name words), up to `limit`.

    Email and phone searches find a customer or two: 0. A name word's token rows are one per
    customer (with one booking or a few) or per booking; the rarest word bounds them all.
    """
    pid = scope.provider_id
    estimate = 0
    for prefix in tq.reference_prefixes:
        estimate += await _at_most(_q(
            'SELECT 1 FROM "booking" WHERE "booking"."provider" = {} AND "booking"."reference" >= {} '
            'AND "booking"."reference" <= {}', pid, prefix, prefix + "Z" * REFERENCE_MAX), limit)
    tokens = scope.sealer.name_query_tokens(" ".join(tq.words)) if tq.words else []
    if tokens:
        estimate += min([await _at_most(_q(
            'SELECT 1 FROM "name_token" WHERE "name_token"."provider" = {} AND "name_token"."token" = {}',
            pid, token), limit) for token in tokens])
    return min(estimate, limit)


# Rows of the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperienceChoice:
    id: int
    name: str


@dataclass(frozen=True)
class BookingRow:
    """One line of the Bookings list (and of a calendar day)."""

    id: uuid.UUID
    reference: str
    starts_at: datetime
    experience_id: int
    experience_name: str
    customer_id: uuid.UUID
    customer_name: str
    customer_erased: bool
    participant_count: int
    participant_names: tuple[str, ...]
    total_cents: int
    paid_cents: int
    refunded_cents: int
    currency: str
    payment_status: str
    status: str
    submitted_at: datetime
    has_comments: bool
    has_special_needs: bool
    returning: bool  # the customer has another booking with this provider

    @property
    def due_cents(self) -> int:
        return amount_due(self.status, self.total_cents, self.paid_cents)


def _same_provider(table, provider_id: int) -> WhereRaw:
    """`provider = ?` that no index answers (a unary plus): for look-ups by a handful of ids.

    Without statistics (SQLite has none unless ANALYZE ran) the planner guesses an equality on
    an index's first column selects ~10 rows, so `provider = ? AND id IN (25 ids)` would walk
    the provider's whole index: ~0.4 s at 100,000 bookings. The scope still applies, as a filter
    on the rows the ids find.
    """
    return WhereRaw(f'+"{table._meta.tablename}"."provider" = {{}}', provider_id)


def amount_due(status: str, total_cents: int, paid_cents: int) -> int:
    """What the customer still owes: max(total − paid, 0), and nothing for a cancelled booking.

    Refunds are shown beside it, never subtracted: a refunded cancellation owes nothing, and
    `paid` stays what was received.
    """
    if status == "cancelled":
        return 0
    return max(total_cents - paid_cents, 0)


@dataclass(frozen=True)
class BookingPage:
    rows: list[BookingRow]
    total: int
    page: int
    page_size: int
    search_kind: str = ""  # "", "email", "phone" or "text"
    capped: bool = False  # a broad text search: `total` is SEARCH_CAP and there are more

    @property
    def pages(self) -> int:
        return _pages(self.total, self.page_size)

    @property
    def first_number(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def last_number(self) -> int:
        return min(self.total, self.page * self.page_size)


_ROW_COLUMNS = (
    Booking.id, Booking.reference, Booking.customer, Booking.experience, Booking.starts_at,
    Booking.participant_count, Booking.total_cents, Booking.paid_cents, Booking.refunded_cents, Booking.currency,
    Booking.payment_status, Booking.status, Booking.submitted_at, Booking.comments, Booking.special_needs,
)
_ORDER = {
    "date": (Booking.starts_at, True), "-date": (Booking.starts_at, False),
    "submitted": (Booking.submitted_at, True), "-submitted": (Booking.submitted_at, False),
    "amount": (Booking.total_cents, True), "-amount": (Booking.total_cents, False),
}


async def experience_choices(scope: Scope) -> list[ExperienceChoice]:
    rows = await Experience.select(Experience.id, Experience.name).where(
        Experience.provider == scope.provider_id).order_by(Experience.position).order_by(Experience.id)
    return [ExperienceChoice(r["id"], r["name"]) for r in rows]


def _reading():
    """One connection and one consistent view for a screen's queries (a count and its page agree).

    Outside a transaction each query borrows a connection of its own (or, without the app's
    pool, opens one: ~1.5 ms on SQLite, ~35 ms on PostgreSQL).
    """
    return Booking._meta.db.transaction()


async def search(scope: Scope, filters: BookingFilters, *, now: datetime | None = None) -> BookingPage:
    """One page of the provider's bookings that the filters select, and how many there are in all.

    A handful of indexed queries whatever the page or the provider's size: count, page, then the
    page's customers, participants and the customers' number of bookings (one query each). The
    count comes from the blind indexes; the rare candidate that a 32-bit token or the 8-letter cut
    lets through is dropped from the page after decryption, not from the count.
    """
    async with _reading():
        return await _search(scope, filters, now or datetime.now(UTC))


@dataclass(frozen=True)
class BookingsList:
    """The Bookings list as asked by query parameters: what was understood, what was set aside, the page."""

    filters: BookingFilters
    errors: tuple[FilterError, ...]
    page: BookingPage
    experiences: list[ExperienceChoice]


async def list_bookings(scope: Scope, params: Mapping[str, str], *, with_choices: bool = True,
                        now: datetime | None = None) -> BookingsList:
    """Parse the filters against this provider's experiences and search, in one read transaction.

    `with_choices=False` (the list region alone, without its filter bar) skips loading the
    experiences unless the parameters name one to check.
    """
    async with _reading():
        experiences = await experience_choices(scope) if with_choices or params.get("experience") else []
        filters, errors = BookingFilters.parse(params, experience_ids={e.id for e in experiences})
        page = await _search(scope, filters, now or datetime.now(UTC))
    return BookingsList(filters, errors, page, experiences)


async def _search(scope: Scope, filters: BookingFilters, now: datetime) -> BookingPage:
    tz = ZoneInfo(scope.timezone)
    pid = scope.provider_id
    where = None

    def also(condition):
        nonlocal where
        where = condition if where is None else where & condition

    start, end = filters.time_range(now, tz)
    if start is not None:
        also(Booking.starts_at >= start)
    if end is not None:
        also(Booking.starts_at < end)
    if filters.experience is not None:
        also(Booking.experience == filters.experience)
    if filters.status:
        also(Booking.status == filters.status)
    if filters.payment:
        also(Booking.payment_status == filters.payment)

    tq = text_query(filters.q, scope.phone_region) if filters.q else None
    kind = tq.kind if tq else ""
    column, ascending = _ORDER[filters.effective_sort]

    def page_of(condition, page: int, *extra):
        """The page's ids, in order (bare rows, whatever the plan)."""
        return (Booking.select(Booking.id, *extra).where(condition)
                .order_by(column, ascending=ascending).order_by(Booking.reference, ascending=ascending)
                .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))

    capped = False
    if tq is None:
        scoped = Booking.provider == pid if where is None else (Booking.provider == pid) & where
        total = await Booking.count().where(scoped)
        page = min(filters.page, _pages(total))
        page_ids = page_of(scoped, page).querystrings[0]
    else:
        candidates = _candidate_ids(scope, tq)
        if candidates is None:
            return BookingPage([], 0, 1, PAGE_SIZE, kind)
        estimate = await _estimate(scope, tq, EXACT_COUNT_LIMIT + 1)
        # The candidates lead: `provider` is checked on their rows, not used to walk an index.
        from_candidates = _same_provider(Booking, pid) & WhereRaw('"booking"."id" IN ({})', candidates)
        if where is not None:
            from_candidates &= where
        if estimate <= CANDIDATE_PAGE_LIMIT:
            # Few candidates: every one is read and sorted anyway, so one pass gives the page and the count.
            total, page, ids = await _page_and_count(page_of, from_candidates, filters.page)
            page_ids = QueryString(", ".join("{}" for _ in ids), *ids)
        else:
            probed = (Booking.provider == pid) & _probe_condition(scope, tq)
            if where is not None:
                probed &= where
            if estimate <= EXACT_COUNT_LIMIT and where is None:
                # Every branch of the candidates is the provider's: count them from the indexes alone.
                total = (await Booking.raw('SELECT COUNT(*) AS "n" FROM ({}) AS "candidates"', candidates))[0]["n"]
            elif estimate <= EXACT_COUNT_LIMIT:
                total = await Booking.count().where(from_candidates)
            else:
                total = await _at_most(Booking.select(Booking.id).where(probed).querystrings[0], SEARCH_CAP + 1)
                capped = total > SEARCH_CAP
                total = min(total, SEARCH_CAP)
            page = min(filters.page, _pages(total))
            page_ids = page_of(probed, page).querystrings[0]

    if not total:
        return BookingPage([], 0, 1, PAGE_SIZE, kind)
    # Then the joins, for those 25 only.
    rows = await (
        _row_select(scope, contact=kind in ("email", "phone"))
        .where(_same_provider(Booking, pid) & WhereRaw('"booking"."id" IN ({})', page_ids))
        .order_by(column, ascending=ascending).order_by(Booking.reference, ascending=ascending)
    )
    booking_rows = await _booking_rows(scope, rows, with_participants=True, recheck=tq)
    return BookingPage(booking_rows, total, page, PAGE_SIZE, kind, capped)


def _pages(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // page_size))


async def _page_and_count(page_of, condition, wanted: int) -> tuple[int, int, list]:
    """(total, page, the page's ids) in one query: the page's ids with COUNT(*) OVER () beside them,
    counted over every row the condition selects, before the LIMIT. Asked beyond the last page,
    the last page is read instead."""
    rows = await page_of(condition, wanted, QueryString("COUNT(*) OVER ()", alias="total"))
    if rows:
        return rows[0]["total"], wanted, [r["id"] for r in rows]
    total = await Booking.count().where(condition)
    if not total:
        return 0, 1, []
    last = _pages(total)
    return total, last, [r["id"] for r in await page_of(condition, last)]


def _row_select(scope: Scope, *, contact: bool = False):
    """A list row's columns, its experience's and customer's (joined), and the customer's number of bookings."""
    columns = [
        *_ROW_COLUMNS,
        Booking.experience.name.as_alias("experience_name"),
        Booking.customer.name.as_alias("customer_name"),
        Booking.customer.erased_at.as_alias("customer_erased_at"),
        QueryString('(SELECT COUNT(*) FROM "booking" AS "same_customer" WHERE "same_customer"."customer" = '
                    '"booking"."customer" AND +"same_customer"."provider" = {})', scope.provider_id,
                    alias="customer_bookings"),
    ]
    if contact:
        columns += [Booking.customer.email.as_alias("customer_email"),
                    Booking.customer.phone.as_alias("customer_phone")]
    return Booking.select(*columns)


async def _booking_rows(scope: Scope, rows: list[dict], *, with_participants: bool,
                        recheck: TextQuery | None = None) -> list[BookingRow]:
    """Open these rows' customers (and their participants' names, in one query) for the screen."""
    if not rows:
        return []
    sealer = scope.sealer
    participants: dict[uuid.UUID, list[str]] = {}
    if with_participants:
        for p in await Participant.select(Participant.id, Participant.booking, Participant.name).where(
                _same_provider(Participant, scope.provider_id) & Participant.booking.is_in([r["id"] for r in rows])
        ).order_by(Participant.booking).order_by(Participant.position):
            participants.setdefault(p["booking"], []).append(sealer.open("participant", "name", p["id"], p["name"]))
    result = []
    for r in rows:
        cid = r["customer"]
        name = sealer.open("customer", "name", cid, r["customer_name"]) or ""
        names = tuple(participants.get(r["id"], ()))
        if recheck is not None:
            email = sealer.open("customer", "email", cid, r.get("customer_email"))
            phone = sealer.open("customer", "phone", cid, r.get("customer_phone"))
            if not recheck.matches(r["reference"], name, email, phone, names):
                continue
        result.append(BookingRow(
            id=r["id"], reference=r["reference"], starts_at=r["starts_at"], experience_id=r["experience"],
            experience_name=r["experience_name"] or "", customer_id=cid, customer_name=name,
            customer_erased=r["customer_erased_at"] is not None, participant_count=r["participant_count"],
            participant_names=names, total_cents=r["total_cents"], paid_cents=r["paid_cents"],
            refunded_cents=r["refunded_cents"], currency=r["currency"], payment_status=r["payment_status"],
            status=r["status"], submitted_at=r["submitted_at"], has_comments=r["comments"] is not None,
            has_special_needs=r["special_needs"] is not None, returning=(r["customer_bookings"] or 0) > 1,
        ))
    return result


# The calendar -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperienceDay:
    experience_id: int
    experience_name: str
    bookings: int
    participants: int


@dataclass(frozen=True)
class DaySummary:
    day: date
    bookings: int
    participants: int
    experiences: tuple[ExperienceDay, ...]


@dataclass(frozen=True)
class MonthSummary:
    """A month of the calendar: counts per local day and per experience; cancelled bookings left out."""

    year: int
    month: int
    days: dict[date, DaySummary]
    weeks: list[list[date]]  # Monday-first weeks covering the month, with neighbouring days

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def previous(self) -> date:
        return (self.first_day - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return (self.first_day + timedelta(days=32)).replace(day=1)

    def summary(self, day: date) -> DaySummary | None:
        return self.days.get(day)


def parse_month(raw: str | None, today: date) -> tuple[date, FilterError | None]:
    """`YYYY-MM` → the first day of that month; this month, with an error, for anything else."""
    raw = (raw or "").strip()
    if not raw:
        return today.replace(day=1), None
    match = re.fullmatch(r"(\d{4})-(\d{2})", raw)
    if not match:
        return today.replace(day=1), FilterError("month", "not_a_month", raw)
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return today.replace(day=1), FilterError("month", "not_a_month", raw)
    if not MIN_YEAR <= year <= MAX_YEAR:
        return today.replace(day=1), FilterError("month", "date_out_of_range", raw)
    return date(year, month, 1), None


def parse_day(raw: str | None) -> tuple[date | None, FilterError | None]:
    raw = (raw or "").strip()
    value, code = _parse_date(raw) if raw else (None, "not_a_date")
    return value, FilterError("date", code, raw) if code else None


def today_for(scope: Scope, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(scope.timezone)).date()


def _month_weeks(first: date) -> list[list[date]]:
    start = first - timedelta(days=first.weekday())
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    weeks, day = [], start
    while day <= last:
        weeks.append([day + timedelta(days=i) for i in range(7)])
        day += timedelta(days=7)
    return weeks


async def month_summary(scope: Scope, year: int, month: int,
                        experiences: Sequence[ExperienceChoice] | None = None) -> MonthSummary:
    """Bookings and participants per local day and experience.

    The database groups by instant (a slot's start) over the UTC range of the local month;
    Python puts each instant on its local day with zoneinfo, so a booking at 00:30 on a
    daylight-saving change day lands on that day, not the one before.
    """
    async with _reading():
        return await _month_summary(scope, year, month, experiences)


async def _month_summary(scope: Scope, year: int, month: int,
                         experiences: Sequence[ExperienceChoice] | None) -> MonthSummary:
    tz = ZoneInfo(scope.timezone)
    first = date(year, month, 1)
    after = (first + timedelta(days=32)).replace(day=1)
    rows = await Booking.select(
        Booking.starts_at, Booking.experience, Count(alias="bookings"),
        Sum(Booking.participant_count).as_alias("participants"),
    ).where(
        (Booking.provider == scope.provider_id) & (Booking.starts_at >= local_midnight(first, tz))
        & (Booking.starts_at < local_midnight(after, tz)) & (Booking.status != "cancelled")
    ).group_by(Booking.starts_at, Booking.experience)
    names = {e.id: e.name for e in (experiences if experiences is not None else await experience_choices(scope))}
    order = {eid: i for i, eid in enumerate(names)}
    per_day: dict[date, dict[int, list[int]]] = {}
    for r in rows:
        day = _as_utc(r["starts_at"]).astimezone(tz).date()
        counts = per_day.setdefault(day, {}).setdefault(r["experience"], [0, 0])
        counts[0] += r["bookings"]
        counts[1] += int(r["participants"] or 0)
    days = {}
    for day, by_experience in per_day.items():
        items = tuple(
            ExperienceDay(eid, names.get(eid, ""), b, p)
            for eid, (b, p) in sorted(by_experience.items(), key=lambda kv: order.get(kv[0], len(order)))
        )
        days[day] = DaySummary(day, sum(i.bookings for i in items), sum(i.participants for i in items), items)
    return MonthSummary(year, month, days, _month_weeks(first))


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class DaySlot:
    """One session of a day: an experience at a start time, with its bookings."""

    starts_at: datetime
    experience_id: int
    experience_name: str
    bookings: list[BookingRow]

    @property
    def participants(self) -> int:
        return sum(b.participant_count for b in self.bookings if b.status != "cancelled")


async def day_bookings(scope: Scope, day: date) -> list[DaySlot]:
    """A local day's bookings, grouped by session, in start-time order (cancelled ones included, marked)."""
    tz = ZoneInfo(scope.timezone)
    rows = await _row_select(scope).where(
        (Booking.provider == scope.provider_id) & (Booking.starts_at >= local_midnight(day, tz))
        & (Booking.starts_at < local_midnight(day + timedelta(days=1), tz))
    ).order_by(Booking.starts_at).order_by(Booking.experience).order_by(Booking.reference)
    booking_rows = await _booking_rows(scope, rows, with_participants=False)
    slots: list[DaySlot] = []
    for row in booking_rows:
        if not slots or (slots[-1].starts_at, slots[-1].experience_id) != (row.starts_at, row.experience_id):
            slots.append(DaySlot(row.starts_at, row.experience_id, row.experience_name, []))
        slots[-1].bookings.append(row)
    return slots


# The drawer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantView:
    name: str
    age: int | None
    answers: tuple[tuple[str, str], ...]  # (label, value), in the experience's field order


@dataclass(frozen=True)
class BookingSummary:
    """Another booking of the same customer, as a line in the drawer."""

    reference: str
    starts_at: datetime
    experience_name: str
    status: str
    payment_status: str
    participant_count: int
    total_cents: int
    currency: str


@dataclass(frozen=True)
class BookingDetail:
    """Everything the drawer shows about one booking and its customer, opened."""

    id: uuid.UUID
    reference: str
    status: str
    payment_status: str
    starts_at: datetime
    ends_at: datetime
    experience_id: int
    experience_name: str
    participant_fields: tuple[dict, ...]
    participants: tuple[ParticipantView, ...]
    customer: CustomerView
    total_cents: int
    paid_cents: int
    refunded_cents: int
    currency: str
    submitted_at: datetime
    source: str
    comments: str | None
    special_needs: str | None
    upcoming: tuple[BookingSummary, ...]
    past: tuple[BookingSummary, ...]

    @property
    def due_cents(self) -> int:
        return amount_due(self.status, self.total_cents, self.paid_cents)

    @property
    def preferences(self) -> str | None:
        return self.customer.preferences


def normalise_reference(reference: str) -> str:
    return reference.strip().upper()[:REFERENCE_MAX]


def _answer_text(value) -> str | bool:
    """An answer as the drawer shows it; a yes/no answer stays a bool, for the template to say in words."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _labelled_answers(fields: Sequence[dict], answers: Mapping) -> tuple[tuple[str, str | bool], ...]:
    """Answers in the experience's field order, labelled in the provider's words; unknown keys last."""
    out, seen = [], set()
    for f in fields:
        key = f.get("key")
        if key in answers and answers[key] not in (None, ""):
            out.append((f.get("label") or key, _answer_text(answers[key])))
        seen.add(key)
    out += [(k, _answer_text(v)) for k, v in answers.items() if k not in seen and v not in (None, "")]
    return tuple(out)


async def booking_detail(scope: Scope, reference: str, *, now: datetime | None = None) -> BookingDetail | None:
    """The booking with this reference, of this provider only: None for an unknown or foreign one."""
    async with _reading():
        return await _booking_detail(scope, reference, now or datetime.now(UTC))


_CUSTOMER_FIELDS = ("name", "email", "phone", "preferences", "notes", "language", "marketing_consent", "created_at",
                   "erased_at")


async def _booking_detail(scope: Scope, reference: str, now: datetime) -> BookingDetail | None:
    pid, sealer = scope.provider_id, scope.sealer
    row = await Booking.select(
        *_ROW_COLUMNS, Booking.source,
        Booking.experience.name.as_alias("experience_name"),
        Booking.experience.duration_minutes.as_alias("duration_minutes"),
        Booking.experience.participant_fields.as_alias("participant_fields"),
        *(getattr(Booking.customer, f).as_alias(f"customer_{f}") for f in _CUSTOMER_FIELDS),
    ).where((Booking.provider == pid) & (Booking.reference == normalise_reference(reference))).first()
    if row is None:
        return None
    bid = row["id"]
    customer = open_customer(scope, {"id": row["customer"], **{f: row[f"customer_{f}"] for f in _CUSTOMER_FIELDS}})
    fields = row["participant_fields"]
    if isinstance(fields, str):
        fields = json.loads(fields or "[]")
    fields = tuple(f for f in fields or () if isinstance(f, dict))
    participants = []
    for p in await Participant.select(Participant.id, Participant.name, Participant.age, Participant.answers).where(
            _same_provider(Participant, pid) & (Participant.booking == bid)).order_by(Participant.position):
        age = sealer.open("participant", "age", p["id"], p["age"])
        answers = sealer.open_json("participant", "answers", p["id"], p["answers"]) or {}
        participants.append(ParticipantView(
            name=sealer.open("participant", "name", p["id"], p["name"]) or "",
            age=int(age) if age and age.isdigit() else None,
            answers=_labelled_answers(fields, answers if isinstance(answers, dict) else {}),
        ))
    # The customer's other bookings, latest first: all of them but for the rare customer with hundreds.
    others = [_summary(o) for o in await Booking.select(
        Booking.reference, Booking.starts_at, Booking.status, Booking.payment_status, Booking.participant_count,
        Booking.total_cents, Booking.currency, Booking.experience.name.as_alias("experience_name"),
    ).where(
        (Booking.customer == row["customer"]) & _same_provider(Booking, pid) & (Booking.id != bid)
    ).order_by(Booking.starts_at, ascending=False).limit(OTHER_BOOKINGS_LIMIT)]
    return BookingDetail(
        id=bid, reference=row["reference"], status=row["status"], payment_status=row["payment_status"],
        starts_at=row["starts_at"], ends_at=row["starts_at"] + timedelta(minutes=row["duration_minutes"] or 0),
        experience_id=row["experience"], experience_name=row["experience_name"] or "",
        participant_fields=fields, participants=tuple(participants), customer=customer,
        total_cents=row["total_cents"], paid_cents=row["paid_cents"], refunded_cents=row["refunded_cents"],
        currency=row["currency"], submitted_at=row["submitted_at"], source=row["source"],
        comments=sealer.open("booking", "comments", bid, row["comments"]),
        special_needs=sealer.open("booking", "special_needs", bid, row["special_needs"]),
        upcoming=tuple(reversed([o for o in others if o.starts_at >= now])),
        past=tuple(o for o in others if o.starts_at < now),
    )


def _summary(row: dict) -> BookingSummary:
    return BookingSummary(row["reference"], row["starts_at"], row["experience_name"] or "", row["status"],
                          row["payment_status"], row["participant_count"], row["total_cents"], row["currency"])
