"""Entry point: the local outbox and template previews."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.bootstrap import get_services
from chalicelib.domain.records import Role
from chalicelib.entrypoints.http import QueryParam, api_route, query_str
from chalicelib.schemas.admin import OutboxEntryOut, OutboxPage, TemplatePreview

bp = Blueprint(__name__)


@api_route(
    bp,
    "/admin/outbox",
    summary="Messages the emulator received (stage local only)",
    role=Role.VIEWER,
    response=OutboxPage,
)
def outbox(**_: Any) -> OutboxPage:
    entries = get_services().outbox.entries()
    return OutboxPage(
        items=[
            OutboxEntryOut(
                channel=e.channel,
                message_ref=e.message_ref,
                to=e.to,
                subject=e.subject,
                text=e.text,
                invoice_ids=list(e.invoice_ids),
                step_id=e.step_id,
                sent_at=e.sent_at,
                attachments=list(e.attachments),
            )
            for e in entries
        ]
    )


@api_route(
    bp,
    "/admin/templates/{step_id}/preview",
    summary="Render a step's message with sample data",
    role=Role.VIEWER,
    response=TemplatePreview,
    query=(
        QueryParam("locale", "fr (default) or en"),
        QueryParam("tone", "friendly, standard (default) or firm"),
    ),
)
def preview_template(step_id: str, request: Request, **_: Any) -> TemplatePreview:
    services = get_services()
    rendered = services.previews.preview(
        step_id,
        query_str(request, "locale") or "fr",
        query_str(request, "tone") or "standard",
        services.clock.now().date(),
    )
    return TemplatePreview(**rendered)
