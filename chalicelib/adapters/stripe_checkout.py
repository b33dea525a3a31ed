"""Adapter: StripeCheckout, a hosted card payment page for a customer's open invoices.

Calls Stripe's REST API (POST /v1/checkout/sessions) with the secret key from the secret store.
The session and its PaymentIntent carry the invoice ids in their metadata, so the
`checkout.session.completed` / `payment_intent.succeeded` webhooks name the invoices they pay.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from chalicelib.domain.errors import DomainError
from chalicelib.domain.invoices import Invoice
from chalicelib.services.ports import SecretProvider

STRIPE_API_KEY_SECRET = "stripe_api_key"
STRIPE_LOCALES = frozenset({"fr", "en", "de", "es", "it", "nl", "pt"})


class CardPaymentUnavailableError(DomainError):
    """The card provider refused or could not be reached; the customer can pay by transfer."""

    code = "card-payment-unavailable"


def _amount(invoice: Invoice) -> int:
    # Stripe amounts are integer minor units, as ours are (ISO exponents match for EUR, GBP...).
    return invoice.chaseable_amount.minor


class StripeCheckout:
    def __init__(
        self,
        secrets: SecretProvider,
        api_base: str = "https://api.stripe.com",
        timeout_s: float = 10,
    ) -> None:
        self._secrets = secrets
        self._api_base = api_base.rstrip("/")
        self._timeout = timeout_s

    def start(
        self,
        *,
        customer_id: str,
        customer_email: str | None,
        invoices: Sequence[Invoice],
        locale: str,
        success_url: str,
        cancel_url: str,
    ) -> str:
        payable = [i for i in invoices if _amount(i) > 0]
        currencies = {i.currency for i in payable}
        if not payable or len(currencies) != 1:
            # One Checkout session is one currency; the page offers the rest by transfer.
            raise CardPaymentUnavailableError("card payment needs invoices in one currency")
        invoice_ids = ",".join(i.invoice_id for i in payable)
        fields: list[tuple[str, str]] = [
            ("mode", "payment"),
            ("success_url", success_url),
            ("cancel_url", cancel_url),
            ("locale", locale if locale in STRIPE_LOCALES else "auto"),
            ("client_reference_id", customer_id),
            ("metadata[customer_id]", customer_id),
            ("metadata[invoice_ids]", invoice_ids),
            ("payment_intent_data[metadata][customer_id]", customer_id),
            ("payment_intent_data[metadata][invoice_ids]", invoice_ids),
        ]
        if customer_email:
            fields.append(("customer_email", customer_email))
        for index, invoice in enumerate(payable):
            prefix = f"line_items[{index}]"
            fields += [
                (f"{prefix}[quantity]", "1"),
                (f"{prefix}[price_data][currency]", invoice.currency.lower()),
                (f"{prefix}[price_data][unit_amount]", str(_amount(invoice))),
                (f"{prefix}[price_data][product_data][name]", f"Invoice {invoice.number}"),
            ]
        body = urllib.parse.urlencode(fields).encode()
        # The same invoices and amounts give the same session, however often the button is hit.
        idempotency = hashlib.sha256(body).hexdigest()[:32]
        request = urllib.request.Request(
            f"{self._api_base}/v1/checkout/sessions",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._secrets.get(STRIPE_API_KEY_SECRET)}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": idempotency,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                session = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise CardPaymentUnavailableError(f"Stripe answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise CardPaymentUnavailableError("Stripe could not be reached") from exc
        url = session.get("url") if isinstance(session, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise CardPaymentUnavailableError("Stripe returned no payment page")
        return url
