"""The provider scope every domain call takes: who the provider is and the key that opens its data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import phonenumbers

from domain.crypto import Sealer
from domain.keys import Vault
from domain.tables import Provider

LANGUAGE_REGIONS = {"fr": "FR", "es": "ES", "en": "GB"}


@dataclass(frozen=True)
class Scope:
    provider_id: int
    slug: str
    name: str
    timezone: str
    language: str
    currency: str
    whatsapp: str
    contact_email: str
    retention_years: int
    sealer: Sealer
    staff_id: int | None = None
    role: str = "owner"

    @cached_property
    def phone_region(self) -> str:
        """Where a phone number written without a country code is assumed to be."""
        if self.whatsapp:
            try:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(self.whatsapp, None))
                if region and region != "ZZ":
                    return region
            except phonenumbers.NumberParseException:
                pass
        return LANGUAGE_REGIONS.get(self.language, "FR")

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


class UnknownProvider(LookupError):
    pass


async def load_scope(vault: Vault, *, provider_id: int | None = None, slug: str | None = None,
                     staff_id: int | None = None, role: str = "owner") -> Scope:
    query = Provider.select().first()
    query = query.where(Provider.id == provider_id) if provider_id is not None else query.where(Provider.slug == slug)
    row = await query
    if row is None:
        raise UnknownProvider(provider_id or slug)
    return scope_from_row(vault, row, staff_id=staff_id, role=role)


def scope_from_row(vault: Vault, row: dict, *, staff_id: int | None = None, role: str = "owner") -> Scope:
    """A scope from a provider row already read (e.g. joined to the staff member's in one query)."""
    return Scope(
        provider_id=row["id"],
        slug=row["slug"],
        name=row["name"],
        timezone=row["timezone"],
        language=row["language"],
        currency=row["currency"],
        whatsapp=row["whatsapp"],
        contact_email=row["contact_email"],
        retention_years=row["retention_years"],
        sealer=vault.sealer(row["id"], row["data_key"]),
        staff_id=staff_id,
        role=role,
    )
