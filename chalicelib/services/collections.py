"""Service: collectors' actions on invoices and customers (pause, dispute, promise).

Every action follows one pattern: read the invoice, apply the pure rule from
`domain.collections`, recompute `next_action_at` with the dunning engine, save conditionally
on the version that was read, then append the timeline event. A client may pin the version it
saw (`version=`): a mismatch is a 409 and nothing changes. Without a pinned version a lost
race is retried on fresh data, since each rule is re-checked against the new state.
Who did what is also written to the audit log by the HTTP layer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from chalicelib.domain.collections import (
    DisputeOutcome,
    DisputeReason,
    open_dispute,
    pause,
    record_promise,
    require_open_dispute,
    resolve_dispute,
    resume,
)
from chalicelib.domain.dunning import promise_deadline
from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    CustomerNotFoundError,
    DomainError,
    InvalidTransitionError,
    InvoiceNotFoundError,
    ValidationError,
)
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DunningPolicy
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.send_window import customer_zone
from chalicelib.domain.work import Task, TaskOutcome, TaskStatus
from chalicelib.services.ports import Clock, CustomerRepository, InvoiceRepository, Timeline
from chalicelib.services.work_queues import WorkQueues

MAX_ATTEMPTS = 3

NextActionAt = Callable[[Invoice, Customer], datetime | None]
PolicyFor = Callable[[Invoice], DunningPolicy]
Change = Callable[[Invoice], Invoice]


@dataclass(frozen=True, slots=True)
class DisputeRequest:
    """A dispute as a collector records it (from the API or a task's outcome).

    Attributes:
        reason: Why the customer contests the invoice.
        amount: Disputed part as a decimal string; None disputes everything still due.
        comment: Free text for the file.
    """

    reason: DisputeReason
    amount: str | None = None
    comment: str | None = None


def _money(amount: str | None, currency: str, field: str) -> Money | None:
    if amount is None:
        return None
    try:
        money = Money.parse(amount, currency)
        exact = Decimal(amount.strip()) == money.to_decimal()
    except (DomainError, InvalidOperation) as exc:
        raise ValidationError(f"{field} is not an amount in {currency}", field) from exc
    if not exact:
        # Money.parse rounds file amounts; an amount typed by a person must be exact.
        raise ValidationError(f"{field} has more decimals than {currency} allows", field)
    return money


def _details(**values: str | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in values.items() if v is not None and v != ""))


class CollectionsService:
    """Pauses, disputes and promises, on one invoice or a whole customer."""

    def __init__(
        self,
        *,
        invoices: InvoiceRepository,
        customers: CustomerRepository,
        timeline: Timeline,
        work: WorkQueues,
        next_action_at: NextActionAt,
        policy_for: PolicyFor,
        clock: Clock,
    ) -> None:
        self._invoices = invoices
        self._customers = customers
        self._timeline = timeline
        self._work = work
        self._next_action_at = next_action_at
        self._policy_for = policy_for
        self._clock = clock

    # -- reading --

    def _invoice(self, invoice_id: str, version: int | None) -> Invoice:
        invoice = self._invoices.get(invoice_id)
        if invoice is None:
            raise InvoiceNotFoundError(f"no invoice {invoice_id}")
        if version is not None and invoice.version != version:
            raise ConcurrentUpdateError(
                f"invoice {invoice_id} is at version {invoice.version}, not {version}"
            )
        return invoice

    def _customer(self, customer_id: str) -> Customer:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise CustomerNotFoundError(f"no customer {customer_id}")
        return customer

    # -- the pattern every action follows --

    def _rescheduled(self, invoice: Invoice, customer: Customer | None) -> Invoice:
        if customer is None:
            return invoice
        return replace(invoice, next_action_at=self._next_action_at(invoice, customer))

    def _apply(
        self,
        invoice_id: str,
        version: int | None,
        change: Change,
        event: Callable[[Invoice], TimelineEvent],
    ) -> Invoice:
        for _ in range(MAX_ATTEMPTS):
            current = self._invoice(invoice_id, version)
            changed = self._rescheduled(change(current), self._customers.get(current.customer_id))
            try:
                saved = self._invoices.save(changed)
            except ConcurrentUpdateError:
                if version is not None:
                    raise
                continue
            self._timeline.append([event(saved)])
            return saved
        raise ConcurrentUpdateError(f"invoice {invoice_id} kept changing; try again")

    def _event(
        self, invoice: Invoice, kind: EventType, by: str, **details: str | None
    ) -> TimelineEvent:
        return TimelineEvent(
            event_id=uuid.uuid4().hex,
            invoice_id=invoice.invoice_id,
            customer_id=invoice.customer_id,
            type=kind,
            at=self._clock.now(),
            actor=by,
            details=_details(**details),
        )

    # -- pause --

    def pause(
        self,
        invoice_id: str,
        *,
        until: datetime | None,
        comment: str | None,
        by: str,
        version: int | None = None,
    ) -> Invoice:
        """Stop chasing an invoice, until a date or until resumed.

        Raises:
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: the invoice is closed or a credit note.
            ValidationError: `until` is not in the future.
            ConcurrentUpdateError: `version` is not the invoice's.
        """
        now = self._clock.now()
        until_wire = until.isoformat() if until else None
        return self._apply(
            invoice_id,
            version,
            lambda i: pause(i, until, now),
            lambda i: self._event(i, EventType.PAUSED, by, until=until_wire, comment=comment),
        )

    def resume(
        self, invoice_id: str, *, comment: str | None, by: str, version: int | None = None
    ) -> Invoice:
        """End a pause: the chase continues where it stopped, nothing is repeated.

        Raises:
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: the invoice is not paused.
            ConcurrentUpdateError: `version` is not the invoice's.
        """
        now = self._clock.now()
        return self._apply(
            invoice_id,
            version,
            lambda i: resume(i, now),
            lambda i: self._event(i, EventType.RESUMED, by, comment=comment),
        )

    # -- disputes --

    def _open(self, invoice: Invoice, request: DisputeRequest) -> Invoice:
        amount = _money(request.amount, invoice.currency, "amount")
        return open_dispute(invoice, amount, request.reason, self._clock.now())

    def _opened_event(self, invoice: Invoice, request: DisputeRequest, by: str) -> TimelineEvent:
        disputed = invoice.disputed_amount
        return self._event(
            invoice,
            EventType.DISPUTE_OPENED,
            by,
            reason=request.reason.value,
            amount=disputed.to_wire() if disputed else None,
            currency=invoice.currency,
            in_full="true" if invoice.chaseable_amount.is_zero else "false",
            comment=request.comment,
        )

    def open_dispute(
        self, invoice_id: str, request: DisputeRequest, *, by: str, version: int | None = None
    ) -> Invoice:
        """Record a dispute; only the disputed part stops being chased.

        Raises:
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: closed, a credit note, or already disputed.
            ValidationError: the amount is not positive or more than the amount due.
            ConcurrentUpdateError: `version` is not the invoice's.
        """
        return self._apply(
            invoice_id,
            version,
            lambda i: self._open(i, request),
            lambda i: self._opened_event(i, request, by),
        )

    def comment_dispute(self, invoice_id: str, comment: str, *, by: str) -> TimelineEvent:
        """Add a comment to an open dispute (the invoice itself does not change).

        Raises:
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: no open dispute.
            ValidationError: an empty comment.
        """
        if not comment.strip():
            raise ValidationError("a comment cannot be empty", "comment")
        invoice = require_open_dispute(self._invoice(invoice_id, None))
        event = self._event(invoice, EventType.DISPUTE_COMMENT, by, comment=comment)
        self._timeline.append([event])
        return event

    def resolve_dispute(
        self,
        invoice_id: str,
        outcome: DisputeOutcome,
        *,
        credit_amount: str | None,
        credit_note_number: str | None,
        comment: str | None,
        by: str,
        version: int | None = None,
    ) -> Invoice:
        """Close a dispute: accepted with a credit note, or rejected and chased again.

        Raises:
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: no open dispute.
            ValidationError: a credit on a rejection, or a credit above the amount due.
            ConcurrentUpdateError: `version` is not the invoice's.
        """
        now = self._clock.now()
        credits: dict[str, Money | None] = {}

        def change(invoice: Invoice) -> Invoice:
            credit = _money(credit_amount, invoice.currency, "credit_amount")
            before = invoice.credited or Money.zero(invoice.currency)
            resolved = resolve_dispute(invoice, outcome, credit, now)
            after = resolved.credited or Money.zero(invoice.currency)
            credits["given"] = after - before if after != before else None
            if credit_note_number and after != before:
                # The seller's credit note may be uploaded later: intake must not apply it again.
                marks = dict(resolved.extra)
                marks[f"credit_note:{credit_note_number}"] = (after - before).to_wire()
                resolved = replace(resolved, extra=tuple(sorted(marks.items())))
            return resolved

        def event(invoice: Invoice) -> TimelineEvent:
            given = credits.get("given")
            return self._event(
                invoice,
                EventType.DISPUTE_RESOLVED,
                by,
                outcome=outcome.value,
                credit_amount=given.to_wire() if given else None,
                credit_note=credit_note_number,
                amount_due=invoice.amount_due.to_wire(),
                currency=invoice.currency,
                comment=comment,
            )

        return self._apply(invoice_id, version, change, event)

    # -- promises --

    def _today_for(self, customer: Customer | None) -> date:
        now = self._clock.now()
        if customer is None:
            return now.date()
        # A promise "for today" is the customer's today, not the server's.
        return now.astimezone(customer_zone(customer.timezone)).date()

    def _promise(self, invoice: Invoice, promise_date: date) -> Invoice:
        customer = self._customers.get(invoice.customer_id)
        policy = self._policy_for(invoice)
        return record_promise(invoice, promise_date, self._today_for(customer), policy)

    def _promise_event(
        self, invoice: Invoice, comment: str | None, by: str, source: str
    ) -> TimelineEvent:
        promised = invoice.promise_date
        deadline = promise_deadline(promised, self._policy_for(invoice)) if promised else None
        return self._event(
            invoice,
            EventType.PROMISE,
            by,
            promise_date=promised.isoformat() if promised else None,
            deadline=deadline.isoformat() if deadline else None,
            amount=invoice.chaseable_amount.to_wire(),
            currency=invoice.currency,
            source=source,
            comment=comment,
        )

    def promise(
        self,
        invoice_id: str,
        promise_date: date,
        *,
        comment: str | None,
        by: str,
        version: int | None = None,
        source: str = "collector",
    ) -> Invoice:
        """Record a promise to pay by a date (bounded by the policy's `max_promise_days`).

        Raises:
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: closed, a credit note, or disputed in full.
            ValidationError: the date is in the past or too far away (field ``promise_date``).
            ConcurrentUpdateError: `version` is not the invoice's.
        """
        return self._apply(
            invoice_id,
            version,
            lambda i: self._promise(i, promise_date),
            lambda i: self._promise_event(i, comment, by, source),
        )

    # -- a whole customer --

    def _set_customer_pause(
        self, customer_id: str, paused: bool, comment: str | None, by: str, version: int | None
    ) -> Customer:
        customer = self._customer(customer_id)
        if version is not None and customer.version != version:
            raise ConcurrentUpdateError(
                f"customer {customer_id} is at version {customer.version}, not {version}"
            )
        if customer.paused == paused:
            state = "paused" if paused else "not paused"
            raise InvalidTransitionError(f"customer {customer_id} is already {state}")
        saved = self._customers.save(replace(customer, paused=paused))
        for invoice in self._invoices.by_customer(customer_id):
            if not invoice.is_closed:
                self._reschedule(invoice.invoice_id, saved)
        self._timeline.append(
            [
                TimelineEvent(
                    event_id=uuid.uuid4().hex,
                    invoice_id=None,
                    customer_id=customer_id,
                    type=EventType.PAUSED if paused else EventType.RESUMED,
                    at=self._clock.now(),
                    actor=by,
                    details=_details(scope="customer", comment=comment),
                )
            ]
        )
        return saved

    def _reschedule(self, invoice_id: str, customer: Customer) -> None:
        for _ in range(MAX_ATTEMPTS):
            invoice = self._invoices.get(invoice_id)
            if invoice is None or invoice.is_closed:
                return
            updated = self._rescheduled(invoice, customer)
            if updated.next_action_at == invoice.next_action_at:
                return
            try:
                self._invoices.save(updated)
                return
            except ConcurrentUpdateError:
                continue
        raise ConcurrentUpdateError(f"invoice {invoice_id} kept changing; try again")

    def pause_customer(
        self, customer_id: str, *, comment: str | None, by: str, version: int | None = None
    ) -> Customer:
        """Stop chasing every invoice of a customer until resumed.

        Raises:
            CustomerNotFoundError: no such customer.
            InvalidTransitionError: already paused.
            ConcurrentUpdateError: `version` is not the customer's.
        """
        return self._set_customer_pause(customer_id, True, comment, by, version)

    def resume_customer(
        self, customer_id: str, *, comment: str | None, by: str, version: int | None = None
    ) -> Customer:
        """Chase a paused customer's invoices again, each from where it stopped.

        Raises:
            CustomerNotFoundError: no such customer.
            InvalidTransitionError: not paused.
            ConcurrentUpdateError: `version` is not the customer's.
        """
        return self._set_customer_pause(customer_id, False, comment, by, version)

    # -- task outcomes --

    def _check_task_outcome(
        self,
        task: Task,
        outcome: TaskOutcome,
        promise_date: date | None,
        dispute: DisputeRequest | None,
    ) -> list[Invoice]:
        if task.status == TaskStatus.DONE:
            raise InvalidTransitionError(f"task {task.task_id} is already done")
        if promise_date is not None and outcome != TaskOutcome.PROMISE:
            raise ValidationError("a promise date goes with the outcome promise", "promise_date")
        if dispute is not None and outcome != TaskOutcome.DISPUTE:
            raise ValidationError("a dispute goes with the outcome dispute", "dispute")
        if dispute is not None and dispute.amount is not None and len(task.invoice_ids) > 1:
            raise ValidationError(
                "a partial amount can only be disputed on a single-invoice task", "dispute.amount"
            )
        open_invoices = [i for i in self._invoices.get_many(task.invoice_ids) if not i.is_closed]
        # Check every invoice before changing any, so a refusal leaves nothing half done.
        for invoice in open_invoices:
            if promise_date is not None:
                self._promise(invoice, promise_date)
            if dispute is not None:
                self._open(invoice, dispute)
        if (promise_date or dispute) and not open_invoices:
            raise InvalidTransitionError(f"task {task.task_id} has no open invoice left")
        return open_invoices

    def complete_task(
        self,
        task_id: str,
        outcome: TaskOutcome,
        *,
        comment: str | None,
        by: str,
        promise_date: date | None = None,
        dispute: DisputeRequest | None = None,
    ) -> Task:
        """Record a task's outcome, with the promise or dispute it brought, if any.

        Raises:
            NotFoundError: no such task.
            InvalidTransitionError: the task is done, or none of its invoices is open.
            ValidationError: a promise date or dispute that does not match the outcome, or
                that an invoice refuses (fields ``promise_date``, ``dispute.amount``).
        """
        task = self._work.task(task_id)
        invoices = self._check_task_outcome(task, outcome, promise_date, dispute)
        for invoice in invoices:
            if promise_date is not None:
                self.promise(
                    invoice.invoice_id, promise_date, comment=comment, by=by, source="task"
                )
            if dispute is not None:
                self.open_dispute(invoice.invoice_id, dispute, by=by)
        return self._work.complete(task_id, outcome, comment, by)
