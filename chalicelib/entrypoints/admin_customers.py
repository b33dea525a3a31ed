"""Entry point: customers (list, read, edit contacts, locale, zone, segment and risk)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.bootstrap import get_services
from chalicelib.domain.records import ApiToken, Role
from chalicelib.entrypoints.admin_api import PAGING
from chalicelib.entrypoints.http import api_route, query_int, query_str
from chalicelib.schemas.admin_collections import CustomerOut, CustomerPage, CustomerPatch

bp = Blueprint(__name__)


@api_route(
    bp,
    "/admin/customers",
    summary="List customers",
    role=Role.VIEWER,
    response=CustomerPage,
    query=PAGING,
)
def list_customers(request: Request, **_: Any) -> CustomerPage:
    page = get_services().customer_admin.list(
        limit=query_int(request, "limit", 50), cursor=query_str(request, "cursor")
    )
    return CustomerPage(items=[CustomerOut.of(c) for c in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/customers/{customer_id}",
    summary="One customer",
    role=Role.VIEWER,
    response=CustomerOut,
)
def get_customer(customer_id: str, **_: Any) -> CustomerOut:
    return CustomerOut.of(get_services().customer_admin.get(customer_id))


@api_route(
    bp,
    "/admin/customers/{customer_id}",
    summary="Edit a customer; edited fields are not undone by later files",
    role=Role.COLLECTOR,
    methods=("PATCH",),
    body=CustomerPatch,
    response=CustomerOut,
)
def patch_customer(customer_id: str, body: CustomerPatch, auth: ApiToken, **_: Any) -> CustomerOut:
    customer = get_services().customer_admin.update(
        customer_id, body.changes(), by=auth.label, version=body.version
    )
    return CustomerOut.of(customer)
