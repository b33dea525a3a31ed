"""Entry point: admin API reads (invoices, timelines, imports) and API tokens."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.bootstrap import get_services
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.records import ApiToken, Role
from chalicelib.entrypoints.http import QueryParam, api_route, query_int, query_str
from chalicelib.schemas.admin import (
    ImportOut,
    ImportPage,
    InvoiceOut,
    InvoicePage,
    TimelineEventOut,
    TimelinePage,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
)
from chalicelib.services.invoice_search import InvoiceQuery

bp = Blueprint(__name__)

PAGING = (
    QueryParam(
        "limit", "Page size (1-200, default 50)", {"type": "integer", "minimum": 1, "maximum": 200}
    ),
    QueryParam("cursor", "The `next` value of the previous page"),
)


@api_route(
    bp,
    "/admin/invoices",
    summary="List invoices",
    role=Role.VIEWER,
    response=InvoicePage,
    query=(
        QueryParam("number", "Invoice number"),
        QueryParam("customer_id", "Customer id"),
        QueryParam("status", "open, partially_paid, paid, disputed, cancelled, written_off"),
        QueryParam("segment", "Customer segment (filtered on each page read)"),
        QueryParam(
            "min_days_overdue",
            "At least this many days past due (open invoices unless a status is given)",
            {"type": "integer"},
        ),
        QueryParam("max_days_overdue", "At most this many days past due", {"type": "integer"}),
        QueryParam("step", "Policy step already done (e.g. reminder_1)"),
        QueryParam("next_step", "Policy step the invoice is waiting for"),
        *PAGING,
    ),
)
def list_invoices(request: Request, **_: Any) -> InvoicePage:
    # A filtered page may hold fewer items than `limit` (even none): follow `next` until null.
    def days(name: str) -> int | None:
        return query_int(request, name, 0) if query_str(request, name) is not None else None

    query = InvoiceQuery(
        number=query_str(request, "number"),
        customer_id=query_str(request, "customer_id"),
        status=query_str(request, "status"),
        segment=query_str(request, "segment"),
        min_days_overdue=days("min_days_overdue"),
        max_days_overdue=days("max_days_overdue"),
        step=query_str(request, "step"),
        next_step=query_str(request, "next_step"),
    )
    page = get_services().invoice_search.invoices(
        query, limit=query_int(request, "limit", 50), cursor=query_str(request, "cursor")
    )
    return InvoicePage(items=[InvoiceOut.of(i) for i in page.items], next=page.next_cursor)


@api_route(
    bp, "/admin/invoices/{invoice_id}", summary="One invoice", role=Role.VIEWER, response=InvoiceOut
)
def get_invoice(invoice_id: str, **_: Any) -> InvoiceOut:
    return InvoiceOut.of(get_services().queries.invoice(invoice_id))


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/timeline",
    summary="An invoice's events, newest first",
    role=Role.VIEWER,
    response=TimelinePage,
    query=PAGING,
)
def invoice_timeline(invoice_id: str, request: Request, **_: Any) -> TimelinePage:
    page = get_services().queries.invoice_timeline(
        invoice_id, limit=query_int(request, "limit", 50), cursor=query_str(request, "cursor")
    )
    return TimelinePage(items=[TimelineEventOut.of(e) for e in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/customers/{customer_id}/timeline",
    summary="A customer's events across invoices, newest first",
    role=Role.VIEWER,
    response=TimelinePage,
    query=PAGING,
)
def customer_timeline(customer_id: str, request: Request, **_: Any) -> TimelinePage:
    page = get_services().queries.customer_timeline(
        customer_id, limit=query_int(request, "limit", 50), cursor=query_str(request, "cursor")
    )
    return TimelinePage(items=[TimelineEventOut.of(e) for e in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/imports",
    summary="Ingested files and their outcome",
    role=Role.VIEWER,
    response=ImportPage,
    query=PAGING,
)
def list_imports(request: Request, **_: Any) -> ImportPage:
    page = get_services().queries.imports(
        limit=query_int(request, "limit", 50), cursor=query_str(request, "cursor")
    )
    return ImportPage(items=[ImportOut.of(r) for r in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/tokens",
    summary="Create an API token (the secret is shown once)",
    role=Role.ADMIN,
    methods=("POST",),
    body=TokenCreate,
    response=TokenCreated,
    status=201,
)
def create_token(body: TokenCreate, auth: ApiToken, **_: Any) -> TokenCreated:
    issued = get_services().tokens.issue(body.role, body.label, body.expires_at)
    return TokenCreated(**TokenOut.of(issued.token).model_dump(), token=issued.secret)


@api_route(
    bp,
    "/admin/tokens",
    summary="List API tokens (never their secrets)",
    role=Role.ADMIN,
    response=TokenList,
)
def list_tokens(**_: Any) -> TokenList:
    return TokenList(items=[TokenOut.of(t) for t in get_services().tokens.list()])


@api_route(
    bp,
    "/admin/tokens/{token_id}",
    summary="Revoke an API token",
    role=Role.ADMIN,
    methods=("DELETE",),
    status=204,
)
def revoke_token(token_id: str, **_: Any) -> None:
    if not get_services().tokens.revoke(token_id):
        raise NotFoundError(f"no active token {token_id}")
