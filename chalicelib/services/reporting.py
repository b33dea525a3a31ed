"""Service: collection reports as of any date, from the stored invoices and their timelines.

Each request reads the portfolio once (every invoice, the customers' names and the history
events the snapshots need), turns it into `ReportInvoice` snapshots as known on `as_of`
(`domain.report_snapshots`), and hands them to the pure report functions of
`domain.reports`. Formulas and conventions: docs/reports.md.

Reading everything is the price of "as of any date": the reports are computed, not kept. It
is one scan per table per request, fine for tens of thousands of invoices; beyond that the
snapshots would be kept up to date by the writers instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.records import TimelineEvent
from chalicelib.domain.report_snapshots import SNAPSHOT_EVENTS, report_snapshot
from chalicelib.domain.reports import (
    AgingReport,
    CeiReport,
    DaysDelinquentReport,
    DisputeReport,
    DsoReport,
    PromiseReport,
    RecoveryReport,
    ReportInvoice,
    aging,
    average_days_delinquent,
    cei,
    dispute_rate,
    dso_countback,
    promise_kept_rate,
    recovery_by_step,
)
from chalicelib.services.ports import Portfolio

R = TypeVar("R")
DEFAULT_PERIOD_MONTHS = 3
MAX_PERIOD_MONTHS = 120


@dataclass(frozen=True, slots=True)
class Snapshots:
    """The portfolio as known on a date, and the invoices that could not be reported."""

    as_of: date
    invoices: tuple[ReportInvoice, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reported(Generic[R]):
    """A report and how many stored invoices it had to leave out as unreportable."""

    report: R
    skipped_invoices: int


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period, both days included."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Kpis:
    """Every collection indicator as of one date, over one period."""

    as_of: date
    currency: str
    period: Period
    dso: DsoReport
    days_delinquent: DaysDelinquentReport
    cei: CeiReport
    recovery: RecoveryReport
    promises: PromiseReport
    disputes: DisputeReport


def month_window(as_of: date, period_months: int) -> Period:
    """Business rule: the window of `period_months` calendar months ending on `as_of`.

    It starts on the 1st of the month `period_months - 1` months before `as_of`'s month, the
    same window as the countback DSO and the average days delinquent.

    Raises:
        ValidationError: `period_months` outside 1..120.
    """
    if not 1 <= period_months <= MAX_PERIOD_MONTHS:
        raise ValidationError(
            f"period_months must be between 1 and {MAX_PERIOD_MONTHS}", "period_months"
        )
    index = as_of.year * 12 + as_of.month - 1 - (period_months - 1)
    return Period(date(index // 12, index % 12 + 1, 1), as_of)


def _period(as_of: date, start: date | None, end: date | None, months: int) -> Period:
    default = month_window(as_of, months)
    period = Period(start or default.start, end or default.end)
    if period.start > period.end:
        raise ValidationError("period_start is after period_end", "period_start")
    return period


class ReportService:
    """Aging, DSO, CEI, days delinquent, recovery, promises and disputes as of a date."""

    def __init__(self, portfolio: Portfolio) -> None:
        self._portfolio = portfolio

    def snapshots(self, as_of: date) -> Snapshots:
        """Every invoice as the reports see it on `as_of` (credit notes live on their invoices)."""
        names = self._portfolio.customer_names()
        events: dict[str | None, list[TimelineEvent]] = defaultdict(list)
        for event in self._portfolio.events(SNAPSHOT_EVENTS):
            events[event.invoice_id].append(event)
        kept: list[ReportInvoice] = []
        skipped: list[str] = []
        for invoice in self._portfolio.invoices():
            if invoice.kind == DocumentKind.CREDIT_NOTE:
                continue
            name = names.get(invoice.customer_id, invoice.customer_id)
            try:
                kept.append(
                    report_snapshot(invoice, name, events.get(invoice.invoice_id, []), as_of)
                )
            except ValidationError:
                skipped.append(invoice.invoice_id)
        kept.sort(key=lambda s: s.invoice_id)
        return Snapshots(as_of, tuple(kept), tuple(sorted(skipped)))

    def aging(self, as_of: date, currency: str) -> Reported[AgingReport]:
        """Aged receivables by customer and in total.

        Raises:
            ValidationError: `currency` is not an ISO 4217 code.
        """
        s = self.snapshots(as_of)
        return Reported(aging(s.invoices, as_of, currency), len(s.skipped))

    def dso(self, as_of: date, currency: str, period_months: int) -> Reported[DsoReport]:
        """Days sales outstanding, countback method.

        Raises:
            ValidationError: bad currency or period_months.
        """
        s = self.snapshots(as_of)
        return Reported(dso_countback(s.invoices, as_of, currency, period_months), len(s.skipped))

    def days_delinquent(
        self, as_of: date, currency: str, period_months: int
    ) -> Reported[DaysDelinquentReport]:
        """Average days delinquent and days late of paid invoices.

        Raises:
            ValidationError: bad currency or period_months.
        """
        s = self.snapshots(as_of)
        report = average_days_delinquent(s.invoices, as_of, currency, period_months)
        return Reported(report, len(s.skipped))

    def cei(
        self,
        as_of: date,
        currency: str,
        period_start: date | None = None,
        period_end: date | None = None,
        period_months: int = DEFAULT_PERIOD_MONTHS,
    ) -> Reported[CeiReport]:
        """Collection effectiveness over a period (default: the month window ending on as_of).

        Raises:
            ValidationError: bad currency, period or period_months.
        """
        period = _period(as_of, period_start, period_end, period_months)
        s = self.snapshots(as_of)
        return Reported(cei(s.invoices, period.start, period.end, currency), len(s.skipped))

    def recovery(self, as_of: date, currency: str | None) -> Reported[RecoveryReport]:
        """Recovery rate and median days to pay after each policy step.

        Raises:
            ValidationError: a bad currency.
        """
        s = self.snapshots(as_of)
        return Reported(recovery_by_step(s.invoices, as_of, currency), len(s.skipped))

    def promises(
        self,
        as_of: date,
        currency: str | None,
        period_start: date | None = None,
        period_end: date | None = None,
        period_months: int = DEFAULT_PERIOD_MONTHS,
    ) -> Reported[PromiseReport]:
        """Promises falling due in the period, kept or broken as known on `as_of`.

        Raises:
            ValidationError: bad currency, period or period_months.
        """
        period = _period(as_of, period_start, period_end, period_months)
        s = self.snapshots(as_of)
        report = promise_kept_rate(s.invoices, period.start, period.end, currency)
        return Reported(report, len(s.skipped))

    def disputes(
        self,
        as_of: date,
        currency: str | None,
        period_start: date | None = None,
        period_end: date | None = None,
        period_months: int = DEFAULT_PERIOD_MONTHS,
    ) -> Reported[DisputeReport]:
        """Share of the period's invoices disputed by its end.

        Raises:
            ValidationError: bad currency, period or period_months.
        """
        period = _period(as_of, period_start, period_end, period_months)
        s = self.snapshots(as_of)
        report = dispute_rate(s.invoices, period.start, period.end, currency)
        return Reported(report, len(s.skipped))

    def kpis(
        self,
        as_of: date,
        currency: str,
        *,
        period_months: int = DEFAULT_PERIOD_MONTHS,
        period_start: date | None = None,
        period_end: date | None = None,
    ) -> Reported[Kpis]:
        """Every indicator at once, from one read of the portfolio.

        DSO and days delinquent use the `period_months` window ending on `as_of`; CEI,
        promises and disputes use `period_start`..`period_end` (default: that same window).
        Recovery counts every step sent by `as_of`. All use `currency`.

        Raises:
            ValidationError: bad currency, period or period_months.
        """
        period = _period(as_of, period_start, period_end, period_months)
        s = self.snapshots(as_of)
        items = s.invoices
        kpis = Kpis(
            as_of=as_of,
            currency=currency,
            period=period,
            dso=dso_countback(items, as_of, currency, period_months),
            days_delinquent=average_days_delinquent(items, as_of, currency, period_months),
            cei=cei(items, period.start, period.end, currency),
            recovery=recovery_by_step(items, as_of, currency),
            promises=promise_kept_rate(items, period.start, period.end, currency),
            disputes=dispute_rate(items, period.start, period.end, currency),
        )
        return Reported(kpis, len(s.skipped))


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def kpi_csv_rows(kpis: Kpis) -> list[list[str]]:
    """The headline indicators as `metric,value` rows (each report has its own full export)."""
    rows: list[list[str]] = [["metric", "value"]]
    pairs: list[tuple[str, object]] = [
        ("as_of", kpis.as_of.isoformat()),
        ("currency", kpis.currency),
        ("period_start", kpis.period.start.isoformat()),
        ("period_end", kpis.period.end.isoformat()),
        ("receivables", kpis.dso.receivables.to_wire()),
        ("dso_countback", kpis.dso.dso),
        ("dso_is_lower_bound", str(kpis.dso.is_lower_bound).lower()),
        ("dso_standard", kpis.days_delinquent.dso),
        ("best_possible_dso", kpis.days_delinquent.best_possible_dso),
        ("average_days_delinquent", kpis.days_delinquent.average_days_delinquent),
        ("average_days_late_paid", kpis.days_delinquent.average_days_late_paid),
        ("cei_percent", kpis.cei.cei),
        ("promise_kept_rate_percent", kpis.promises.kept_rate),
        ("dispute_rate_percent", kpis.disputes.dispute_rate),
    ]
    for step in kpis.recovery.steps:
        pairs.append((f"recovery_rate_percent:{step.step_id}", step.recovery_rate))
        pairs.append((f"median_days_to_payment:{step.step_id}", step.median_days_to_payment))
    rows += [[name, _fmt(value)] for name, value in pairs]
    return rows
