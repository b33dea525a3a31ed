"""Schemas: bodies of the collections, customers, reports, GDPR and audit routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.collections import DisputeOutcome, DisputeReason
from chalicelib.domain.invoices import Customer, Invoice, RiskClass
from chalicelib.domain.records import TimelineEvent
from chalicelib.domain.reports import (
    AgingAmounts,
    AgingReport,
    CeiReport,
    DaysDelinquentReport,
    DisputeReport,
    DsoReport,
    PromiseReport,
    RecoveryReport,
)
from chalicelib.domain.work import Approval, Task
from chalicelib.schemas.admin import ApprovalOut, InvoiceOut, TaskOut, TimelineEventOut

AMOUNT_PATTERN = r"^\d{1,13}(\.\d{1,3})?$"
Amount = Annotated[
    str, Field(pattern=AMOUNT_PATTERN, description='Decimal string in major units, e.g. "120.50"')
]
Comment = Annotated[str, Field(max_length=2000)]
Version = Annotated[
    int,
    Field(ge=0, description="The version you read; the change is refused (409) if it moved on"),
]


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# -- collector actions ---------------------------------------------------------------------------


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime | None = Field(
        default=None, description="Resume by itself at this instant; omit to pause until resumed"
    )
    comment: Comment | None = None
    version: Version | None = None


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment | None = None
    version: Version | None = None


class DisputeDetailsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: DisputeReason
    amount: Amount | None = Field(
        default=None, description="The disputed part; omit to dispute everything still due"
    )
    comment: Comment | None = None


class DisputeIn(DisputeDetailsIn):
    version: Version | None = None


class DisputeCommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=2000)


class DisputeResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: DisputeOutcome
    credit_amount: Amount | None = Field(
        default=None, description="Accepted only: the credit note (default: the disputed amount)"
    )
    credit_note_number: str | None = Field(default=None, min_length=1, max_length=100)
    comment: Comment | None = None
    version: Version | None = None


class PromiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    promise_date: date = Field(description="Promised payment date, at most the policy's limit")
    comment: Comment | None = None
    version: Version | None = None


class CustomerActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment | None = None
    version: Version | None = None


# -- customers -----------------------------------------------------------------------------------


class CustomerOut(BaseModel):
    customer_id: str
    seller_id: str
    name: str
    email: str | None
    phone: str | None
    country: str | None
    locale: str
    timezone: str
    segment: str
    risk_override: str | None
    policy_id: str | None
    vat_id: str | None
    legal_id: str | None
    endpoint_id: str | None
    email_status: str
    sms_status: str
    edited_fields: list[str] = Field(description="Fields a person set; files do not undo them")
    paused: bool
    erased: bool
    version: int

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            customer_id=customer.customer_id,
            seller_id=customer.seller_id,
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            country=customer.country,
            locale=customer.locale,
            timezone=customer.timezone,
            segment=customer.segment,
            risk_override=customer.risk_override.value if customer.risk_override else None,
            policy_id=customer.policy_id,
            vat_id=customer.vat_id,
            legal_id=customer.legal_id,
            endpoint_id=customer.endpoint_id,
            email_status=customer.email_status.value,
            sms_status=customer.sms_status.value,
            edited_fields=sorted(customer.edited_fields),
            paused=customer.paused,
            erased=customer.erased,
            version=customer.version,
        )


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next: str | None


class CustomerPatch(BaseModel):
    """Only the fields sent change; null clears email, phone, country and risk_override."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20, description="E.164, e.g. +33612345678")
    country: str | None = Field(default=None, min_length=2, max_length=2)
    locale: str | None = Field(default=None, max_length=10, description="fr, en, ...")
    timezone: str | None = Field(default=None, max_length=64, description="IANA, Europe/Paris")
    segment: str | None = Field(default=None, max_length=40)
    risk_override: RiskClass | None = None
    policy_id: str | None = Field(
        default=None,
        max_length=64,
        description="Chase this customer with that policy (null: rules)",
    )
    version: Version | None = None

    def changes(self) -> dict[str, str | None]:
        sent = self.model_fields_set - {"version"}
        values: dict[str, str | None] = {}
        for name in sorted(sent):
            value = getattr(self, name)
            values[name] = value.value if isinstance(value, RiskClass) else value
        return values


# -- reports -------------------------------------------------------------------------------------


class AgingAmountsOut(BaseModel):
    not_due: str
    days_1_30: str
    days_31_60: str
    days_61_90: str
    over_90: str
    total: str

    @classmethod
    def of(cls, amounts: AgingAmounts) -> AgingAmountsOut:
        return cls(
            not_due=amounts.not_due.to_wire(),
            days_1_30=amounts.days_1_30.to_wire(),
            days_31_60=amounts.days_31_60.to_wire(),
            days_61_90=amounts.days_61_90.to_wire(),
            over_90=amounts.over_90.to_wire(),
            total=amounts.total.to_wire(),
        )


