"""Service: the audit trail of admin actions (who, what, when), by month.

Entries name the token (its id, label and role), the route and the ids in its path, and the
names of the body fields sent; never the values, which may be personal data, so the audit log
survives a GDPR erasure unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from chalicelib.domain.audit import AuditEntry, audit_month, check_month
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.records import ApiToken
from chalicelib.services.ports import AuditLog, Clock, Page

MAX_PAGE = 200


class AuditTrail:
    """Records and lists admin actions."""

    def __init__(self, log: AuditLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    def record(
        self,
        actor: ApiToken,
        action: str,
        summary: str,
        target: Mapping[str, str],
        fields: Sequence[str] = (),
        status: int = 200,
    ) -> AuditEntry:
        """Write one entry for an action that succeeded."""
        entry = AuditEntry(
            entry_id="aud_" + uuid.uuid4().hex[:20],
            at=self._clock.now(),
            actor_id=actor.token_id,
            actor_label=actor.label,
            actor_role=actor.role.value,
            action=action,
            summary=summary,
            target=tuple(sorted(target.items())),
            fields=tuple(sorted(fields)),
            status=status,
        )
        self._log.record(entry)
        return entry

    def entries(
        self, month: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> Page[AuditEntry]:
        """One month's entries (default: this month), newest first.

        Raises:
            ValidationError: a bad month or limit.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", "limit")
        wanted = check_month(month) if month else audit_month(self._clock.now())
        return self._log.list(wanted, limit=limit, cursor=cursor)
