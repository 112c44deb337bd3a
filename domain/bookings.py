"""Bookings: writing a booking with its participants, sealed and indexed."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.scope import Scope
from domain.tables import Booking, NameToken, Participant

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


def build_booking(scope: Scope, *, customer_id: uuid.UUID, customer_name_tokens: set[int] | None = None,
                  slot_id: int, experience_id: int, starts_at: datetime, reference: str,
                  participants: list[ParticipantInput], total_cents: int, paid_cents: int = 0,
                  refunded_cents: int = 0, currency: str | None = None, payment_status: str = "unpaid",
                  status: str = "confirmed", comments: str | None = None, special_needs: str | None = None,
                  submitted_at: datetime | None = None, source: str = "website",
                  booking_id: uuid.UUID | None = None) -> tuple[Booking, list[Participant], list[NameToken]]:
    """The rows to insert for a booking. No I/O.

    Participants' names are indexed on the booking, except tokens the booker's name already
    gives (a family shares its surname): `customer_name_tokens` lets bulk loads skip those.
    """
    if status not in BOOKING_STATUSES or payment_status not in PAYMENT_STATUSES:
        raise ValueError("unknown status")
    s = scope.sealer
    bid = booking_id or uuid.uuid4()
    booking = Booking(
        id=bid,
        provider=scope.provider_id,
        reference=reference,
        customer=customer_id,
        slot=slot_id,
        experience=experience_id,
        starts_at=starts_at,
        participant_count=len(participants),
        total_cents=total_cents,
        paid_cents=paid_cents,
        refunded_cents=refunded_cents,
        currency=currency or scope.currency,
        payment_status=payment_status,
        status=status,
        comments=s.seal("booking", "comments", bid, comments or None),
        special_needs=s.seal("booking", "special_needs", bid, special_needs or None),
        submitted_at=submitted_at or datetime.now(UTC),
        source=source,
    )
    rows, tokens = [], set()
    for position, p in enumerate(participants):
        pid = uuid.uuid4()
        rows.append(
            Participant(
                id=pid,
                provider=scope.provider_id,
                booking=bid,
                position=position,
                name=s.seal("participant", "name", pid, p.name.strip()),
                age=s.seal("participant", "age", pid, None if p.age is None else str(p.age)),
                answers=s.seal_json("participant", "answers", pid, p.answers or {}),
            )
        )
        tokens |= s.name_tokens(p.name)
    tokens -= customer_name_tokens or set()
    name_tokens = [NameToken(provider=scope.provider_id, token=t, booking=bid) for t in tokens]
    return booking, rows, name_tokens


async def add_booking(scope: Scope, **fields) -> uuid.UUID:
    booking, participants, tokens = build_booking(scope, **fields)
    async with Booking._meta.db.transaction():
        await Booking.insert(booking)
        if participants:
            await Participant.insert(*participants)
        if tokens:
            await NameToken.insert(*tokens)
    return booking.id
