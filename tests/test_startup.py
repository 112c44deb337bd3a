"""Start-up refuses bad configuration with one clear line, and never invents a second master key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from domain.crypto import format_keys, new_master_key
from domain.keys import open_vault
from domain.providers import create_provider

ROOT = Path(__file__).resolve().parent.parent


def start(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    """Create the app the way `litestar run` does, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLAOLAS_")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", "from app import create_app; create_app()"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def assert_one_clear_line(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("url", ["mysql://localhost/db", "postgres://", "sqlite:///", "postgres://h:notaport/db"])
def test_malformed_database_url_stops_with_one_line(tmp_path, url):
    result = start({"HOLAOLAS_DATA_DIR": str(tmp_path), "HOLAOLAS_DATABASE_URL": url})
    assert_one_clear_line(result, "HOLAOLAS_DATABASE_URL")


def test_unreachable_postgres_stops_with_one_line(tmp_path):
    result = start({"HOLAOLAS_DATA_DIR": str(tmp_path), "HOLAOLAS_DATABASE_URL": "postgres://u@127.0.0.1:1/nothing"})
    assert_one_clear_line(result, "database")


def test_data_dir_without_write_permission_stops_with_one_line(tmp_path):
    if os.geteuid() == 0:
        target = Path("/sys/fs")  # root may write anywhere but a read-only kernel mount
    else:
        target = tmp_path / "locked"
        target.mkdir()
        target.chmod(0o555)
    result = start({"HOLAOLAS_DATA_DIR": str(target)})
    assert_one_clear_line(result, "not writable", str(target))


def test_unreadable_key_file_stops_with_one_line(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "holaolas.sqlite")
    key_file = tmp_path / "master.key"
    if os.geteuid() == 0:
        key_file.mkdir()  # root reads any file, but not a directory
    else:
        key_file.write_text(format_keys([new_master_key()]))
        key_file.chmod(0)
    result = start({"HOLAOLAS_DATA_DIR": str(tmp_path)})
    assert_one_clear_line(result, "master key file")


@pytest.fixture
async def database_with_data(sqlite_settings):
    vault = await open_vault(sqlite_settings)
    await create_provider(vault, slug="keyed", name="Keyed")
    return sqlite_settings


def test_wrong_master_key_refuses_to_start_and_says_what_to_do(database_with_data):
    settings = database_with_data
    before = settings.key_file.read_bytes()
    result = start({"HOLAOLAS_DATA_DIR": str(settings.data_dir),
                    "HOLAOLAS_MASTER_KEY": format_keys([new_master_key()]).strip()})
    line = assert_one_clear_line(result, "does not open this database")
    assert "backup" in line
    assert settings.key_file.read_bytes() == before


def test_missing_key_file_with_data_never_creates_a_second_key(database_with_data):
    settings = database_with_data
    settings.key_file.unlink()
    result = start({"HOLAOLAS_DATA_DIR": str(settings.data_dir)})
    assert_one_clear_line(result, "missing")
    assert not settings.key_file.exists()


def test_fresh_data_dir_gets_a_private_key_file(tmp_path):
    result = start({"HOLAOLAS_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    # The schema does not exist yet, so no key is needed until `litestar db migrate` has run.
    assert not (tmp_path / "master.key").exists() or (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600


def test_keys_rotate_command_rewraps_and_the_app_still_starts(database_with_data):
    """`litestar keys rotate` as an operator runs it: a new key file, the data still opens."""
    settings = database_with_data
    before = settings.key_file.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLAOLAS_")}
    env.update({"HOLAOLAS_DATA_DIR": str(settings.data_dir), "LITESTAR_APP": "app:create_app"})
    rotated = subprocess.run([str(Path(sys.executable).parent / "litestar"), "keys", "rotate"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    assert "now wraps 1 data key" in rotated.stdout
    after = settings.key_file.read_text()
    assert after != before and len(after.split()) == 1  # the old key is gone from the file
    assert settings.key_file.stat().st_mode & 0o777 == 0o600
    assert start({"HOLAOLAS_DATA_DIR": str(settings.data_dir)}).returncode == 0  # the vault opens with the new key
    # …and the old key no longer does.
    old = start({"HOLAOLAS_DATA_DIR": str(settings.data_dir), "HOLAOLAS_MASTER_KEY": before.strip()})
    assert_one_clear_line(old, "does not open this database")


def test_keys_rotate_with_the_key_in_the_environment(database_with_data):
    """In production the key is in HOLAOLAS_MASTER_KEY: put the new key first ("new,old"), rotate,
    then drop the old one; the data opens with the new key alone and no longer with the old."""
    settings = database_with_data
    old = settings.key_file.read_text().strip()
    settings.key_file.unlink()  # the environment holds the key from now on
    new = format_keys([new_master_key()]).strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLAOLAS_")}
    env.update({"HOLAOLAS_DATA_DIR": str(settings.data_dir), "LITESTAR_APP": "app:create_app",
                "HOLAOLAS_MASTER_KEY": f"{new},{old}"})
    rotated = subprocess.run([str(Path(sys.executable).parent / "litestar"), "keys", "rotate"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    assert "now wraps 1 data key" in rotated.stdout
    assert not settings.key_file.exists()  # nothing written to disk: the key lives where the operator put it
    assert start({"HOLAOLAS_DATA_DIR": str(settings.data_dir), "HOLAOLAS_MASTER_KEY": new}).returncode == 0
    refused = start({"HOLAOLAS_DATA_DIR": str(settings.data_dir), "HOLAOLAS_MASTER_KEY": old})
    assert_one_clear_line(refused, "does not open this database")
