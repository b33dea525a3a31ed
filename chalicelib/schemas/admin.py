"""Schemas: admin API request and response bodies (the source of the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.invoices import Invoice
from chalicelib.domain.records import ApiToken, ImportRecord, Role, TimelineEvent
from chalicelib.domain.work import Approval, RunReport, Task


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="Stable URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(default=None, description="The offending field, when there is one")
    errors: list[dict[str, str]] | None = None


class Health(BaseModel):
    status: Literal["ok"]


class InvoiceOut(BaseModel):
    invoice_id: str
    number: str
    seller_id: str
    customer_id: str
    kind: str
    status: str
    currency: str
    amount_total: str = Field(description='Decimal string in major units, e.g. "1234.56"')
    amount_paid: str
    amount_due: str
    disputed_amount: str | None
    issue_date: date
    due_date: date
    next_action_at: datetime | None
    policy_id: str | None
    policy_version: int | None
    steps_done: list[str]
    paused: bool
    paused_until: datetime | None
    promise_date: date | None
    purchase_order: str | None
    payment_reference: str | None
    source_key: str | None
    version: int

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            invoice_id=invoice.invoice_id,
            number=invoice.number,
            seller_id=invoice.seller_id,
            customer_id=invoice.customer_id,
            kind=invoice.kind.value,
            status=invoice.status.value,
            currency=invoice.currency,
            amount_total=invoice.amount_total.to_wire(),
            amount_paid=invoice.amount_paid.to_wire(),
            amount_due=invoice.amount_due.to_wire(),
            disputed_amount=invoice.disputed_amount.to_wire() if invoice.disputed_amount else None,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            next_action_at=invoice.next_action_at,
            policy_id=invoice.policy_id,
            policy_version=invoice.policy_version,
            steps_done=list(invoice.steps_done),
            paused=invoice.paused,
            paused_until=invoice.paused_until,
            promise_date=invoice.promise_date,
            purchase_order=invoice.purchase_order,
            payment_reference=invoice.payment_reference,
            source_key=invoice.source_key,
            version=invoice.version,
        )


class InvoicePage(BaseModel):
    items: list[InvoiceOut]
    next: str | None = Field(description="Cursor for the next page, null on the last one")


class TimelineEventOut(BaseModel):
    event_id: str
    invoice_id: str | None
    customer_id: str
    type: str
    at: datetime
    actor: str
    details: dict[str, str]

    @classmethod
    def of(cls, event: TimelineEvent) -> TimelineEventOut:
        return cls(
            event_id=event.event_id,
            invoice_id=event.invoice_id,
            customer_id=event.customer_id,
            type=event.type.value,
            at=event.at,
            actor=event.actor,
            details=dict(event.details),
        )


class TimelinePage(BaseModel):
    items: list[TimelineEventOut]
    next: str | None


class ImportOut(BaseModel):
    key: str
    etag: str
    format: str
    status: str
    accepted: int
    rejected: int
    created: int
    updated: int
    unchanged: int
    error_report_key: str | None
    received_at: datetime
    message: str | None

    @classmethod
    def of(cls, record: ImportRecord) -> ImportOut:
        return cls(
            key=record.key,
            etag=record.etag,
            format=record.format,
            status=record.status,
            accepted=record.accepted,
            rejected=record.rejected,
            created=record.created,
            updated=record.updated,
            unchanged=record.unchanged,
            error_report_key=record.error_report_key,
            received_at=record.received_at,
            message=record.message,
        )


class ImportPage(BaseModel):
    items: list[ImportOut]
    next: str | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    label: str = Field(min_length=1, max_length=100)
    expires_at: datetime | None = Field(
        default=None, description="Omit for a token that never expires"
    )


class TokenOut(BaseModel):
    token_id: str
    role: Role
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            token_id=token.token_id,
            role=token.role,
            label=token.label,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked=token.revoked,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer secret. Shown once; store it now.")


class TokenList(BaseModel):
    items: list[TokenOut]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: datetime = Field(description="Run the cycle as of this instant (ISO 8601 with zone)")


class RunCreated(BaseModel):
    run_id: str
    examined: int = Field(description="Due invoices the planner found")
    enqueued: int = Field(description="Customer batches sent to the workers")


class RunOut(BaseModel):
    run_id: str
    as_of: datetime
    started_at: datetime
    trigger: str
    examined: int
    enqueued: int
    batches_done: int
    complete: bool = Field(description="Every enqueued batch has reported")
    reminders_sent: int
    sent: dict[str, int] = Field(description="Messages sent by `step:channel`")
    skipped: dict[str, int] = Field(description="Invoices not acted on, by reason")
    deferred: dict[str, int] = Field(description="Steps deferred, by reason")
    failed: dict[str, int] = Field(description="Failures, by `step:channel` or cause")
    tasks: dict[str, int]
    approvals: dict[str, int]

    @classmethod
    def of(cls, report: RunReport) -> RunOut:
        groups: dict[str, dict[str, int]] = {
            "sent": {},
            "skipped": {},
            "deferred": {},
            "failed": {},
            "task": {},
            "approval": {},
        }
        for name, value in report.counts:
            prefix, _, rest = name.partition(":")
            if prefix in groups and rest:
                groups[prefix][rest] = value
        return cls(
            run_id=report.run_id,
            as_of=report.as_of,
            started_at=report.started_at,
            trigger=report.trigger,
            examined=report.examined,
            enqueued=report.enqueued,
            batches_done=report.batches_done,
            complete=report.batches_done >= report.enqueued,
            reminders_sent=report.count("reminders_sent"),
            sent=groups["sent"],
            skipped=groups["skipped"],
            deferred=groups["deferred"],
            failed=groups["failed"],
            tasks=groups["task"],
            approvals=groups["approval"],
        )


class ApprovalOut(BaseModel):
    approval_id: str
    status: str
    customer_id: str
    invoice_ids: list[str]
    step_id: str
    channels: list[str]
    tone: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    comment: str | None

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        return cls(
            approval_id=approval.approval_id,
            status=approval.status.value,
            customer_id=approval.customer_id,
            invoice_ids=list(approval.invoice_ids),
            step_id=approval.step_id,
            channels=list(approval.channels),
            tone=approval.tone,
            created_at=approval.created_at,
            decided_at=approval.decided_at,
            decided_by=approval.decided_by,
            comment=approval.comment,
        )


class ApprovalPage(BaseModel):
    items: list[ApprovalOut]
    next: str | None


class ApprovalDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)
    subject: str | None = Field(
        default=None, max_length=300, description="Replaces the rendered subject (approve only)"
    )
    text: str | None = Field(
        default=None, max_length=20000, description="Replaces the rendered body (approve only)"
    )


class TaskOut(BaseModel):
    task_id: str
    kind: str
    status: str
    customer_id: str
    invoice_ids: list[str]
    step_id: str | None
    note: str
    created_at: datetime
    due_date: date
    assignee: str | None
    outcome: str | None
    comment: str | None
    completed_at: datetime | None
    completed_by: str | None

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls(
            task_id=task.task_id,
            kind=task.kind,
            status=task.status.value,
            customer_id=task.customer_id,
            invoice_ids=list(task.invoice_ids),
            step_id=task.step_id,
            note=task.note,
            created_at=task.created_at,
            due_date=task.due_date,
            assignee=task.assignee,
            outcome=task.outcome.value if task.outcome else None,
            comment=task.comment,
            completed_at=task.completed_at,
            completed_by=task.completed_by,
        )


class TaskPage(BaseModel):
    items: list[TaskOut]
    next: str | None


class OutboxEntryOut(BaseModel):
    channel: str
    message_ref: str
    to: str
    subject: str | None
    text: str
    invoice_ids: list[str]
    step_id: str | None
    sent_at: datetime | None
    attachments: list[str]


class OutboxPage(BaseModel):
    items: list[OutboxEntryOut]


class TemplatePreview(BaseModel):
    subject: str
    html: str
    text: str
    sms: str | None = None