class AgingLineOut(BaseModel):
    customer_id: str
    customer_name: str
    invoices: int
    amounts: AgingAmountsOut


class AgingOut(BaseModel):
    as_of: date
    currency: str
    customers: list[AgingLineOut]
    total: AgingAmountsOut
    invoices: int
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int
    skipped_invoices: int = Field(description="Stored invoices too inconsistent to report")

    @classmethod
    def of(cls, report: AgingReport, skipped: int) -> AgingOut:
        return cls(
            as_of=report.as_of,
            currency=report.currency,
            customers=[
                AgingLineOut(
                    customer_id=c.customer_id,
                    customer_name=c.customer_name,
                    invoices=c.invoice_count,
                    amounts=AgingAmountsOut.of(c.amounts),
                )
                for c in report.customers
            ],
            total=AgingAmountsOut.of(report.total),
            invoices=report.invoice_count,
            excluded_other_currency=report.excluded_other_currency,
            excluded_cancelled_or_written_off=report.excluded_cancelled_or_written_off,
            skipped_invoices=skipped,
        )


class DsoMonthOut(BaseModel):
    month_start: date
    month_end: date
    days: int
    credit_sales: str
    receivables_to_cover: str
    days_counted: str
    receivables_left: str


class DsoOut(BaseModel):
    as_of: date
    currency: str
    period_months: int
    receivables: str
    credit_sales: str
    dso: str | None = Field(description="Days, 2 decimals; null when there is nothing to measure")
    is_lower_bound: bool
    months: list[DsoMonthOut]
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int

    @classmethod
    def of(cls, report: DsoReport) -> DsoOut:
        return cls(
            as_of=report.as_of,
            currency=report.currency,
            period_months=report.period_months,
            receivables=report.receivables.to_wire(),
            credit_sales=report.credit_sales.to_wire(),
            dso=_dec(report.dso),
            is_lower_bound=report.is_lower_bound,
            months=[
                DsoMonthOut(
                    month_start=m.start,
                    month_end=m.end,
                    days=m.days,
                    credit_sales=m.credit_sales.to_wire(),
                    receivables_to_cover=m.receivables_to_cover.to_wire(),
                    days_counted=f"{m.days_counted:.2f}",
                    receivables_left=m.receivables_left.to_wire(),
                )
                for m in report.months
            ],
            excluded_other_currency=report.excluded_other_currency,
            excluded_cancelled_or_written_off=report.excluded_cancelled_or_written_off,
        )


class CeiOut(BaseModel):
    period_start: date
    period_end: date
    currency: str
    beginning_receivables: str
    credit_sales: str
    ending_receivables: str
    ending_current_receivables: str
    cei: str | None = Field(description="Percent, 2 decimals")
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int

    @classmethod
    def of(cls, report: CeiReport) -> CeiOut:
        return cls(
            period_start=report.period_start,
            period_end=report.period_end,
            currency=report.currency,
            beginning_receivables=report.beginning_receivables.to_wire(),
            credit_sales=report.credit_sales.to_wire(),
            ending_receivables=report.ending_receivables.to_wire(),
            ending_current_receivables=report.ending_current_receivables.to_wire(),
            cei=_dec(report.cei),
            excluded_other_currency=report.excluded_other_currency,
            excluded_cancelled_or_written_off=report.excluded_cancelled_or_written_off,
        )


class DaysDelinquentOut(BaseModel):
    as_of: date
    currency: str
    period_start: date
    days_in_period: int
    credit_sales: str
    receivables: str
    current_receivables: str
    dso: str | None = Field(description="Standard method: receivables / sales x days")
    best_possible_dso: str | None
    average_days_delinquent: str | None
    paid_invoice_count: int
    average_days_late_paid: str | None
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int

    @classmethod
    def of(cls, report: DaysDelinquentReport) -> DaysDelinquentOut:
        return cls(
            as_of=report.as_of,
            currency=report.currency,
            period_start=report.period_start,
            days_in_period=report.days_in_period,
            credit_sales=report.credit_sales.to_wire(),
            receivables=report.receivables.to_wire(),
            current_receivables=report.current_receivables.to_wire(),
            dso=_dec(report.dso),
            best_possible_dso=_dec(report.best_possible_dso),
            average_days_delinquent=_dec(report.average_days_delinquent),
            paid_invoice_count=report.paid_invoice_count,
            average_days_late_paid=_dec(report.average_days_late_paid),
            excluded_other_currency=report.excluded_other_currency,
            excluded_cancelled_or_written_off=report.excluded_cancelled_or_written_off,
        )


class StepRecoveryOut(BaseModel):
    step_id: str
    reached: int
    recovered: int
    recovery_rate: str | None = Field(description="Percent, 2 decimals")
    median_days_to_payment: str | None


