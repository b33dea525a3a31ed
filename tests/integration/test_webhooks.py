"""Payment webhooks through the HTTP API against the emulator, signed as each provider signs.

The bodies are the real provider samples from ../shared/samples/webhooks, with the metadata a
merchant's integration adds (the Relance invoice id) and amounts set to the invoice's.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pynamodb.signals import pre_dynamodb_send

from chalicelib.adapters.webhook_signatures import sign_generic, sign_gocardless, sign_stripe
from tests.integration.simulation import Simulation, invoice_record

STRIPE_SECRET = "whsec_test_secret"
GOCARDLESS_SECRET = "gc_test_secret"
GENERIC_SECRET = "generic_test_secret"


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def sample(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((samples_dir() / "webhooks" / provider / name).read_text())
    return loaded


def encode(payload: dict[str, Any]) -> bytes:
    # Stripe sends pretty-printed JSON; the signature covers these exact bytes.
    return json.dumps(payload, indent=2).encode()


def now_s() -> int:
    return int(time.time())


def stripe_headers(body: bytes, secret: str = STRIPE_SECRET, t: int | None = None) -> dict:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign_stripe(body, secret, now_s() if t is None else t),
    }


def gocardless_headers(body: bytes, secret: str = GOCARDLESS_SECRET) -> dict:
    return {"Content-Type": "application/json", "Webhook-Signature": sign_gocardless(body, secret)}


def generic_headers(body: bytes, secret: str = GENERIC_SECRET, t: int | None = None) -> dict:
    return {
        "Content-Type": "application/json",
        "Relance-Signature": sign_generic(body, secret, now_s() if t is None else t),
    }


def checkout_completed(invoice: dict[str, Any], event_id: str = "evt_checkout_1") -> bytes:
    payload = copy.deepcopy(sample("stripe", "srm-checkout.session.completed.payment_mode.json"))
    payload["id"] = event_id
    session = payload["data"]["object"]
    session["currency"] = invoice["currency"].lower()
    session["amount_total"] = session["amount_subtotal"] = round(float(invoice["amount_due"]) * 100)
    session["metadata"] = {"invoice_id": invoice["invoice_id"]}
    return encode(payload)


def charge_refunded(invoice: dict[str, Any], refunded_cents: int, created: int) -> bytes:
    charge = copy.deepcopy(sample("stripe", "pay-charge.refunded.json")["object"])
    charge.update(
        currency=invoice["currency"].lower(),
        amount=round(float(invoice["amount_total"]) * 100),
        amount_captured=round(float(invoice["amount_total"]) * 100),
        amount_refunded=refunded_cents,
        payment_intent="pi_00000000000000",
        metadata={"invoice_id": invoice["invoice_id"]},
    )
    envelope = {
        "id": "evt_refund_1",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "type": "charge.refunded",
        "data": {"object": charge},
    }
    return encode(envelope)


def gocardless_confirmed(invoice: dict[str, Any], event_id: str = "EVPAY1") -> bytes:
    events = sample("gocardless", "gocardless-events.json")["list"]["body"]["events"]
    mandate_event = copy.deepcopy(events[0])  # a mandate event: acknowledged, no effect
    payment_event = copy.deepcopy(events[1])
    payment_event.update(
        id=event_id,
        resource_type="payments",
        action="confirmed",
        created_at=datetime.now(UTC).isoformat(),
        links={"payment": "PM00TEST1"},
        resource_metadata={
            "invoice_id": invoice["invoice_id"],
            "amount": invoice["amount_due"],
            "currency": invoice["currency"],
        },
    )
    return json.dumps(
        {"events": [mandate_event, payment_event], "meta": {"webhook_id": "WB1"}}
    ).encode()


def generic_note(**members: Any) -> bytes:
    note = {
        "event_id": "bank-2026-000123",
        "type": "payment_succeeded",
        "occurred_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "payment_id": "SEPA-CT-0001",
        **members,
    }
    return json.dumps(note, separators=(",", ":")).encode()


@pytest.fixture
def sim(stack, pump, api, admin_headers) -> Simulation:
    simulation = Simulation(stack, pump, api, admin_headers)
    due = date.today() - timedelta(days=5)
    simulation.import_records(
        [
            invoice_record("WH-1", "Acme SARL", "ap@acme.example", due, "1200.00"),
            invoice_record("WH-2", "Beta SAS", "ap@beta.example", due, "300.00"),
        ],
        "inbox/webhooks.jsonl",
    )
    return simulation


def invoice_of(sim: Simulation, number: str) -> dict[str, Any]:
    invoice = sim.invoice(number)
    fresh = sim.api.http.get(f"/admin/invoices/{invoice['invoice_id']}", headers=sim.headers)
    assert fresh.status_code == 200, fresh.body
    return fresh.json_body


def timeline_types(sim: Simulation, invoice_id: str) -> list[str]:
    items = sim.api.http.get(
        f"/admin/invoices/{invoice_id}/timeline", headers=sim.headers
    ).json_body["items"]
    return [e["type"] for e in items]


# --- good signatures, once ---------------------------------------------------------------------


def test_stripe_checkout_payment_signed_like_stripe_settles_the_invoice(sim, api):
    invoice = invoice_of(sim, "WH-1")
    body = checkout_completed(invoice)

    response = api.http.post("/webhooks/stripe", headers=stripe_headers(body), body=body)

    assert response.status_code == 200, response.body
    assert response.json_body == {"events": [{"id": "evt_checkout_1", "outcome": "applied"}]}
    paid = invoice_of(sim, "WH-1")
    assert (paid["status"], paid["amount_due"], paid["next_action_at"]) == ("paid", "0.00", None)
    assert timeline_types(sim, invoice["invoice_id"]).count("payment") == 1


def test_same_stripe_event_delivered_ten_times_applies_once(sim, api):
    invoice = invoice_of(sim, "WH-1")
    body = checkout_completed(invoice)

    responses = [
        api.http.post("/webhooks/stripe", headers=stripe_headers(body), body=body)
        for _ in range(10)
    ]

    assert [r.status_code for r in responses] == [200] * 10
    outcomes = [r.json_body["events"][0]["outcome"] for r in responses]
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert timeline_types(sim, invoice["invoice_id"]).count("payment") == 1
    assert invoice_of(sim, "WH-1")["amount_paid"] == "1200.00"


def test_same_event_delivered_ten_times_at_once_applies_once(sim, api):
    invoice = invoice_of(sim, "WH-2")
    body = generic_note(
        amount="100.00", invoice_id=invoice["invoice_id"], event_id="bank-concurrent"
    )
    headers = generic_headers(body)
    statuses: list[int] = []
    start = threading.Barrier(10)

    def deliver() -> None:
        start.wait()
        statuses.append(api.http.post("/webhooks/generic", headers=headers, body=body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One delivery applies it; the others are acknowledged duplicates, or told to retry while
    # the first one is still committing (never a second application).
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    after = invoice_of(sim, "WH-2")
    assert (after["amount_paid"], after["status"]) == ("100.00", "partially_paid")
    assert timeline_types(sim, invoice["invoice_id"]).count("payment") == 1
    retried = api.http.post("/webhooks/generic", headers=generic_headers(body), body=body)
    assert retried.json_body["events"][0]["outcome"] == "duplicate"


def test_gocardless_batch_applies_its_payment_and_acknowledges_the_rest(sim, api):
    invoice = invoice_of(sim, "WH-2")
    body = gocardless_confirmed(invoice)

    response = api.http.post("/webhooks/gocardless", headers=gocardless_headers(body), body=body)

    assert response.status_code == 200, response.body
    assert [e["outcome"] for e in response.json_body["events"]] == ["ignored", "applied"]
    assert invoice_of(sim, "WH-2")["status"] == "paid"


def test_refund_before_its_payment_ends_in_the_in_order_state(sim, api):
    invoice = invoice_of(sim, "WH-1")
    refund = charge_refunded(invoice, 20000, created=now_s())
    payment = checkout_completed(invoice)

    first = api.http.post("/webhooks/stripe", headers=stripe_headers(refund), body=refund)
    second = api.http.post("/webhooks/stripe", headers=stripe_headers(payment), body=payment)

    assert (first.status_code, second.status_code) == (200, 200)
    after = invoice_of(sim, "WH-1")
    assert (after["status"], after["amount_paid"], after["amount_due"]) == (
        "partially_paid",
        "1000.00",
        "200.00",
    )
    assert after["next_action_at"] is not None


def test_full_payment_sends_one_thank_you_receipt(sim, api):
    invoice = invoice_of(sim, "WH-1")
    body = checkout_completed(invoice)

    for _ in range(3):
        api.http.post("/webhooks/stripe", headers=stripe_headers(body), body=body)
    # The receipt leaves through the actions queue, after the webhook was answered.
    assert [m for m in sim.outbox() if m["step_id"] == "receipt"] == []
    sim.pump.drain()

    receipts = [m for m in sim.outbox() if m["step_id"] == "receipt"]
    assert len(receipts) == 1
    assert receipts[0]["to"] == "ap@acme.example"
    assert receipts[0]["invoice_ids"] == [invoice["invoice_id"]]


# --- bad signatures change nothing -------------------------------------------------------------


def _bad_requests(invoice: dict[str, Any]) -> list[tuple[str, str, bytes, dict, int]]:
    stripe = checkout_completed(invoice)
    gocardless = gocardless_confirmed(invoice)
    generic = generic_note(amount="100.00", invoice_id=invoice["invoice_id"])
    tampered_stripe = stripe.replace(b'"amount_total": ', b'"amount_total": 1')
    tampered_generic = generic.replace(b"100.00", b"900.00")
    old = now_s() - 301
    return [
        ("stripe tampered body", "stripe", tampered_stripe, stripe_headers(stripe), 400),
        ("stripe wrong secret", "stripe", stripe, stripe_headers(stripe, "whsec_other"), 400),
        ("stripe old timestamp", "stripe", stripe, stripe_headers(stripe, t=old), 400),
        ("stripe missing header", "stripe", stripe, {"Content-Type": "application/json"}, 400),
        (
            "gocardless tampered body",
            "gocardless",
            gocardless.replace(b"confirmed", b"paid_out"),
            gocardless_headers(gocardless),
            498,
        ),
        (
            "gocardless wrong secret",
            "gocardless",
            gocardless,
            gocardless_headers(gocardless, "other"),
            498,
        ),
        (
            "gocardless missing header",
            "gocardless",
            gocardless,
            {"Content-Type": "application/json"},
            498,
        ),
        ("generic tampered body", "generic", tampered_generic, generic_headers(generic), 401),
        ("generic wrong secret", "generic", generic, generic_headers(generic, "nope"), 401),
        ("generic old timestamp", "generic", generic, generic_headers(generic, t=old), 401),
        (
            "generic future timestamp",
            "generic",
            generic,
            generic_headers(generic, t=now_s() + 3600),
            401,
        ),
        ("generic missing header", "generic", generic, {"Content-Type": "application/json"}, 401),
    ]


def test_bad_signatures_change_nothing_and_get_the_provider_status(sim, api):
    invoice = invoice_of(sim, "WH-1")
    before_timeline = timeline_types(sim, invoice["invoice_id"])

    for name, provider, body, headers, status in _bad_requests(invoice):
        response = api.http.post(f"/webhooks/{provider}", headers=headers, body=body)
        assert response.status_code == status, name
        assert response.headers["Content-Type"] == "application/problem+json", name
        problem = json.loads(response.body)
        assert problem["type"] == "urn:relance:problem:invalid-signature", name
        assert "detail" not in problem, name

    assert invoice_of(sim, "WH-1") == invoice
    assert timeline_types(sim, invoice["invoice_id"]) == before_timeline
    # Nothing was even recorded as seen: the genuine delivery still applies.
    genuine = checkout_completed(invoice)
    response = api.http.post("/webhooks/stripe", headers=stripe_headers(genuine), body=genuine)
    assert response.json_body["events"][0]["outcome"] == "applied"


def test_generic_bad_signature_says_how_to_authenticate(sim, api):
    body = generic_note(amount="1.00")
    response = api.http.post("/webhooks/generic", headers=generic_headers(body, "x"), body=body)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Signature")


@pytest.mark.parametrize(
    ("members", "field"),
    [
        ({"amount": 12.5}, "amount"),
        ({"amount": "1.00", "invoice_numbr": "F-1"}, "invoice_numbr"),
        ({"type": "refunded", "amount": "1.00", "payment_id": None}, "payment_id"),
    ],
)
def test_signed_but_invalid_body_is_400_naming_the_field(sim, api, members, field):
    body = generic_note(**members)

    response = api.http.post("/webhooks/generic", headers=generic_headers(body), body=body)

    assert response.status_code == 400
    assert json.loads(response.body)["field"] == field


def test_stripe_event_types_relance_does_not_handle_are_acknowledged(sim, api):
    body = encode(sample("stripe", "srm-payment_intent.processing.json"))

    response = api.http.post("/webhooks/stripe", headers=stripe_headers(body), body=body)

    assert response.status_code == 200
    assert response.json_body["events"][0]["outcome"] == "ignored"


# --- unallocated money -------------------------------------------------------------------------


def test_unmatched_money_is_listed_and_a_collector_places_it(sim, api, admin_headers):
    invoice = invoice_of(sim, "WH-2")
    body = generic_note(amount="300.00", reference="merci", event_id="bank-unknown")
    assert (
        api.http.post("/webhooks/generic", headers=generic_headers(body), body=body).json_body[
            "events"
        ][0]["outcome"]
        == "unallocated"
    )

    listed = api.http.get("/admin/payments?unallocated=true", headers=admin_headers).json_body
    [payment] = listed["items"]
    assert (payment["amount"], payment["currency"], payment["reason"]) == (
        "300.00",
        "EUR",
        "no_match",
    )
    placed = api.http.post(
        f"/admin/payments/{payment['payment_id']}/allocate",
        headers=admin_headers,
        body=json.dumps({"invoice_id": invoice["invoice_id"]}),
    )

    assert placed.status_code == 200, placed.body
    assert placed.json_body["status"] == "allocated"
    assert invoice_of(sim, "WH-2")["status"] == "paid"
    assert api.http.get("/admin/payments", headers=admin_headers).json_body["items"] == []
    again = api.http.post(
        f"/admin/payments/{payment['payment_id']}/allocate",
        headers=admin_headers,
        body=json.dumps({"invoice_id": invoice["invoice_id"]}),
    )
    assert again.status_code == 409


def test_payment_in_another_currency_stays_unallocated(sim, api, admin_headers):
    invoice = invoice_of(sim, "WH-1")
    body = generic_note(amount="1200.00", currency="USD", invoice_id=invoice["invoice_id"])

    api.http.post("/webhooks/generic", headers=generic_headers(body), body=body)

    assert invoice_of(sim, "WH-1")["status"] == "open"
    [payment] = api.http.get("/admin/payments", headers=admin_headers).json_body["items"]
    assert payment["reason"] == "currency_mismatch"


def test_listing_payments_validates_its_filter(sim, api, admin_headers):
    response = api.http.get("/admin/payments?unallocated=maybe", headers=admin_headers)

    assert response.status_code == 422
    assert json.loads(response.body)["field"] == "unallocated"


# --- cost --------------------------------------------------------------------------------------


class DynamoRequests:
    def __init__(self) -> None:
        self.operations: list[str] = []

    def __call__(self, sender: Any, operation_name: str, **_: Any) -> None:
        self.operations.append(operation_name)


def test_a_payment_costs_four_dynamodb_requests_and_a_duplicate_one(sim, api):
    invoice = invoice_of(sim, "WH-1")
    body = generic_note(amount="100.00", invoice_id=invoice["invoice_id"], event_id="bank-cost")
    counter = DynamoRequests()
    pre_dynamodb_send.connect(counter)
    try:
        api.http.post("/webhooks/generic", headers=generic_headers(body), body=body)
        first = list(counter.operations)
        counter.operations.clear()
        api.http.post("/webhooks/generic", headers=generic_headers(body), body=body)
        duplicate = list(counter.operations)
    finally:
        pre_dynamodb_send.disconnect(counter)

    assert first == ["PutItem", "BatchGetItem", "Query", "TransactWriteItems"]
    assert duplicate == ["PutItem"]
