"""Composite indexes for the Bookings screen's filters and sorts, and for blind-index lookups.

Piccolo declares single-column indexes only; these are written out once, in SQL that both
SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T16:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for filters and blind indexes"

INDEXES = [
    "CREATE UNIQUE INDEX booking_provider_reference ON booking (provider, reference)",
    "CREATE INDEX booking_provider_starts ON booking (provider, starts_at)",
    "CREATE INDEX booking_provider_submitted ON booking (provider, submitted_at)",
    "CREATE INDEX booking_provider_total ON booking (provider, total_cents)",
    "CREATE INDEX booking_provider_status_starts ON booking (provider, status, starts_at)",
    "CREATE INDEX booking_provider_payment_starts ON booking (provider, payment_status, starts_at)",
    "CREATE INDEX booking_provider_experience_starts ON booking (provider, experience, starts_at)",
    "CREATE INDEX booking_customer_starts ON booking (customer, starts_at)",
    "CREATE INDEX booking_slot ON booking (slot)",
    "CREATE INDEX participant_booking ON participant (booking, position)",
    "CREATE INDEX customer_provider_email ON customer (provider, email_index)",
    "CREATE INDEX customer_provider_phone ON customer (provider, phone_index)",
    "CREATE INDEX name_token_lookup ON name_token (provider, token)",
    "CREATE INDEX name_token_customer ON name_token (customer)",
    "CREATE INDEX name_token_booking ON name_token (booking)",
    "CREATE INDEX slot_provider_starts ON slot (provider, starts_at)",
    "CREATE INDEX experience_provider ON experience (provider, position)",
    "CREATE INDEX staff_provider ON staff (provider)",
    "CREATE INDEX audit_event_provider_created ON audit_event (provider, created_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in INDEXES:
            await engine.run_ddl(statement)

    async def drop_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in INDEXES:
            name = statement.split(" INDEX ")[1].split(" ON ")[0]
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
