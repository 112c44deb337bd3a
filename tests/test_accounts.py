"""Staff accounts and sessions: login, throttling, timeouts, password change, the CLI, Redis sessions."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import time
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from litestar.stores.memory import MemoryStore
from litestar.testing import AsyncTestClient

from domain import accounts
from domain.accounts import authenticate, create_staff
from domain.tables import Staff
from handlers.sessions import ABSOLUTE_TIMEOUT_S, IDLE_TIMEOUT_S, SESSIONS_STORE
from handlers.throttle import ACCOUNT, ADDRESS, LoginThrottle, account_key, address_key
from tests.conftest import IN_CI
from tests.helpers import PASSWORD, csrf_from, login, provider_with_staff, session_id, use_session_id

NEW_PASSWORD = "a new tide every morning"


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def post_login(client, email: str, password: str):
    """Log in as a browser set to English would (an anonymous visitor gets the language it asks for)."""
    english = {"accept-language": "en-GB,en;q=0.8"}
    page = await client.get("/login", headers=english)
    return await client.post("/login", data={"email": email, "password": password, "_csrf_token": csrf_from(page.text)},
                             headers=english, follow_redirects=False)


async def dashboard_status(client) -> int:
    return (await client.get("/bookings", follow_redirects=False)).status_code


# Login ---------------------------------------------------------------------------------------


async def test_login_opens_the_dashboard_and_logout_closes_it(settings, vault, client):
    await provider_with_staff(vault, "vagues", language="en")
    assert (await client.get("/bookings", follow_redirects=False)).headers["location"] == "/login?next=/bookings"
    response = await post_login(client, "Owner@Vagues.test ", PASSWORD)  # email as people type it
    assert (response.status_code, response.headers["location"]) == (303, "/bookings")
    page = await client.get("/bookings")
    assert page.status_code == 200 and "Surf vagues" in page.text

    token = csrf_from(page.text)
    out = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert await dashboard_status(client) == 303


async def test_login_goes_back_to_the_page_asked_for_but_never_off_site(settings, vault, client):
    await provider_with_staff(vault, "retour", language="en")
    page = await client.get("/login?next=/bookings/calendar")
    token = csrf_from(page.text)
    assert 'name="next" value="/bookings/calendar"' in page.text
    for target, expected in [("/bookings/calendar?month=2026-07", "/bookings/calendar?month=2026-07"),
                             ("https://evil.example/", "/bookings"), ("//evil.example/x", "/bookings"),
                             ("/\\evil.example", "/bookings")]:
        response = await client.post("/login", data={"email": "staff@retour.test", "password": PASSWORD,
                                                     "next": target, "_csrf_token": token}, follow_redirects=False)
        assert response.headers["location"] == expected, target


async def test_unknown_email_and_wrong_password_get_the_same_answer(settings, vault, client):
    await provider_with_staff(vault, "pareil", language="en")
    wrong = await post_login(client, "owner@pareil.test", "not the password")
    unknown = await post_login(client, "nobody@pareil.test", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert "Wrong email or password." in wrong.text
    assert wrong.text.replace("owner@pareil.test", "EMAIL") == unknown.text.replace("nobody@pareil.test", "EMAIL")
    assert await dashboard_status(client) == 303


async def test_unknown_and_deactivated_accounts_cost_a_full_password_check(settings, vault, monkeypatch):
    """No shortcut for an email that does not exist: it is checked against a dummy hash, in the same time."""
    scope = await provider_with_staff(vault, "timing")
    gone = await create_staff(provider_id=scope.provider_id, email="gone@timing.test", password=PASSWORD)
    await Staff.update({Staff.active: False}).where(Staff.id == gone)

    class CountingHasher:
        def __init__(self, inner):
            self.inner, self.verified = inner, 0

        def verify(self, hashed, password):
            self.verified += 1
            return self.inner.verify(hashed, password)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    for email in ("owner@timing.test", "nobody@timing.test", "gone@timing.test"):
        before = hasher.verified
        assert await authenticate(email, "not the password") is None
        assert hasher.verified == before + 1, email
    assert await authenticate("gone@timing.test", PASSWORD) is None  # deactivated: refused, even with its password

    async def median_s(email: str) -> float:
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            await authenticate(email, "not the password")
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    known, unknown = await median_s("owner@timing.test"), await median_s("nobody@timing.test")
    assert 0.33 < unknown / known < 3, (known, unknown)


# Throttling ----------------------------------------------------------------------------------


async def test_failed_logins_slow_the_account_down_then_release_it(settings, vault, app):
    await provider_with_staff(vault, "lent", language="en")
    clock = FakeClock()
    app.state.clock = clock
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        for _ in range(ACCOUNT.free_failures):
            assert (await post_login(client, "owner@lent.test", "guess")).status_code == 400
        # The next attempt, even with the right password, must wait: the answer says so, and how long.
        held = await post_login(client, "owner@lent.test", PASSWORD)
        assert held.status_code == 429 and held.headers["retry-after"] == "1"
        assert "Too many failed attempts. Try again in 1 second." in held.text
        assert await dashboard_status(client) == 303

        clock.advance(1)  # the delay grows with each failure: 1 s, then 2 s, then 4 s
        assert (await post_login(client, "owner@lent.test", "guess")).status_code == 400
        assert (await post_login(client, "owner@lent.test", PASSWORD)).headers["retry-after"] == "2"
        clock.advance(2)
        assert (await post_login(client, "owner@lent.test", "guess")).status_code == 400
        assert (await post_login(client, "owner@lent.test", PASSWORD)).headers["retry-after"] == "4"

        clock.advance(4)  # released: the real user gets in, and that clears the account's failures
        assert (await post_login(client, "owner@lent.test", PASSWORD)).status_code == 303
        client.cookies.clear()
        assert (await post_login(client, "owner@lent.test", "typo")).status_code == 400


async def test_an_unknown_email_is_throttled_exactly_like_a_real_one(settings, vault, app):
    await provider_with_staff(vault, "egal", language="en")
    app.state.clock = FakeClock()
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        answers = {}
        for email in ("owner@egal.test", "nobody@egal.test"):
            for _ in range(ACCOUNT.free_failures):
                await post_login(client, email, "guess")
            response = await post_login(client, email, "guess")
            answers[email] = (response.status_code, response.headers.get("retry-after"))
        assert answers["owner@egal.test"] == answers["nobody@egal.test"] == (429, "1")


async def test_throttle_delay_grows_and_caps_and_never_locks_out_for_good():
    clock = FakeClock(1_000_000.0)
    throttle = LoginThrottle(MemoryStore(), clock=clock)
    key = account_key("owner@example.test")
    waits = []
    for _ in range(ACCOUNT.free_failures + 12):
        await throttle.failed([key])
        waits.append(await throttle.wait_s([key]))
    assert waits[:ACCOUNT.free_failures - 1] == [0] * (ACCOUNT.free_failures - 1)
    assert waits[ACCOUNT.free_failures - 1:ACCOUNT.free_failures + 4] == [1, 2, 4, 8, 16]
    assert max(waits) == ACCOUNT.max_delay_s == 300  # a guesser waits 5 minutes between tries, no more

    clock.advance(ACCOUNT.max_delay_s)
    assert await throttle.wait_s([key]) == 0
    clock.advance(ACCOUNT.window_s)  # an hour later everything is forgotten
    assert await throttle.wait_s([key]) == 0
    await throttle.failed([key])
    assert await throttle.wait_s([key]) == 0


async def test_at_most_a_hundred_failures_an_hour_per_account():
    clock = FakeClock(1_000_000.0)
    throttle = LoginThrottle(MemoryStore(), clock=clock)
    key = account_key("owner@example.test")
    for _ in range(ACCOUNT.ceiling):  # a burst that slipped in concurrently, before any delay applied
        await throttle.failed([key])
        clock.advance(0.01)
    assert ACCOUNT.ceiling == 100
    assert ACCOUNT.window_s - 2 <= await throttle.wait_s([key]) <= ACCOUNT.window_s  # the rest of the hour
    clock.advance(ACCOUNT.window_s)
    assert await throttle.wait_s([key]) == 0


async def test_one_address_guessing_at_many_accounts_is_slowed_down():
    clock = FakeClock(1_000_000.0)
    throttle = LoginThrottle(MemoryStore(), clock=clock)
    address = address_key("203.0.113.9")
    for n in range(ADDRESS.free_failures):
        keys = [account_key(f"person{n}@example.test"), address]
        assert await throttle.wait_s(keys) == 0
        await throttle.failed(keys)
    fresh = [account_key("someone-else@example.test"), address]
    assert await throttle.wait_s(fresh) == 1
    # Another address trying that same fresh account is not held up by the first address.
    assert await throttle.wait_s([account_key("someone-else@example.test"), address_key("198.51.100.7")]) == 0
    # A successful login clears the account, not the address that guessed.
    await throttle.succeeded(fresh[0])
    assert await throttle.wait_s(fresh) == 1


async def test_throttle_keys_hold_no_email_or_address_in_clear():
    assert "owner" not in account_key("owner@example.test").name
    assert "203.0.113" not in address_key("203.0.113.9").name
    assert account_key(" Owner@Example.TEST").name == account_key("owner@example.test").name


# Sessions ------------------------------------------------------------------------------------


async def test_login_gives_a_new_session_id_and_a_planted_one_is_worthless(settings, vault, app, client):
    await provider_with_staff(vault, "fixe", language="en")
    store = app.stores.get(SESSIONS_STORE)
    # An id the server never handed out is dropped at once, not adopted.
    use_session_id(client, "a" * 64)
    page = await client.get("/login")
    assert session_id(client) is None and not await store.exists("a" * 64)

    # An attacker gets a real (anonymous) session by choosing a language, and plants its id in our browser…
    await client.post("/language", data={"language": "en", "next": "/login", "_csrf_token": csrf_from(page.text)})
    planted = session_id(client)
    assert planted and await store.exists(planted)

    await login(client, "owner@fixe.test")  # …we log in with it…
    first = session_id(client)
    assert first and first != planted
    assert not await store.exists(planted)  # …and the planted id died with the login: it opens nothing.
    use_session_id(client, planted)
    assert await dashboard_status(client) == 303

    use_session_id(client, first)
    await login(client, "staff@fixe.test")  # logging in again, even while logged in, changes the id too
    second = session_id(client)
    assert second not in (first, planted) and not await store.exists(first)


async def test_anonymous_visitors_get_no_session(settings, vault, app, client):
    await client.get("/login")
    await client.get("/bookings", follow_redirects=False)
    assert session_id(client) is None


async def test_logout_destroys_the_session_server_side(settings, vault, app, client):
    await provider_with_staff(vault, "sortie", language="en")
    store = app.stores.get(SESSIONS_STORE)
    await login(client, "staff@sortie.test")
    old = session_id(client)
    token = csrf_from((await client.get("/bookings")).text)
    out = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.headers["clear-site-data"] == '"cache", "storage"'
    assert not await store.exists(old)
    assert session_id(client) is None  # the browser was told to drop the cookie (Max-Age=0)

    use_session_id(client, old)  # replaying the old cookie
    replay = await client.get("/bookings", follow_redirects=False)
    assert (replay.status_code, replay.headers["location"]) == (303, "/login?next=/bookings")


async def test_an_idle_session_expires_and_each_request_renews_it(settings, vault, app, client):
    await provider_with_staff(vault, "sieste", language="en")
    store = app.stores.get(SESSIONS_STORE)
    await login(client, "staff@sieste.test")
    sid = session_id(client)
    assert IDLE_TIMEOUT_S - 5 <= await store.expires_in(sid) <= IDLE_TIMEOUT_S

    data = await store.get(sid)
    await store.set(sid, data, expires_in=600)  # as if it had been idle for most of the timeout
    assert await dashboard_status(client) == 200
    assert await store.expires_in(sid) > IDLE_TIMEOUT_S - 5  # the visit renewed it

    await store.set(sid, data, expires_in=timedelta(microseconds=1))  # idle past the timeout
    assert await dashboard_status(client) == 303


async def test_a_session_ends_at_the_absolute_timeout_however_busy(settings, vault, app):
    await provider_with_staff(vault, "journee", language="en")
    clock = FakeClock()
    app.state.clock = clock
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await login(client, "staff@journee.test")
        clock.advance(ABSOLUTE_TIMEOUT_S - 60)
        assert await dashboard_status(client) == 200
        clock.advance(61)
        assert await dashboard_status(client) == 303
        assert await dashboard_status(client) == 303  # and the dead session was cleared, not just refused


async def test_a_deactivated_account_is_logged_out_and_stays_out_after_reactivation(settings, vault, client):
    scope = await provider_with_staff(vault, "depart", language="en")
    await login(client, "staff@depart.test")
    staff_sid = session_id(client)
    assert await dashboard_status(client) == 200
    staff = await Staff.select(Staff.id).where(Staff.email == "staff@depart.test").first()

    client.cookies.clear()
    await login(client, "owner@depart.test")
    token = csrf_from((await client.get("/settings/staff")).text)
    off = await client.post(f"/settings/staff/{staff['id']}/active", data={"active": "0", "_csrf_token": token},
                            follow_redirects=False)
    assert off.status_code == 303
    owner_sid = session_id(client)

    use_session_id(client, staff_sid)
    assert await dashboard_status(client) == 303

    use_session_id(client, owner_sid)
    await client.post(f"/settings/staff/{staff['id']}/active", data={"active": "1", "_csrf_token": token})
    use_session_id(client, staff_sid)
    assert await dashboard_status(client) == 303  # the old session did not come back to life
    client.cookies.clear()
    await login(client, "staff@depart.test")  # but the person can log in again
    assert scope.provider_id


# Password change -----------------------------------------------------------------------------


async def test_password_change_ends_other_sessions_and_keeps_this_one(settings, vault, client):
    await provider_with_staff(vault, "change", language="en")
    await login(client, "staff@change.test")
    phone = session_id(client)
    client.cookies.clear()
    await login(client, "staff@change.test")
    laptop = session_id(client)

    page = await client.get("/account/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    done = await client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD,
        "_csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "Your password was changed." in done.text
    assert session_id(client) != laptop  # this session carries on, under a new id
    assert await dashboard_status(client) == 200

    use_session_id(client, phone)
    assert await dashboard_status(client) == 303
    use_session_id(client, laptop)
    assert await dashboard_status(client) == 303

    client.cookies.clear()
    assert (await post_login(client, "staff@change.test", PASSWORD)).status_code == 400
    assert (await post_login(client, "staff@change.test", NEW_PASSWORD)).status_code == 303


@pytest.mark.parametrize(("current", "new", "again", "field", "message"), [
    ("not it", NEW_PASSWORD, NEW_PASSWORD, "current_password", "This is not your current password."),
    (PASSWORD, "short", "short", "new_password", "The new password must have at least 10 characters."),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "new_password_again", "The two new passwords are not the same."),
])
async def test_a_refused_password_change_says_why_and_changes_nothing(settings, vault, client, current, new, again,
                                                                      field, message):
    await provider_with_staff(vault, "refus", language="en")
    await login(client, "owner@refus.test")
    before = await Staff.select(Staff.password_hash, Staff.password_changed_at).where(
        Staff.email == "owner@refus.test").first()
    page = await client.get("/account/password")
    response = await client.post("/account/password", data={
        "current_password": current, "new_password": new, "new_password_again": again,
        "_csrf_token": csrf_from(page.text)})
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in response.text
    assert 'aria-invalid="true"' in response.text
    after = await Staff.select(Staff.password_hash, Staff.password_changed_at).where(
        Staff.email == "owner@refus.test").first()
    assert after == before
    assert await dashboard_status(client) == 200


# The command line ----------------------------------------------------------------------------


def _database_url(settings) -> str:
    db = settings.database
    if db.engine == "sqlite":
        return f"sqlite:///{db.path}"
    return f"postgres://{db.user}@{db.host}:{db.port}/{db.name}"


def test_users_create_command_makes_an_account_that_can_log_in(settings):
    from click.testing import CliRunner
    from litestar.cli.main import litestar_group

    from domain.keys import open_vault
    from domain.providers import create_provider

    async def make_provider():
        await create_provider(await open_vault(settings), slug="cli-surf", name="CLI Surf")

    asyncio.run(make_provider())
    env = {"HOLAOLAS_DATA_DIR": str(settings.data_dir), "HOLAOLAS_DATABASE_URL": _database_url(settings),
           "LITESTAR_APP": "app:create_app"}
    runner = CliRunner()

    def users_create(*args: str, password: str = NEW_PASSWORD):
        return runner.invoke(litestar_group, ["users", "create", *args], input=f"{password}\n{password}\n", env=env)

    result = users_create("--provider", "cli-surf", "--email", "Boss@CLI.test", "--role", "owner")
    assert result.exit_code == 0, result.output
    assert "Created owner account Boss@CLI.test for cli-surf." in result.output
    assert NEW_PASSWORD not in result.output

    member = asyncio.run(authenticate("boss@cli.test", NEW_PASSWORD))
    assert member is not None and member.role == "owner"

    refused = {
        "duplicate": users_create("--provider", "cli-surf", "--email", "boss@cli.test"),
        "no such provider": users_create("--provider", "nowhere", "--email", "x@cli.test"),
        "short password": users_create("--provider", "cli-surf", "--email", "y@cli.test", password="short"),
        "unknown role": users_create("--provider", "cli-surf", "--email", "z@cli.test", "--role", "admin"),
    }
    for why, outcome in refused.items():
        assert outcome.exit_code != 0, why
    assert "already exists" in refused["duplicate"].output
    assert "No provider with slug 'nowhere'" in refused["no such provider"].output
    assert "at least 10 characters" in refused["short password"].output
    staff = asyncio.run(Staff.select(Staff.email).where(Staff.email.like("%@cli.test")).run())
    assert [row["email"] for row in staff] == ["boss@cli.test"]


# Redis ---------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("HOLAOLAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_settings(settings):
    """The settings with sessions in a real Redis (its test database emptied of our keys first)."""
    import redis

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            pass
    except OSError:
        if IN_CI:
            pytest.fail(f"Redis is required in CI but {parts.hostname}:{parts.port} is not reachable")
        pytest.skip(f"Redis not reachable at {parts.hostname}:{parts.port}")
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter("holaolas-sessions*"))
    if keys:
        client.delete(*keys)
    yield replace(settings, redis_url=REDIS_URL), client
    client.close()


async def test_sessions_and_login_failures_live_in_redis_when_configured(redis_settings, vault):
    from app import create_app

    settings, redis_client = redis_settings
    await provider_with_staff(vault, "redis", language="en")
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        assert (await post_login(client, "owner@redis.test", "guess")).status_code == 400
        assert list(redis_client.scan_iter("holaolas-sessions_login-throttle:*"))  # shared by every app process

        await login(client, "owner@redis.test")
        sid = session_id(client)
        key = f"holaolas-sessions:{sid}"
        assert redis_client.exists(key)
        assert IDLE_TIMEOUT_S - 5 <= redis_client.ttl(key) <= IDLE_TIMEOUT_S
        assert not list(redis_client.scan_iter("holaolas-sessions_login-throttle:account-*"))  # cleared by success
        assert await dashboard_status(client) == 200

        token = csrf_from((await client.get("/bookings")).text)
        await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
        assert not redis_client.exists(key)
        use_session_id(client, sid)
        assert await dashboard_status(client) == 303


async def test_expired_sessions_are_swept_from_the_file_store_at_start_up(tmp_path):
    from types import SimpleNamespace

    from litestar.stores.registry import StoreRegistry

    from handlers.sessions import forget_expired, stores

    registry = stores(None, tmp_path)
    sessions = registry[SESSIONS_STORE]
    await sessions.set("old", b"{}", expires_in=timedelta(microseconds=1))
    await sessions.set("live", b"{}", expires_in=IDLE_TIMEOUT_S)
    await forget_expired(SimpleNamespace(stores=StoreRegistry(registry)))
    assert not await sessions.exists("old") and await sessions.exists("live")  # exists() does not sweep by itself


async def test_a_request_running_during_logout_does_not_bring_the_session_back(settings, vault, app, monkeypatch):
    """An htmx request still on its way when the person taps "Log out" must not re-save the session."""
    import asyncio as aio

    import httpx

    import handlers.bookings

    await provider_with_staff(vault, "course", language="en")
    release, waiting = aio.Event(), aio.Event()
    real_list_bookings = handlers.bookings.list_bookings

    async def slow_list_bookings(*args, **kwargs):
        if not release.is_set():
            waiting.set()
            await release.wait()
        return await real_list_bookings(*args, **kwargs)

    transport = httpx.ASGITransport(app=app)  # in this event loop, so two requests can overlap
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        await login(client, "staff@course.test")
        sid = session_id(client)
        token = csrf_from((await client.get("/bookings")).text)
        monkeypatch.setattr(handlers.bookings, "list_bookings", slow_list_bookings)

        in_flight = aio.create_task(client.get("/bookings", follow_redirects=False))
        await aio.wait_for(waiting.wait(), 5)
        out = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        release.set()
        assert (await in_flight).status_code == 200  # it was let in before the logout

        assert not await app.stores.get(SESSIONS_STORE).exists(sid)
        use_session_id(client, sid)
        assert (await client.get("/bookings", follow_redirects=False)).status_code == 303
