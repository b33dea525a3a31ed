"""Schemas: Stripe, GoCardless and generic webhook bodies, converted to domain PaymentEvents.

Parse only bodies whose signature was verified (chalicelib.adapters.webhook_signatures).
Provider models are lenient (`extra="allow"`): providers add fields with every API version, and
refusing them would make a signed, genuine notification bounce forever. Our own generic format
is strict (`extra="forbid"`) so a sender's typo is reported instead of silently ignored.
Every problem surfaces as `WebhookPayloadError` naming the field (docs/webhooks.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from chalicelib.domain.errors import DomainError
from chalicelib.domain.money import Money, currency_exponent
from chalicelib.domain.payments import PaymentEvent, PaymentEventKind, WebhookPayloadError

STRIPE = "stripe"
GOCARDLESS = "gocardless"
GENERIC = "generic"

_MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: beyond it datetime cannot follow.
_MAX_MINOR = 10**15
_MAX_REFS = 50
_MAX_REF_LENGTH = 200
_MAX_TEXT = 1000

MinorUnits = Annotated[int, Field(strict=True, ge=0, le=_MAX_MINOR)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
NonEmpty = Annotated[str, Field(min_length=1, max_length=255)]
UnixTime = Annotated[int, Field(strict=True, ge=0, le=_MAX_UNIX_TIME)]

_M = TypeVar("_M", bound=BaseModel)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _format_loc(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _join_field(prefix: str, field: str) -> str:
    if not prefix:
        return field
    if not field:
        return prefix
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


def _validate(model: type[_M], data: Any, prefix: str = "") -> _M:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = _join_field(prefix, _format_loc(first["loc"]))
        raise WebhookPayloadError(f"{field or 'body'}: {first['msg']}", field or None) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(raw_body: bytes) -> Any:
    """Decode a webhook body; anything that is not plain JSON is a `WebhookPayloadError`."""
    try:
        return json.loads(raw_body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, bad JSON, NaN/Infinity and oversized integers.
        raise WebhookPayloadError(f"body is not valid JSON: {type(exc).__name__}", "body") from None


def _refs_from_metadata(metadata: Mapping[str, str] | None) -> list[str]:
    """Invoice ids/numbers from the metadata keys documented in docs/webhooks.md."""
    if not metadata:
        return []
    refs = [metadata.get("invoice_id", ""), metadata.get("invoice_number", "")]
    refs.extend(metadata.get("invoice_ids", "").split(","))
    return refs


def _clean_refs(refs: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for ref in refs:
        text = (ref or "").strip()
        if text and len(text) <= _MAX_REF_LENGTH:
            seen.setdefault(text, None)
    return tuple(seen)[:_MAX_REFS]


def _text(*parts: str | None) -> str | None:
    kept = [p.strip() for p in parts if p and p.strip()]
    return " | ".join(kept)[:_MAX_TEXT] if kept else None


def _email(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate and "@" in candidate and len(candidate) <= 320:
            return candidate.strip()
    return None


def _build_event(field: str, **values: Any) -> PaymentEvent:
    try:
        return PaymentEvent(**values)
    except DomainError as exc:
        raise WebhookPayloadError(str(exc), getattr(exc, "field", None) or field) from None


# --------------------------------------------------------------------------------------------
# Stripe
# --------------------------------------------------------------------------------------------

# Stripe's own minor units (docs.stripe.com/currencies): these are zero-decimal at Stripe,
# the three-decimal ones match ISO 4217, every other currency (ISK included) has two.
_STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"}
)  # fmt: skip
_STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def _stripe_exponent(currency: str) -> int:
    if currency in _STRIPE_ZERO_DECIMAL:
        return 0
    if currency in _STRIPE_THREE_DECIMAL:
        return 3
    return 2


def stripe_money(amount: int, currency: str, field: str) -> Money:
    """Convert a Stripe integer amount to Money, rescaling where Stripe's minor unit is not ISO's.

    Raises:
        WebhookPayloadError: the amount cannot be represented exactly in the ISO minor unit.
    """
    code = currency.upper()
    shift = currency_exponent(code) - _stripe_exponent(code)
    if shift >= 0:
        return Money(amount * 10**shift, code)
    quotient, remainder = divmod(amount, 10**-shift)
    if remainder:
        raise WebhookPayloadError(f"{field}: {amount} is not a whole {code} amount", field)
    return Money(quotient, code)


class StripeEventData(_Lenient):
    object: dict[str, Any]


class StripeEvent(_Lenient):
    """The Stripe Event envelope (`id`, `type`, `created`, `data.object`)."""

    id: NonEmpty
    type: NonEmpty
    created: UnixTime
    data: StripeEventData
    livemode: bool | None = None


class _StripeObject(_Lenient):
    id: NonEmpty
    metadata: dict[str, str] | None = None


class StripeBillingDetails(_Lenient):
    email: str | None = None


class StripePaymentIntent(_StripeObject):
    amount: MinorUnits
    amount_received: MinorUnits | None = None
    currency: CurrencyCode
    description: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None
    receipt_email: str | None = None


class StripeCharge(_StripeObject):
    amount: MinorUnits
    amount_captured: MinorUnits | None = None
    amount_refunded: MinorUnits = 0
    captured: bool | None = None
    currency: CurrencyCode
    payment_intent: str | None = None
    description: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None
    receipt_email: str | None = None
    billing_details: StripeBillingDetails | None = None


class StripeCheckoutSession(_StripeObject):
    amount_total: MinorUnits | None = None
    currency: CurrencyCode | None = None
    payment_status: str
    client_reference_id: str | None = None
    customer_details: StripeBillingDetails | None = None
    customer_email: str | None = None
    payment_intent: str | None = None
    invoice: str | None = None


class StripeInvoice(_StripeObject):
    number: str | None = None
    amount_paid: MinorUnits
    amount_due: MinorUnits | None = None
    currency: CurrencyCode
    customer_email: str | None = None
    payment_intent: str | None = None
    charge: str | None = None
    description: str | None = None
    statement_descriptor: str | None = None


class StripeDispute(_StripeObject):
    amount: MinorUnits
    currency: CurrencyCode
    charge: NonEmpty
    payment_intent: str | None = None
    status: str


_OBJECT = "data.object"


def _stripe_event(
    envelope: StripeEvent,
    kind: PaymentEventKind,
    *,
    amount: Money | None = None,
    refs: Iterable[str | None] = (),
    remittance: str | None = None,
    email: str | None = None,
    payment_id: str | None = None,
) -> PaymentEvent:
    return _build_event(
        _OBJECT,
        provider=STRIPE,
        event_id=envelope.id,
        kind=kind,
        occurred_at=datetime.fromtimestamp(envelope.created, UTC),
        amount=amount,
        invoice_refs=_clean_refs(refs),
        remittance_text=remittance,
        customer_email=email,
        provider_payment_id=payment_id,
        raw_type=envelope.type,
    )


def _stripe_ignored(envelope: StripeEvent) -> PaymentEvent:
    return _stripe_event(envelope, PaymentEventKind.IGNORED)


def _from_payment_intent(envelope: StripeEvent) -> PaymentEvent:
    pi = _validate(StripePaymentIntent, envelope.data.object, _OBJECT)
    succeeded = envelope.type == "payment_intent.succeeded"
    received = pi.amount_received if succeeded and pi.amount_received is not None else pi.amount
    return _stripe_event(
        envelope,
        PaymentEventKind.PAYMENT_SUCCEEDED if succeeded else PaymentEventKind.PAYMENT_FAILED,
        amount=stripe_money(received, pi.currency, f"{_OBJECT}.amount_received"),
        refs=_refs_from_metadata(pi.metadata),
        remittance=_text(pi.description, pi.statement_descriptor, pi.statement_descriptor_suffix),
        email=_email(pi.receipt_email),
        payment_id=pi.id,
    )


def _charge_payment_id(charge: StripeCharge) -> str:
    # Pair on the payment intent when there is one: refunds and disputes name it too.
    return charge.payment_intent or charge.id


def _charge_event(
    envelope: StripeEvent, charge: StripeCharge, kind: PaymentEventKind, amount: int
) -> PaymentEvent:
    billing_email = charge.billing_details.email if charge.billing_details else None
    return _stripe_event(
        envelope,
        kind,
        amount=stripe_money(amount, charge.currency, f"{_OBJECT}.amount"),
        refs=_refs_from_metadata(charge.metadata),
        remittance=_text(
            charge.description, charge.statement_descriptor, charge.statement_descriptor_suffix
        ),
        email=_email(charge.receipt_email, billing_email),
        payment_id=_charge_payment_id(charge),
    )


def _from_charge(envelope: StripeEvent) -> PaymentEvent:
    charge = _validate(StripeCharge, envelope.data.object, _OBJECT)
    if envelope.type == "charge.failed":
        return _charge_event(envelope, charge, PaymentEventKind.PAYMENT_FAILED, charge.amount)
    if envelope.type == "charge.refunded":
        # amount_refunded is cumulative over every refund of the charge (ledger rule).
        return _charge_event(envelope, charge, PaymentEventKind.REFUNDED, charge.amount_refunded)
    if charge.captured is False:
        # An authorisation only (manual capture): no money moved yet; charge.captured follows.
        return _stripe_ignored(envelope)
    captured = charge.amount_captured if charge.amount_captured else charge.amount
    return _charge_event(envelope, charge, PaymentEventKind.PAYMENT_SUCCEEDED, captured)


def _from_checkout_session(envelope: StripeEvent) -> PaymentEvent:
    session = _validate(StripeCheckoutSession, envelope.data.object, _OBJECT)
    if envelope.type == "checkout.session.async_payment_failed":
        kind = PaymentEventKind.PAYMENT_FAILED
    elif session.payment_status == "paid":
        kind = PaymentEventKind.PAYMENT_SUCCEEDED
    else:
        # "unpaid": a delayed method (SEPA debit...) whose outcome comes later as
        # checkout.session.async_payment_succeeded; "no_payment_required": nothing to record.
        return _stripe_ignored(envelope)
    if session.amount_total is None or session.currency is None:
        raise WebhookPayloadError(
            f"{_OBJECT}.amount_total: a paid session needs amount_total and currency",
            f"{_OBJECT}.amount_total",
        )
    details_email = session.customer_details.email if session.customer_details else None
    return _stripe_event(
        envelope,
        kind,
        amount=stripe_money(session.amount_total, session.currency, f"{_OBJECT}.amount_total"),
        refs=[*_refs_from_metadata(session.metadata), session.client_reference_id],
        email=_email(details_email, session.customer_email),
        payment_id=session.payment_intent or session.invoice or session.id,
    )


def _from_invoice(envelope: StripeEvent) -> PaymentEvent:
    invoice = _validate(StripeInvoice, envelope.data.object, _OBJECT)
    failed = envelope.type == "invoice.payment_failed"
    amount = (
        invoice.amount_due if failed and invoice.amount_due is not None else invoice.amount_paid
    )
    return _stripe_event(
        envelope,
        PaymentEventKind.PAYMENT_FAILED if failed else PaymentEventKind.PAYMENT_SUCCEEDED,
        amount=stripe_money(amount, invoice.currency, f"{_OBJECT}.amount_paid"),
        refs=[*_refs_from_metadata(invoice.metadata), invoice.number],
        remittance=_text(invoice.description, invoice.statement_descriptor),
        email=_email(invoice.customer_email),
        # API versions from 2025-03-31 drop payment_intent/charge from invoices: the invoice id
        # is then the only key (docs/webhooks.md: do not also subscribe payment_intent.*).
        payment_id=invoice.payment_intent or invoice.charge or invoice.id,
    )


_DISPUTE_OUTCOMES = {
    "won": PaymentEventKind.CHARGEBACK_WON,
    # An inquiry closed without becoming a chargeback: no money is taken back.
    "warning_closed": PaymentEventKind.CHARGEBACK_WON,
    "lost": PaymentEventKind.CHARGEBACK_LOST,
}


def _from_dispute(envelope: StripeEvent) -> PaymentEvent:
    dispute = _validate(StripeDispute, envelope.data.object, _OBJECT)
    if envelope.type == "charge.dispute.created":
        kind = PaymentEventKind.CHARGEBACK_OPENED
    elif dispute.status in _DISPUTE_OUTCOMES:
        kind = _DISPUTE_OUTCOMES[dispute.status]
    else:
        return _stripe_ignored(envelope)
    return _stripe_event(
        envelope,
        kind,
        amount=stripe_money(dispute.amount, dispute.currency, f"{_OBJECT}.amount"),
        refs=_refs_from_metadata(dispute.metadata),
        payment_id=dispute.payment_intent or dispute.charge,
    )


_STRIPE_CONVERTERS: dict[str, Callable[[StripeEvent], PaymentEvent]] = {
    "payment_intent.succeeded": _from_payment_intent,
    "payment_intent.payment_failed": _from_payment_intent,
    "checkout.session.completed": _from_checkout_session,
    "checkout.session.async_payment_succeeded": _from_checkout_session,
    "checkout.session.async_payment_failed": _from_checkout_session,
    "charge.succeeded": _from_charge,
    "charge.captured": _from_charge,
    "charge.failed": _from_charge,
    "charge.refunded": _from_charge,
    "invoice.paid": _from_invoice,
    "invoice.payment_succeeded": _from_invoice,
    "invoice.payment_failed": _from_invoice,
    "charge.dispute.created": _from_dispute,
    "charge.dispute.closed": _from_dispute,
}
STRIPE_EVENT_TYPES = frozenset(_STRIPE_CONVERTERS)
"""Stripe event types Relance acts on; any other type becomes an `ignored` event."""


def stripe_to_events(payload: Any) -> list[PaymentEvent]:
    """Convert a decoded Stripe Event to the domain event(s) it carries (always one).

    Raises:
        WebhookPayloadError: the envelope or the object of a handled type is invalid.
    """
    envelope = _validate(StripeEvent, payload)
    converter = _STRIPE_CONVERTERS.get(envelope.type, _stripe_ignored)
    return [converter(envelope)]


def parse_stripe_webhook(raw_body: bytes) -> list[PaymentEvent]:
    """Decode and convert a verified Stripe webhook body."""
    return stripe_to_events(load_json(raw_body))


# --------------------------------------------------------------------------------------------
# GoCardless
# --------------------------------------------------------------------------------------------


class GoCardlessEvent(_Lenient):
    """One item of a GoCardless webhook's `events` array."""

    id: NonEmpty
    created_at: AwareDatetime
    resource_type: NonEmpty
    action: NonEmpty
    links: dict[str, str] = Field(default_factory=dict)
    details: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    resource_metadata: dict[str, str] | None = None


