"""Creating providers, each with its own data key wrapped by the master key."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.crypto import new_data_key
from domain.keys import Vault
from domain.tables import Provider


async def create_provider(vault: Vault, *, slug: str, name: str, contact_email: str = "", whatsapp: str = "",
                          timezone_name: str = "Europe/Paris", language: str = "fr", currency: str = "EUR",
                          retention_years: int = 3) -> int:
    async with Provider._meta.db.transaction():
        row = (
            await Provider.insert(
                Provider(
                    slug=slug,
                    name=name,
                    contact_email=contact_email,
                    whatsapp=whatsapp,
                    timezone=timezone_name,
                    language=language,
                    currency=currency,
                    retention_years=retention_years,
                    created_at=datetime.now(UTC),
                )
            )
        )[0]
        provider_id = row["id"]
        # The data key is bound to the provider id, which exists only after the insert.
        wrapped = vault.master.wrap(new_data_key(), provider_id)
        await Provider.update({Provider.data_key: wrapped}).where(Provider.id == provider_id)
    return provider_id
