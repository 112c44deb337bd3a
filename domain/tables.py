"""Piccolo tables. Columns marked `# sealed` hold AES-GCM envelopes (see domain/crypto.py), never plaintext."""

from __future__ import annotations

import uuid

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Provider(Table):
    """An activity provider (a surf school…): the tenant every other row belongs to."""

    id = Serial(primary_key=True)
    slug = Varchar(length=60, unique=True)
    name = Varchar(length=200)
    contact_email = Varchar(length=254, default="")
    whatsapp = Varchar(length=20, default="")  # E.164, the provider's business number
    timezone = Varchar(length=64, default="Europe/Paris")
    language = Varchar(length=5, default="fr")
    currency = Varchar(length=3, default="EUR")
    retention_years = Integer(default=3)
    data_key = Text(default="")  # the provider's data key, wrapped by the master key
    created_at = Timestamptz()


class Staff(Table):
    """A person who logs in for one provider."""

    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    email = Varchar(length=254, unique=True)  # staff log-in, not customer data
    password_hash = Varchar(length=200)
    role = Varchar(length=10, default="staff")  # owner | staff
    language = Varchar(length=5, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()
    password_changed_at = Timestamptz()


class Experience(Table):
    """What a provider sells: a group lesson, a private lesson, a kids' club, a rental…"""

    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    kind = Varchar(length=20, default="lesson")
    duration_minutes = Integer(default=90)
    price_cents = Integer(default=0)
    capacity = Integer(default=8)
    # [{"key": "level", "label": "Niveau", "type": "choice", "choices": [...], "required": true}, ...]
    participant_fields = JSON(default="[]")
    position = Integer(default=0)
    active = Boolean(default=True)


class Slot(Table):
    """An experience at a start time (shown to providers as a "séance"/"session")."""

    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    experience = ForeignKey(Experience, on_delete=OnDelete.cascade, null=False)
    starts_at = Timestamptz()
    capacity = Integer(default=8)


class Customer(Table):
    """The person who booked: one per person and provider."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    name = Text(default="")  # sealed
    email = Text(null=True, default=None)  # sealed
    phone = Text(null=True, default=None)  # sealed
    preferences = Text(null=True, default=None)  # sealed
    notes = Text(null=True, default=None)  # sealed
    email_index = Integer(null=True, default=None)  # blind index of the normalised email
    phone_index = Integer(null=True, default=None)  # blind index of the E.164 phone
    language = Varchar(length=5, default="")
    marketing_consent = Boolean(default=False)
    created_at = Timestamptz()
    erased_at = Timestamptz(null=True, default=None)


class Booking(Table):
    """One booking: a customer on a slot, with its money and statuses."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    reference = Varchar(length=16)  # human reference, unique per provider
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, null=False)
    slot = ForeignKey(Slot, on_delete=OnDelete.restrict, null=False)
    experience = ForeignKey(Experience, on_delete=OnDelete.restrict, null=False)  # = slot's, for filters
    starts_at = Timestamptz()  # = slot's, so the list sorts and filters from one index
    participant_count = Integer(default=1)
    total_cents = Integer(default=0)
    paid_cents = Integer(default=0)
    refunded_cents = Integer(default=0)
    currency = Varchar(length=3, default="EUR")
    payment_status = Varchar(length=16, default="unpaid")
    status = Varchar(length=16, default="confirmed")
    comments = Text(null=True, default=None)  # sealed
    special_needs = Text(null=True, default=None)  # sealed
    submitted_at = Timestamptz()
    source = Varchar(length=32, default="website")


class Participant(Table):
    """Someone who takes part in a booking, with the experience's fields answered."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    booking = ForeignKey(Booking, on_delete=OnDelete.cascade, null=False)
    position = Integer(default=0)
    name = Text(default="")  # sealed
    age = Text(null=True, default=None)  # sealed (an integer as text)
    answers = Text(null=True, default=None)  # sealed (JSON: field key → value)


class NameToken(Table):
    """Blind-index tokens of name-word prefixes, so names are searchable without plaintext.

    A row points at a customer (the booker's name) or at a booking (a participant's name).
    """

    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    token = Integer()
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, null=True, default=None)
    booking = ForeignKey(Booking, on_delete=OnDelete.cascade, null=True, default=None)


class AuditEvent(Table):
    """Who did what to which record, and when. Never holds personal data."""

    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False)
    staff = ForeignKey(Staff, on_delete=OnDelete.set_null, null=True, default=None)
    action = Varchar(length=40)
    subject = Varchar(length=64, default="")  # a booking reference or a customer id, never a name
    detail = JSON(default="{}")
    created_at = Timestamptz()


ALL_TABLES: list[type[Table]] = [
    Provider,
    Staff,
    Experience,
    Slot,
    Customer,
    Booking,
    Participant,
    NameToken,
    AuditEvent,
]

# Columns that hold sealed values, per table: the single list the key tools and tests walk.
SEALED_COLUMNS: dict[type[Table], tuple[str, ...]] = {
    Customer: ("name", "email", "phone", "preferences", "notes"),
    Booking: ("comments", "special_needs"),
    Participant: ("name", "age", "answers"),
}
