"""Entry point: collectors' actions on invoices and customers (pause, dispute, promise)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import get_services
from chalicelib.domain.records import ApiToken, Role
from chalicelib.entrypoints.http import api_route
from chalicelib.schemas.admin import InvoiceOut, TimelineEventOut
from chalicelib.schemas.admin_collections import (
    CustomerActionIn,
    CustomerOut,
    DisputeCommentIn,
    DisputeIn,
    DisputeResolveIn,
    PauseIn,
    PromiseIn,
    ResumeIn,
)
from chalicelib.services.collections import DisputeRequest

bp = Blueprint(__name__)


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/pause",
    summary="Pause an invoice's chase, until a date or until resumed",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=PauseIn,
    response=InvoiceOut,
)
def pause_invoice(invoice_id: str, body: PauseIn, auth: ApiToken, **_: Any) -> InvoiceOut:
    invoice = get_services().collections.pause(
        invoice_id, until=body.until, comment=body.comment, by=auth.label, version=body.version
    )
    return InvoiceOut.of(invoice)


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/resume",
    summary="Resume a paused invoice where its chase stopped",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=ResumeIn,
    response=InvoiceOut,
)
def resume_invoice(invoice_id: str, body: ResumeIn, auth: ApiToken, **_: Any) -> InvoiceOut:
    invoice = get_services().collections.resume(
        invoice_id, comment=body.comment, by=auth.label, version=body.version
    )
    return InvoiceOut.of(invoice)


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/dispute",
    summary="Open a dispute (all or part of the amount due); only the disputed part stops",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=DisputeIn,
    response=InvoiceOut,
)
def open_dispute(invoice_id: str, body: DisputeIn, auth: ApiToken, **_: Any) -> InvoiceOut:
    request = DisputeRequest(body.reason, body.amount, body.comment)
    invoice = get_services().collections.open_dispute(
        invoice_id, request, by=auth.label, version=body.version
    )
    return InvoiceOut.of(invoice)


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/dispute/comment",
    summary="Comment on an open dispute",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=DisputeCommentIn,
    response=TimelineEventOut,
    status=201,
)
def comment_dispute(
    invoice_id: str, body: DisputeCommentIn, auth: ApiToken, **_: Any
) -> TimelineEventOut:
    event = get_services().collections.comment_dispute(invoice_id, body.comment, by=auth.label)
    return TimelineEventOut.of(event)


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/dispute/resolve",
    summary="Resolve a dispute: accepted (credit note) or rejected (the chase resumes)",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=DisputeResolveIn,
    response=InvoiceOut,
)
def resolve_dispute(
    invoice_id: str, body: DisputeResolveIn, auth: ApiToken, **_: Any
) -> InvoiceOut:
    invoice = get_services().collections.resolve_dispute(
        invoice_id,
        body.outcome,
        credit_amount=body.credit_amount,
        credit_note_number=body.credit_note_number,
        comment=body.comment,
        by=auth.label,
        version=body.version,
    )
    return InvoiceOut.of(invoice)


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/promise",
    summary="Record a promise to pay by a date (at most the policy's max_promise_days away)",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=PromiseIn,
    response=InvoiceOut,
)
def promise(invoice_id: str, body: PromiseIn, auth: ApiToken, **_: Any) -> InvoiceOut:
    invoice = get_services().collections.promise(
        invoice_id, body.promise_date, comment=body.comment, by=auth.label, version=body.version
    )
    return InvoiceOut.of(invoice)


@api_route(
    bp,
    "/admin/customers/{customer_id}/pause",
    summary="Pause every invoice of a customer until resumed",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=CustomerActionIn,
    response=CustomerOut,
)
def pause_customer(
    customer_id: str, body: CustomerActionIn, auth: ApiToken, **_: Any
) -> CustomerOut:
    customer = get_services().collections.pause_customer(
        customer_id, comment=body.comment, by=auth.label, version=body.version
    )
    return CustomerOut.of(customer)


@api_route(
    bp,
    "/admin/customers/{customer_id}/resume",
    summary="Resume a paused customer's invoices",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=CustomerActionIn,
    response=CustomerOut,
)
def resume_customer(
    customer_id: str, body: CustomerActionIn, auth: ApiToken, **_: Any
) -> CustomerOut:
    customer = get_services().collections.resume_customer(
        customer_id, comment=body.comment, by=auth.label, version=body.version
    )
    return CustomerOut.of(customer)
