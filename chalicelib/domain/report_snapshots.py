"""Domain: build report snapshots (`ReportInvoice`) from invoices and their timeline events.

The reports in `reports.py` need each invoice's dated payments, promises, dispute and steps
sent. Relance stores the invoice's current state plus an append-only timeline; this module
reads the history back out of the timeline, as known on the report date. Rules (also in
docs/reports.md, "Where the numbers come from"):

- payments: `payment` events carrying an ``amount``; whatever the invoice's `amount_paid` holds
  beyond them (payments reported by an uploaded file) is one payment dated when Relance learned
  it was paid (`paid_at`), else its import day, else its issue date; events beyond
  `amount_paid` were reversed (refund, chargeback) and the latest ones are dropped;
- promises: `promise` events; kept when paid in full by the promise's deadline, broken when a
  `promise_broken` event names it, when a newer promise replaced it, or when the deadline
  passed unpaid; otherwise pending;
- dispute: opened on the first `dispute_opened` event; a disputed status without one counts as
  disputed with no date;
- steps sent: `reminder_sent` events, and `task_created` events of call, legal and letter tasks.

Event times are read as UTC days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

from chalicelib.domain.errors import DomainError
from chalicelib.domain.invoices import Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.reports import PaidEvent, PromiseRecord, ReportInvoice, StepSent

SNAPSHOT_EVENTS = frozenset(
    {
        EventType.PAYMENT,
        EventType.PROMISE,
        EventType.PROMISE_BROKEN,
        EventType.DISPUTE_OPENED,
        EventType.REMINDER_SENT,
        EventType.TASK_CREATED,
    }
)
STEP_TASK_KINDS = frozenset({"call", "legal", "letter"})


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _event_amount(event: TimelineEvent, currency: str) -> Money | None:
    raw = event.detail("amount")
    if raw is None or (event.detail("currency") or currency) != currency:
        return None
    try:
        amount = Money.parse(raw, currency)
    except DomainError:
        return None
    return amount if amount.is_positive else None


def _undated_payment_day(invoice: Invoice) -> date:
    if invoice.paid_at is not None:
        return _day(invoice.paid_at)
    imported = dict(invoice.extra).get("imported_at")
    day = _parse_date(imported)
    return max(day, invoice.issue_date) if day else invoice.issue_date


def paid_events(invoice: Invoice, events: Iterable[TimelineEvent]) -> tuple[PaidEvent, ...]:
    """Business rule: the dated payments that add up to the invoice's amount paid.

    See the module docstring: events first, the rest dated when Relance learned of it,
    reversed payments dropped latest first.
    """
    dated: list[tuple[date, int]] = sorted(
        (_day(e.at), amount.minor)
        for e in events
        if e.type == EventType.PAYMENT
        and (amount := _event_amount(e, invoice.currency)) is not None
    )
    known = invoice.amount_paid.minor
    total = sum(minor for _, minor in dated)
    while total > known and dated:
        on, minor = dated.pop()
        total -= minor
        if total < known:
            dated.append((on, known - total))
            total = known
    if total < known:
        dated.append((_undated_payment_day(invoice), known - total))
    currency = invoice.currency
    return tuple((on, Money(minor, currency)) for on, minor in sorted(dated))


def _kept(
    promised: date,
    deadline: date,
    made_on: date,
    paid_on: date | None,
    broken: set[date],
    replaced_on: date | None,
    as_of: date,
) -> bool | None:
    if paid_on is not None and made_on <= paid_on <= min(deadline, as_of):
        return True
    if promised in broken or replaced_on is not None or deadline < as_of:
        return False
    return None


def promises(
    events: Sequence[TimelineEvent], paid_in_full_on: date | None, as_of: date
) -> tuple[PromiseRecord, ...]:
    """Business rule: each promise made by `as_of`, kept, broken or pending on that day."""
    made: list[tuple[date, date, date]] = []
    for event in events:
        promised = _parse_date(event.detail("promise_date"))
        if event.type != EventType.PROMISE or promised is None or _day(event.at) > as_of:
            continue
        deadline = _parse_date(event.detail("deadline")) or promised
        made.append((_day(event.at), promised, max(deadline, promised)))
    made.sort()
    broken = {
        promised
        for e in events
        if e.type == EventType.PROMISE_BROKEN
        and _day(e.at) <= as_of
        and (promised := _parse_date(e.detail("promise_date"))) is not None
    }
    records = []
    for index, (made_on, promised, deadline) in enumerate(made):
        replaced_on = made[index + 1][0] if index + 1 < len(made) else None
        kept = _kept(promised, deadline, made_on, paid_in_full_on, broken, replaced_on, as_of)
        # A promise is never dated before the day it was made; time zones can make it look so.
        records.append(PromiseRecord(min(made_on, promised), promised, kept))
    return tuple(records)


def steps_sent(events: Iterable[TimelineEvent]) -> tuple[StepSent, ...]:
    """Business rule: a step reached an invoice when its message went out or its task was made."""
    sent: list[StepSent] = []
    for event in events:
        step = (event.detail("step") or "").strip()
        if not step:
            continue
        if event.type == EventType.REMINDER_SENT or (
            event.type == EventType.TASK_CREATED and event.detail("kind") in STEP_TASK_KINDS
        ):
            sent.append((step, _day(event.at)))
    return tuple(sorted(set(sent), key=lambda s: (s[1], s[0])))


def report_snapshot(
    invoice: Invoice, customer_name: str, events: Sequence[TimelineEvent], as_of: date
) -> ReportInvoice:
    """The invoice as the reports see it on `as_of`, from its state and its timeline.

    Raises:
        ValidationError: the invoice cannot be reported (e.g. a negative total, or a due date
            before its issue date); the caller leaves it out and counts it.
    """
    mine = [e for e in events if e.invoice_id in (None, invoice.invoice_id)]
    known = [e for e in mine if _day(e.at) <= as_of]
    # The opening date places the dispute in time even when it is later than `as_of`.
    opened = sorted(_day(e.at) for e in mine if e.type == EventType.DISPUTE_OPENED)
    credited = invoice.credited or Money.zero(invoice.currency)
    snapshot = ReportInvoice(
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        customer_name=customer_name,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount_total=invoice.amount_total,
        paid_events=paid_events(invoice, mine),
        credited=min(credited, invoice.amount_total, key=lambda m: m.minor),
        status=invoice.status,
        disputed=bool(opened)
        or invoice.status == InvoiceStatus.DISPUTED
        or invoice.disputed_amount is not None,
        dispute_opened_on=opened[0] if opened else None,
        steps_sent=steps_sent(known),
    )
    return replace(snapshot, promises=promises(known, snapshot.paid_in_full_on, as_of))