class GoCardlessWebhook(_Lenient):
    """`{"events": [...], "meta": {"webhook_id": ...}}`; GoCardless batches up to 250 events."""

    events: list[GoCardlessEvent] = Field(min_length=1, max_length=500)
    meta: dict[str, Any] | None = None


_GOCARDLESS_PAYMENT_ACTIONS = {
    "confirmed": PaymentEventKind.PAYMENT_SUCCEEDED,
    "paid_out": PaymentEventKind.PAID_OUT,
    "failed": PaymentEventKind.PAYMENT_FAILED,
    "charged_back": PaymentEventKind.CHARGEBACK_LOST,
    "chargeback_cancelled": PaymentEventKind.CHARGEBACK_WON,
}
_GOCARDLESS_REFUND_ACTIONS = {"paid": PaymentEventKind.REFUNDED}


def _gocardless_kind(event: GoCardlessEvent) -> PaymentEventKind:
    if event.resource_type == "payments":
        return _GOCARDLESS_PAYMENT_ACTIONS.get(event.action, PaymentEventKind.IGNORED)
    if event.resource_type == "refunds":
        return _GOCARDLESS_REFUND_ACTIONS.get(event.action, PaymentEventKind.IGNORED)
    return PaymentEventKind.IGNORED


def _decimal_money(amount: str, currency: str, field: str) -> Money:
    """Money from a decimal string, refusing more decimals than the currency has."""
    code = currency.strip().upper()
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise WebhookPayloadError(f"{field}: not a decimal amount", field) from None
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise WebhookPayloadError(f"{field}: not an ISO 4217 currency", field)
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value < 0 or value.adjusted() > 14:
        raise WebhookPayloadError(f"{field}: not a positive, bounded amount", field)
    if isinstance(exponent, int) and -exponent > currency_exponent(code):
        raise WebhookPayloadError(f"{field}: more decimals than {code} has", field)
    return Money(int(value.scaleb(currency_exponent(code))), code)


