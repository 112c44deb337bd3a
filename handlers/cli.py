"""Command-line tools through Litestar's CLI: `litestar db|demo|keys|users …`."""

from __future__ import annotations

import asyncio

import click
from litestar.plugins import CLIPluginProtocol

DEMO_PASSWORD = "holaolas-demo"  # noqa: S105 - printed, documented, demo data only
DEMO_LOGINS = [
    ("les-vagues", "owner@les-vagues.example", "owner"),
    ("les-vagues", "staff@les-vagues.example", "staff"),
    ("ola-brava", "owner@ola-brava.example", "owner"),
    ("ola-brava", "staff@ola-brava.example", "staff"),
]


def _fail(message: str) -> None:
    raise click.ClickException(message)


class HolaOlasCLI(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        @cli.group(help="Database schema.")
        def db() -> None: ...

        @db.command(help="Apply the committed migrations.")
        def migrate(app) -> None:
            from domain.db import migrate as run_migrations

            asyncio.run(run_migrations())
            click.echo("Database schema is up to date.")

        @cli.group(help="Demo data.")
        def demo() -> None: ...

        @demo.command(name="load", help="Load the two demo providers, their bookings and staff logins.")
        @click.option("--seed", default=7, show_default=True, type=int)
        @click.option("--bookings", default=1500, show_default=True, type=int, help="Bookings per provider.")
        @click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds a provider.")
        def demo_load(app, seed: int, bookings: int, if_empty: bool) -> None:
            from domain.accounts import create_staff
            from domain.db import is_empty
            from domain.db import migrate as run_migrations
            from domain.demo import load_demo
            from domain.keys import open_vault
            from domain.tables import Provider

            async def run() -> bool:
                await run_migrations()
                if not await is_empty():
                    if if_empty:
                        return False
                vault = await open_vault(app.state.settings)
                app.state.vault = vault
                await load_demo(vault, seed=seed, bookings_per_provider=bookings)
                ids = {r["slug"]: r["id"] for r in await Provider.select(Provider.slug, Provider.id)}
                for slug, email, role in DEMO_LOGINS:
                    await create_staff(provider_id=ids[slug], email=email, password=DEMO_PASSWORD, role=role)
                return True

            loaded = asyncio.run(run())
            click.echo("Demo data loaded." if loaded else "The database already holds data; demo not loaded.")
            click.echo(f"Demo logins (password {DEMO_PASSWORD!r}, demo only):")
            for slug, email, role in DEMO_LOGINS:
                click.echo(f"  {email:<28} {role:<6} {slug}")

        @cli.group(help="Encryption keys.")
        def keys() -> None: ...

        @keys.command(name="new", help="Print a new random master key (for HOLAOLAS_MASTER_KEY).")
        def keys_new() -> None:
            from domain.crypto import format_keys, new_master_key

            click.echo(format_keys([new_master_key()]).strip())

        @keys.command(name="rotate", help="Re-wrap every provider's data key under a new master key.")
        def keys_rotate(app) -> None:
            from domain.keys import open_vault, rotate_master_key

            async def run():
                vault = await open_vault(app.state.settings)
                return await rotate_master_key(app.state.settings, vault)

            kid, count = asyncio.run(run())
            click.echo(f"Master key {kid} now wraps {count} data key(s).")

        @cli.group(help="Staff accounts.")
        def users() -> None: ...

        @users.command(name="create", help="Create a staff account; asks for the password.")
        @click.option("--provider", "slug", required=True, help="The provider's slug, e.g. les-vagues.")
        @click.option("--email", required=True)
        @click.option("--role", type=click.Choice(["owner", "staff"]), default="staff", show_default=True)
        @click.password_option()
        def users_create(app, slug: str, email: str, role: str, password: str) -> None:
            from domain.accounts import create_staff, password_problem
            from domain.tables import Provider, Staff

            problem = password_problem(password)
            if problem:
                _fail(problem)

            async def run() -> int:
                provider = await Provider.select(Provider.id).where(Provider.slug == slug).first()
                if provider is None:
                    _fail(f"No provider with slug {slug!r}.")
                if await Staff.exists().where(Staff.email == email.strip().lower()):
                    _fail(f"An account with email {email} already exists.")
                return await create_staff(provider_id=provider["id"], email=email, password=password, role=role)

            asyncio.run(run())
            click.echo(f"Created {role} account {email} for {slug}.")
