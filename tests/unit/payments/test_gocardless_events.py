"""GoCardless webhook bodies (events from the official fixture) converted to PaymentEvents."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentEventKind, WebhookPayloadError
from chalicelib.schemas.webhooks import gocardless_to_events, parse_gocardless_webhook


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def fixture() -> dict[str, Any]:
    path = samples_dir() / "webhooks" / "gocardless" / "gocardless-events.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def fixture_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = fixture()["list"]["body"]["events"]
    return events


def webhook(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events), "meta": {"webhook_id": "WB00001"}}


def fixture_event(resource_type: str, action: str, **changes: Any) -> dict[str, Any]:
    # The fixture's event object with the resource/action a payment webhook would carry.
    event = copy.deepcopy(fixture_events()[0])
    event.update(resource_type=resource_type, action=action, **changes)
    return event


def test_fixture_events_parse_as_ignored_mandate_events() -> None:
    events = gocardless_to_events(webhook(*fixture_events()))

    assert [e.kind for e in events] == [PaymentEventKind.IGNORED, PaymentEventKind.IGNORED]
    first = events[0]
    assert first.provider == "gocardless"
    assert first.event_id == "EV123"
    assert first.raw_type == "mandates.cancelled"
    assert first.occurred_at == datetime(2014, 1, 1, 12, tzinfo=UTC)
    assert first.amount is None


def test_fixture_list_body_as_delivered_parses_with_its_extra_members() -> None:
    # The API list body has "linked" and "meta.cursors"; lenient parsing keeps working.
    events = gocardless_to_events(fixture()["list"]["body"])

    assert len(events) == 2


def test_single_event_api_shape_is_not_a_webhook_body() -> None:
    with pytest.raises(WebhookPayloadError) as excinfo:
        gocardless_to_events(fixture()["get"]["body"])

    assert excinfo.value.field == "events"


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("confirmed", PaymentEventKind.PAYMENT_SUCCEEDED),
        ("paid_out", PaymentEventKind.PAID_OUT),
        ("failed", PaymentEventKind.PAYMENT_FAILED),
        ("charged_back", PaymentEventKind.CHARGEBACK_LOST),
        ("chargeback_cancelled", PaymentEventKind.CHARGEBACK_WON),
        ("created", PaymentEventKind.IGNORED),
        ("submitted", PaymentEventKind.IGNORED),
        ("late_failure_settled", PaymentEventKind.IGNORED),
        ("chargeback_settled", PaymentEventKind.IGNORED),
    ],
)
def test_payment_actions_map_to_kinds(action: str, kind: PaymentEventKind) -> None:
    (event,) = gocardless_to_events(webhook(fixture_event("payments", action)))

    assert event.kind == kind
    assert event.provider_payment_id == "PM123"
    assert event.raw_type == f"payments.{action}"


def test_payment_event_without_amount_metadata_has_no_amount() -> None:
    (event,) = gocardless_to_events(webhook(fixture_event("payments", "confirmed")))

    assert event.amount is None
    assert event.invoice_refs == ()


def test_invoice_references_come_from_resource_metadata() -> None:
    raw = fixture_event(
        "payments",
        "confirmed",
        resource_metadata={"invoice_id": "inv_9f2", "invoice_number": "F-2026-0042"},
    )

    (event,) = gocardless_to_events(webhook(raw))

    assert event.invoice_refs == ("inv_9f2", "F-2026-0042")


def test_comma_separated_invoice_ids_in_metadata_are_split() -> None:
    raw = fixture_event("payments", "confirmed", resource_metadata={"invoice_ids": "a1, b2 ,"})

    (event,) = gocardless_to_events(webhook(raw))

    assert event.invoice_refs == ("a1", "b2")


def test_amount_and_currency_in_resource_metadata_give_the_amount() -> None:
    raw = fixture_event(
        "payments",
        "confirmed",
        resource_metadata={"invoice_id": "inv_9f2", "amount": "1234.50", "currency": "eur"},
    )

    (event,) = gocardless_to_events(webhook(raw))

    assert event.amount == Money(123450, "EUR")


@pytest.mark.parametrize(
    "metadata",
    [
        {"amount": "12.345", "currency": "EUR"},
        {"amount": "abc", "currency": "EUR"},
        {"amount": "-5", "currency": "EUR"},
        {"amount": "NaN", "currency": "EUR"},
        {"amount": "10", "currency": "EURO"},
        {"amount": "10"},
    ],
)
def test_bad_amount_metadata_names_the_field(metadata: dict[str, str]) -> None:
    raw = fixture_event("payments", "confirmed", resource_metadata=metadata)

    with pytest.raises(WebhookPayloadError) as excinfo:
        gocardless_to_events(webhook(raw))

    assert excinfo.value.field == "events[0].resource_metadata.amount"


def test_refund_paid_is_a_refund_of_unknown_amount_on_the_linked_payment() -> None:
    raw = fixture_event("refunds", "paid", resource_metadata={"amount": "1.50", "currency": "EUR"})

    (event,) = gocardless_to_events(webhook(raw))

    assert event.kind == PaymentEventKind.REFUNDED
    assert event.provider_payment_id == "PM123"
    # a single refund's amount is not the cumulative amount the ledger needs
    assert event.amount is None


def test_refund_created_is_ignored_until_paid() -> None:
    (event,) = gocardless_to_events(webhook(fixture_event("refunds", "created")))

    assert event.kind == PaymentEventKind.IGNORED


def test_several_events_keep_their_order() -> None:
    body = webhook(
        fixture_event("payments", "confirmed", id="EV1"),
        fixture_event("payments", "paid_out", id="EV2"),
        fixture_event("mandates", "active", id="EV3"),
    )

    events = gocardless_to_events(body)

    assert [e.event_id for e in events] == ["EV1", "EV2", "EV3"]
    assert [e.kind for e in events] == [
        PaymentEventKind.PAYMENT_SUCCEEDED,
        PaymentEventKind.PAID_OUT,
        PaymentEventKind.IGNORED,
    ]


def test_payment_event_without_payment_link_is_refused() -> None:
    raw = fixture_event("payments", "confirmed", links={"mandate": "MD123"})

    with pytest.raises(WebhookPayloadError) as excinfo:
        gocardless_to_events(webhook(raw))

    assert excinfo.value.field == "events[0].links.payment"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "events[1].id"),
        ({"created_at": "2014-01-01T12:00:00"}, "events[1].created_at"),
        ({"created_at": "yesterday"}, "events[1].created_at"),
        ({"resource_type": None}, "events[1].resource_type"),
        ({"links": {"payment": 123}}, "events[1].links.payment"),
        ({"resource_metadata": {"invoice_id": ["a"]}}, "events[1].resource_metadata.invoice_id"),
    ],
)
def test_invalid_event_names_the_field(change: dict[str, Any], field: str) -> None:
    broken = fixture_event("payments", "confirmed")
    broken.update(change)
    body = webhook(fixture_event("payments", "confirmed"), broken)

    with pytest.raises(WebhookPayloadError) as excinfo:
        gocardless_to_events(body)

    assert excinfo.value.field == field


@pytest.mark.parametrize("body", [{"events": []}, {"meta": {}}, {"events": {}}])
def test_body_without_events_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(WebhookPayloadError) as excinfo:
        gocardless_to_events(body)

    assert excinfo.value.field == "events"


def test_mandates_fixture_is_not_a_webhook() -> None:
    path = samples_dir() / "webhooks" / "gocardless" / "gocardless-mandates.json"

    with pytest.raises(WebhookPayloadError):
        parse_gocardless_webhook(path.read_bytes())


def test_raw_body_parses_end_to_end() -> None:
    raw = json.dumps(webhook(fixture_event("payments", "confirmed"))).encode()

    (event,) = parse_gocardless_webhook(raw)

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
