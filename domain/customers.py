"""Customers: writing them sealed and indexed, finding them by email, phone or name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.crypto import name_matches, normalise_email, normalise_phone
from domain.scope import Scope
from domain.tables import Customer, NameToken

TABLE = "customer"


@dataclass(frozen=True)
class CustomerView:
    """A customer as the provider sees it: plain values, opened from the sealed row."""

    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    preferences: str | None
    notes: str | None
    language: str
    marketing_consent: bool
    created_at: datetime
    erased: bool

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""


# A customer row's columns, in the order customer_row gives their values (the bulk loader's INSERT too).
CUSTOMER_ROW = ("id", "provider", "name", "email", "phone", "preferences", "notes", "email_index", "phone_index",
                "language", "marketing_consent", "created_at")


def customer_row(scope: Scope, *, name: str, email: str | None = None, phone: str | None = None,
                 preferences: str | None = None, notes: str | None = None, language: str = "",
                 marketing_consent: bool = False, created_at: datetime, customer_id: uuid.UUID,
                 known_e164: str | None = None) -> tuple:
    """A new customer's values in CUSTOMER_ROW order: sealed fields and blind indexes. No I/O.

    The phone is kept in E.164 when it parses, as typed otherwise (then not searchable by phone);
    `known_e164`: the caller normalised it already. Plain values rather than a Piccolo row,
    which costs ~60 µs to build: the demo's bulk loader writes these tuples directly.
    """
    s = scope.sealer
    key = str(customer_id)  # the associated data holds the id as text: format it once, not per field
    e164 = known_e164 or normalise_phone(phone, scope.phone_region)
    stored_phone = e164 or (phone.strip() if phone and phone.strip() else None)
    email_norm = normalise_email(email) or (email.strip() if email and email.strip() else None)
    return (
        customer_id,
        scope.provider_id,
        s.seal(TABLE, "name", key, name.strip()),
        s.seal(TABLE, "email", key, email_norm),
        s.seal(TABLE, "phone", key, stored_phone),
        s.seal(TABLE, "preferences", key, preferences or None),
        s.seal(TABLE, "notes", key, notes or None),
        s.email_token(email_norm),
        s.e164_token(e164),
        language,
        marketing_consent,
        created_at,
    )


def build_customer(scope: Scope, *, name: str, created_at: datetime | None = None,
                   customer_id: uuid.UUID | None = None, **fields) -> tuple[Customer, list[NameToken]]:
    """The rows to insert for a new customer (see customer_row) and its name's tokens. No I/O."""
    cid = customer_id or uuid.uuid4()
    values = customer_row(scope, name=name, created_at=created_at or datetime.now(UTC), customer_id=cid, **fields)
    row = Customer(**dict(zip(CUSTOMER_ROW, values, strict=True)))
    tokens = [NameToken(provider=scope.provider_id, token=t, customer=cid) for t in scope.sealer.name_tokens(name)]
    return row, tokens


async def add_customer(scope: Scope, **fields) -> uuid.UUID:
    row, tokens = build_customer(scope, **fields)
    async with Customer._meta.db.transaction():
        await Customer.insert(row)
        if tokens:
            await NameToken.insert(*tokens)
    return row.id


CUSTOMER_COLUMNS = (
    Customer.id, Customer.name, Customer.email, Customer.phone, Customer.preferences, Customer.notes,
    Customer.language, Customer.marketing_consent, Customer.created_at, Customer.erased_at,
)


def open_customer(scope: Scope, row: dict) -> CustomerView:
    s, cid = scope.sealer, row["id"]
    return CustomerView(
        id=cid,
        name=s.open(TABLE, "name", cid, row["name"]) or "",
        email=s.open(TABLE, "email", cid, row["email"]),
        phone=s.open(TABLE, "phone", cid, row["phone"]),
        preferences=s.open(TABLE, "preferences", cid, row["preferences"]),
        notes=s.open(TABLE, "notes", cid, row["notes"]),
        language=row["language"],
        marketing_consent=row["marketing_consent"],
        created_at=row["created_at"],
        erased=row["erased_at"] is not None,
    )


async def get_customer(scope: Scope, customer_id: uuid.UUID) -> CustomerView | None:
    row = await Customer.select(*CUSTOMER_COLUMNS).where(
        (Customer.provider == scope.provider_id) & (Customer.id == customer_id)
    ).first()
    return None if row is None else open_customer(scope, row)


async def find_by_email(scope: Scope, email: str) -> list[CustomerView]:
    token = scope.sealer.email_token(email)
    if token is None:
        return []
    rows = await Customer.select(*CUSTOMER_COLUMNS).where(
        (Customer.provider == scope.provider_id) & (Customer.email_index == token)
    )
    wanted = normalise_email(email)
    return [c for c in (open_customer(scope, r) for r in rows) if c.email == wanted]


async def find_by_phone(scope: Scope, phone: str) -> list[CustomerView]:
    token = scope.sealer.phone_token(phone, scope.phone_region)
    if token is None:
        return []
    rows = await Customer.select(*CUSTOMER_COLUMNS).where(
        (Customer.provider == scope.provider_id) & (Customer.phone_index == token)
    )
    wanted = normalise_phone(phone, scope.phone_region)
    return [c for c in (open_customer(scope, r) for r in rows) if c.phone == wanted]


def customer_ids_matching_name(scope: Scope, query: str):
    """A sub-select of the customers whose name has every query word as a word prefix (by token).

    None when the query has no word long enough to search by.
    """
    sub = None
    for token in scope.sealer.name_query_tokens(query):
        q = NameToken.select(NameToken.customer).where(
            (NameToken.provider == scope.provider_id) & (NameToken.token == token) & NameToken.customer.is_not_null()
        )
        sub = q if sub is None else q.where(NameToken.customer.is_in(sub))
    return sub


async def search_by_name(scope: Scope, query: str, limit: int = 50) -> list[CustomerView]:
    sub = customer_ids_matching_name(scope, query)
    if sub is None:
        return []
    rows = await Customer.select(*CUSTOMER_COLUMNS).where(
        (Customer.provider == scope.provider_id) & Customer.id.is_in(sub)
    ).limit(limit * 2)
    return [c for c in (open_customer(scope, r) for r in rows) if name_matches(c.name, query)][:limit]
