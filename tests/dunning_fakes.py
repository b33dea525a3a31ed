"""Fakes for the dunning service's ports, with switches to make them fail where a crash can."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Approval, ApprovalStatus, RunReport
from chalicelib.services.ports import (
    ClaimOutcome,
    DeliveryRejectedError,
    DeliveryUnknownError,
    OutgoingEmail,
    Page,
)
from tests.fakes import (
    InMemoryClaimLog,
    InMemoryInvoiceRepository,
    MessageTimeline,
    RecordingEmailSender,
    _page,
)


class WorkerDied(BaseException):  # noqa: N818 - it stands for a process dying, not an error
    """Raised by a fake to simulate the Lambda being killed at that exact point."""


class CrashingTimeline(MessageTimeline):
    def __init__(self) -> None:
        super().__init__()
        self.die_on_append = False

    def append(self, events: Iterable[TimelineEvent]) -> None:
        events = list(events)
        if self.die_on_append and any(e.type == EventType.REMINDER_SENT for e in events):
            self.die_on_append = False
            raise WorkerDied("killed while recording the send")
        super().append(events)


class CrashingInvoiceRepository(InMemoryInvoiceRepository):
    def __init__(self, shards: int = 4) -> None:
        super().__init__(shards)
        self.die_on_next_save = False

    def save(self, invoice):
        if self.die_on_next_save:
            self.die_on_next_save = False
            raise WorkerDied("killed before saving the invoice")
        return super().save(invoice)


class CrashingClaimLog(InMemoryClaimLog):
    def __init__(self, invoices: InMemoryInvoiceRepository) -> None:
        super().__init__(invoices)
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
        outcome = super().claim(invoice_id, invoice_version, step_id, channel, run_id, at)
        if outcome == ClaimOutcome.WON and self.die_after_claim:
            self.die_after_claim = False
            raise WorkerDied("killed between claim and send")
        return outcome

    def confirm(self, invoice_id: str, step_id: str, channel: str, message_ref: str) -> None:
        if self.die_on_confirm:
            self.die_on_confirm = False
            raise WorkerDied("killed between record and confirm")
        super().confirm(invoice_id, step_id, channel, message_ref)


class FaultyEmailSender(RecordingEmailSender):
    def __init__(self) -> None:
        super().__init__()
        self.refuse = 0  # how many next sends are refused (throttled after retries)
        self.unknown = 0  # how many next sends time out after reaching the provider
        self.die_after_send = False

    def send(self, email: OutgoingEmail) -> str:
        if self.refuse:
            self.refuse -= 1
            raise DeliveryRejectedError("Throttling")
        ref = super().send(email)
        if self.unknown:
            self.unknown -= 1
            raise DeliveryUnknownError("ReadTimeoutError")
        if self.die_after_send:
            self.die_after_send = False
            raise WorkerDied("killed right after the provider accepted the message")
        return ref


@dataclass
class RecordingQueue:
    bodies: list[str] = field(default_factory=list)

    def send_batch(self, bodies: Sequence[str]) -> None:
        self.bodies.extend(bodies)


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


class WeekdaysCalendar:
    def is_business_day(self, country: str, day) -> bool:
        return day.weekday() < 5
