"""Stripe Event bodies (real samples) converted to domain PaymentEvents."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentEvent, PaymentEventKind, WebhookPayloadError
from chalicelib.schemas.webhooks import (
    STRIPE_EVENT_TYPES,
    parse_stripe_webhook,
    stripe_money,
    stripe_to_events,
)

CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def stripe_sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((samples_dir() / "webhooks" / "stripe" / name).read_text())
    return loaded


def openapi_resource(name: str) -> dict[str, Any]:
    resources = stripe_sample("stripe-openapi-fixtures3.json")["resources"]
    return copy.deepcopy(resources[name])


def envelope(event_type: str, obj: dict[str, Any], event_id: str = "evt_test_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": CREATED,
        "data": {"object": obj},
        "livemode": False,
        "type": event_type,
    }


def wrapped(name: str, event_type: str) -> dict[str, Any]:
    # pay-*.json carry only the Event's "data" member.
    return envelope(event_type, stripe_sample(name)["object"])


def only(events: list[PaymentEvent]) -> PaymentEvent:
    assert len(events) == 1
    return events[0]


# --- pay-rails samples (data member wrapped in an envelope) -----------------------------------


def test_charge_succeeded_sample_is_a_payment_of_its_captured_amount() -> None:
    event = only(stripe_to_events(wrapped("pay-charge.succeeded.json", "charge.succeeded")))

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(500, "USD")
    assert event.provider == "stripe"
    assert event.event_id == "evt_test_1"
    assert event.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert event.provider_payment_id == "pm_1234"
    assert event.remittance_text == (
        "Donation 1: https://twitter.com/donor_test/status/262824785606737920"
    )
    assert event.invoice_refs == ()
    assert event.raw_type == "charge.succeeded"


def test_charge_refunded_sample_reports_cumulative_refund_paired_with_the_payment() -> None:
    refund = only(stripe_to_events(wrapped("pay-charge.refunded.json", "charge.refunded")))
    payment = only(stripe_to_events(wrapped("pay-charge.succeeded.json", "charge.succeeded")))

    assert refund.kind == PaymentEventKind.REFUNDED
    assert refund.amount == Money(500, "USD")  # amount_refunded, not the 1500 charge amount
    assert refund.provider_payment_id == payment.provider_payment_id
    assert refund.ledger_key == payment.ledger_key


def test_checkout_session_sample_paid_is_a_payment_with_payer_email() -> None:
    event = only(
        stripe_to_events(
            wrapped("pay-checkout.session.completed.json", "checkout.session.completed")
        )
    )

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(1900, "USD")
    assert event.customer_email == "chris@gorails.com"
    # subscription mode: no payment intent, so the session itself is the payment key
    assert event.provider_payment_id == (
        "cs_test_a1UejXx8ebIdTzFolicVypUAZpOBVkoQKDbaarXoPlPVtj8p0zujPEEhjT"
    )


def test_invoice_payment_failed_sample_is_a_failure_with_the_invoice_number() -> None:
    event = only(
        stripe_to_events(wrapped("pay-invoice.payment_failed.json", "invoice.payment_failed"))
    )

    assert event.kind == PaymentEventKind.PAYMENT_FAILED
    assert event.amount == Money(24900, "USD")
    assert event.invoice_refs == ("F612594F-0002",)
    assert event.customer_email == "customer@example.org"


def test_invoice_payment_action_required_sample_is_ignored() -> None:
    event = only(
        stripe_to_events(
            wrapped("pay-invoice.payment_action_required.json", "invoice.payment_action_required")
        )
    )

    assert event.kind == PaymentEventKind.IGNORED
    assert event.amount is None
    assert event.raw_type == "invoice.payment_action_required"


# --- stripe-ruby-mock samples (full envelopes) ------------------------------------------------


def test_invoice_payment_succeeded_full_event_is_a_payment_of_amount_paid() -> None:
    event = only(stripe_to_events(stripe_sample("srm-invoice.payment_succeeded.json")))

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(2000, "USD")
    assert event.invoice_refs == ("EE1DF78D-0001",)
    assert event.provider_payment_id == "pi_000000000000000000000000"
    assert event.event_id == "evt_000000000000000000000000"
    assert event.occurred_at == datetime(2022, 3, 26, 18, 40, 15, tzinfo=UTC)


def test_invoice_paid_is_an_alias_of_invoice_payment_succeeded() -> None:
    sample = stripe_sample("srm-invoice.payment_succeeded.json")
    alias = dict(sample, type="invoice.paid")

    original = only(stripe_to_events(sample))
    aliased = only(stripe_to_events(alias))

    assert (aliased.kind, aliased.amount, aliased.invoice_refs, aliased.provider_payment_id) == (
        original.kind,
        original.amount,
        original.invoice_refs,
        original.provider_payment_id,
    )
    assert aliased.raw_type == "invoice.paid"


def test_checkout_session_payment_mode_full_event_pairs_on_payment_intent() -> None:
    event = only(
        stripe_to_events(stripe_sample("srm-checkout.session.completed.payment_mode.json"))
    )

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(25000, "USD")
    assert event.customer_email == "example@example.com"
    assert event.provider_payment_id == "pi_00000000000000"


@pytest.mark.parametrize(
    "name", ["srm-payment_intent.payment_failed.json", "srm-charge.failed.json"]
)
def test_failed_payment_samples_are_failures_of_the_attempted_amount(name: str) -> None:
    event = only(stripe_to_events(stripe_sample(name)))

    assert event.kind == PaymentEventKind.PAYMENT_FAILED
    assert event.amount == Money(2000, "USD")
    assert event.provider_payment_id == "pi_000000000000000000000000"


@pytest.mark.parametrize(
    "name", ["srm-charge.dispute.funds_withdrawn.json", "srm-payment_intent.processing.json"]
)
def test_unhandled_types_from_real_samples_are_ignored(name: str) -> None:
    sample = stripe_sample(name)

    event = only(stripe_to_events(sample))

    assert event.kind == PaymentEventKind.IGNORED
    assert event.raw_type == sample["type"]
    assert event.event_id == sample["id"]


# --- official OpenAPI resource fixtures -------------------------------------------------------


def test_payment_intent_succeeded_uses_amount_received_and_metadata_refs() -> None:
    pi = openapi_resource("payment_intent")
    # What Stripe sends once the intent succeeds.
    pi.update(status="succeeded", amount_received=pi["amount"], metadata={"invoice_id": "inv_42"})

    event = only(stripe_to_events(envelope("payment_intent.succeeded", pi)))

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(1099, "USD")
    assert event.provider_payment_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"
    assert event.invoice_refs == ("inv_42",)


def test_charge_succeeded_fixture_that_is_only_authorised_is_ignored() -> None:
    charge = openapi_resource("charge")
    assert charge["captured"] is False

    event = only(stripe_to_events(envelope("charge.succeeded", charge)))

    assert event.kind == PaymentEventKind.IGNORED


def test_charge_captured_fixture_is_a_payment_of_the_captured_amount() -> None:
    charge = openapi_resource("charge")
    charge.update(captured=True, amount_captured=80)

    event = only(stripe_to_events(envelope("charge.captured", charge)))

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(80, "USD")
    # no payment intent on this legacy charge: the charge id is the payment key
    assert event.provider_payment_id == "ch_1PgafuB7WZ01zgkWXYmPNZs8"
    assert event.remittance_text == "My First Test Charge (created for API docs)"


def test_charge_refunded_fixture_pairs_on_the_charge_like_its_payment() -> None:
    charge = openapi_resource("charge")
    charge.update(captured=True, amount_captured=100, amount_refunded=40, refunded=False)

    refund = only(stripe_to_events(envelope("charge.refunded", charge)))
    payment = only(stripe_to_events(envelope("charge.succeeded", charge)))

    assert refund.kind == PaymentEventKind.REFUNDED
    assert refund.amount == Money(40, "USD")
    assert refund.provider_payment_id == payment.provider_payment_id == charge["id"]


def test_invoice_paid_fixture_carries_number_and_every_metadata_reference() -> None:
    invoice = openapi_resource("invoice")
    invoice.update(
        status="paid",
        amount_paid=1000,
        number="F-2026-0042",
        customer_email="ap@client.example",
        metadata={"invoice_ids": "inv_a, inv_b,,inv_a", "invoice_number": "F-2026-0042"},
    )

    event = only(stripe_to_events(envelope("invoice.paid", invoice)))

    assert event.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(1000, "USD")
    assert event.invoice_refs == ("F-2026-0042", "inv_a", "inv_b")
    assert event.customer_email == "ap@client.example"
    # no payment_intent/charge on this API version: the invoice id is the key
    assert event.provider_payment_id == "in_1Pgc6tB7WZ01zgkWu9fdqL6I"


def test_checkout_session_fixture_unpaid_is_ignored_until_async_success() -> None:
    session = openapi_resource("checkout.session")
    assert session["payment_status"] == "unpaid"

    completed = only(stripe_to_events(envelope("checkout.session.completed", session)))
    session.update(payment_status="paid", amount_total=2500, currency="eur")
    async_ok = only(stripe_to_events(envelope("checkout.session.async_payment_succeeded", session)))

    assert completed.kind == PaymentEventKind.IGNORED
    assert async_ok.kind == PaymentEventKind.PAYMENT_SUCCEEDED
    assert async_ok.amount == Money(2500, "EUR")
    assert async_ok.provider_payment_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"


def test_checkout_session_async_failure_is_a_failed_payment() -> None:
    session = openapi_resource("checkout.session")
    session.update(amount_total=2500, currency="eur")

    event = only(stripe_to_events(envelope("checkout.session.async_payment_failed", session)))

    assert event.kind == PaymentEventKind.PAYMENT_FAILED


def test_checkout_session_client_reference_id_is_an_invoice_reference() -> None:
    session = openapi_resource("checkout.session")
    session.update(
        payment_status="paid", amount_total=2500, currency="eur", client_reference_id="inv_77"
    )

    event = only(stripe_to_events(envelope("checkout.session.completed", session)))

    assert event.invoice_refs == ("inv_77",)


def test_dispute_created_fixture_opens_a_chargeback_on_the_charge() -> None:
    dispute = openapi_resource("dispute")

    event = only(stripe_to_events(envelope("charge.dispute.created", dispute)))

    assert event.kind == PaymentEventKind.CHARGEBACK_OPENED
    assert event.amount == Money(1000, "USD")
    assert event.provider_payment_id == "ch_1PgafuB7WZ01zgkWXYmPNZs8"


def test_dispute_names_its_payment_intent_when_the_api_version_has_it() -> None:
    dispute = openapi_resource("dispute")
    dispute["payment_intent"] = "pi_1PgafyB7WZ01zgkWSjxsAJo3"

    event = only(stripe_to_events(envelope("charge.dispute.created", dispute)))

    assert event.provider_payment_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("won", PaymentEventKind.CHARGEBACK_WON),
        ("lost", PaymentEventKind.CHARGEBACK_LOST),
        ("warning_closed", PaymentEventKind.CHARGEBACK_WON),
        ("under_review", PaymentEventKind.IGNORED),
    ],
)
def test_dispute_closed_fixture_outcome_follows_its_status(
    status: str, kind: PaymentEventKind
) -> None:
    dispute = openapi_resource("dispute")
    dispute["status"] = status

    event = only(stripe_to_events(envelope("charge.dispute.closed", dispute)))

    assert event.kind == kind


def test_event_fixture_of_an_unrelated_type_is_ignored() -> None:
    event_fixture = openapi_resource("event")

    event = only(stripe_to_events(event_fixture))

    assert event.kind == PaymentEventKind.IGNORED
    assert event.raw_type == "plan.created"
    assert event.event_id == "evt_1Pgc76B7WZ01zgkWwyRHS12y"


def test_every_handled_type_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text()

    missing = [t for t in sorted(STRIPE_EVENT_TYPES) if f"`{t}`" not in docs]

    assert missing == []


# --- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1500, "usd", Money(1500, "USD")),
        (1500, "jpy", Money(1500, "JPY")),
        (1500, "kwd", Money(1500, "KWD")),
        (10000, "isk", Money(100, "ISK")),  # Stripe keeps two decimals for ISK
        (1000, "mga", Money(100000, "MGA")),  # zero-decimal at Stripe, two decimals in ISO 4217
    ],
)
def test_stripe_amounts_become_iso_minor_units(amount: int, currency: str, expected: Money) -> None:
    assert stripe_money(amount, currency, "amount") == expected


def test_stripe_amount_that_is_not_whole_in_iso_units_is_refused() -> None:
    with pytest.raises(WebhookPayloadError) as excinfo:
        stripe_money(10050, "isk", "data.object.amount")

    assert excinfo.value.field == "data.object.amount"


# --- bad input --------------------------------------------------------------------------------


def charge_event(**changes: Any) -> dict[str, Any]:
    body = wrapped("pay-charge.succeeded.json", "charge.succeeded")
    body["data"]["object"].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (charge_event(amount=15.5, amount_captured=None), "data.object.amount"),
        (charge_event(amount="500", amount_captured=None), "data.object.amount"),
        (charge_event(amount=-1, amount_captured=None), "data.object.amount"),
        (charge_event(amount=True, amount_captured=None), "data.object.amount"),
        (charge_event(currency="usd1"), "data.object.currency"),
        (charge_event(currency=None), "data.object.currency"),
        (charge_event(id=""), "data.object.id"),
        (charge_event(metadata={"invoice_id": 42}), "data.object.metadata.invoice_id"),
        (charge_event(billing_details="x"), "data.object.billing_details"),
    ],
)
def test_invalid_charge_object_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(WebhookPayloadError) as excinfo:
        stripe_to_events(body)

    assert excinfo.value.field == field


def test_missing_amount_names_the_field() -> None:
    body = wrapped("pay-charge.succeeded.json", "charge.succeeded")
    del body["data"]["object"]["amount"]

    with pytest.raises(WebhookPayloadError) as excinfo:
        stripe_to_events(body)

    assert excinfo.value.field == "data.object.amount"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"type": ""}, "type"),
        ({"created": "1767225600"}, "created"),
        ({"created": -1}, "created"),
        ({"created": 10**13}, "created"),
        ({"data": {"no_object": {}}}, "data.object"),
        ({"data": []}, "data"),
    ],
)
def test_invalid_envelope_names_the_field(change: dict[str, Any], field: str) -> None:
    body = dict(stripe_sample("srm-invoice.payment_succeeded.json"), **change)

    with pytest.raises(WebhookPayloadError) as excinfo:
        stripe_to_events(body)

    assert excinfo.value.field == field


def test_paid_checkout_session_without_amount_is_refused() -> None:
    session = openapi_resource("checkout.session")
    session.update(payment_status="paid")

    with pytest.raises(WebhookPayloadError) as excinfo:
        stripe_to_events(envelope("checkout.session.completed", session))

    assert excinfo.value.field == "data.object.amount_total"


def test_dispute_without_charge_is_refused() -> None:
    dispute = openapi_resource("dispute")
    del dispute["charge"]

    with pytest.raises(WebhookPayloadError) as excinfo:
        stripe_to_events(envelope("charge.dispute.created", dispute))

    assert excinfo.value.field == "data.object.charge"


def test_ignored_type_does_not_validate_its_object() -> None:
    event = only(stripe_to_events(envelope("customer.updated", {"anything": ["goes"]})))

    assert event.kind == PaymentEventKind.IGNORED


@pytest.mark.parametrize("payload", [[], "evt", 3, None])
def test_body_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(WebhookPayloadError):
        stripe_to_events(payload)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"\xff\xfe\x00", b'{"id": NaN}', b"[" * 100_000, b'{"a": 1e999999}']
)
def test_undecodable_body_is_a_payload_error(raw: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_stripe_webhook(raw)


def test_raw_sample_bytes_parse_end_to_end() -> None:
    raw = (samples_dir() / "webhooks/stripe/srm-invoice.payment_succeeded.json").read_bytes()

    event = only(parse_stripe_webhook(raw))

    assert event.amount == Money(2000, "USD")
