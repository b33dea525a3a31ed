"""Domain: payment events from providers, invoice matching, allocation and settlement.

Everything here is pure: provider payloads are turned into `PaymentEvent`s by
`chalicelib.schemas.webhooks`, signatures are checked by `chalicelib.adapters.webhook_signatures`,
and the service layer stores what these functions decide. See docs/webhooks.md for the flow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from chalicelib.domain.errors import CurrencyMismatchError, DomainError, ValidationError
from chalicelib.domain.invoices import Customer, DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class SignatureFailure(StrEnum):
    """Why a webhook signature was refused. Stable codes for logs and metrics, never for clients."""

    MISSING_HEADER = "missing_header"
    MALFORMED_HEADER = "malformed_header"
    NO_V1 = "no_v1"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    MISMATCH = "mismatch"


class SignatureError(DomainError):
    """A webhook's signature is missing, malformed, stale or wrong; the body must not be used."""

    code = "invalid-signature"

    def __init__(self, reason: SignatureFailure) -> None:
        super().__init__(f"webhook signature rejected: {reason}")
        self.reason = reason


class WebhookPayloadError(DomainError):
    """A signed webhook body that is not what the provider's schema says; `field` names where."""

    code = "invalid-webhook-payload"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


class PaymentEventKind(StrEnum):
    """What a provider notification means for the money owed on an invoice."""

    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    CHARGEBACK_OPENED = "chargeback_opened"
    CHARGEBACK_WON = "chargeback_won"
    CHARGEBACK_LOST = "chargeback_lost"
    PAID_OUT = "paid_out"
    IGNORED = "ignored"


INBOUND_KINDS = frozenset({PaymentEventKind.PAYMENT_SUCCEEDED, PaymentEventKind.PAID_OUT})
"""Kinds that bring money in (paid_out is a later stage of the same GoCardless payment)."""

CHARGEBACK_KINDS = frozenset(
    {
        PaymentEventKind.CHARGEBACK_OPENED,
        PaymentEventKind.CHARGEBACK_WON,
        PaymentEventKind.CHARGEBACK_LOST,
    }
)
"""Kinds that describe the life of a chargeback (bank dispute) on one payment."""

REVERSAL_KINDS = frozenset({PaymentEventKind.REFUNDED}) | CHARGEBACK_KINDS
"""Kinds about money going (or at risk of going) back to the payer; they need a payment id."""


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """One provider notification, normalised.

    Attributes:
        provider: "stripe", "gocardless" or "generic".
        event_id: The provider's event id: the deduplication key (kept at least 7 days).
        kind: What the notification means (`ignored` for types Relance does not act on).
        occurred_at: When the provider says it happened (timezone-aware).
        amount: Money moved, or None when the provider does not say (GoCardless events).
            For `refunded` it is the cumulative amount refunded on the payment so far.
        invoice_refs: Invoice ids or numbers the payer or merchant attached (metadata).
        remittance_text: Free text that may quote a reference (description, descriptor).
        customer_email: The payer's email, when the provider knows it.
        provider_payment_id: Id of the underlying payment (Stripe payment intent or charge,
            GoCardless payment); pairs refunds, chargebacks and duplicate notifications.
        raw_type: The provider's own event type, for the timeline and logs.
    """

    provider: str
    event_id: str
    kind: PaymentEventKind
    occurred_at: datetime
    amount: Money | None
    invoice_refs: tuple[str, ...]
    remittance_text: str | None
    customer_email: str | None
    provider_payment_id: str | None
    raw_type: str

    def __post_init__(self) -> None:
        if not self.provider.strip():
            raise ValidationError("a payment event needs a provider", "provider")
        if not self.event_id.strip():
            raise ValidationError("a payment event needs an event id", "event_id")
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValidationError("occurred_at must carry a timezone", "occurred_at")
        if self.amount is not None and self.amount.minor < 0:
            raise ValidationError("a payment event amount is never negative", "amount")
        if self.kind in REVERSAL_KINDS and not self.provider_payment_id:
            # Without the payment id a refund or chargeback cannot be paired with its payment.
            raise ValidationError(
                f"a {self.kind} event needs the id of the payment it reverses",
                "provider_payment_id",
            )

    @property
    def ledger_key(self) -> str:
        """The key grouping every notification about the same underlying payment."""
        if self.provider_payment_id:
            return f"{self.provider}:{self.provider_payment_id}"
        return f"{self.provider}:event:{self.event_id}"


