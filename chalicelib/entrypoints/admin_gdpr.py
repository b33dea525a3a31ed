"""Entry point: GDPR access and erasure of a customer, and the audit log (admin only)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.bootstrap import get_services
from chalicelib.domain.records import ApiToken, Role
from chalicelib.entrypoints.admin_api import PAGING
from chalicelib.entrypoints.http import QueryParam, api_route, query_int, query_str
from chalicelib.schemas.admin_collections import (
    ArchivedMessageOut,
    AuditEntryOut,
    AuditPage,
    CustomerExportOut,
    CustomerOut,
    ErasureOut,
    ExportedInvoiceOut,
)

bp = Blueprint(__name__)


@api_route(
    bp,
    "/admin/customers/{customer_id}/export",
    summary="Everything about a customer, as JSON (GDPR right of access)",
    role=Role.ADMIN,
    response=CustomerExportOut,
    audit=True,
)
def export_customer(customer_id: str, **_: Any) -> CustomerExportOut:
    export = get_services().gdpr.export(customer_id)
    tasks, approvals = CustomerExportOut.work_of(export.tasks, export.approvals)
    return CustomerExportOut(
        exported_at=export.exported_at,
        customer=CustomerOut.of(export.customer),
        invoices=[ExportedInvoiceOut.of_invoice(i) for i in export.invoices],
        events=CustomerExportOut.events_of(export.events),
        payments=CustomerExportOut.events_of(export.payments),
        messages=[
            ArchivedMessageOut(
                message_ref=m.message_ref,
                invoice_ids=list(m.invoice_ids),
                channel=m.channel,
                step_id=m.step_id,
                to=m.to,
                subject=m.subject,
                text=m.text,
                sent_at=m.sent_at,
                expires_at=m.expires_at,
            )
            for m in export.messages
        ],
        tasks=tasks,
        approvals=approvals,
    )


@api_route(
    bp,
    "/admin/customers/{customer_id}",
    summary="Erase a customer's personal data (GDPR); accounting facts are kept",
    role=Role.ADMIN,
    methods=("DELETE",),
    response=ErasureOut,
)
def erase_customer(customer_id: str, auth: ApiToken, **_: Any) -> ErasureOut:
    report = get_services().gdpr.erase(customer_id, by=auth.label)
    return ErasureOut(
        customer_id=report.customer_id,
        pseudonym=report.pseudonym,
        erased_at=report.erased_at,
        invoices_kept=report.invoices_kept,
        events_scrubbed=report.events_scrubbed,
        messages_deleted=report.messages_deleted,
        tasks_scrubbed=report.tasks_scrubbed,
        approvals_scrubbed=report.approvals_scrubbed,
        documents_deleted=list(report.documents_deleted),
        documents_redacted=list(report.documents_redacted),
    )


@api_route(
    bp,
    "/admin/audit",
    summary="Admin actions of one month (who, what, when), newest first",
    role=Role.ADMIN,
    response=AuditPage,
    query=(QueryParam("month", "YYYY-MM (default: this month, UTC)"), *PAGING),
)
def list_audit(request: Request, **_: Any) -> AuditPage:
    page = get_services().audit.entries(
        query_str(request, "month"),
        limit=query_int(request, "limit", 50),
        cursor=query_str(request, "cursor"),
    )
    return AuditPage(items=[AuditEntryOut.of(e) for e in page.items], next=page.next_cursor)
