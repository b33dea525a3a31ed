"""Domain: invoices and customers, their identities and state transitions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from chalicelib.domain.errors import InvalidTransitionError
from chalicelib.domain.money import Money


class InvoiceStatus(StrEnum):
    """Lifecycle of an invoice (DESIGN.md §4)."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"
    WRITTEN_OFF = "written_off"


CLOSED_STATUSES = frozenset(
    {InvoiceStatus.PAID, InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF}
)


class DocumentKind(StrEnum):
    """Whether a document asks for money or gives it back."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Segment(StrEnum):
    """Built-in customer segments; custom segments are free strings."""

    STANDARD = "standard"
    STRATEGIC = "strategic"
    HIGH_RISK = "high_risk"


class RiskClass(StrEnum):
    """Risk computed from payment history, or overridden by a collector."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChannelStatus(StrEnum):
    """Whether a contact channel can still be used."""

    OK = "ok"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    OPTED_OUT = "opted_out"


def _digest(*parts: str) -> str:
    joined = "\x1f".join(p.strip().casefold() for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:24]


def invoice_id_for(seller_id: str, number: str) -> str:
    """Business rule: an invoice's identity is seller + invoice number, stable across uploads."""
    return "inv_" + _digest(seller_id, number)


def document_id_for(seller_id: str, number: str, kind: DocumentKind) -> str:
    """Business rule: credit notes are numbered apart from invoices (often the same number)."""
    if kind == DocumentKind.CREDIT_NOTE:
        return invoice_id_for(seller_id, f"credit-note:{number}")
    return invoice_id_for(seller_id, number)


def customer_id_for(seller_id: str, buyer_key: str) -> str:
    """Business rule: a customer's identity is seller + the buyer's strongest identifier."""
    return "cus_" + _digest(seller_id, buyer_key)


@dataclass(frozen=True, slots=True)
class Customer:
    """A buyer being chased, with how and when they may be contacted."""

    customer_id: str
    seller_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    locale: str = "fr"
    timezone: str = "Europe/Paris"
    segment: str = Segment.STANDARD
    risk_override: RiskClass | None = None
    # A collector can put every invoice of this customer on another policy.
    policy_id: str | None = None
    vat_id: str | None = None
    legal_id: str | None = None
    endpoint_id: str | None = None
    email_status: ChannelStatus = ChannelStatus.OK
    sms_status: ChannelStatus = ChannelStatus.OK
    # Fields a person edited through the API; a later file only overwrites them with new values.
    edited_fields: frozenset[str] = frozenset()
    paused: bool = False
    erased: bool = False
    # The values the last imported file carried, to tell a new value from a stale one.
    file_values: tuple[tuple[str, str], ...] = ()
    version: int = 0

    @property
    def can_email(self) -> bool:
        """Business rule: email only to a known address that has not bounced or complained."""
        return bool(self.email) and self.email_status == ChannelStatus.OK

    @property
    def can_text(self) -> bool:
        """Business rule: SMS only to an E.164 number that has not opted out."""
        return bool(self.phone) and self.sms_status == ChannelStatus.OK


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice (or credit note) and where it stands in the chase."""

    invoice_id: str
    seller_id: str
    number: str
    customer_id: str
    issue_date: date
    due_date: date
    amount_total: Money
    amount_paid: Money
    kind: DocumentKind = DocumentKind.INVOICE
    status: InvoiceStatus = InvoiceStatus.OPEN
    purchase_order: str | None = None
    payment_reference: str | None = None
    iban: str | None = None
    source_key: str | None = None
    source_format: str | None = None
    next_action_at: datetime | None = None
    policy_id: str | None = None
    policy_version: int | None = None
    steps_done: tuple[str, ...] = ()
    paused_until: datetime | None = None
    paused: bool = False
    disputed_amount: Money | None = None
    promise_date: date | None = None
    paid_at: datetime | None = None
    credited: Money | None = None
    version: int = 0
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def currency(self) -> str:
        """The invoice's currency."""
        return self.amount_total.currency

    @property
    def amount_due(self) -> Money:
        """Business rule: what is still owed = total - paid - credited, never below zero."""
        credited = self.credited or Money.zero(self.currency)
        due = self.amount_total - self.amount_paid - credited
        return due if due.minor > 0 else Money.zero(self.currency)

    @property
    def chaseable_amount(self) -> Money:
        """Business rule: only the undisputed part of what is owed is chased."""
        due = self.amount_due
        if self.disputed_amount is None:
            return due
        rest = due - self.disputed_amount
        return rest if rest.minor > 0 else Money.zero(self.currency)

    @property
    def is_closed(self) -> bool:
        """True once paid, cancelled or written off."""
        return self.status in CLOSED_STATUSES

    def days_overdue(self, as_of: date) -> int:
        """Whole days past the due date (negative before it)."""
        return (as_of - self.due_date).days

    def with_payment(self, amount: Money, at: datetime) -> Invoice:
        """Business rule: apply a payment; fully paid closes the invoice, partial keeps chasing.

        Raises:
            InvalidTransitionError: the invoice is cancelled or written off.
        """
        if self.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
            raise InvalidTransitionError(f"cannot pay a {self.status} invoice")
        paid = self.amount_paid + amount
        updated = replace(self, amount_paid=paid)
        return updated.with_settled_status(at)

    def with_settled_status(self, at: datetime) -> Invoice:
        """Recompute paid/partially-paid/open from the amounts, keeping disputes."""
        if self.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
            return self
        if self.amount_due.is_zero:
            return replace(
                self, status=InvoiceStatus.PAID, paid_at=self.paid_at or at, next_action_at=None
            )
        if self.status == InvoiceStatus.DISPUTED:
            return replace(self, paid_at=None)
        status = (
            InvoiceStatus.PARTIALLY_PAID if self.amount_paid.is_positive else InvoiceStatus.OPEN
        )
        return replace(self, status=status, paid_at=None)
