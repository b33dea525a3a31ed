"""StripeCheckout against a stand-in of Stripe's endpoint on 127.0.0.1 (Stripe is unreachable
here): the request shape, idempotency and error handling."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from chalicelib.adapters.stripe_checkout import CardPaymentUnavailableError, StripeCheckout
from chalicelib.domain.invoices import Invoice
from chalicelib.domain.money import Money


class FakeStripe(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        FakeStripe.received.append(
            {"path": self.path, "headers": dict(self.headers), "form": dict(parse_qsl(body))}
        )
        payload = (
            json.dumps({"id": "cs_test_1", "url": "https://checkout.stripe.com/c/pay/cs_1"})
            if self.status == 200
            else json.dumps({"error": {"type": "card_error"}})
        )
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def stripe() -> Iterator[str]:
    FakeStripe.received = []
    FakeStripe.status = 200
    server = HTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class Secrets:
    def get(self, name: str) -> str:
        assert name == "stripe_api_key"
        return "sk_test_123"


def _invoice(number: str, minor: int, currency: str = "EUR") -> Invoice:
    return Invoice(
        invoice_id=f"inv_{number}",
        seller_id="s",
        number=number,
        customer_id="cus_1",
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
        amount_total=Money(minor, currency),
        amount_paid=Money(0, currency),
    )


def _start(api: str, invoices: list[Invoice]) -> str:
    return StripeCheckout(Secrets(), api).start(
        customer_id="cus_1",
        customer_email="ap@acme.example",
        invoices=invoices,
        locale="fr",
        success_url="https://x.example/pay/t?flash=payment_started",
        cancel_url="https://x.example/pay/t",
    )


def test_session_carries_the_invoice_ids_and_amounts(stripe):
    url = _start(stripe, [_invoice("F-1", 123456), _invoice("F-2", 4050)])

    assert url == "https://checkout.stripe.com/c/pay/cs_1"
    [request] = FakeStripe.received
    assert request["path"] == "/v1/checkout/sessions"
    assert request["headers"]["Authorization"] == "Bearer sk_test_123"
    form = request["form"]
    assert form["mode"] == "payment"
    assert form["metadata[invoice_ids]"] == "inv_F-1,inv_F-2"
    assert form["payment_intent_data[metadata][invoice_ids]"] == "inv_F-1,inv_F-2"
    assert form["line_items[0][price_data][unit_amount]"] == "123456"
    assert form["line_items[1][price_data][currency]"] == "eur"
    assert form["customer_email"] == "ap@acme.example"


def test_same_invoices_reuse_the_same_idempotency_key(stripe):
    _start(stripe, [_invoice("F-1", 100)])
    _start(stripe, [_invoice("F-1", 100)])
    _start(stripe, [_invoice("F-1", 90)])
    keys = [r["headers"]["Idempotency-Key"] for r in FakeStripe.received]
    assert keys[0] == keys[1] != keys[2]


def test_provider_refusal_is_a_clear_error(stripe):
    FakeStripe.status = 402
    with pytest.raises(CardPaymentUnavailableError, match="402"):
        _start(stripe, [_invoice("F-1", 100)])


def test_mixed_currencies_are_not_sent_to_one_session(stripe):
    with pytest.raises(CardPaymentUnavailableError, match="one currency"):
        _start(stripe, [_invoice("F-1", 100), _invoice("F-2", 100, "GBP")])
    assert FakeStripe.received == []


def test_unreachable_provider_is_a_clear_error():
    with pytest.raises(CardPaymentUnavailableError, match="reached"):
        _start("http://127.0.0.1:9", [_invoice("F-1", 100)])
