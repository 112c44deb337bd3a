"""Staff accounts: Argon2id password hashes, creating staff and checking a login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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


MIN_PASSWORD_LENGTH = 10


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in English for the CLI; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    return None