# --------------------------------------------------------------------------------------------
# RF creditor references (ISO 11649)
# --------------------------------------------------------------------------------------------

_RF_RE = re.compile(r"^RF(0[2-9]|[1-8][0-9]|9[0-8])[A-Z0-9]{1,21}$")
# A zero-width match with a capturing lookahead, so references following each other in the
# same run of space-separated groups are all seen.
_RF_IN_TEXT = re.compile(r"(?<![A-Z0-9])(?=(RF[0-9]{2}[A-Z0-9]*(?: [A-Z0-9]+)*))")
_MAX_RF_LENGTH = 25


def _normalise_reference(reference: str) -> str:
    return "".join(reference.split()).upper()


def _mod97(alphanumeric: str) -> int:
    # ISO 7064 MOD 97-10 as used by IBAN: letters count as 10..35.
    digits = "".join(str(int(char, 36)) for char in alphanumeric)
    return int(digits) % 97


def is_valid_rf(reference: str) -> bool:
    """Business rule: an RF creditor reference (ISO 11649) with correct mod-97 check digits.

    Spaces (the printed form groups characters by four) and case are ignored.
    """
    compact = _normalise_reference(reference)
    if not compact.isascii() or not _RF_RE.match(compact):
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def rf_reference_for(invoice_number: str) -> str:
    """Business rule: the RF creditor reference printed on an invoice, built from its number.

    Only the letters and digits of the number are kept (ISO 11649 allows nothing else), so
    "F-2026/0042" becomes the reference body "F20260042". The result is in electronic form
    (no spaces).

    Raises:
        ValidationError: the number has no letters or digits, or more than 21 of them.
    """
    body = "".join(char for char in invoice_number.upper() if char.isascii() and char.isalnum())
    if not body:
        raise ValidationError("an RF reference needs letters or digits", "invoice_number")
    if len(body) > 21:
        raise ValidationError("an RF reference holds at most 21 characters", "invoice_number")
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def rf_references_in(text: str) -> frozenset[str]:
    """Every valid RF reference quoted in free text, in electronic form.

    Payers type the printed form ("RF18 5390 0754 7034") into remittance fields, so groups
    separated by single spaces are joined; only prefixes that pass the mod-97 check are kept,
    which is what makes a mistyped reference match nothing.
    """
    found: set[str] = set()
    for match in _RF_IN_TEXT.finditer(text.upper()):
        joined = ""
        for group in match.group(1).split(" "):
            joined += group
            if len(joined) > _MAX_RF_LENGTH:
                break
            if is_valid_rf(joined):
                found.add(joined)
    return frozenset(found)


# --------------------------------------------------------------------------------------------
# Matching and allocation
# --------------------------------------------------------------------------------------------


class MatchMethod(StrEnum):
    """Which rule located the invoices, in the order the rules are tried."""

    PAYMENT_PAIRING = "payment_pairing"
    INVOICE_REFERENCE = "invoice_reference"
    CREDITOR_REFERENCE = "creditor_reference"
    REMITTANCE_NUMBER = "remittance_number"
    AMOUNT_AND_CUSTOMER = "amount_and_customer"
    UNALLOCATED = "unallocated"


