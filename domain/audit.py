"""The audit trail: who did what, to which record, when — never personal data.

`subject` names a record by its id or reference (`staff:12`, `booking:LV-7B6PRU`); `detail`
holds only codes and counts (a role, a filter's field names, a number of rows). Exports,
access requests and erasures will write here too; the Privacy screen will read it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.scope import Scope
from domain.tables import AuditEvent


async def record(scope: Scope, action: str, subject: str = "", **detail: str | int) -> None:
    await AuditEvent.insert(AuditEvent(
        provider=scope.provider_id, staff=scope.staff_id, action=action, subject=subject, detail=detail,
        created_at=datetime.now(UTC),
    ))
