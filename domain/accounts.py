"""Staff accounts: Argon2id password hashes, creating staff, checking a login, changing a password."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain import audit
from domain.scope import Scope
from domain.tables import Staff

ROLES = ("owner", "staff")

# OWASP's first Argon2id recommendation: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash("holaolas: no such account")


@dataclass(frozen=True)
class StaffMember:
    id: int
    provider_id: int
    email: str
    role: str
    language: str
    password_changed_at: datetime
    active: bool = True


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_login(email: str) -> str:
    return email.strip().lower()


async def create_staff(*, provider_id: int, email: str, password: str, role: str = "staff", language: str = "") -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = datetime.now(UTC)
    row = await Staff.insert(
        Staff(
            provider=provider_id,
            email=normalise_login(email),
            password_hash=hash_password(password),
            role=role,
            language=language,
            created_at=now,
            password_changed_at=now,
        )
    )
    return row[0]["id"]


def _member(row: dict) -> StaffMember:
    return StaffMember(
        id=row["id"],
        provider_id=row["provider"],
        email=row["email"],
        role=row["role"],
        language=row["language"],
        password_changed_at=row["password_changed_at"],
        active=row["active"],
    )


async def authenticate(email: str, password: str) -> StaffMember | None:
    """The active staff member with this email and password, or None — in the same time either way."""
    row = await Staff.select().where((Staff.email == normalise_login(email)) & (Staff.active == True)).first()  # noqa: E712
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        await Staff.update({Staff.password_hash: hash_password(password)}).where(Staff.id == row["id"])
    return _member(row)


async def get_staff(staff_id: int) -> StaffMember | None:
    row = await Staff.select().where((Staff.id == staff_id) & (Staff.active == True)).first()  # noqa: E712
    return None if row is None else _member(row)


async def get_staff_and_provider(staff_id: int) -> tuple[StaffMember, dict] | None:
    """The active staff member and their provider's row, in one query: every logged-in request needs both."""
    row = await Staff.select(*Staff.all_columns(), *Staff.provider.all_columns()).where(
        (Staff.id == staff_id) & (Staff.active == True)  # noqa: E712
    ).first()
    if row is None:
        return None
    provider = {key.split(".", 1)[1]: value for key, value in row.items() if key.startswith("provider.")}
    return _member(row), provider


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # long passphrases welcome; megabytes are not


def password_issue(password: str) -> str | None:
    """Why a new password is refused, as a code ("too_short", "too_long"); None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    return None


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in English for the CLI; None when it is acceptable."""
    issue = password_issue(password)
    if issue == "too_short":
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if issue == "too_long":
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    return None


class PasswordRefused(ValueError):
    """A password change that did not happen; `reason` is "wrong_password" or a password_issue code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


async def change_password(staff_id: int, current_password: str, new_password: str) -> StaffMember:
    """Check the current password, store the new one and move the stamp that ends every older session.

    Returns the member as stored afterwards: its `password_changed_at` is the new stamp.
    """
    row = await Staff.select().where((Staff.id == staff_id) & (Staff.active == True)).first()  # noqa: E712
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, current_password)
    except (VerificationError, InvalidHashError):
        raise PasswordRefused("wrong_password") from None
    if row is None:
        raise PasswordRefused("wrong_password")
    issue = password_issue(new_password)
    if issue:
        raise PasswordRefused(issue)
    await Staff.update({
        Staff.password_hash: hash_password(new_password),
        Staff.password_changed_at: _new_stamp(row["password_changed_at"]),
    }).where(Staff.id == staff_id)
    return await get_staff(staff_id)


def _new_stamp(previous: datetime) -> datetime:
    """Now, but never equal to the previous stamp (two changes within one clock tick must still differ)."""
    now = datetime.now(UTC)
    if previous is not None and now <= previous:
        now = previous + timedelta(microseconds=1)
    return now


# Staff management (owners, Settings → Staff) -------------------------------------------------


async def list_staff(scope: Scope) -> list[StaffMember]:
    """The provider's staff accounts, owners first, then by email."""
    rows = await Staff.select().where(Staff.provider == scope.provider_id)
    members = [_member(r) for r in rows]
    return sorted(members, key=lambda m: (m.role != "owner", m.email))


class CannotDeactivateSelf(ValueError):
    """An owner cannot switch off their own account: the provider would have nobody to switch it back on."""


async def set_staff_active(scope: Scope, staff_id: int, active: bool) -> StaffMember | None:
    """Deactivate or reactivate one of the provider's accounts; None when the provider has no such account.

    Deactivating moves the session stamp too, so sessions opened before stay dead after a reactivation.
    """
    row = await Staff.select(Staff.id, Staff.password_changed_at).where(
        (Staff.provider == scope.provider_id) & (Staff.id == staff_id)
    ).first()
    if row is None:
        return None
    if staff_id == scope.staff_id and not active:
        raise CannotDeactivateSelf()
    values: dict = {Staff.active: active}
    if not active:
        values[Staff.password_changed_at] = _new_stamp(row["password_changed_at"])
    async with Staff._meta.db.transaction():
        await Staff.update(values).where((Staff.provider == scope.provider_id) & (Staff.id == staff_id))
        await audit.record(scope, "staff_reactivated" if active else "staff_deactivated", f"staff:{staff_id}")
    row = await Staff.select().where((Staff.provider == scope.provider_id) & (Staff.id == staff_id)).first()
    return _member(row)


class StaffRefused(ValueError):
    """A staff account that was not created; `problems` maps a form field to a reason code."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


_LOGIN_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_HANDOVER_SYMBOLS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand


def handover_password() -> str:
    """A first password for a new account: four groups of four, ~79 bits, easy to read out."""
    return "-".join("".join(secrets.choice(_HANDOVER_SYMBOLS) for _ in range(4)) for _ in range(4))


async def add_staff(scope: Scope, *, email: str, role: str) -> tuple[StaffMember, str]:
    """A new account of this provider and its first password, to hand over (kept only as a hash).

    Refused with reasons: no email ("email_missing"), not an address ("email_invalid"), an email
    that already logs in somewhere ("email_taken": logins are unique across providers), an
    unknown role ("role_unknown").
    """
    login = normalise_login(email)
    problems = {}
    if not login:
        problems["email"] = "email_missing"
    elif len(login) > 254 or not _LOGIN_EMAIL.fullmatch(login):
        problems["email"] = "email_invalid"
    if role not in ROLES:
        problems["role"] = "role_unknown"
    if not problems and await Staff.exists().where(Staff.email == login):
        problems["email"] = "email_taken"
    if problems:
        raise StaffRefused(problems)
    password = handover_password()
    try:
        async with Staff._meta.db.transaction():  # the account and its audit event, or neither
            staff_id = await create_staff(provider_id=scope.provider_id, email=login, password=password, role=role)
            await audit.record(scope, "staff_added", f"staff:{staff_id}", role=role)
    except Exception:
        if await Staff.exists().where(Staff.email == login):  # added by someone else meanwhile
            raise StaffRefused({"email": "email_taken"}) from None
        raise
    row = await Staff.select().where(Staff.id == staff_id).first()
    return _member(row), password