class UnallocatedReason(StrEnum):
    """Why money (or a notice) could not be put on invoices automatically."""

    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_UNKNOWN = "amount_unknown"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class AllocationLine:
    """The part of an event that concerns one invoice."""

    invoice_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where an event's money goes.

    Attributes:
        method: The rule that located the invoices (`unallocated` when none did).
        lines: One line per invoice concerned. Amounts are what is paid (inbound kinds), what
            is reversed or at stake (refunds, chargebacks) or zero (failed payments).
        credit: Overpayment to keep as customer credit, or None.
        customer_id: The customer the credit belongs to (the oldest located invoice's).
        unallocated: Money neither put on an invoice nor credited (a collector looks at it).
        reason: Why something is unallocated, or None.
        amount_assumed: True when the provider gave no amount and the invoice's amount due
            was taken as the amount paid (GoCardless rule, see docs/webhooks.md).
    """

    method: MatchMethod
    lines: tuple[AllocationLine, ...] = ()
    credit: Money | None = None
    customer_id: str | None = None
    unallocated: Money | None = None
    reason: UnallocatedReason | None = None
    amount_assumed: bool = False

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        """The invoices concerned, in allocation order."""
        return tuple(line.invoice_id for line in self.lines)

    @property
    def is_allocated(self) -> bool:
        """True when at least one invoice or a customer credit received the event."""
        return bool(self.lines) or self.credit is not None


def _unallocated(event: PaymentEvent, reason: UnallocatedReason) -> Allocation:
    return Allocation(
        method=MatchMethod.UNALLOCATED,
        unallocated=event.amount if event.amount and event.amount.is_positive else None,
        reason=reason,
    )


def _split_refs(refs: Iterable[str]) -> frozenset[str]:
    return frozenset(ref.strip().casefold() for ref in refs if ref.strip())


def _due_order(invoice: Invoice) -> tuple[date, date, str, str]:
    return (invoice.due_date, invoice.issue_date, invoice.number, invoice.invoice_id)


def _oldest_first(invoices: Iterable[Invoice]) -> list[Invoice]:
    return sorted(invoices, key=_due_order)


def _can_receive_payment(invoice: Invoice) -> bool:
    return invoice.kind == DocumentKind.INVOICE and invoice.status not in (
        InvoiceStatus.CANCELLED,
        InvoiceStatus.WRITTEN_OFF,
    )


def _by_reference(event: PaymentEvent, candidates: Sequence[Invoice]) -> list[Invoice]:
    refs = _split_refs(event.invoice_refs)
    if not refs:
        return []
    return [
        inv
        for inv in candidates
        if inv.invoice_id.casefold() in refs or inv.number.strip().casefold() in refs
    ]


def _by_creditor_reference(event: PaymentEvent, candidates: Sequence[Invoice]) -> list[Invoice]:
    if not event.remittance_text:
        return []
    quoted = rf_references_in(event.remittance_text)
    return [
        inv
        for inv in candidates
        if inv.payment_reference and _normalise_reference(inv.payment_reference) in quoted
    ]


_MIN_NUMBER_TOKEN = 3


def _number_as_token(number: str, text: str) -> bool:
    number = number.strip()
    if len(number) < _MIN_NUMBER_TOKEN:
        # "1" or "12" would match quantities and dates in free text.
        return False
    pattern = r"(?<![A-Za-z0-9])" + re.escape(number) + r"(?![A-Za-z0-9])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def _by_remittance_number(event: PaymentEvent, candidates: Sequence[Invoice]) -> list[Invoice]:
    text = event.remittance_text
    if not text:
        return []
    return [inv for inv in candidates if _number_as_token(inv.number, text)]


def _located(
    event: PaymentEvent, candidates: Sequence[Invoice]
) -> tuple[MatchMethod, list[Invoice]] | None:
    rules = (
        (MatchMethod.INVOICE_REFERENCE, _by_reference),
        (MatchMethod.CREDITOR_REFERENCE, _by_creditor_reference),
        (MatchMethod.REMITTANCE_NUMBER, _by_remittance_number),
    )
    for method, rule in rules:
        found = rule(event, candidates)
        if found:
            return method, found
    return None


def _by_amount_and_customer(
    event: PaymentEvent, candidates: Sequence[Invoice], customers: Sequence[Customer]
) -> list[Invoice]:
    if event.amount is None or not event.customer_email:
        return []
    email = event.customer_email.strip().casefold()
    customer_ids = {
        c.customer_id for c in customers if c.email and c.email.strip().casefold() == email
    }
    amount = event.amount
    return [
        inv
        for inv in candidates
        if inv.customer_id in customer_ids
        and _can_receive_payment(inv)
        and not inv.is_closed
        and inv.currency == amount.currency
        and inv.amount_due == amount
    ]


def _spread_inbound(method: MatchMethod, amount: Money, invoices: Sequence[Invoice]) -> Allocation:
    """Business rule: a payment pays the oldest due invoice first; the surplus is credit."""
    ordered = _oldest_first(invoices)
    remaining = amount
    lines: list[AllocationLine] = []
    for invoice in ordered:
        if not _can_receive_payment(invoice) or not remaining.is_positive:
            continue
        share = min(invoice.amount_due, remaining)
        if share.is_positive:
            lines.append(AllocationLine(invoice.invoice_id, share))
            remaining = remaining - share
    return Allocation(
        method=method,
        lines=tuple(lines),
        credit=remaining if remaining.is_positive else None,
        customer_id=ordered[0].customer_id if ordered else None,
    )


def _spread_reversal(
    method: MatchMethod, amount: Money, capacity: Sequence[tuple[Invoice, Money]]
) -> Allocation:
    """Business rule: money going back is taken from the newest due invoice first.

    That reopens as few old invoices as possible, and never more than each one can take.
    """
    ordered = sorted(capacity, key=lambda pair: _due_order(pair[0]), reverse=True)
    remaining = amount
    lines: list[AllocationLine] = []
    for invoice, cap in ordered:
        share = min(cap, remaining)
        if share.is_positive:
            lines.append(AllocationLine(invoice.invoice_id, share))
            remaining = remaining - share
    return Allocation(
        method=method,
        lines=tuple(lines),
        customer_id=ordered[0][0].customer_id if ordered else None,
        unallocated=remaining if remaining.is_positive else None,
    )


def _notice(method: MatchMethod, invoices: Sequence[Invoice]) -> Allocation:
    ordered = _oldest_first(invoices)
    return Allocation(
        method=method,
        lines=tuple(AllocationLine(inv.invoice_id, Money.zero(inv.currency)) for inv in ordered),
        customer_id=ordered[0].customer_id if ordered else None,
    )


def _allocate_located(
    event: PaymentEvent, method: MatchMethod, invoices: list[Invoice]
) -> Allocation:
    if event.kind == PaymentEventKind.PAYMENT_FAILED:
        return _notice(method, invoices)
    if event.amount is None:
        return _allocate_without_amount(event, method, invoices)
    same_currency = [inv for inv in invoices if inv.currency == event.amount.currency]
    if not same_currency:
        return _unallocated(event, UnallocatedReason.CURRENCY_MISMATCH)
    if event.kind in INBOUND_KINDS:
        return _spread_inbound(method, event.amount, same_currency)
    # Capped by each invoice's total, not its amount paid: a refund may arrive before the
    # payment it reverses, and `settle` nets it against that payment once it is known.
    return _spread_reversal(
        method, event.amount, [(inv, inv.amount_total) for inv in same_currency]
    )


def _allocate_without_amount(
    event: PaymentEvent, method: MatchMethod, invoices: list[Invoice]
) -> Allocation:
    payable = [inv for inv in invoices if _can_receive_payment(inv)]
    if event.kind not in INBOUND_KINDS or len(payable) != 1:
        return _unallocated(event, UnallocatedReason.AMOUNT_UNKNOWN)
    invoice = payable[0]
    # GoCardless rule (docs/webhooks.md): the merchant created the payment for this invoice,
    # so without an amount in the notification it settles what the invoice still owes.
    return Allocation(
        method=method,
        lines=(AllocationLine(invoice.invoice_id, invoice.amount_due),),
        customer_id=invoice.customer_id,
        amount_assumed=True,
    )


def match_invoices(
    event: PaymentEvent,
    candidates: Sequence[Invoice],
    customers: Sequence[Customer] = (),
) -> Allocation:
    """Business rule: find the invoices an event is about and split its amount over them.

    Rules, first hit wins:

    1. an invoice id or number the merchant put in the provider's metadata;
    2. a structured payment reference in the remittance text: a valid RF creditor reference
       (ISO 11649) equal to an invoice's `payment_reference`, otherwise an invoice number
       quoted as a whole token;
    3. for money coming in: the one open invoice of the customer identified by the payer's
       email whose amount due equals the amount exactly (two or more: ambiguous);
    4. otherwise unallocated.

    Payments are spread oldest due first, the surplus becoming customer credit. Refunds and
    chargebacks are taken newest due first, never more than an invoice's total. A currency
    other than the invoices' is never converted: that event stays unallocated.

    Call this only for a payment the ledger does not know yet; a later notification about
    the same `provider_payment_id` (a refund, a chargeback, or the same payment reported by
    another event type) goes through `allocate_by_payment`, so it is not counted twice.

    Args:
        event: The normalised provider event.
        candidates: Invoices that may be concerned (by id, number, reference or customer).
        customers: Customers that may be the payer, to resolve `event.customer_email`.

    Returns:
        The allocation; `method` says which rule matched.
    """
    if event.kind == PaymentEventKind.IGNORED:
        return _unallocated(event, UnallocatedReason.NOT_APPLICABLE)
    located = _located(event, candidates)
    if located is not None:
        return _allocate_located(event, *located)
    if event.kind not in INBOUND_KINDS:
        return _unallocated(event, UnallocatedReason.NO_MATCH)
    by_amount = _by_amount_and_customer(event, candidates, customers)
    if len(by_amount) == 1:
        return _allocate_located(event, MatchMethod.AMOUNT_AND_CUSTOMER, by_amount)
    if len(by_amount) > 1:
        return _unallocated(event, UnallocatedReason.AMBIGUOUS)
    return _unallocated(event, UnallocatedReason.NO_MATCH)


def allocate_by_payment(
    event: PaymentEvent, paid_by_invoice: Sequence[tuple[Invoice, Money]]
) -> Allocation:
    """Business rule: an event about a known payment concerns the invoices that payment paid.

    Args:
        event: A refund, chargeback, failure or repeated success for a payment already in the
            ledger (same `provider_payment_id`).
        paid_by_invoice: Each invoice that payment paid and how much it put on it.

    Returns:
        Refunds and chargebacks spread newest due first, capped at what the payment paid on
        each invoice; without an amount a chargeback takes back all of it (a bank chargeback
        reverses the whole payment) while a refund stays unallocated (`amount_unknown`). A
        repeated success is spread again the same way as the first, oldest due first.
    """
    if event.kind == PaymentEventKind.IGNORED or not paid_by_invoice:
        return _unallocated(event, UnallocatedReason.NOT_APPLICABLE)
    invoices = [inv for inv, _ in paid_by_invoice]
    if event.kind == PaymentEventKind.PAYMENT_FAILED:
        return _notice(MatchMethod.PAYMENT_PAIRING, invoices)
    if event.amount is None:
        if event.kind in CHARGEBACK_KINDS or event.kind in INBOUND_KINDS:
            return _spread_reversal(
                MatchMethod.PAYMENT_PAIRING,
                sum((paid for _, paid in paid_by_invoice), Money.zero(invoices[0].currency)),
                paid_by_invoice,
            )
        return _unallocated(event, UnallocatedReason.AMOUNT_UNKNOWN)
    currency = event.amount.currency
    same_currency = [(inv, paid) for inv, paid in paid_by_invoice if paid.currency == currency]
    if not same_currency:
        return _unallocated(event, UnallocatedReason.CURRENCY_MISMATCH)
    if event.kind in INBOUND_KINDS:
        return _replay_inbound(event.amount, same_currency)
    return _spread_reversal(MatchMethod.PAYMENT_PAIRING, event.amount, same_currency)


def _replay_inbound(amount: Money, paid_by_invoice: Sequence[tuple[Invoice, Money]]) -> Allocation:
    ordered = sorted(paid_by_invoice, key=lambda pair: _due_order(pair[0]))
    remaining = amount
    lines: list[AllocationLine] = []
    for invoice, paid in ordered:
        share = min(paid, remaining)
        if share.is_positive:
            lines.append(AllocationLine(invoice.invoice_id, share))
            remaining = remaining - share
    return Allocation(
        method=MatchMethod.PAYMENT_PAIRING,
        lines=tuple(lines),
        customer_id=ordered[0][0].customer_id,
        unallocated=remaining if remaining.is_positive else None,
    )


# --------------------------------------------------------------------------------------------
# Ledger and settlement
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentLedgerEntry:
    """One event's effect on one invoice, as stored in that invoice's payment ledger.

    Attributes:
        event_id: The provider event id (the same event stored twice changes nothing).
        provider_payment_id: The underlying payment; None for a payment known by its event only.
        kind: The event kind (never `ignored`).
        amount: The allocation line's amount for this invoice (None only when unknown).
        occurred_at: The provider's timestamp; decides which outcome of a payment is the latest.
        provider: The provider name, so payment ids of two providers never collide.
    """

    event_id: str
    provider_payment_id: str | None
    kind: PaymentEventKind
    amount: Money | None
    occurred_at: datetime
    provider: str = ""

    def __post_init__(self) -> None:
        if self.kind == PaymentEventKind.IGNORED:
            raise ValidationError("ignored events have no place in a ledger", "kind")
        if self.amount is not None and self.amount.minor < 0:
            raise ValidationError("a ledger amount is never negative", "amount")
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValidationError("occurred_at must carry a timezone", "occurred_at")

    @property
    def key(self) -> str:
        """Entries with the same key describe the same underlying payment."""
        if self.provider_payment_id:
            return f"{self.provider}:{self.provider_payment_id}"
        return f"{self.provider}:event:{self.event_id}"


def ledger_entries(
    event: PaymentEvent, allocation: Allocation
) -> tuple[tuple[str, PaymentLedgerEntry], ...]:
    """The (invoice_id, entry) pairs to store for an allocated event, one per allocation line."""
    if event.kind == PaymentEventKind.IGNORED:
        return ()
    return tuple(
        (
            line.invoice_id,
            PaymentLedgerEntry(
                event_id=event.event_id,
                provider_payment_id=event.provider_payment_id,
                kind=event.kind,
                amount=line.amount,
                occurred_at=event.occurred_at,
                provider=event.provider,
            ),
        )
        for line in allocation.lines
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    """What an invoice's ledger adds up to.

    Attributes:
        paid: The amount paid to store on the invoice, within [0, total].
        excess: Ledger net above the invoice total (zero unless something was counted twice).
        chargeback_at_stake: Amount under a chargeback still open, or None when none is open.
        had_chargeback: True once any chargeback was recorded on one of the payments.
    """

    paid: Money
    excess: Money
    chargeback_at_stake: Money | None
    had_chargeback: bool


# Ties at the same provider timestamp: success beats failure (money actually received is the
# stronger evidence), and a decided chargeback beats the opening it closes.
_OUTCOME_RANK = {
    PaymentEventKind.PAYMENT_FAILED: 0,
    PaymentEventKind.PAYMENT_SUCCEEDED: 1,
    PaymentEventKind.PAID_OUT: 1,
}
_CHARGEBACK_RANK = {
    PaymentEventKind.CHARGEBACK_OPENED: 0,
    PaymentEventKind.CHARGEBACK_LOST: 1,
    PaymentEventKind.CHARGEBACK_WON: 2,
}


def _latest(
    entries: Sequence[PaymentLedgerEntry], rank: dict[PaymentEventKind, int]
) -> PaymentLedgerEntry | None:
    relevant = [e for e in entries if e.kind in rank]
    return max(relevant, key=lambda e: (e.occurred_at, rank[e.kind], e.event_id), default=None)


def _largest(
    entries: Sequence[PaymentLedgerEntry], kinds: frozenset[PaymentEventKind], zero: Money
) -> Money:
    amounts = [e.amount for e in entries if e.kind in kinds and e.amount is not None]
    return max(amounts, key=lambda m: m.minor, default=zero)


@dataclass(frozen=True, slots=True)
class _PaymentBalance:
    net: Money
    at_stake: Money | None
    had_chargeback: bool


def _balance(entries: Sequence[PaymentLedgerEntry], zero: Money) -> _PaymentBalance:
    outcome = _latest(entries, _OUTCOME_RANK)
    received = zero
    if outcome is not None and outcome.kind != PaymentEventKind.PAYMENT_FAILED:
        received = _largest(entries, INBOUND_KINDS, zero)
    refunded = _largest(entries, frozenset({PaymentEventKind.REFUNDED}), zero)
    chargeback = _latest(entries, _CHARGEBACK_RANK)
    disputed = _largest(entries, CHARGEBACK_KINDS, zero)
    lost = zero
    at_stake = None
    if chargeback is not None and chargeback.kind == PaymentEventKind.CHARGEBACK_LOST:
        lost = disputed
    elif chargeback is not None and chargeback.kind == PaymentEventKind.CHARGEBACK_OPENED:
        at_stake = disputed
    net = received - refunded - lost
    return _PaymentBalance(
        net=net if net.is_positive else zero,
        at_stake=at_stake,
        had_chargeback=chargeback is not None,
    )


def settlement(invoice_total: Money, entries: Iterable[PaymentLedgerEntry]) -> Settlement:
    """Business rule: what an invoice's payment ledger adds up to, whatever the arrival order.

    Entries are grouped by payment (`key`). For each payment:

    * received: the largest amount reported by its success notifications (`payment_succeeded`,
      `paid_out`), so the same payment reported by several event types or re-delivered
      counts once; zero when the latest outcome by provider time is `payment_failed`
      (a GoCardless late failure; a Stripe retry that later succeeds counts again);
    * refunded: the largest refund amount, because refund amounts are cumulative per payment
      (Stripe `amount_refunded`);
    * charged back: the disputed amount when the latest chargeback event is `lost`;
    * net = received - refunded - charged back, never below zero.

    The paid amount is the sum of the nets, capped at the invoice total. Each step uses only
    max, latest-by-timestamp and sums over the whole set, so any permutation (or repetition)
    of the same entries gives the same result: a refund stored before its payment simply
    nets to zero until the payment arrives, then the invoice converges.

    Raises:
        CurrencyMismatchError: an entry is in another currency than the invoice.
    """
    zero = Money.zero(invoice_total.currency)
    by_payment: dict[str, list[PaymentLedgerEntry]] = defaultdict(list)
    for entry in entries:
        if entry.amount is not None and entry.amount.currency != invoice_total.currency:
            raise CurrencyMismatchError(
                f"ledger entry {entry.event_id} is in {entry.amount.currency}, "
                f"the invoice in {invoice_total.currency}"
            )
        by_payment[entry.key].append(entry)
    net = zero
    at_stake: Money | None = None
    had_chargeback = False
    for group in by_payment.values():
        balance = _balance(group, zero)
        net = net + balance.net
        had_chargeback = had_chargeback or balance.had_chargeback
        if balance.at_stake is not None:
            at_stake = (at_stake or zero) + balance.at_stake
    paid = min(net, invoice_total) if invoice_total.minor >= 0 else zero
    excess = net - paid
    return Settlement(
        paid=paid if paid.minor > 0 else zero,
        excess=excess if excess.is_positive else zero,
        chargeback_at_stake=at_stake,
        had_chargeback=had_chargeback,
    )


def settle(invoice_total: Money, entries: Iterable[PaymentLedgerEntry]) -> Money:
    """Business rule: the amount paid on an invoice, computed from its whole ledger.

    Order-independent; see `settlement` for the rules.
    """
    return settlement(invoice_total, entries).paid


# --------------------------------------------------------------------------------------------
# Effects on an invoice
# --------------------------------------------------------------------------------------------


def _resume_chase(before: Invoice, after: Invoice, at: datetime) -> Invoice:
    """Business rule: an invoice that owes money again goes back to the chase.

    Paid invoices carry no next action; setting it to the event time puts the invoice in the
    planner's due index at its next run, and the policy decides what to send.
    """
    reopened = before.status in (InvoiceStatus.PAID, InvoiceStatus.DISPUTED) and after.status in (
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
    )
    if reopened and after.next_action_at is None:
        return replace(after, next_action_at=at)
    return after


def _open_chargeback(invoice: Invoice, at_stake: Money) -> Invoice:
    if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
        return invoice
    # A bank dispute is a human matter: the planner skips disputed invoices.
    return replace(invoice, status=InvoiceStatus.DISPUTED, disputed_amount=at_stake)


def _end_chargeback(invoice: Invoice, at: datetime) -> Invoice:
    if invoice.status != InvoiceStatus.DISPUTED:
        return invoice
    cleared = replace(invoice, status=InvoiceStatus.OPEN, disputed_amount=None)
    return cleared.with_settled_status(at)


def _reverse(invoice: Invoice, amount: Money | None, at: datetime) -> Invoice:
    taken = invoice.amount_paid if amount is None else min(amount, invoice.amount_paid)
    if not taken.is_positive:
        return invoice
    lowered = replace(invoice, amount_paid=invoice.amount_paid - taken)
    return lowered.with_settled_status(at)


def apply_event(invoice: Invoice, event: PaymentEvent, amount: Money | None = None) -> Invoice:
    """Business rule: the effect of one (deduplicated) event on one invoice, incrementally.

    * payment (`payment_succeeded`, `paid_out`): added to the amount paid; paid in full
      closes the invoice, a partial payment lowers the amount due and the chase goes on;
    * `refunded`, `chargeback_lost`: the amount paid goes down (never below zero), the invoice
      reopens and the chase resumes;
    * `chargeback_opened`: the invoice is disputed (the planner stops) for the amount at stake;
    * `chargeback_won`: the dispute ends and the status follows the amounts again;
    * `payment_failed`, `ignored`: no change (the timeline records failures).

    This is not idempotent and depends on order; `reconcile` recomputes from the whole ledger
    and is what converges when notifications arrive late or twice.

    Args:
        invoice: The invoice before the event.
        event: The event (its kind and time are used).
        amount: This invoice's allocation line amount; defaults to the event amount.

    Raises:
        ValidationError: a payment without an amount.
        InvalidTransitionError: a payment on a cancelled or written-off invoice.
    """
    share = amount if amount is not None else event.amount
    at = event.occurred_at
    kind = event.kind
    if kind in INBOUND_KINDS:
        if share is None:
            raise ValidationError("a payment needs an amount to be applied", "amount")
        if share.is_zero:
            return invoice
        return _resume_chase(invoice, invoice.with_payment(share, at), at)
    if kind == PaymentEventKind.CHARGEBACK_OPENED:
        return _open_chargeback(invoice, share if share is not None else invoice.amount_paid)
    if kind == PaymentEventKind.CHARGEBACK_WON:
        return _resume_chase(invoice, _end_chargeback(invoice, at), at)
    if kind in (PaymentEventKind.REFUNDED, PaymentEventKind.CHARGEBACK_LOST):
        after = _reverse(invoice, share, at)
        if kind == PaymentEventKind.CHARGEBACK_LOST:
            after = _end_chargeback(after, at)
        return _resume_chase(invoice, after, at)
    return invoice


def reconcile(invoice: Invoice, entries: Iterable[PaymentLedgerEntry], at: datetime) -> Invoice:
    """Business rule: the invoice as its whole payment ledger says it stands.

    The amount paid comes from `settle`; the status follows the amounts; an open chargeback
    disputes the invoice and a decided one ends that dispute; an invoice owing money again
    resumes the chase. Same ledger, same result, whatever order the events came in.

    Args:
        invoice: The stored invoice.
        entries: Every ledger entry recorded for it.
        at: The time of the event being processed (paid_at, next action when reopened).
    """
    result = settlement(invoice.amount_total, entries)
    updated = replace(invoice, amount_paid=result.paid)
    if updated.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
        return updated
    if result.chargeback_at_stake is not None:
        return _open_chargeback(updated, result.chargeback_at_stake)
    if result.had_chargeback:
        updated = _end_chargeback(updated, at)
    return _resume_chase(invoice, updated.with_settled_status(at), at)
