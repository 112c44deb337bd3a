"""`make run` on a fresh checkout migrates, loads the demo, serves the shell and prints the demo logins."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_checkout(target: Path) -> None:
    """The files a clone would have (tracked, plus new ones not ignored), without data/ or .venv/."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # Share the installed virtualenv: the test is about what `make run` does after installing.
    (target / ".venv").symlink_to(ROOT / ".venv")


@pytest.mark.slow
def test_make_run_serves_the_demo_on_a_fresh_checkout(tmp_path):
    checkout = tmp_path / "holaolas"
    checkout.mkdir()
    fresh_checkout(checkout)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOLAOLAS_", "LITESTAR_"))}
    log = (tmp_path / "make-run.log").open("w+")
    process = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=checkout, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert process.poll() is None, Path(log.name).read_text()
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("make run did not serve within 240 s:\n" + Path(log.name).read_text())

        output = Path(log.name).read_text()
        for email in ("owner@les-vagues.example", "staff@les-vagues.example", "owner@ola-brava.example",
                      "staff@ola-brava.example"):
            assert email in output
        assert "holaolas-demo" in output
        assert (checkout / "data" / "holaolas.sqlite").exists()
        assert (checkout / "data" / "master.key").stat().st_mode & 0o777 == 0o600

        with httpx.Client(base_url=base, follow_redirects=False) as client:
            page = client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
            response = client.post("/login", data={"email": "owner@les-vagues.example",
                                                   "password": "holaolas-demo", "_csrf_token": token})
            assert response.status_code == 303
            shell = client.get("/bookings")
            assert shell.status_code == 200
            assert "École de surf Les Vagues" in shell.text
            assert "htmx-4.0.1.min.js" in shell.text
            # A search is personal data (a name, an email, a phone): the server's log names the screen only.
            searches = ("chauveau", "gilles.chauveau@example.org", "+33638392409")
            for q in searches:
                assert client.get("/bookings", params={"q": q, "status": "confirmed"}).status_code == 200
            assert client.get("/bookings/calendar", params={"month": "2026-12"}).status_code == 200
        time.sleep(0.5)  # the log is written by the server process
        output = Path(log.name).read_text()
        assert '"GET /bookings?… HTTP/1.1" 200' in output  # the access log is on, and says which screen
        for secret in (*searches, "%40example", "%2B33", "status="):
            assert secret not in output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
