"""Domain: what a collector may do to an invoice (pause, dispute, promise), as pure changes.

Each function takes an invoice and returns the changed invoice, or raises the business error
that explains why the change is refused. Nothing here stores, logs or reads the clock: the
service saves the result (conditionally on the invoice version), records the timeline event
and recomputes the next action time with the dunning engine.

Disputes live on the invoice itself: `disputed_amount` is the part that is no longer chased
(the engine chases `amount_due - disputed_amount`), the status becomes `disputed` only when
the whole amount due is disputed, and the dispute's own state (open, accepted, rejected),
reason and opening time are kept in `invoice.extra` under the ``dispute_*`` keys.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum

from chalicelib.domain.dunning import check_promise_date, is_disputed_in_full
from chalicelib.domain.errors import InvalidTransitionError, ValidationError
from chalicelib.domain.invoices import DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DunningPolicy
from chalicelib.domain.send_window import require_aware

DISPUTE_STATUS = "dispute_status"
DISPUTE_REASON = "dispute_reason"
DISPUTE_OPENED_AT = "dispute_opened_at"
DISPUTE_RESOLVED_AT = "dispute_resolved_at"
DISPUTE_CREDIT = "dispute_credit"


class DisputeReason(StrEnum):
    """Why a customer contests an invoice."""

    QUALITY = "quality"
    DELIVERY = "delivery"
    PRICE = "price"
    NOT_ORDERED = "not_ordered"
    DUPLICATE = "duplicate"
    ALREADY_PAID = "already_paid"
    OTHER = "other"


class DisputeState(StrEnum):
    """Where a collector's dispute stands."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DisputeOutcome(StrEnum):
    """How a dispute ends: the customer was right (credit note) or not (the chase resumes)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _with_extra(invoice: Invoice, **values: str | None) -> Invoice:
    extra = dict(invoice.extra)
    for key, value in values.items():
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value
    return replace(invoice, extra=tuple(sorted(extra.items())))


def dispute_state(invoice: Invoice) -> DisputeState | None:
    """The state of the collector's dispute on this invoice, None if there never was one."""
    raw = dict(invoice.extra).get(DISPUTE_STATUS)
    return DisputeState(raw) if raw in {s.value for s in DisputeState} else None


def require_chaseable(invoice: Invoice) -> Invoice:
    """Business rule: collectors act on open invoices only (not credit notes, not closed ones).

    Raises:
        InvalidTransitionError: the document is a credit note, or paid, cancelled or written off.
    """
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        raise InvalidTransitionError(f"{invoice.number} is a credit note: it is never chased")
    if invoice.is_closed:
        raise InvalidTransitionError(f"invoice {invoice.number} is {invoice.status}")
    return invoice


def pause(invoice: Invoice, until: datetime | None, as_of: datetime) -> Invoice:
    """Business rule: a pause holds every step, until a date or (without one) until resumed.

    Raises:
        InvalidTransitionError: the invoice is closed or a credit note.
        ValidationError: `until` is naive or not in the future (field ``until``).
    """
    require_chaseable(invoice)
    if until is None:
        return replace(invoice, paused=True, paused_until=None)
    require_aware(until, "until")
    if until <= as_of:
        raise ValidationError("until must be in the future", "until")
    return replace(invoice, paused=False, paused_until=until)


def is_paused(invoice: Invoice, as_of: datetime) -> bool:
    """True while a collector's pause holds the invoice."""
    return invoice.paused or (invoice.paused_until is not None and as_of < invoice.paused_until)


def resume(invoice: Invoice, as_of: datetime) -> Invoice:
    """Business rule: resuming ends a pause; the chase continues where it stopped.

    Raises:
        InvalidTransitionError: the invoice is not paused.
    """
    if not is_paused(invoice, as_of):
        raise InvalidTransitionError(f"invoice {invoice.number} is not paused")
    return replace(invoice, paused=False, paused_until=None)


def _check_amount(amount: Money, invoice: Invoice, ceiling: Money, field: str) -> Money:
    if amount.currency != invoice.currency:
        raise ValidationError(f"{field} must be in {invoice.currency}", field)
    if not amount.is_positive:
        raise ValidationError(f"{field} must be positive", field)
    if amount > ceiling:
        raise ValidationError(f"{field} is more than the {ceiling.to_wire()} still due", field)
    return amount