class RecoveryOut(BaseModel):
    as_of: date
    currency: str | None = Field(description="null: every currency")
    steps: list[StepRecoveryOut]
    excluded_other_currency: int
    excluded_cancelled: int

    @classmethod
    def of(cls, report: RecoveryReport) -> RecoveryOut:
        return cls(
            as_of=report.as_of,
            currency=report.currency,
            steps=[
                StepRecoveryOut(
                    step_id=s.step_id,
                    reached=s.reached,
                    recovered=s.recovered,
                    recovery_rate=_dec(s.recovery_rate),
                    median_days_to_payment=_dec(s.median_days_to_payment),
                )
                for s in report.steps
            ],
            excluded_other_currency=report.excluded_other_currency,
            excluded_cancelled=report.excluded_cancelled,
        )


class PromisesOut(BaseModel):
    period_start: date
    period_end: date
    currency: str | None
    promises_due: int
    kept: int
    broken: int
    pending: int
    kept_rate: str | None = Field(description="Percent of decided promises, 2 decimals")
    excluded_other_currency: int
    excluded_cancelled: int

    @classmethod
    def of(cls, report: PromiseReport) -> PromisesOut:
        return cls(
            period_start=report.period_start,
            period_end=report.period_end,
            currency=report.currency,
            promises_due=report.promises_due,
            kept=report.kept,
            broken=report.broken,
            pending=report.pending,
            kept_rate=_dec(report.kept_rate),
            excluded_other_currency=report.excluded_other_currency,
            excluded_cancelled=report.excluded_cancelled,
        )


class DisputesOut(BaseModel):
    period_start: date
    period_end: date
    currency: str | None
    issued: int
    disputed: int
    dispute_rate: str | None = Field(description="Percent, 2 decimals")
    excluded_other_currency: int

    @classmethod
    def of(cls, report: DisputeReport) -> DisputesOut:
        return cls(
            period_start=report.period_start,
            period_end=report.period_end,
            currency=report.currency,
            issued=report.issued,
            disputed=report.disputed,
            dispute_rate=_dec(report.dispute_rate),
            excluded_other_currency=report.excluded_other_currency,
        )


class KpisOut(BaseModel):
    as_of: date
    currency: str
    period_start: date
    period_end: date
    dso: DsoOut
    days_delinquent: DaysDelinquentOut
    cei: CeiOut
    recovery: RecoveryOut
    promises: PromisesOut
    disputes: DisputesOut
    skipped_invoices: int


# -- GDPR and audit ------------------------------------------------------------------------------


class ArchivedMessageOut(BaseModel):
    message_ref: str
    invoice_ids: list[str]
    channel: str
    step_id: str
    to: str
    subject: str | None
    text: str
    sent_at: datetime
    expires_at: datetime


class ExportedInvoiceOut(InvoiceOut):
    credited: str | None
    paid_at: datetime | None
    extra: dict[str, str]

    @classmethod
    def of_invoice(cls, invoice: Invoice) -> ExportedInvoiceOut:
        return cls(
            **InvoiceOut.of(invoice).model_dump(),
            credited=invoice.credited.to_wire() if invoice.credited else None,
            paid_at=invoice.paid_at,
            extra=dict(invoice.extra),
        )


class CustomerExportOut(BaseModel):
    exported_at: datetime
    customer: CustomerOut
    invoices: list[ExportedInvoiceOut]
    events: list[TimelineEventOut] = Field(description="Every timeline event, newest first")
    payments: list[TimelineEventOut]
    messages: list[ArchivedMessageOut] = Field(description="Contents kept for the retention period")
    tasks: list[TaskOut]
    approvals: list[ApprovalOut]

    @staticmethod
    def events_of(events: tuple[TimelineEvent, ...]) -> list[TimelineEventOut]:
        return [TimelineEventOut.of(e) for e in events]

    @staticmethod
    def work_of(
        tasks: tuple[Task, ...], approvals: tuple[Approval, ...]
    ) -> tuple[list[TaskOut], list[ApprovalOut]]:
        return [TaskOut.of(t) for t in tasks], [ApprovalOut.of(a) for a in approvals]


class ErasureOut(BaseModel):
    customer_id: str
    pseudonym: str
    erased_at: datetime
    invoices_kept: int = Field(description="Invoices kept as accounting records, pseudonymised")
    events_scrubbed: int
    messages_deleted: int
    tasks_scrubbed: int
    approvals_scrubbed: int
    documents_deleted: list[str]
    documents_redacted: list[str]


class AuditEntryOut(BaseModel):
    entry_id: str
    at: datetime
    actor_id: str
    actor_label: str
    actor_role: str
    action: str
    summary: str
    target: dict[str, str]
    fields: list[str]
    status: int

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            entry_id=entry.entry_id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_label=entry.actor_label,
            actor_role=entry.actor_role,
            action=entry.action,
            summary=entry.summary,
            target=dict(entry.target),
            fields=list(entry.fields),
            status=entry.status,
        )


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next: str | None
