"""The claim log on DynamoDB (moto over HTTP): the conditional writes exactly once rests on."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pynamodb.connection import Connection

from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.work import DynamoClaimLog
from chalicelib.domain.invoices import Invoice
from chalicelib.domain.money import Money
from chalicelib.services.ports import ClaimOutcome
from tests.conftest import REGION

AT = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _invoice(repo: DynamoInvoiceRepository) -> Invoice:
    return repo.save(
        Invoice(
            invoice_id="inv_claims",
            seller_id="s",
            number="C-1",
            customer_id="cus_1",
            issue_date=date(2027, 1, 1),
            due_date=date(2027, 2, 1),
            amount_total=Money(1000, "EUR"),
            amount_paid=Money(0, "EUR"),
        )
    )


def test_claim_is_taken_once_confirmed_and_then_reported_sent(stack):
    from chalicelib.bootstrap import get_services

    get_services()  # binds the tables
    repo, claims = DynamoInvoiceRepository(16), DynamoClaimLog(Connection(region=REGION))
    invoice = _invoice(repo)

    assert (
        claims.claim(invoice.invoice_id, invoice.version, "friendly", "email", "r1", AT)
        == ClaimOutcome.WON
    )
    assert (
        claims.claim(invoice.invoice_id, invoice.version, "friendly", "email", "r2", AT)
        == ClaimOutcome.IN_FLIGHT
    )
    claims.confirm(invoice.invoice_id, "friendly", "email", "ses-1")
    stored = claims.get(invoice.invoice_id, "friendly", "email")
    assert (stored.status, stored.message_ref, stored.run_id) == ("sent", "ses-1", "r1")
    assert (
        claims.claim(invoice.invoice_id, invoice.version, "friendly", "email", "r3", AT)
        == ClaimOutcome.ALREADY_SENT
    )
    claims.release(invoice.invoice_id, "friendly", "email")  # a sent claim is never released
    assert claims.get(invoice.invoice_id, "friendly", "email").status == "sent"


def test_claim_fails_when_the_invoice_changed_since_it_was_read(stack):
    from chalicelib.bootstrap import get_services

    get_services()
    repo, claims = DynamoInvoiceRepository(16), DynamoClaimLog(Connection(region=REGION))
    invoice = _invoice(repo)
    repo.save(invoice.with_payment(Money(1000, "EUR"), AT))  # a payment lands

    assert (
        claims.claim(invoice.invoice_id, invoice.version, "friendly", "email", "r1", AT)
        == ClaimOutcome.INVOICE_CHANGED
    )
    assert claims.get(invoice.invoice_id, "friendly", "email") is None


def test_released_claim_can_be_taken_again(stack):
    from chalicelib.bootstrap import get_services

    get_services()
    repo, claims = DynamoInvoiceRepository(16), DynamoClaimLog(Connection(region=REGION))
    invoice = _invoice(repo)
    claims.claim(invoice.invoice_id, invoice.version, "firm", "sms", "r1", AT)
    claims.release(invoice.invoice_id, "firm", "sms")
    assert (
        claims.claim(invoice.invoice_id, invoice.version, "firm", "sms", "r2", AT)
        == ClaimOutcome.WON
    )