def _gocardless_amount(event: GoCardlessEvent, prefix: str) -> Money | None:
    """Amount from resource metadata `amount` + `currency`, when the merchant set them.

    GoCardless event bodies carry no amounts (docs/webhooks.md explains the rule used then).
    Refund metadata is not read: refund amounts must be cumulative per payment, which a
    single refund's metadata is not.
    """
    metadata = event.resource_metadata or {}
    if event.resource_type != "payments" or "amount" not in metadata:
        return None
    field = f"{prefix}.resource_metadata.amount"
    if "currency" not in metadata:
        raise WebhookPayloadError(f"{field}: an amount needs a currency", field)
    return _decimal_money(metadata["amount"], metadata["currency"], field)


def _from_gocardless_event(event: GoCardlessEvent, index: int) -> PaymentEvent:
    prefix = f"events[{index}]"
    kind = _gocardless_kind(event)
    payment_id = event.links.get("payment")
    if kind != PaymentEventKind.IGNORED and not payment_id:
        field = f"{prefix}.links.payment"
        raise WebhookPayloadError(f"{field}: a payment event must link its payment", field)
    return _build_event(
        prefix,
        provider=GOCARDLESS,
        event_id=event.id,
        kind=kind,
        occurred_at=event.created_at,
        amount=_gocardless_amount(event, prefix) if kind != PaymentEventKind.IGNORED else None,
        invoice_refs=_clean_refs(
            [*_refs_from_metadata(event.resource_metadata), *_refs_from_metadata(event.metadata)]
        ),
        remittance_text=None,
        customer_email=None,
        provider_payment_id=payment_id,
        raw_type=f"{event.resource_type}.{event.action}",
    )


