"""Entry point: signed payment webhooks and the collectors' unallocated-money routes.

POST /webhooks/stripe | /webhooks/gocardless | /webhooks/generic pass the raw body and the
headers to `PaymentRecorder.record` and answer as docs/webhooks.md says: 200 once every event
is stored (also for duplicates, ignored types and unallocated money), the provider's own
status with an empty problem body for a bad signature, 400 naming the field for a signed but
unusable body. A delivery that finds the same event being processed by another one waits a
few seconds for it and answers 200 once it is stored (409 with Retry-After if it is not).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.bootstrap import get_services
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.payments import SignatureError, WebhookPayloadError
from chalicelib.domain.records import ApiToken, Role
from chalicelib.entrypoints.admin_api import PAGING
from chalicelib.entrypoints.http import JSON, QueryParam, api_route, problem, query_int, query_str
from chalicelib.observability import metrics
from chalicelib.services.payments import WebhookResult
from chalicelib.services.ports import UnallocatedPayment, UnallocatedStatus

bp = Blueprint(__name__)
log = logging.getLogger("chalicelib.payment_webhooks")

# Stripe documents 400; the GoCardless client libraries answer 498; our own scheme uses 401.
BAD_SIGNATURE = {
    "stripe": (400, "Bad Request"),
    "gocardless": (498, "Invalid Token"),
    "generic": (401, "Unauthorized"),
}
_JSON_TYPES = ("application/json",)
IN_FLIGHT_WAIT_S = 3.0
IN_FLIGHT_POLL_S = 0.1


class WebhookAck(BaseModel):
    events: list[dict[str, str]] = Field(description="Each event id and what it did")


class PaymentOut(BaseModel):
    payment_id: str = Field(description="Id to allocate this money with")
    status: str = Field(description="unallocated or allocated")
    provider: str
    event_id: str
    type: str = Field(description="The provider's event type")
    kind: str
    amount: str | None = Field(description='Decimal string in major units, e.g. "1234.56"')
    currency: str | None
    occurred_at: datetime
    received_at: datetime
    reason: str
    provider_payment_id: str | None
    invoice_refs: list[str]
    remittance_text: str | None
    payer_email: str | None
    customer_id: str | None
    allocated_to: list[str]
    allocated_by: str | None
    allocated_at: datetime | None

    @classmethod
    def of(cls, item: UnallocatedPayment) -> PaymentOut:
        event = item.event
        return cls(
            payment_id=item.payment_ref,
            status=item.status.value,
            provider=event.provider,
            event_id=event.event_id,
            type=event.raw_type,
            kind=event.kind.value,
            amount=item.amount.to_wire() if item.amount else None,
            currency=item.amount.currency if item.amount else None,
            occurred_at=event.occurred_at,
            received_at=item.received_at,
            reason=item.reason,
            provider_payment_id=event.provider_payment_id,
            invoice_refs=list(event.invoice_refs),
            remittance_text=event.remittance_text,
            payer_email=event.customer_email,
            customer_id=item.customer_id,
            allocated_to=list(item.allocated_to),
            allocated_by=item.allocated_by,
            allocated_at=item.allocated_at,
        )


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    next: str | None = Field(description="Cursor for the next page, null on the last one")


class AllocateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_id: str = Field(min_length=1, max_length=200)


def _raw_body(request: Request) -> bytes:
    # The signature covers the bytes as received; Chalice may hand them over as str.
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _count_rejection(provider: str, reason: str) -> None:
    with single_metric(
        name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1, namespace="Relance"
    ) as metric:
        metric.add_dimension(name="provider", value=provider)
        metric.add_dimension(name="reason", value=reason)


def _record(provider: str, body: bytes, headers: dict[str, str]) -> WebhookResult:
    services = get_services()
    result = services.payments.record(provider, body, headers, services.clock.now())
    # A concurrent delivery of the same event is usually done within a second: wait for it,
    # so the provider hears 200 only once the event is stored, and rarely has to retry.
    deadline = time.monotonic() + IN_FLIGHT_WAIT_S
    while result.in_flight and time.monotonic() < deadline:
        time.sleep(IN_FLIGHT_POLL_S)
        result = services.payments.record(provider, body, headers, services.clock.now())
    return result


def _receive(provider: str, request: Request) -> Response:
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        result = _record(provider, _raw_body(request), headers)
    except SignatureError as exc:
        log.warning(
            "webhook signature rejected", extra={"provider": provider, "reason": exc.reason}
        )
        _count_rejection(provider, exc.reason.value)
        status, title = BAD_SIGNATURE[provider]
        # No reason in the answer: it would only help whoever is forging the request.
        extra = {"WWW-Authenticate": 'Signature realm="relance-webhooks"'} if status == 401 else {}
        return problem(status, title, exc.code, headers=extra)
    except WebhookPayloadError as exc:
        log.warning("signed webhook body refused", extra={"provider": provider, "field": exc.field})
        metrics.add_metric(name="WebhookPayloadRejected", unit=MetricUnit.Count, value=1)
        return problem(400, "Bad Request", exc.code, str(exc), exc.field)
    if result.in_flight:
        return problem(
            409,
            "Conflict",
            "webhook-in-progress",
            "Another delivery of this event is being processed; retry later.",
            headers={"Retry-After": "30"},
        )
    metrics.add_metric(
        name="PaymentEventsReceived", unit=MetricUnit.Count, value=len(result.events)
    )
    body = {
        "events": [
            {"id": event_id, "outcome": outcome.value} for event_id, outcome in result.events
        ]
    }
    return Response(json.dumps(body), status_code=200, headers=JSON)


@api_route(
    bp,
    "/webhooks/stripe",
    summary="Stripe events (Stripe-Signature), applied once each",
    role=None,
    methods=("POST",),
    response=WebhookAck,
    content_types=_JSON_TYPES,
)
def stripe_webhook(request: Request, **_: Any) -> Response:
    return _receive("stripe", request)


@api_route(
    bp,
    "/webhooks/gocardless",
    summary="GoCardless events (Webhook-Signature); 498 on a bad signature",
    role=None,
    methods=("POST",),
    response=WebhookAck,
    content_types=_JSON_TYPES,
)
def gocardless_webhook(request: Request, **_: Any) -> Response:
    return _receive("gocardless", request)


@api_route(
    bp,
    "/webhooks/generic",
    summary="Relance's signed payment notification (Relance-Signature), see docs/webhooks.md",
    role=None,
    methods=("POST",),
    response=WebhookAck,
    content_types=_JSON_TYPES,
)
def generic_webhook(request: Request, **_: Any) -> Response:
    return _receive("generic", request)


@api_route(
    bp,
    "/admin/payments",
    summary="Payments no rule could place (unallocated=true, default) or placed by hand",
    role=Role.VIEWER,
    response=PaymentPage,
    query=(
        QueryParam("unallocated", "true (default): waiting for a collector; false: placed"),
        *PAGING,
    ),
)
def list_payments(request: Request, **_: Any) -> PaymentPage:
    flag = (query_str(request, "unallocated") or "true").lower()
    if flag not in ("true", "false"):
        raise ValidationError("unallocated must be true or false", field="unallocated")
    status = UnallocatedStatus.UNALLOCATED if flag == "true" else UnallocatedStatus.ALLOCATED
    page = get_services().payments.unallocated(
        status=status, limit=query_int(request, "limit", 50), cursor=query_str(request, "cursor")
    )
    return PaymentPage(items=[PaymentOut.of(i) for i in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/payments/{payment_id}/allocate",
    summary="Place unallocated money on an invoice",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=AllocateIn,
    response=PaymentOut,
)
def allocate_payment(payment_id: str, body: AllocateIn, auth: ApiToken, **_: Any) -> PaymentOut:
    services = get_services()
    placed = services.payments.allocate(
        payment_id, body.invoice_id, by=auth.label, now=services.clock.now()
    )
    return PaymentOut.of(placed)
