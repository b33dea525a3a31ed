"""The generic webhook format: schema, conversion, and the documented examples."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.webhook_signatures import GenericSignatureVerifier, sign_generic
from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentEventKind, WebhookPayloadError
from chalicelib.schemas.webhooks import generic_to_events, parse_generic_webhook

SECRET = "generic-shared-secret"


def docs_path() -> Path:
    return Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def a_notification(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "bank-2026-01-31-000123",
        "type": "payment_succeeded",
        "occurred_at": "2026-01-31T10:15:00+01:00",
        "amount": "1234.56",
        "currency": "EUR",
        "payment_id": "SEPA-CT-8842-0001",
        "invoice_number": "F-2026-0042",
        "reference": "RF18 5390 0754 7034",
        "payer_email": "accounts@client.example",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_full_notification_becomes_a_payment_event() -> None:
    (event,) = generic_to_events(a_notification())

    assert event.provider == "generic"
    assert event.event_id == "bank-2026-01-31-000123"
    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.occurred_at == datetime(2026, 1, 31, 10, 15, tzinfo=timezone(timedelta(hours=1)))
    assert event.amount == Money(123456, "EUR")
    assert event.provider_payment_id == "SEPA-CT-8842-0001"
    assert event.invoice_refs == ("F-2026-0042",)
    assert event.remittance_text == "RF18 5390 0754 7034"
    assert event.customer_email == "accounts@client.example"
    assert event.raw_type == "payment_succeeded"


def test_all_invoice_reference_members_are_collected_once() -> None:
    (event,) = generic_to_events(
        a_notification(invoice_id="inv_1", invoice_ids=["inv_2", "inv_1"], invoice_number="F-9")
    )

    assert event.invoice_refs == ("inv_1", "F-9", "inv_2")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1500", "JPY", Money(1500, "JPY")),
        ("0.5", "EUR", Money(50, "EUR")),
        ("12.345", "KWD", Money(12345, "KWD")),
        ("0", "EUR", Money(0, "EUR")),
    ],
)
def test_amounts_are_exact_decimal_strings(amount: str, currency: str, expected: Money) -> None:
    (event,) = generic_to_events(a_notification(amount=amount, currency=currency))

    assert event.amount == expected


@pytest.mark.parametrize(
    "kind",
    ["payment_failed", "chargeback_opened", "chargeback_won", "chargeback_lost", "paid_out"],
)
def test_amount_is_optional_where_documented(kind: str) -> None:
    body = a_notification(type=kind)
    del body["amount"], body["currency"]

    (event,) = generic_to_events(body)

    assert event.kind == PaymentEventKind(kind)
    assert event.amount is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 1234.56}, "amount"),
        ({"amount": "1,234.56"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"amount": "1.5", "currency": "JPY"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": None}, "currency"),
        ({"amount": None}, "amount"),
        ({"type": "ignored"}, "type"),
        ({"type": "paid"}, "type"),
        ({"occurred_at": "2026-01-31T10:15:00"}, "occurred_at"),
        ({"occurred_at": 1767225600}, "occurred_at"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": None}, "event_id"),
        ({"invoice_ids": ["ok", ""]}, "invoice_ids[1]"),
        ({"invoice_ids": "a,b"}, "invoice_ids"),
        ({"invoice_numbr": "F-1"}, "invoice_numbr"),
        ({"payer_email": "not an email"}, "payer_email"),
        ({"reference": "x" * 1001}, "reference"),
    ],
)
def test_bad_notification_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(WebhookPayloadError) as excinfo:
        generic_to_events(a_notification(**changes))

    assert excinfo.value.field == field


def test_payment_without_amount_is_refused() -> None:
    body = a_notification()
    del body["amount"], body["currency"]

    with pytest.raises(WebhookPayloadError) as excinfo:
        generic_to_events(body)

    assert excinfo.value.field == "amount"


@pytest.mark.parametrize(
    "kind", ["refunded", "chargeback_opened", "chargeback_won", "chargeback_lost"]
)
def test_reversal_without_payment_id_is_refused(kind: str) -> None:
    body = a_notification(type=kind)
    del body["payment_id"]

    with pytest.raises(WebhookPayloadError) as excinfo:
        generic_to_events(body)

    assert excinfo.value.field == "payment_id"


def test_signed_notification_verifies_and_parses_end_to_end() -> None:
    raw = json.dumps(a_notification(), separators=(",", ":")).encode()
    t = int(datetime(2026, 1, 31, 9, 15, tzinfo=UTC).timestamp())
    header = sign_generic(raw, SECRET, t)

    GenericSignatureVerifier([SECRET]).verify(raw, header, now=t + 5)
    (event,) = parse_generic_webhook(raw)

    assert event.amount == Money(123456, "EUR")


def documented_examples() -> list[dict[str, Any]]:
    section = docs_path().read_text().split("## 7. Generic format", 1)[1]
    blocks = re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)
    return [json.loads(block) for block in blocks]


def test_documented_examples_are_valid_generic_notifications() -> None:
    examples = documented_examples()

    events = [generic_to_events(example)[0] for example in examples]

    assert len(events) == 2
    assert events[0].kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert events[1].kind == PaymentEventKind.REFUNDED
    assert events[1].ledger_key == events[0].ledger_key


def test_documented_member_table_lists_exactly_the_schema_fields() -> None:
    from chalicelib.schemas.webhooks import GenericPaymentNotification

    section = docs_path().read_text().split("## 7. Generic format", 1)[1]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))

    assert documented == set(GenericPaymentNotification.model_fields)
