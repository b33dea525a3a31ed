"""Domain: work for people (tasks, approvals) and the record of each dunning run."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


def stable_id(prefix: str, *parts: str) -> str:
    """Business rule: the same (invoice, step) always yields the same task or approval id.

    A re-run or a redelivered message therefore cannot create it twice.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"


class TaskStatus(StrEnum):
    """A task is open until a person records its outcome."""

    OPEN = "open"
    DONE = "done"


class TaskOutcome(StrEnum):
    """What came of a call or hand-off."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    PROMISE = "promise"
    DISPUTE = "dispute"
    PAID = "paid"
    HANDED_OFF = "handed_off"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Task:
    """Something a collector must do: call, hand off, find a contact, review, allocate."""

    task_id: str
    kind: str
    status: TaskStatus
    customer_id: str
    invoice_ids: tuple[str, ...]
    step_id: str | None
    note: str
    created_at: datetime
    due_date: date
    assignee: str | None = None
    outcome: TaskOutcome | None = None
    comment: str | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None


class ApprovalStatus(StrEnum):
    """An approval waits for one decision."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Approval:
    """A step's message waiting for a person to approve it (e.g. the formal notice)."""

    approval_id: str
    status: ApprovalStatus
    customer_id: str
    invoice_ids: tuple[str, ...]
    step_id: str
    channels: tuple[str, ...]
    template: str
    tone: str
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    comment: str | None = None
    subject_override: str | None = None
    text_override: str | None = None


@dataclass(frozen=True, slots=True)
class RunReport:
    """One dunning cycle: what the planner found and what the workers did with it."""

    run_id: str
    as_of: datetime
    started_at: datetime
    trigger: str
    examined: int
    enqueued: int
    counts: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    batches_done: int = 0

    def count(self, name: str) -> int:
        """One counter by name (0 when absent)."""
        return dict(self.counts).get(name, 0)
