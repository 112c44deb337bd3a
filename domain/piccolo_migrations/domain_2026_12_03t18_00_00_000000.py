"""Covering indexes for the Bookings screen's search, calendar and drawer.

- name_token (provider, token, customer) and (provider, token, booking): a search asks "does this
  customer / this booking have this token?" in one probe, and lists a token's customers or
  bookings from the index alone. They make (provider, token) redundant.
- booking (provider, starts_at, experience, status, participant_count): the calendar's month
  counts read the index only, in GROUP BY order. It replaces (provider, starts_at).
- booking (customer, starts_at, id): a customer's bookings, and the ids a name search starts
  from, without reading the table. It replaces (customer, starts_at).

Written in SQL that SQLite and PostgreSQL both accept, like the indexes before them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "covering indexes for search, calendar and drawer"

CREATE = [
    "CREATE INDEX name_token_customer_search ON name_token (provider, token, customer)",
    "CREATE INDEX name_token_booking_search ON name_token (provider, token, booking)",
    "CREATE INDEX booking_calendar ON booking (provider, starts_at, experience, status, participant_count)",
    "CREATE INDEX booking_customer_history ON booking (customer, starts_at, id)",
]
REPLACED = [
    "CREATE INDEX name_token_lookup ON name_token (provider, token)",
    "CREATE INDEX booking_provider_starts ON booking (provider, starts_at)",
    "CREATE INDEX booking_customer_starts ON booking (customer, starts_at)",
]


def _name(statement: str) -> str:
    return statement.split(" INDEX ")[1].split(" ON ")[0]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in CREATE:
            await engine.run_ddl(statement)
        for statement in REPLACED:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {_name(statement)}")

    async def restore_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in REPLACED:
            await engine.run_ddl(statement)
        for statement in CREATE:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {_name(statement)}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(restore_indexes)
    return manager
