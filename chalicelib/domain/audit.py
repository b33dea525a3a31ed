"""Domain: the audit log of admin actions (who, what, when), free of personal data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.domain.errors import ValidationError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action that succeeded.

    Attributes:
        entry_id: Unique id.
        at: When it was done.
        actor_id: The API token's public id.
        actor_label: The token's label (who holds it).
        actor_role: The token's role.
        action: ``METHOD /path/template``.
        summary: What the route does, in words.
        target: Path parameters (ids only).
        fields: Names of the body fields sent (never their values: they may be personal).
        status: The HTTP status answered.
    """

    entry_id: str
    at: datetime
    actor_id: str
    actor_label: str
    actor_role: str
    action: str
    summary: str
    target: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    fields: tuple[str, ...] = ()
    status: int = 200


def audit_month(at: datetime) -> str:
    """Business rule: the audit log is partitioned by calendar month (UTC), ``YYYY-MM``."""
    utc = at.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def check_month(month: str) -> str:
    """Validate a ``YYYY-MM`` month.

    Raises:
        ValidationError: not a month (field ``month``).
    """
    if not _MONTH.match(month):
        raise ValidationError("month must look like 2026-11", "month")
    return month
