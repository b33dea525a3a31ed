"""The pay page's card button with Stripe Checkout configured (Stripe stood in on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.system_clock import SystemClock
from chalicelib.settings import get_settings
from tests.adapters.test_stripe_checkout import FakeStripe, stripe  # noqa: F401 - fixture
from tests.integration.test_pay_page import csrf_of, get_page, link_for, post_form, sim  # noqa: F401


@pytest.fixture
def card_enabled(stack, stripe: str) -> Iterator[None]:  # noqa: F811 - pytest fixture
    settings = get_settings().model_copy(
        update={"card_payments": "stripe", "stripe_api_base": stripe}
    )
    bootstrap.install_services_for_tests(
        bootstrap.build_services(settings, bootstrap.build_clients(), SystemClock())
    )
    yield
    bootstrap.install_services_for_tests(None)


def test_card_button_sends_the_customer_to_a_checkout_for_their_invoices(sim, api, card_enabled):  # noqa: F811
    token = link_for(sim, "PAY-1")
    page = get_page(api, token)
    assert page.status_code == 200
    html = page.body.decode()
    assert 'value="card"' in html

    response = post_form(api, f"/pay/{token}", {"csrf_token": csrf_of(html), "intent": "card"})

    assert response.status_code == 303
    assert response.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_1"
    [request] = FakeStripe.received
    ids = set(request["form"]["metadata[invoice_ids]"].split(","))
    assert ids == {sim.invoice("PAY-1")["invoice_id"], sim.invoice("PAY-2")["invoice_id"]}


def test_card_provider_down_keeps_the_customer_on_the_page(sim, api, card_enabled):  # noqa: F811
    FakeStripe.status = 500
    token = link_for(sim, "PAY-1")
    html = get_page(api, token).body.decode()

    response = post_form(api, f"/pay/{token}", {"csrf_token": csrf_of(html), "intent": "card"})

    assert response.status_code == 503
    assert "virement" in response.body.decode() or "transfer" in response.body.decode()
