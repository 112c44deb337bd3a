"""The demo data: two surf schools whose bookings show every case the dashboard must handle, the same for a seed."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from domain import customers, demo
from domain.bookings import (
    BOOKING_STATUSES,
    PAYMENT_STATUSES,
    ParticipantInput,
    add_booking,
    booking_name_tokens,
    build_booking,
)
from domain.config import Database, load_settings
from domain.crypto import normalise_phone
from domain.customers import build_customer, customer_row
from domain.db import make_engine, use_engine
from domain.keys import open_vault
from domain.providers import create_provider
from domain.scope import load_scope
from domain.tables import Booking, Customer, Experience, NameToken, Participant, Provider, Slot

TODAY = date(2026, 12, 3)
NOW = datetime.combine(TODAY, time(8), tzinfo=ZoneInfo("Europe/Paris"))
SMALL = 200
SOURCES = {"website", "phone", "walk-in", "partner"}
REFERENCE = re.compile(r"^[A-Z]{2}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{6}$")


async def _scopes(vault):
    return {slug: await load_scope(vault, slug=slug) for slug in ("les-vagues", "ola-brava")}


async def _bookings(scope) -> list[dict]:
    return await Booking.select().where(Booking.provider == scope.provider_id).order_by(Booking.id)


async def _participants(scope) -> dict[uuid.UUID, list[tuple[str, int | None, dict]]]:
    rows = await Participant.select().where(Participant.provider == scope.provider_id).order_by(
        Participant.booking, Participant.position)
    opened: dict[uuid.UUID, list] = {}
    s = scope.sealer
    for r in rows:
        age = s.open("participant", "age", r["id"], r["age"])
        opened.setdefault(r["booking"], []).append((
            s.open("participant", "name", r["id"], r["name"]),
            None if age is None else int(age),
            s.open_json("participant", "answers", r["id"], r["answers"]),
        ))
    return opened


async def _customer_names(scope) -> dict[uuid.UUID, str]:
    rows = await Customer.select(*customers.CUSTOMER_COLUMNS).where(Customer.provider == scope.provider_id)
    return {r["id"]: customers.open_customer(scope, r).name for r in rows}


def _is_clock_change_day(day: date, tz: ZoneInfo) -> bool:
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start.utcoffset() != datetime.combine(day, time(23, 59), tzinfo=tz).utcoffset()


# ---------------------------------------------------------------------------------------------


async def test_demo_loads_two_providers_in_their_own_language_and_time_zone(vault):
    counts = await demo.load_demo(vault, bookings_per_provider=SMALL, today=TODAY)

    providers = {p["slug"]: p for p in await Provider.select()}
    assert set(providers) == {"les-vagues", "ola-brava"}
    vagues, brava = providers["les-vagues"], providers["ola-brava"]
    assert (vagues["name"], vagues["language"], vagues["timezone"], vagues["currency"]) == (
        "École de surf Les Vagues", "fr", "Europe/Paris", "EUR")
    assert (brava["name"], brava["language"], brava["timezone"], brava["currency"]) == (
        "Escuela de surf Ola Brava", "es", "Europe/Madrid", "EUR")
    assert vagues["whatsapp"].startswith("+336") and brava["whatsapp"].startswith("+346")
    assert vagues["contact_email"] == "contact@les-vagues.example"
    assert brava["contact_email"] == "hola@ola-brava.example"

    for slug, provider in providers.items():
        assert counts[slug]["bookings"] == SMALL
        assert await Booking.count().where(Booking.provider == provider["id"]) == SMALL
        assert await Customer.count().where(Customer.provider == provider["id"]) == counts[slug]["customers"]
        assert await Participant.count().where(Participant.provider == provider["id"]) == counts[slug]["participants"]
        assert await NameToken.count().where(NameToken.provider == provider["id"]) == counts[slug]["name_tokens"]

        experiences = await Experience.select().where(Experience.provider == provider["id"]).order_by(
            Experience.position)
        assert [e["kind"] for e in experiences] == ["group", "private", "kids", "course", "rental"]
        for e in experiences:
            assert e["price_cents"] > 0 and e["capacity"] > 0 and e["duration_minutes"] > 0
            fields = json.loads(e["participant_fields"])
            assert fields and all(set(f) == {"key", "label", "type", "choices", "required"} for f in fields)
            assert all(f["type"] in ("choice", "number", "text") for f in fields)
            assert all(f["choices"] for f in fields if f["type"] == "choice")
        labels = {f["label"] for e in experiences for f in json.loads(e["participant_fields"])}
        assert ("Niveau" if slug == "les-vagues" else "Nivel") in labels
        assert any("Club" in e["name"] for e in experiences)


async def test_every_booking_and_payment_status_appears_with_matching_amounts(vault):
    await demo.load_demo(vault, bookings_per_provider=SMALL, today=TODAY)
    for scope in (await _scopes(vault)).values():
        rows = await _bookings(scope)
        assert {r["status"] for r in rows} == set(BOOKING_STATUSES)
        assert {r["payment_status"] for r in rows} == set(PAYMENT_STATUSES)
        assert {r["source"] for r in rows} <= SOURCES
        for r in rows:
            total, paid, refunded = r["total_cents"], r["paid_cents"], r["refunded_cents"]
            assert total > 0
            expected = {
                "paid": paid == total and refunded == 0,
                "partial": 0 < paid < total and refunded == 0,
                "unpaid": paid == 0 and refunded == 0,
                "refunded": 0 < refunded == paid,
            }[r["payment_status"]]
            assert expected, r
            assert REFERENCE.match(r["reference"])
            assert r["submitted_at"] < r["starts_at"]
            assert r["submitted_at"] <= NOW
            assert r["currency"] == "EUR"
            # Sessions that have happened are closed; those to come cannot be.
            if r["starts_at"] > NOW:
                assert r["status"] in ("pending", "confirmed", "cancelled")
            else:
                assert r["status"] != "pending"
        past = [r for r in rows if r["starts_at"] <= NOW]
        assert Counter(r["status"] for r in past).most_common(1)[0][0] == "completed"


async def test_customers_come_back_and_families_bring_their_children(vault):
    await demo.load_demo(vault, bookings_per_provider=SMALL, today=TODAY)
    for scope in (await _scopes(vault)).values():
        rows = await _bookings(scope)
        per_customer = Counter(r["customer"] for r in rows)
        returning = [n for n in per_customer.values() if n >= 2]
        assert 0.12 <= len(returning) / len(per_customer) <= 0.4
        assert max(per_customer.values()) <= 6

        names = await _customer_names(scope)
        participants = await _participants(scope)
        assert sum(len(p) for p in participants.values()) == sum(r["participant_count"] for r in rows)
        families = 0
        for r in rows:
            booker_surname = names[r["customer"]].split()[-1]
            children = [p for p in participants[r["id"]] if p[1] is not None and 6 <= p[1] <= 14]
            if len(participants[r["id"]]) >= 2 and any(name.endswith(booker_surname) for name, _, _ in children):
                families += 1
        assert families >= 5
        # Every participant answers the fields of their experience that are required.
        experiences = {e["id"]: json.loads(e["participant_fields"])
                       for e in await Experience.select().where(Experience.provider == scope.provider_id)}
        for r in rows:
            required = {f["key"] for f in experiences[r["experience"]] if f["required"]}
            for _, _, answers in participants[r["id"]]:
                assert required <= set(answers)


async def test_slots_follow_the_season_at_local_hours_including_clock_change_days(vault):
    await demo.load_demo(vault, bookings_per_provider=SMALL, today=TODAY)
    for scope in (await _scopes(vault)).values():
        tz = ZoneInfo(scope.timezone)
        slots = await Slot.select(Slot.starts_at).where(Slot.provider == scope.provider_id)
        local = [s["starts_at"].astimezone(tz) for s in slots]
        assert {(t.hour, t.minute) for t in local} == {(9, 0), (11, 0), (14, 0), (16, 30)}
        assert min(local).date() >= TODAY - timedelta(days=366) and max(local).date() <= TODAY + timedelta(days=184)
        per_month = Counter(t.month for t in local)
        assert per_month[8] > 2 * per_month[1]
        clock_change_slots = [t for t in local if _is_clock_change_day(t.date(), tz)]
        assert {t.month for t in clock_change_slots} >= {3, 10}

        rows = await _bookings(scope)
        booked_days = {r["starts_at"].astimezone(tz).date() for r in rows}
        assert any(_is_clock_change_day(day, tz) for day in booked_days)
        summer = sum(1 for r in rows if r["starts_at"].astimezone(tz).month in (6, 7, 8, 9))
        winter = sum(1 for r in rows if r["starts_at"].astimezone(tz).month in (12, 1, 2))
        assert summer > 2 * winter


async def test_known_customers_are_found_by_accent_free_name_and_by_phone(vault):
    await demo.load_demo(vault, bookings_per_provider=SMALL, today=TODAY)
    scopes = await _scopes(vault)

    found = await customers.search_by_name(scopes["ola-brava"], "jose")
    assert "José García" in [c.name for c in found]
    by_phone = await customers.find_by_phone(scopes["les-vagues"], "+33612345678")
    assert [c.name for c in by_phone] == ["Hélène Dubois"]
    assert by_phone[0].phone == "+33612345678"
    assert [c.name for c in await customers.search_by_name(scopes["les-vagues"], "helene dub")] == ["Hélène Dubois"]
    # The other provider's customers stay out of reach, even with the same number.
    assert await customers.find_by_phone(scopes["ola-brava"], "+33612345678") == []

    # Hélène books for her children, who carry her surname.
    helene = by_phone[0]
    rows = await Booking.select(Booking.id).where(Booking.customer == helene.id)
    participants = await _participants(scopes["les-vagues"])
    kids = {name for r in rows for name, age, _ in participants[r["id"]] if age is not None and age < 15}
    assert kids and all(name.endswith("Dubois") for name in kids)


async def test_same_seed_gives_the_same_references_names_dates_and_amounts(tmp_path, sqlite_template, monkeypatch):
    async def load(name: str, seed: int, *, bulk: bool = False):
        monkeypatch.setattr(demo, "REBUILD_INDEXES_FROM", 0 if bulk else 10_000)
        data_dir = tmp_path / name
        data_dir.mkdir()
        path = data_dir / "holaolas.sqlite"
        shutil.copy(sqlite_template, path)
        database = Database(engine="sqlite", path=path)
        use_engine(make_engine(database))
        settings = replace(load_settings({}), data_dir=data_dir, database=database, master_key_env=None)
        vault = await open_vault(settings)
        await demo.load_demo(vault, seed=seed, bookings_per_provider=120, today=TODAY)
        result = {}
        for slug, scope in (await _scopes(vault)).items():
            rows = await _bookings(scope)
            names = await _customer_names(scope)
            participants = await _participants(scope)
            tokens = await NameToken.select(NameToken.token, NameToken.customer, NameToken.booking).where(
                NameToken.provider == scope.provider_id)
            result[slug] = {
                "token_owners": Counter((t["customer"], t["booking"]) for t in tokens),
                "bookings": [(r["id"], r["reference"], r["starts_at"], r["submitted_at"], r["total_cents"],
                              r["paid_cents"], r["status"], r["payment_status"], names[r["customer"]],
                              participants[r["id"]]) for r in rows],
                "customers": [names[cid] for cid in sorted(names)],
            }
        return result

    first, second, other = await load("a", 7), await load("b", 7), await load("c", 8)
    assert first == second
    # The bulk path (SQLite without indexes and foreign-key checks, tokens first) writes the same.
    assert await load("d", 7, bulk=True) == first
    assert first["les-vagues"]["bookings"][0][1] != other["les-vagues"]["bookings"][0][1]
    assert {r[1] for r in first["les-vagues"]["bookings"]} != {r[1] for r in other["les-vagues"]["bookings"]}


async def test_the_bulk_loaders_shortcuts_give_what_add_customer_and_add_booking_write(vault):
    """The loader passes phones it normalised itself, and caches name tokens per word."""
    scope = await load_scope(vault, provider_id=await create_provider(
        vault, slug="rows-check", name="Rows", whatsapp="+33655501020"))
    name_tokens = demo.NameTokens(scope)
    created = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    people = [
        dict(name="Hélène Dubois", email="Helene.Dubois@Example.com", phone="06 12 34 56 78",
             preferences="Préfère les séances du matin", notes="Fidèle", language="fr", marketing_consent=True),
        dict(name="José Luis García López", email="jose@example.org", phone="+34 612 345 678", language="es"),
        dict(name="Marie-Hélène d'Arc", email=None, phone="0033 6 98 76 54 32"),
        dict(name="  Jürgen Groß ", email="  j.gross@example.de ", phone="+49 151 23456789", language="en"),
        dict(name="Ana", email="ana@example.com", phone=None),
        dict(name="Zoé Lefèvre", email="zoe@example.com", phone="12"),  # not a number: kept as typed
    ]
    for fields in people:
        cid = uuid.uuid4()
        expected, expected_tokens = build_customer(scope, created_at=created, customer_id=cid, **fields)
        got = customer_row(scope, created_at=created, customer_id=cid,
                           known_e164=normalise_phone(fields["phone"], scope.phone_region), **fields)
        got = dict(zip(demo.CUSTOMER_COLUMNS, got, strict=True))
        for column in ("id", "provider", "email_index", "phone_index", "language", "marketing_consent",
                       "created_at"):
            assert got[column] == getattr(expected, column), column
        for column in ("name", "email", "phone", "preferences", "notes"):
            assert scope.sealer.open("customer", column, cid, got[column]) == scope.sealer.open(
                "customer", column, cid, getattr(expected, column)), column
        assert name_tokens(fields["name"]) == {t.token for t in expected_tokens}
    assert scope.sealer.open("customer", "phone", cid, got["phone"]) == "12"
    assert got["phone_index"] is None

    participants = [ParticipantInput("Hélène Dubois", 41, {"level": "Débutant", "weight_kg": 62}),
                    ParticipantInput("Léa Dubois", 9, {"level": "Débutant", "wetsuit_size": "8 ans"}),
                    ParticipantInput("Noé  Martin-Lefèvre", None, {})]
    booker_tokens = scope.sealer.name_tokens("Hélène Dubois")
    _, _, expected_tokens = build_booking(
        scope, customer_id=uuid.uuid4(), customer_name_tokens=booker_tokens, slot_id=1, experience_id=2,
        starts_at=created, reference="RC-ABCDEF", participants=participants, total_cents=12000)
    got_tokens = booking_name_tokens(name_tokens, [p.name for p in participants], name_tokens("Hélène Dubois"))
    assert got_tokens == {t.token for t in expected_tokens}
    assert got_tokens == name_tokens("Noé Martin-Lefèvre Léa") - booker_tokens  # Dubois comes with the booker


@pytest.mark.parametrize("slug", ["les-vagues", "ola-brava"])
def test_generated_phone_numbers_normalise_to_the_e164_the_loader_stores(slug):
    profile = demo.PROFILES[slug]
    region = phonenumbers.region_code_for_number(phonenumbers.parse(profile.whatsapp, None))
    plan = demo._plan_provider(profile, seed=3, bookings=3000, today=TODAY)
    phones = [(c.phone, c.phone_e164) for c in plan.customers if c.phone]
    assert len({typed for typed, _ in phones}) > 0.9 * len(phones)
    formats = {re.sub(r"\d", "9", typed) for typed, _ in phones}
    assert len(formats) >= 5  # spaces, dots, +33/+34, 0033, tourists' +44/+49...
    for typed, e164 in phones:
        assert normalise_phone(typed, region) == e164, typed


@pytest.mark.sqlite_only
async def test_bulk_load_rebuilds_the_sqlite_indexes_and_keeps_foreign_keys(sqlite_settings, monkeypatch):
    vault = await open_vault(sqlite_settings)
    path = sqlite_settings.database.path

    def schema():
        with sqlite3.connect(path) as conn:
            return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())

    before = schema()
    monkeypatch.setattr(demo, "REBUILD_INDEXES_FROM", 0)
    counts = await demo.load_bulk(vault, slug="bench-small", bookings=300, today=TODAY)
    assert counts["bookings"] == 300
    assert schema() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    scope = await load_scope(vault, slug="bench-small")
    assert [c.name for c in await customers.find_by_phone(scope, "0612345678")] == ["Hélène Dubois"]
    assert "Hélène Dubois" in [c.name for c in await customers.search_by_name(scope, "helene")]


@pytest.mark.sqlite_only
async def test_bulk_rows_are_stored_exactly_as_piccolo_stores_them(sqlite_settings):
    vault = await open_vault(sqlite_settings)
    await demo.load_bulk(vault, slug="les-vagues", bookings=50, today=TODAY)
    scope = await load_scope(vault, slug="les-vagues")
    sample = (await _bookings(scope))[0]
    # The same values written through Piccolo, beside the fast path's.
    reference = "LV-PICCOL"
    await add_booking(scope, customer_id=sample["customer"], slot_id=sample["slot"],
                      experience_id=sample["experience"], starts_at=sample["starts_at"], reference=reference,
                      participants=[ParticipantInput("Léa Dubois", 9, {})], total_cents=100,
                      submitted_at=sample["submitted_at"])
    columns = "id, customer, starts_at, submitted_at, typeof(starts_at), typeof(id), typeof(customer)"
    with sqlite3.connect(sqlite_settings.database.path) as conn:
        fast = conn.execute(f"SELECT {columns} FROM booking WHERE id = ?", (str(sample["id"]),)).fetchone()
        piccolo = conn.execute(f"SELECT {columns} FROM booking WHERE reference = ?", (reference,)).fetchone()
        consent = {r[0] for r in conn.execute("SELECT typeof(marketing_consent) FROM customer")}
    assert fast[1:] == piccolo[1:]
    assert fast[4:] == ("text", "text", "text")
    assert uuid.UUID(fast[0]) == sample["id"]
    assert consent == {"integer"}


async def test_loading_a_provider_twice_is_refused(vault):
    await demo.load_bulk(vault, slug="les-vagues", bookings=10, today=TODAY)
    with pytest.raises(demo.DemoError):
        await demo.load_bulk(vault, slug="les-vagues", bookings=10, today=TODAY)
