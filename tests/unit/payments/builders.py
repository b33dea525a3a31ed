"""Builders for invoices, customers and payment events used by the payment tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.domain.invoices import Customer, DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentEvent, PaymentEventKind, PaymentLedgerEntry

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def an_invoice(
    number: str = "F-2026-0001",
    *,
    total: str = "100.00",
    paid: str = "0.00",
    currency: str = "EUR",
    due: date = date(2026, 1, 31),
    customer_id: str = "cus_a",
    status: InvoiceStatus | None = None,
    kind: DocumentKind = DocumentKind.INVOICE,
    payment_reference: str | None = None,
    invoice_id: str | None = None,
    next_action_at: datetime | None = None,
) -> Invoice:
    amount_total = Money.parse(total, currency)
    amount_paid = Money.parse(paid, currency)
    if status is None:
        if amount_paid >= amount_total:
            status = InvoiceStatus.PAID
        elif amount_paid.is_positive:
            status = InvoiceStatus.PARTIALLY_PAID
        else:
            status = InvoiceStatus.OPEN
    return Invoice(
        invoice_id=invoice_id or f"inv_{number.lower()}",
        seller_id="seller_1",
        number=number,
        customer_id=customer_id,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount_total=amount_total,
        amount_paid=amount_paid,
        kind=kind,
        status=status,
        payment_reference=payment_reference,
        next_action_at=next_action_at,
        paid_at=T0 if status == InvoiceStatus.PAID else None,
    )


def a_customer(customer_id: str = "cus_a", email: str | None = "ap@client.example") -> Customer:
    return Customer(customer_id=customer_id, seller_id="seller_1", name="Client", email=email)


def an_event(
    kind: PaymentEventKind = PaymentEventKind.PAYMENT_SUCCEEDED,
    *,
    amount: str | None = "100.00",
    currency: str = "EUR",
    refs: tuple[str, ...] = (),
    remittance: str | None = None,
    email: str | None = None,
    payment_id: str | None = "pi_1",
    event_id: str = "evt_1",
    at: datetime = T0,
    provider: str = "stripe",
) -> PaymentEvent:
    return PaymentEvent(
        provider=provider,
        event_id=event_id,
        kind=kind,
        occurred_at=at,
        amount=None if amount is None else Money.parse(amount, currency),
        invoice_refs=refs,
        remittance_text=remittance,
        customer_email=email,
        provider_payment_id=payment_id,
        raw_type=str(kind),
    )


def an_entry(
    kind: PaymentEventKind,
    amount: str | None,
    *,
    payment_id: str | None = "pi_1",
    event_id: str = "evt_1",
    at: datetime = T0,
    currency: str = "EUR",
    provider: str = "stripe",
) -> PaymentLedgerEntry:
    return PaymentLedgerEntry(
        event_id=event_id,
        provider_payment_id=payment_id,
        kind=kind,
        amount=None if amount is None else Money.parse(amount, currency),
        occurred_at=at,
        provider=provider,
    )


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")