def open_dispute(
    invoice: Invoice, amount: Money | None, reason: DisputeReason, at: datetime
) -> Invoice:
    """Business rule: only the disputed part of an invoice stops being chased.

    Without an amount the whole amount due is disputed. The status becomes ``disputed`` only
    when the dispute covers everything still due; otherwise the status is kept and the chase
    goes on for the undisputed rest.

    Raises:
        InvalidTransitionError: closed, a credit note, or already disputed (also by a chargeback).
        ValidationError: the amount is not positive, not in the invoice's currency, or more than
            the amount due (field ``amount``).
    """
    require_chaseable(invoice)
    if invoice.status == InvoiceStatus.DISPUTED or invoice.disputed_amount is not None:
        raise InvalidTransitionError(f"invoice {invoice.number} is already disputed")
    due = invoice.amount_due
    disputed = _check_amount(amount or due, invoice, due, "amount")
    status = InvoiceStatus.DISPUTED if disputed == due else invoice.status
    changed = replace(invoice, disputed_amount=disputed, status=status)
    return _with_extra(
        changed,
        **{
            DISPUTE_STATUS: DisputeState.OPEN.value,
            DISPUTE_REASON: reason.value,
            DISPUTE_OPENED_AT: at.isoformat(),
            DISPUTE_RESOLVED_AT: None,
            DISPUTE_CREDIT: None,
        },
    )


def require_open_dispute(invoice: Invoice) -> Invoice:
    """A comment or a resolution needs a dispute that is still open.

    Raises:
        InvalidTransitionError: no open dispute on the invoice.
    """
    if dispute_state(invoice) != DisputeState.OPEN:
        raise InvalidTransitionError(f"invoice {invoice.number} has no open dispute")
    return invoice


def resolve_dispute(
    invoice: Invoice, outcome: DisputeOutcome, credit: Money | None, at: datetime
) -> Invoice:
    """Business rule: an accepted dispute ends with a credit note, a rejected one resumes the chase.

    Accepted: the credit (by default the disputed amount) reduces what is owed, exactly like a
    credit note; any disputed part it does not cover is chased again. Rejected: the whole
    amount due is chased again and no credit may be given. Either way the status is recomputed
    from the amounts (a credit covering everything closes the invoice as paid).

    Raises:
        InvalidTransitionError: no open dispute.
        ValidationError: a credit on a rejected dispute, or a credit that is not positive, in
            another currency or more than the amount due (field ``credit_amount``).
    """
    require_open_dispute(invoice)
    due = invoice.amount_due
    base = replace(
        invoice,
        disputed_amount=None,
        status=InvoiceStatus.OPEN if invoice.status == InvoiceStatus.DISPUTED else invoice.status,
    )
    credit_wire: str | None = None
    if outcome == DisputeOutcome.ACCEPTED:
        default = min(invoice.disputed_amount or due, due, key=lambda m: m.minor)
        given = _check_amount(credit or default, invoice, due, "credit_amount")
        credited = (invoice.credited or Money.zero(invoice.currency)) + given
        base = replace(base, credited=credited)
        credit_wire = given.to_wire()
    elif credit is not None:
        raise ValidationError("a rejected dispute gives no credit", "credit_amount")
    resolved = _with_extra(
        base,
        **{
            DISPUTE_STATUS: outcome.value,
            DISPUTE_RESOLVED_AT: at.isoformat(),
            DISPUTE_CREDIT: credit_wire,
        },
    )
    return resolved.with_settled_status(at)


def record_promise(
    invoice: Invoice, promise_date: date, today: date, policy: DunningPolicy
) -> Invoice:
    """Business rule: a promise to pay holds the chase until its date plus the policy's grace.

    A new promise replaces the previous one. The date is today or later and at most the
    policy's `max_promise_days` away.

    Raises:
        InvalidTransitionError: closed, a credit note, or disputed in full (nothing to promise).
        ValidationError: the date is in the past or too far away (field ``promise_date``).
    """
    require_chaseable(invoice)
    if is_disputed_in_full(invoice):
        raise InvalidTransitionError(f"invoice {invoice.number} is disputed in full")
    check_promise_date(promise_date, today, policy)
    return replace(invoice, promise_date=promise_date)
