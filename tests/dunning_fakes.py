"""Fakes for the dunning service's ports, with switches to make them fail where a crash can."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Approval, ApprovalStatus, RunReport, Task
from chalicelib.services.ports import (
    ArchivedMessage,
    Claim,
    ClaimOutcome,
    DeliveryRejectedError,
    DeliveryUnknownError,
    OutgoingEmail,
    Page,
)
from tests.fakes import InMemoryInvoiceRepository, InMemoryTimeline, _page


class WorkerDied(BaseException):  # noqa: N818 - it stands for a process dying, not an error
    """Raised by a fake to simulate the Lambda being killed at that exact point."""


class CrashingTimeline(InMemoryTimeline):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, ArchivedMessage] = {}
        self.die_on_append = False

    def append(self, events: Iterable[TimelineEvent]) -> None:
        events = list(events)
        if self.die_on_append and any(e.type == EventType.REMINDER_SENT for e in events):
            self.die_on_append = False
            raise WorkerDied("killed while recording the send")
        self.events.extend(events)

    def count_since(self, customer_id: str, types: frozenset[EventType], since: datetime) -> int:
        # One consolidated message is one event per invoice: count messages, not events.
        return len(
            {
                e.detail("message_ref") or e.event_id
                for e in self.events
                if e.customer_id == customer_id and e.type in types and e.at >= since
            }
        )

    def archive_message(self, message: ArchivedMessage) -> None:
        self.messages[message.message_ref] = message

    def get_message(self, message_ref: str) -> ArchivedMessage | None:
        return self.messages.get(message_ref)


class CrashingInvoiceRepository(InMemoryInvoiceRepository):
    def __init__(self, shards: int = 4) -> None:
        super().__init__(shards)
        self.die_on_next_save = False

    def save(self, invoice):
        if self.die_on_next_save:
            self.die_on_next_save = False
            raise WorkerDied("killed before saving the invoice")
        return super().save(invoice)


class InMemoryClaimLog:
    def __init__(self, invoices: InMemoryInvoiceRepository) -> None:
        self.claims: dict[tuple[str, str, str], Claim] = {}
        self._invoices = invoices
        self.die_after_claim = False
        self.die_on_confirm = False
        # Runs just before a claim is checked: where a concurrent writer can slip in.
        self.before_claim: Callable[[str], None] | None = None

    def claim(
        self,
        invoice_id: str,
        invoice_version: int,
        step_id: str,
        channel: str,
        run_id: str,
        at: datetime,
    ) -> ClaimOutcome:
        if self.before_claim is not None:
            self.before_claim(invoice_id)
        key = (invoice_id, step_id, channel)
        if key in self.claims:
            return (
                ClaimOutcome.ALREADY_SENT
                if self.claims[key].status == "sent"
                else ClaimOutcome.IN_FLIGHT
            )
        stored = self._invoices.get(invoice_id)
        if stored is None or stored.version != invoice_version:
            return ClaimOutcome.INVOICE_CHANGED
        self.claims[key] = Claim(invoice_id, step_id, channel, run_id, at, "claimed")
        if self.die_after_claim:
            self.die_after_claim = False
            raise WorkerDied("killed between claim and send")
        return ClaimOutcome.WON

    def confirm(self, invoice_id: str, step_id: str, channel: str, message_ref: str) -> None:
        if self.die_on_confirm:
            self.die_on_confirm = False
            raise WorkerDied("killed between record and confirm")
        key = (invoice_id, step_id, channel)
        self.claims[key] = replace(self.claims[key], status="sent", message_ref=message_ref)

    def release(self, invoice_id: str, step_id: str, channel: str) -> None:
        key = (invoice_id, step_id, channel)
        if key in self.claims and self.claims[key].status == "claimed":
            del self.claims[key]

    def get(self, invoice_id: str, step_id: str, channel: str) -> Claim | None:
        return self.claims.get((invoice_id, step_id, channel))


@dataclass
class RecordingEmailSender:
    sent: list[OutgoingEmail] = field(default_factory=list)
    refuse: int = 0  # how many next sends are refused (throttled after retries)
    unknown: int = 0  # how many next sends time out after reaching the provider
    die_after_send: bool = False
    _ids: itertools.count = field(default_factory=itertools.count)

    def send(self, email: OutgoingEmail) -> str:
        if self.refuse:
            self.refuse -= 1
            raise DeliveryRejectedError("Throttling")
        self.sent.append(email)
        if self.unknown:
            self.unknown -= 1
            raise DeliveryUnknownError("ReadTimeoutError")
        if self.die_after_send:
            self.die_after_send = False
            raise WorkerDied("killed right after the provider accepted the message")
        return f"ses-{next(self._ids)}"


@dataclass
class RecordingSmsSender:
    sent: list[tuple[str, str]] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)
    _ids: itertools.count = field(default_factory=itertools.count)

    def is_opted_out(self, phone: str) -> bool:
        return phone in self.opted_out

    def send(self, phone: str, text: str, sender_id: str | None) -> str:
        self.sent.append((phone, text))
        return f"sms-{next(self._ids)}"


@dataclass
class RecordingQueue:
    bodies: list[str] = field(default_factory=list)

    def send_batch(self, bodies: Sequence[str]) -> None:
        self.bodies.extend(bodies)


class InMemoryTaskStore:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}

    def create(self, task: Task) -> bool:
        if task.task_id in self.tasks:
            return False
        self.tasks[task.task_id] = task
        return True

    def get(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def save(self, task: Task) -> None:
        self.tasks[task.task_id] = task

    def list(self, *, status: str, limit: int, cursor: str | None) -> Page[Task]:
        return _page([t for t in self.tasks.values() if t.status == status], limit, cursor)


class InMemoryApprovalStore:
    def __init__(self) -> None:
        self.approvals: dict[str, Approval] = {}

    def create(self, approval: Approval) -> bool:
        if approval.approval_id in self.approvals:
            return False
        self.approvals[approval.approval_id] = approval
        return True

    def get(self, approval_id: str) -> Approval | None:
        return self.approvals.get(approval_id)

    def decide(self, approval: Approval) -> bool:
        current = self.approvals.get(approval.approval_id)
        if current is None or current.status != ApprovalStatus.PENDING:
            return False
        self.approvals[approval.approval_id] = approval
        return True

    def list(self, *, status: str, limit: int, cursor: str | None) -> Page[Approval]:
        return _page([a for a in self.approvals.values() if a.status == status], limit, cursor)


class InMemoryRunLog:
    def __init__(self) -> None:
        self.runs: dict[str, RunReport] = {}
        self.batches: dict[str, dict[str, Mapping[str, int]]] = {}

    def start(self, report: RunReport) -> bool:
        if report.run_id in self.runs:
            return False
        self.runs[report.run_id] = report
        return True

    def add_batch(self, run_id: str, batch_id: str, counts: Mapping[str, int]) -> None:
        self.batches.setdefault(run_id, {})[batch_id] = dict(counts)

    def get(self, run_id: str) -> RunReport | None:
        report = self.runs.get(run_id)
        if report is None:
            return None
        totals: dict[str, int] = {}
        for counts in self.batches.get(run_id, {}).values():
            for name, value in counts.items():
                totals[name] = totals.get(name, 0) + value
        return replace(
            report,
            counts=tuple(sorted(totals.items())),
            batches_done=len(self.batches.get(run_id, {})),
        )


class EmptyPolicyStore:
    def get(self, policy_id: str, version: int | None = None):
        return None

    def put(self, policy) -> None:
        raise NotImplementedError

    def list(self):
        return []

    def rules(self):
        return list(getattr(self, "saved_rules", ()))

    def put_rules(self, rules) -> None:
        self.saved_rules = list(rules)


class FixedSecrets:
    def get(self, name: str) -> str:
        return f"secret-{name}"


class NoDocuments:
    def head(self, key):
        return None

    def open(self, key):
        raise FileNotFoundError(key)

    def get_bytes(self, key):
        return None

    def put(self, key, body, content_type) -> None:
        return None

    def copy(self, source_key, target_key) -> None:
        return None


class WeekdaysCalendar:
    def is_business_day(self, country: str, day) -> bool:
        return day.weekday() < 5
