"""Personal data is encrypted at rest, bound to its place, and findable only through blind indexes."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime

import pytest

from domain import customers
from domain.bookings import ParticipantInput, add_booking
from domain.crypto import DecryptionError, MasterKeys
from domain.keys import open_vault, rotate_master_key
from domain.scope import load_scope
from domain.tables import Booking, Customer, Experience, Participant, Provider, Slot
from tests.helpers import provider_with_staff

SECRETS = {
    "name": "Zéphyrine Quintavalle-Marchetti",
    "email": "zephyrine.quintavalle@example.org",
    "phone": "+33 6 98 76 54 32",
    "preferences": "Préfère les sessions à l'aube",
    "notes": "Cliente fidèle depuis 2019",
    "participant": "Barnabé Quintavalle-Marchetti",
    "comments": "Arrive en camping-car bleu",
    "special_needs": "Allergie sévère aux arachides",
    "answer": "combinaison taille XXL-spéciale",
}
NEEDLES = [
    "Zéphyrine", "Zephyrine", "Quintavalle", "zephyrine.quintavalle", "98 76 54 32", "+33698765432",
    "Préfère les sessions", "Cliente fidèle", "Barnabé", "camping-car bleu", "arachides", "XXL-spéciale",
]


async def _write_known_values(scope):
    customer_id = await customers.add_customer(
        scope, name=SECRETS["name"], email=SECRETS["email"], phone=SECRETS["phone"],
        preferences=SECRETS["preferences"], notes=SECRETS["notes"],
    )
    experience = (await Experience.insert(Experience(provider=scope.provider_id, name="Cours collectif")))[0]["id"]
    starts = datetime(2026, 7, 14, 7, 0, tzinfo=UTC)
    slot = (await Slot.insert(Slot(provider=scope.provider_id, experience=experience, starts_at=starts)))[0]["id"]
    booking_id = await add_booking(
        scope, customer_id=customer_id, slot_id=slot, experience_id=experience, starts_at=starts,
        reference="SK-TEST01", total_cents=9000,
        participants=[ParticipantInput(SECRETS["participant"], 11, {"wetsuit": SECRETS["answer"]})],
        comments=SECRETS["comments"], special_needs=SECRETS["special_needs"],
    )
    return customer_id, booking_id


def _assert_no_needle(blob: bytes, where: str):
    found = [n for n in NEEDLES if n.encode() in blob or n.lower().encode() in blob]
    assert not found, f"plaintext {found} found in {where}"


async def test_sqlite_file_and_wal_hold_no_personal_value(sqlite_settings):
    vault = await open_vault(sqlite_settings)
    scope = await provider_with_staff(vault, "raw-bytes")
    await _write_known_values(scope)
    path = sqlite_settings.database.path
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert any(p.name.endswith("-wal") for p in files) or path.stat().st_size > 0
    for file in files:
        _assert_no_needle(file.read_bytes(), file.name)
    # The values do read back through the domain: the test would fail if nothing had been written.
    found = await customers.find_by_email(scope, SECRETS["email"])
    assert [c.name for c in found] == [SECRETS["name"]]


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
async def test_pg_dump_holds_no_personal_value(settings, vault):
    scope = await provider_with_staff(vault, "dumped")
    await _write_known_values(scope)
    db = settings.database
    dump = subprocess.run(
        ["pg_dump", "-h", db.host, "-p", str(db.port), "-U", db.user, "--data-only", db.name],
        capture_output=True, check=True, timeout=60,
    ).stdout
    assert b"SK-TEST01" in dump  # the dump does contain our rows…
    _assert_no_needle(dump, "pg_dump")  # …but none of their personal values


async def test_every_sealed_column_reads_back(settings, vault):
    scope = await provider_with_staff(vault, "roundtrip")
    customer_id, booking_id = await _write_known_values(scope)
    customer = await customers.get_customer(scope, customer_id)
    assert (customer.name, customer.email, customer.phone) == (SECRETS["name"], SECRETS["email"], "+33698765432")
    assert (customer.preferences, customer.notes) == (SECRETS["preferences"], SECRETS["notes"])
    booking = await Booking.select().where(Booking.id == booking_id).first()
    assert scope.sealer.open("booking", "special_needs", booking_id, booking["special_needs"]) == SECRETS["special_needs"]
    participant = await Participant.select().where(Participant.booking == booking_id).first()
    assert scope.sealer.open_json("participant", "answers", participant["id"], participant["answers"]) == {
        "wetsuit": SECRETS["answer"]
    }
    assert scope.sealer.open("participant", "age", participant["id"], participant["age"]) == "11"


async def test_tampered_or_moved_ciphertext_fails_loudly(settings, vault):
    scope = await provider_with_staff(vault, "tamper")
    other = await provider_with_staff(vault, "other")
    customer_id, _ = await _write_known_values(scope)
    second_id = await customers.add_customer(scope, name="Autre Personne", email="autre@example.org")
    row = await Customer.select().where(Customer.id == customer_id).first()
    sealed = row["name"]

    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(DecryptionError):
        scope.sealer.open("customer", "name", customer_id, flipped)
    with pytest.raises(DecryptionError):  # copied to another row
        scope.sealer.open("customer", "name", second_id, sealed)
    with pytest.raises(DecryptionError):  # copied to another column
        scope.sealer.open("customer", "email", customer_id, sealed)
    with pytest.raises(DecryptionError):  # copied to another provider
        other.sealer.open("customer", "name", customer_id, sealed)

    # Through the database too: a row whose name was swapped in from another row does not open.
    await Customer.update({Customer.name: sealed}).where(Customer.id == second_id)
    with pytest.raises(DecryptionError):
        await customers.get_customer(scope, second_id)


async def test_rotation_keeps_every_value_and_retires_the_old_key(settings, vault):
    scope = await provider_with_staff(vault, "rotate")
    customer_id, _ = await _write_known_values(scope)
    old_keys = list(vault.master.keys)
    new_id, count = await rotate_master_key(settings, vault)
    assert count == 1 and new_id != MasterKeys(old_keys, "old").active_id
    assert settings.key_file.stat().st_mode & 0o777 == 0o600

    fresh = await open_vault(settings)  # as a newly started process would
    reopened = await load_scope(fresh, provider_id=scope.provider_id)
    assert (await customers.get_customer(reopened, customer_id)).email == SECRETS["email"]
    row = await Provider.select(Provider.data_key).where(Provider.id == scope.provider_id).first()
    with pytest.raises(DecryptionError):
        MasterKeys(old_keys, "old").unwrap(row["data_key"], scope.provider_id)


async def test_blind_indexes_find_by_email_phone_and_name(settings, vault):
    scope = await provider_with_staff(vault, "finder")
    other = await provider_with_staff(vault, "elsewhere")
    jose = await customers.add_customer(scope, name="José García", email="Jose.Garcia@Example.com",
                                        phone="06 12 34 56 78")
    await customers.add_customer(scope, name="Josette Marin", email="josette@example.com", phone="+33 7 11 22 33 44")
    await customers.add_customer(scope, name="Helene Dubois", email="helene@example.com")
    # Same person's data at another provider: never found from this one.
    await customers.add_customer(other, name="José García", email="jose.garcia@example.com", phone="0612345678")

    assert [c.id for c in await customers.find_by_email(scope, "  JOSE.garcia@example.COM ")] == [jose]
    for written in ("06 12 34 56 78", "+33612345678", "0612345678", "+33 6 12 34 56 78"):
        assert [c.id for c in await customers.find_by_phone(scope, written)] == [jose], written
    assert {c.name for c in await customers.search_by_name(scope, "jose")} == {"José García", "Josette Marin"}
    assert [c.name for c in await customers.search_by_name(scope, "JOSE garcia")] == ["José García"]
    assert [c.name for c in await customers.search_by_name(scope, "GARC jos")] == ["José García"]
    assert [c.name for c in await customers.search_by_name(scope, "hélène")] == ["Helene Dubois"]
    assert await customers.search_by_name(scope, "arcia") == []  # prefixes of words, not substrings
    # Longer than the indexed 8 letters: the token narrows, decryption re-checks.
    await customers.add_customer(scope, name="Maximilienne Bonaventure", email="mb@example.com")
    assert [c.name for c in await customers.search_by_name(scope, "maximilienne")] == ["Maximilienne Bonaventure"]
    assert await customers.search_by_name(scope, "maximiliano") == []

    # The database holds tokens, not the searched words.
    rows = await Customer.select(Customer.email_index, Customer.phone_index).where(Customer.id == jose)
    assert isinstance(rows[0]["email_index"], int) and isinstance(rows[0]["phone_index"], int)


async def test_migrations_build_the_schema_from_empty(settings, tmp_path):
    """Run every migration on a brand-new database of the same engine and find every table."""
    from dataclasses import replace

    from domain.config import Database
    from domain.db import make_engine, migrate, use_engine
    from domain.tables import ALL_TABLES
    from tests.conftest import _run_sql

    if settings.database.engine == "sqlite":
        fresh = Database(engine="sqlite", path=tmp_path / "fresh.sqlite")
    else:
        fresh = replace(settings.database, name=f"holaolas_fresh_{uuid.uuid4().hex[:8]}")
        await _run_sql(fresh, [f'CREATE DATABASE "{fresh.name}"'])
    try:
        use_engine(make_engine(fresh))
        await migrate()
        for table in ALL_TABLES:
            assert await table.table_exists(), table._meta.tablename
        await migrate()  # a second run is a no-op
    finally:
        use_engine(make_engine(settings.database))
        if fresh.engine == "postgres":
            await _run_sql(fresh, [f'DROP DATABASE "{fresh.name}" WITH (FORCE)'])


