"""Known bookings for the Bookings screen's tests: a few people whose every field the tests can look for."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.bookings import ParticipantInput, add_booking
from domain.customers import add_customer
from domain.scope import Scope
from domain.tables import Experience, Slot
from tests.helpers import provider_with_staff

PARIS = ZoneInfo("Europe/Paris")
GROUP_FIELDS = [
    {"key": "level", "label": "Niveau", "type": "choice", "choices": ["Débutant", "Confirmé"], "required": True},
    {"key": "wetsuit_size", "label": "Taille de combinaison", "type": "choice", "choices": ["8 ans", "M"],
     "required": True},
]


@dataclass
class Shop:
    """One provider with its experiences; `add` books a customer onto a slot it creates on the way."""

    scope: Scope
    group: int = 0
    private: int = 0
    today: date = field(default_factory=lambda: datetime.now(PARIS).date())
    _slots: dict = field(default_factory=dict)

    def at(self, days: int, hour: int, minute: int = 0) -> datetime:
        """A local time `days` from today in the provider's time zone, as a UTC instant."""
        local = datetime.combine(self.today + timedelta(days=days), time(hour, minute), tzinfo=PARIS)
        return local.astimezone(UTC)

    async def slot(self, experience: int, starts_at: datetime) -> int:
        key = (experience, starts_at)
        if key not in self._slots:
            row = await Slot.insert(Slot(provider=self.scope.provider_id, experience=experience, starts_at=starts_at))
            self._slots[key] = row[0]["id"]
        return self._slots[key]

    async def add(self, customer, *, reference: str, starts_at: datetime, experience: int | None = None,
                  participants=(), total_cents: int = 9000, paid_cents: int = 0, refunded_cents: int = 0,
                  payment_status: str = "unpaid", status: str = "confirmed", submitted_days_ago: int = 1,
                  comments: str | None = None, special_needs: str | None = None):
        experience = experience or self.group
        return await add_booking(
            self.scope, customer_id=customer, slot_id=await self.slot(experience, starts_at),
            experience_id=experience, starts_at=starts_at, reference=reference,
            participants=[ParticipantInput(*p) for p in participants] or [ParticipantInput("Someone")],
            total_cents=total_cents, paid_cents=paid_cents, refunded_cents=refunded_cents,
            payment_status=payment_status, status=status, comments=comments, special_needs=special_needs,
            submitted_at=datetime.now(UTC) - timedelta(days=submitted_days_ago),
        )


async def new_shop(vault, slug: str, *, language: str = "en") -> Shop:
    scope = await provider_with_staff(vault, slug, language=language)
    shop = Shop(scope)
    shop.group = (await Experience.insert(Experience(
        provider=scope.provider_id, name="Cours collectif", position=0, duration_minutes=120,
        participant_fields=json.dumps(GROUP_FIELDS))))[0]["id"]
    shop.private = (await Experience.insert(Experience(
        provider=scope.provider_id, name="Cours particulier", position=1, duration_minutes=90)))[0]["id"]
    return shop


async def known_bookings(vault, slug: str = "surf-test") -> Shop:
    """Five bookings of four customers, around today, and a foreign provider sharing José's contact details.

    reference  customer        when            experience  total  paid  payment   status
    ST-ANNA05  Anna Schmidt    today −30 d     group       45 €   45 €  refunded  cancelled (refunded 45 €)
    ST-HELE03  Hélène Dubois   yesterday 11:00 private     90 €   90 €  paid      completed
    ST-JOSE01  José García     today 12:00     group       90 €   90 €  paid      confirmed
    ST-HELE02  Hélène Dubois   tomorrow 09:00  group       90 €   27 €  partial   confirmed
    ST-MARC04  Marc Petit      today +10 d     private     45 €    0 €  unpaid    pending
    """
    shop = await new_shop(vault, slug)
    jose = await add_customer(shop.scope, name="José García", email="jose.garcia@example.com", phone="+33612345678")
    helene = await add_customer(shop.scope, name="Hélène Dubois", email="helene.dubois@example.org",
                                phone="06 98 76 54 32", preferences="Préfère les séances du matin")
    marc = await add_customer(shop.scope, name="Marc Petit", email="marc@example.net")
    anna = await add_customer(shop.scope, name="Anna Schmidt", email="anna@example.de", phone="+49 151 23456789",
                              language="en")
    await shop.add(jose, reference="ST-JOSE01", starts_at=shop.at(0, 12), total_cents=9000, paid_cents=9000,
                   payment_status="paid", submitted_days_ago=10,
                   participants=[("José García", 41, {"level": "Confirmé", "wetsuit_size": "M"}),
                                 ("Lucía García", 9, {"level": "Débutant", "wetsuit_size": "8 ans"})])
    await shop.add(helene, reference="ST-HELE02", starts_at=shop.at(1, 9), total_cents=9000, paid_cents=2700,
                   payment_status="partial", submitted_days_ago=5,
                   participants=[("Léa Dubois", 9, {"level": "Débutant", "wetsuit_size": "8 ans"}),
                                 ("Hugo Martin", 12, {"level": "Débutant"})],
                   comments="Nous arriverons vers 8h45.", special_needs="Allergie aux arachides")
    await shop.add(helene, reference="ST-HELE03", starts_at=shop.at(-1, 11), experience=shop.private,
                   total_cents=9000, paid_cents=9000, payment_status="paid", status="completed",
                   submitted_days_ago=20, participants=[("Hélène Dubois", None, {})])
    await shop.add(marc, reference="ST-MARC04", starts_at=shop.at(10, 16, 30), experience=shop.private,
                   total_cents=4500, payment_status="unpaid", status="pending", submitted_days_ago=1,
                   participants=[("Marc Petit", 35, {})])
    await shop.add(anna, reference="ST-ANNA05", starts_at=shop.at(-30, 14), total_cents=4500, paid_cents=4500,
                   refunded_cents=4500, payment_status="refunded", status="cancelled", submitted_days_ago=40,
                   participants=[("Anna Schmidt", 30, {})])

    # Another provider: same email and phone, a José too, a reference of its own. Never ours to see.
    other = await new_shop(vault, "other-shop")
    twin = await add_customer(other.scope, name="José Other", email="jose.garcia@example.com", phone="+33612345678")
    await other.add(twin, reference="OS-JOSE01", starts_at=other.at(0, 12), participants=[("José Other", 40, {})])
    return shop


ALL_REFERENCES = {"ST-ANNA05", "ST-HELE03", "ST-JOSE01", "ST-HELE02", "ST-MARC04"}
