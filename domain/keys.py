"""The key vault of a running app: opens the master keys against the database, caches data keys, rotates."""

from __future__ import annotations

from domain.config import ConfigError, Settings
from domain.crypto import DecryptionError, MasterKeys, Sealer, load_master_keys, new_master_key, write_key_file
from domain.tables import Provider


class Vault:
    """Holds the master keys and the unwrapped data key of each provider met so far."""

    def __init__(self, master: MasterKeys):
        self.master = master
        self._sealers: dict[int, Sealer] = {}

    def sealer(self, provider_id: int, wrapped_data_key: str) -> Sealer:
        sealer = self._sealers.get(provider_id)
        if sealer is None:
            sealer = Sealer(provider_id, self.master.unwrap(wrapped_data_key, provider_id))
            self._sealers[provider_id] = sealer
        return sealer


async def open_vault(settings: Settings) -> Vault:
    """Load the master keys and prove they open this database's data keys, or stop with one clear line.

    A key file is created only for a database that holds no provider yet: a missing key never
    silently becomes a second key.
    """
    rows = await Provider.select(Provider.id, Provider.data_key).order_by(Provider.id)
    master = load_master_keys(settings, may_create=not rows)
    vault = Vault(master)
    for row in rows:
        try:
            vault.sealer(row["id"], row["data_key"])
        except DecryptionError:
            kid = row["data_key"].split(".")[1] if row["data_key"].count(".") == 2 else "?"
            raise ConfigError(
                f"The master key from {master.source} (id {master.active_id}) does not open this database, "
                f"whose data keys are wrapped by key {kid}. Start with the key this database was created with "
                "(HOLAOLAS_MASTER_KEY or the master.key file from your backup)."
            ) from None
    return vault


async def rotate_master_key(settings: Settings, vault: Vault) -> tuple[str, int]:
    """Re-wrap every data key under a new master key; return the new key id and the number re-wrapped.

    With a key file, a new key is generated and put first; the file keeps the old key until every
    data key is re-wrapped, so a crash half-way leaves a database every process can still open.
    With HOLAOLAS_MASTER_KEY, the operator puts the new key first in the variable ("new,old") and
    runs this to re-wrap under it, then drops the old key.
    """
    if settings.master_key_env:
        master = vault.master
    else:
        master = MasterKeys([new_master_key(), *vault.master.keys], vault.master.source)
        write_key_file(settings.key_file, master.keys)
    rows = await Provider.select(Provider.id, Provider.data_key)
    async with Provider._meta.db.transaction():
        for row in rows:
            data_key = master.unwrap(row["data_key"], row["id"])
            await Provider.update({Provider.data_key: master.wrap(data_key, row["id"])}).where(
                Provider.id == row["id"]
            )
    if not settings.master_key_env:
        write_key_file(settings.key_file, master.keys[:1])
        master = MasterKeys(master.keys[:1], master.source)
    vault.master = master
    return master.active_id, len(rows)
