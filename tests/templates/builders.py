"""Builders for message tests: a seller, a customer and two invoices consolidated in one view."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.adapters.locale_format import BabelLocaleFormatter
from chalicelib.domain.invoices import (
    Customer,
    Invoice,
    InvoiceStatus,
    customer_id_for,
    invoice_id_for,
)
from chalicelib.domain.money import Money
from chalicelib.services.messages import LocaleFormatter, MessageView, build_message_view

SELLER_ID = "FR40303265045"
SELLER = {
    "seller_name": "Atelier Dupont SARL",
    "seller_email": "compta@atelier-dupont.fr",
    "seller_phone": "+33 1 84 80 12 34",
}
# A real pay link: base URL plus a 43-character token (32 random bytes, base64url). SMS budgets
# are measured with it, so keep its length realistic.
PAY_URL = "https://pay.relance.example/pay/q3Jt9XbV2mLpZ8wKc4RyHn7TfQa1sDgE5uIoP6vB0xC"
IBAN = "FR7630006000011234567890189"

FIRST_DUE = date(2026, 11, 1)
SECOND_DUE = date(2026, 11, 10)
# "Today" for each step of the default French B2B policy, counted from the newest due date so
# that both invoices are at (or past) the step when the consolidated message goes out.
TODAY_BY_STEP = {
    "courtesy": SECOND_DUE - timedelta(days=12),  # both still to fall due
    "friendly": SECOND_DUE + timedelta(days=1),
    "firm": SECOND_DUE + timedelta(days=8),
    "call": SECOND_DUE + timedelta(days=15),
    "formal_notice": SECOND_DUE + timedelta(days=30),
    "legal": SECOND_DUE + timedelta(days=45),
    "receipt": SECOND_DUE + timedelta(days=10),
    "promise_confirmation": SECOND_DUE + timedelta(days=2),
}
# Which steps have which templates (the default French B2B policy plus receipt and promise).
EMAIL_STEPS = (
    "courtesy",
    "friendly",
    "firm",
    "formal_notice",
    "legal",
    "receipt",
    "promise_confirmation",
)
SMS_STEPS = ("courtesy", "friendly", "firm", "formal_notice", "legal", "promise_confirmation")
TASK_STEPS = ("call", "legal")
LETTER_STEPS = ("formal_notice", "legal")
STATUTORY_STEPS = frozenset({"formal_notice", "legal"})
PROMISED_ON = date(2026, 11, 30)


def a_customer(
    locale: str = "fr", name: str = "Boulangerie Martin SAS", **overrides: Any
) -> Customer:
    customer = Customer(
        customer_id=customer_id_for(SELLER_ID, "FR12345678901"),
        seller_id=SELLER_ID,
        name=name,
        email="fournisseurs@boulangerie-martin.fr",
        phone="+33612345678",
        locale=locale,
    )
    return replace(customer, **overrides)


def an_invoice(
    number: str,
    *,
    issued: date,
    due: date,
    total: str,
    paid: str = "0.00",
    currency: str = "EUR",
    customer: Customer | None = None,
    **overrides: Any,
) -> Invoice:
    owner = customer or a_customer()
    invoice = Invoice(
        invoice_id=invoice_id_for(SELLER_ID, number),
        seller_id=SELLER_ID,
        number=number,
        customer_id=owner.customer_id,
        issue_date=issued,
        due_date=due,
        amount_total=Money.parse(total, currency),
        amount_paid=Money.parse(paid, currency),
        iban=IBAN,
    )
    return replace(invoice, **overrides)


def two_invoices(*, settled: bool = False) -> list[Invoice]:
    """1 234,56 € due on 1 November and 480,00 € (80,00 € already paid) due on 10 November."""
    first = an_invoice("FAC-2026-0142", issued=date(2026, 10, 2), due=FIRST_DUE, total="1234.56")
    second = an_invoice(
        "FAC-2026-0157", issued=date(2026, 10, 11), due=SECOND_DUE, total="480.00", paid="80.00"
    )
    if settled:
        return [
            replace(first, amount_paid=first.amount_total, status=InvoiceStatus.PAID),
            replace(second, amount_paid=second.amount_total, status=InvoiceStatus.PAID),
        ]
    # Listed newest first on purpose: the view must order them oldest first.
    return [second, first]


def a_message_view(
    step: str = "friendly",
    tone: str = "standard",
    locale: str = "fr",
    *,
    customer: Customer | None = None,
    invoices: list[Invoice] | None = None,
    formatter: LocaleFormatter | None = None,
    today: date | None = None,
    **overrides: Any,
) -> MessageView:
    """The consolidated two-invoice view the dunning service would build for a step."""
    owner = customer or a_customer(locale)
    chosen = invoices if invoices is not None else two_invoices(settled=step == "receipt")
    chosen = [replace(inv, customer_id=owner.customer_id) for inv in chosen]
    as_of = today or TODAY_BY_STEP.get(step, TODAY_BY_STEP["friendly"])
    arguments: dict[str, Any] = {
        **SELLER,
        "pay_url": PAY_URL,
        "pay_url_expires": as_of + timedelta(days=30),
        "promise_date": PROMISED_ON if step == "promise_confirmation" else None,
    }
    if step in STATUTORY_STEPS:
        arguments.update(
            interest=Money.parse("19.87", "EUR"),
            indemnity=Money.parse("80.00", "EUR"),
            interest_rate_percent=Decimal("12.15"),
        )
    arguments.update(overrides)
    return build_message_view(
        step_id=step,
        tone=tone,
        invoices=chosen,
        customer=owner,
        formatter=formatter or BabelLocaleFormatter(),
        today=as_of,
        **arguments,
    )