def gocardless_to_events(payload: Any) -> list[PaymentEvent]:
    """Convert a decoded GoCardless webhook body: one domain event per item, in order.

    Raises:
        WebhookPayloadError: the body or one of its events is invalid (the field is named).
    """
    webhook = _validate(GoCardlessWebhook, payload)
    return [_from_gocardless_event(event, i) for i, event in enumerate(webhook.events)]


def parse_gocardless_webhook(raw_body: bytes) -> list[PaymentEvent]:
    """Decode and convert a verified GoCardless webhook body."""
    return gocardless_to_events(load_json(raw_body))


# --------------------------------------------------------------------------------------------
# Generic (Relance's own format, docs/webhooks.md)
# --------------------------------------------------------------------------------------------

GenericType = Literal[
    "payment_succeeded",
    "payment_failed",
    "refunded",
    "chargeback_opened",
    "chargeback_won",
    "chargeback_lost",
    "paid_out",
]


class GenericPaymentNotification(BaseModel):
    """The body of POST /webhooks/generic: one event per request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: NonEmpty
    type: GenericType
    occurred_at: AwareDatetime
    amount: Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,3})?$")] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    payment_id: NonEmpty | None = None
    invoice_id: NonEmpty | None = None
    invoice_ids: list[NonEmpty] | None = Field(default=None, max_length=_MAX_REFS)
    invoice_number: NonEmpty | None = None
    reference: Annotated[str, Field(max_length=_MAX_TEXT)] | None = None
    payer_email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339_text_only(cls, value: Any) -> Any:
        # pydantic would read a number as unix time; the documented format is RFC 3339 text.
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 date-time string")
        return value


_AMOUNT_REQUIRED = frozenset({"payment_succeeded", "refunded"})
_PAYMENT_ID_REQUIRED = frozenset(
    {"refunded", "chargeback_opened", "chargeback_won", "chargeback_lost"}
)


def _generic_amount(note: GenericPaymentNotification) -> Money | None:
    if note.amount is None and note.currency is None:
        if note.type in _AMOUNT_REQUIRED:
            raise WebhookPayloadError(f"amount: required for {note.type}", "amount")
        return None
    if note.amount is None:
        raise WebhookPayloadError("amount: required with currency", "amount")
    if note.currency is None:
        raise WebhookPayloadError("currency: required with amount", "currency")
    return _decimal_money(note.amount, note.currency, "amount")


def generic_to_events(payload: Any) -> list[PaymentEvent]:
    """Convert a decoded generic notification to its domain event.

    Raises:
        WebhookPayloadError: the body breaks the documented schema (the field is named).
    """
    note = _validate(GenericPaymentNotification, payload)
    if note.type in _PAYMENT_ID_REQUIRED and note.payment_id is None:
        raise WebhookPayloadError(f"payment_id: required for {note.type}", "payment_id")
    event = _build_event(
        "",
        provider=GENERIC,
        event_id=note.event_id,
        kind=PaymentEventKind(note.type),
        occurred_at=note.occurred_at,
        amount=_generic_amount(note),
        invoice_refs=_clean_refs([note.invoice_id, note.invoice_number, *(note.invoice_ids or [])]),
        remittance_text=_text(note.reference),
        customer_email=note.payer_email,
        provider_payment_id=note.payment_id,
        raw_type=note.type,
    )
    return [event]


def parse_generic_webhook(raw_body: bytes) -> list[PaymentEvent]:
    """Decode and convert a verified generic webhook body."""
    return generic_to_events(load_json(raw_body))


WEBHOOK_PARSERS: dict[str, Callable[[bytes], list[PaymentEvent]]] = {
    STRIPE: parse_stripe_webhook,
    GOCARDLESS: parse_gocardless_webhook,
    GENERIC: parse_generic_webhook,
}
"""Body parser per provider path segment (POST /webhooks/{provider})."""
