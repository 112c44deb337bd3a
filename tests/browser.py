"""Browser-test plumbing: the real app served by uvicorn in a subprocess, driven by Chromium through Playwright.

Use it from any test module (mark the test `@pytest.mark.browser`: browser tests run last)::

    from tests.browser import chromium, served_app, watch

    @pytest.mark.browser
    def test_a_booking_opens_in_its_drawer(settings):          # settings: SQLite and PostgreSQL
        async def seed(vault):                                   # runs after the migrations
            return await provider_with_staff(vault, "plage", language="en")

        with served_app(settings, seed=seed) as server, chromium() as browser:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            problems = watch(page)
            page.goto(server.url + "/login")
            ...                                                  # server.seeded is what seed returned
            assert problems.csp_violations == [] and problems.page_errors == []

`served_app` migrates the database, runs the seed callback, starts uvicorn on 127.0.0.1 and a
free port with the same data dir and database as `settings`, waits until /login answers, and
stops the server by its PID on the way out (its log is printed if it fails to start).
`chromium()` launches /usr/bin/chromium (never `playwright install`); without it the test is
skipped, or fails when CI=true. Launch it inside the test, not in a module-scoped fixture:
Playwright's sync API keeps an event loop running while it is open, and the database fixtures'
asyncio.run() then fails. `watch(page)` collects what the browser complains about.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from app import run_async
from domain.config import Database, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("HOLAOLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
IN_CI = os.environ.get("CI") == "true"

Seed = Callable[[Any], Awaitable[Any]]  # async (vault) -> anything the test wants back


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    settings: Settings
    seeded: Any  # what the seed callback returned
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(database: Database) -> str:
    if database.engine == "sqlite":
        return f"sqlite:///{database.path}"
    password = f":{database.password}" if database.password else ""
    return f"postgres://{database.user}{password}@{database.host}:{database.port}/{database.name}"


async def _prepare(settings: Settings, seed: Seed | None) -> Any:
    from domain.db import make_engine, migrate, use_engine
    from domain.keys import open_vault

    use_engine(make_engine(settings.database))
    await migrate()
    if seed is None:
        return None
    return await seed(await open_vault(settings))


def _wait_until_up(process: subprocess.Popen, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the app did not answer on {url} within {timeout_s:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def served_app(settings: Settings | None = None, *, seed: Seed | None = None, env: dict[str, str] | None = None,
               startup_timeout_s: float = 30) -> Iterator[Server]:
    """Serve the app as production would (uvicorn, a separate process) on the database of `settings`.

    Without `settings`, a fresh SQLite database in a temporary data dir. `env` adds or overrides
    environment variables of the server (e.g. {"HOLAOLAS_HTTPS": "1"}).
    """
    with tempfile.TemporaryDirectory(prefix="holaolas-browser-") as tmp:
        if settings is None:
            data_dir = Path(tmp) / "data"
            data_dir.mkdir()
            settings = replace(load_settings({"HOLAOLAS_DATA_DIR": str(data_dir)}), master_key_env=None)
        seeded = run_async(_prepare(settings, seed))

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server_env = {k: v for k, v in os.environ.items()
                      if not k.startswith("HOLAOLAS_") or k.startswith("HOLAOLAS_TEST_")}
        server_env.update({
            "HOLAOLAS_DATA_DIR": str(settings.data_dir),
            "HOLAOLAS_DATABASE_URL": database_url(settings.database),
            "PYTHONUNBUFFERED": "1",
        })
        if settings.master_key_env:
            server_env["HOLAOLAS_MASTER_KEY"] = settings.master_key_env
        if settings.redis_url:
            server_env["HOLAOLAS_REDIS_URL"] = settings.redis_url
        server_env.update(env or {})
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning", "--no-access-log"],
                cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT,
            )
        server = Server(url=url, settings=settings, seeded=seeded, process=process, log_path=log_path)
        try:
            try:
                _wait_until_up(process, url, startup_timeout_s)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}\n--- server log ---\n{server.log()}") from None
            yield server
        finally:
            _stop(process)


@contextmanager
def chromium(**launch_options) -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API). Skips the test without Chromium; fails in CI."""
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                             **launch_options)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What the browser reported while a page was watched."""

    csp_violations: list[str] = field(default_factory=list)  # console reports and DevTools issues
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript exceptions


def watch(page) -> PageProblems:
    """Collect CSP violations, console errors and uncaught exceptions of `page` from now on.

    Chromium reports a CSP violation twice: as a console error ("Refused to … because it violates
    the following Content Security Policy directive") and as a DevTools issue; both are collected.
    """
    problems = PageProblems()

    def on_console(message) -> None:
        if message.type == "error":
            problems.console_errors.append(message.text)
            if "Content Security Policy" in message.text:
                problems.csp_violations.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    try:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Audits.enable")

        def on_issue(event) -> None:
            issue = event.get("issue", {})
            if issue.get("code") == "ContentSecurityPolicyIssue":
                details = issue.get("details", {}).get("contentSecurityPolicyIssueDetails", {})
                problems.csp_violations.append(f"DevTools issue: {details}")

        cdp.on("Audits.issueAdded", on_issue)
    except Exception:  # noqa: BLE001 - DevTools issues are a second opinion; the console suffices
        pass
    return problems


# Checks a page can be put through -------------------------------------------------------------

SMALL_TARGETS_JS = """
(minimum) => [...document.querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, a.button, nav a')]
  .filter(el => el.offsetParent !== null)
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.height < minimum || (el.tagName !== 'INPUT' && r.width < minimum))
  .map(([el, r]) => `${el.tagName.toLowerCase()} "${(el.innerText || el.name || '').trim()}" ${Math.round(r.width)}x${Math.round(r.height)}`)
"""


def small_touch_targets(page, minimum: int = 44) -> list[str]:
    """Controls on the page smaller than `minimum` CSS pixels (a finger needs 44)."""
    return page.evaluate(SMALL_TARGETS_JS, minimum)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def web_storage(page) -> dict[str, list[str]]:
    """The keys this origin keeps in localStorage and sessionStorage."""
    return page.evaluate("({local: Object.keys(localStorage), session: Object.keys(sessionStorage)})")
