"""Domain: operational records (imports, API tokens, timeline events, runs, tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """Admin API roles, each including the rights of the ones before it."""

    VIEWER = "viewer"
    COLLECTOR = "collector"
    ADMIN = "admin"


_ROLE_RANK = {Role.VIEWER: 0, Role.COLLECTOR: 1, Role.ADMIN: 2}


def role_allows(granted: Role, required: Role) -> bool:
    """Business rule: admin ⊇ collector ⊇ viewer."""
    return _ROLE_RANK[granted] >= _ROLE_RANK[required]


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token as stored: only its hash, never the secret."""

    token_hash: str
    token_id: str
    role: Role
    label: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False

    def is_valid(self, as_of: datetime) -> bool:
        """Business rule: a token works until revoked or expired."""
        if self.revoked:
            return False
        return self.expires_at is None or as_of < self.expires_at


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """The outcome of ingesting one uploaded file."""

    key: str
    etag: str
    format: str
    status: str
    accepted: int
    rejected: int
    created: int
    updated: int
    unchanged: int
    error_report_key: str | None
    received_at: datetime
    message: str | None = None


class EventType(StrEnum):
    """What can appear on an invoice or customer timeline."""

    IMPORTED = "imported"
    UPDATED = "updated"
    REMINDER_SENT = "reminder_sent"
    REMINDER_SKIPPED = "reminder_skipped"
    REMINDER_DEFERRED = "reminder_deferred"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    TASK_CREATED = "task_created"
    TASK_DONE = "task_done"
    DELIVERY = "delivery"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    OPEN = "open"
    CLICK = "click"
    PAYMENT = "payment"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_COMMENT = "dispute_comment"
    DISPUTE_RESOLVED = "dispute_resolved"
    PROMISE = "promise"
    PROMISE_BROKEN = "promise_broken"
    PAUSED = "paused"
    RESUMED = "resumed"
    CREDIT_NOTE = "credit_note"
    ERASED = "erased"


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One thing that happened to an invoice (and so to its customer)."""

    event_id: str
    invoice_id: str | None
    customer_id: str
    type: EventType
    at: datetime
    actor: str
    details: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def detail(self, key: str) -> str | None:
        """One detail value by name."""
        for name, value in self.details:
            if name == key:
                return value
        return None
