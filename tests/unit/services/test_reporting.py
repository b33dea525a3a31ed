"""ReportService on the worked-example portfolio, read back from invoices and timeline events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import DocumentKind, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.services.reporting import ReportService, kpi_csv_rows, month_window
from tests.report_portfolio import portfolio

AS_OF = date(2026, 3, 15)


class FakePortfolio:
    def __init__(self, extra: list[Invoice] | None = None) -> None:
        customers, invoices, events = portfolio()
        self.names = {c.customer_id: c.name for c in customers}
        self.items = invoices + (extra or [])
        self.history = events

    def invoices(self) -> Iterator[Invoice]:
        return iter(self.items)

    def customer_names(self) -> dict[str, str]:
        return dict(self.names)

    def events(self, types: frozenset[EventType]) -> Iterator[TimelineEvent]:
        return (e for e in self.history if e.type in types)


@pytest.fixture
def reports() -> ReportService:
    return ReportService(FakePortfolio())


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


def test_aging_matches_the_hand_computed_example(reports):
    result = reports.aging(AS_OF, "EUR")

    report = result.report
    assert [(c.customer_id, c.amounts.total) for c in report.customers] == [
        ("C1", eur("1700.00")),
        ("C3", eur("1000.00")),
        ("C2", eur("950.00")),
    ]
    assert report.total.total == eur("3650.00")
    assert (report.excluded_other_currency, report.excluded_cancelled_or_written_off) == (1, 2)
    assert result.skipped_invoices == 0


def test_kpis_match_the_hand_computed_example(reports):
    kpis = reports.kpis(AS_OF, "EUR").report

    assert kpis.dso.dso == Decimal("57.80")
    assert kpis.days_delinquent.average_days_delinquent == Decimal("37.77")
    assert kpis.days_delinquent.average_days_late_paid == Decimal("13.44")
    recovery = {s.step_id: (s.reached, s.recovered, s.recovery_rate) for s in kpis.recovery.steps}
    assert recovery == {
        "pre_due": (1, 1, Decimal("100.00")),
        "reminder_1": (8, 2, Decimal("25.00")),
        "reminder_2": (4, 1, Decimal("25.00")),
        "formal_notice": (2, 0, Decimal("0.00")),
    }
    assert [s.step_id for s in kpis.recovery.steps] == [
        "pre_due",
        "reminder_1",
        "reminder_2",
        "formal_notice",
    ]


def test_cei_promises_and_disputes_over_their_periods(reports):
    cei = reports.cei(AS_OF, "EUR", date(2026, 2, 1), date(2026, 2, 28)).report
    promises = reports.promises(date(2026, 3, 31), "EUR", date(2026, 1, 1), date(2026, 3, 31))
    disputes = reports.disputes(date(2026, 3, 31), "EUR", date(2026, 1, 1), date(2026, 3, 31))

    assert cei.cei == Decimal("33.90")
    assert (promises.report.kept, promises.report.broken, promises.report.pending) == (2, 2, 1)
    assert promises.report.kept_rate == Decimal("50.00")
    assert disputes.report.dispute_rate == Decimal("28.57")
    every_currency = reports.disputes(date(2026, 3, 31), None, date(2026, 1, 1), date(2026, 3, 31))
    assert every_currency.report.dispute_rate == Decimal("25.00")


def test_a_promise_not_yet_paid_on_the_report_date_is_pending(reports):
    early = reports.promises(AS_OF, "EUR", date(2026, 1, 1), date(2026, 3, 31)).report

    assert (early.kept, early.broken, early.pending) == (1, 2, 2)


def test_credit_notes_are_not_rows_and_broken_invoices_are_counted_not_fatal():
    _, invoices, _ = portfolio()
    credit_note = replace(invoices[0], invoice_id="CN1", kind=DocumentKind.CREDIT_NOTE)
    broken = replace(invoices[0], invoice_id="BAD", due_date=date(2020, 1, 1))
    reports = ReportService(FakePortfolio([credit_note, broken]))

    result = reports.aging(AS_OF, "EUR")

    assert result.report.total.total == eur("3650.00")
    assert result.skipped_invoices == 1


def test_default_period_is_the_month_window_ending_on_the_report_date():
    assert month_window(AS_OF, 3).start == date(2026, 1, 1)
    assert month_window(date(2026, 1, 31), 2).start == date(2025, 12, 1)
    assert month_window(AS_OF, 1).start == date(2026, 3, 1)
    with pytest.raises(ValidationError) as error:
        month_window(AS_OF, 0)
    assert error.value.field == "period_months"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: r.aging(AS_OF, "euro"), "currency"),
        (lambda r: r.dso(AS_OF, "EUR", 121), "period_months"),
        (lambda r: r.cei(AS_OF, "EUR", date(2026, 3, 1), date(2026, 2, 1)), "period_start"),
        (lambda r: r.recovery(AS_OF, "eu"), "currency"),
    ],
)
def test_bad_report_parameters_name_the_field(reports, call, field):
    with pytest.raises(ValidationError) as error:
        call(reports)
    assert error.value.field == field


def test_kpi_csv_lists_the_headline_figures(reports):
    rows = kpi_csv_rows(reports.kpis(AS_OF, "EUR").report)

    values = dict(rows[1:])
    assert rows[0] == ["metric", "value"]
    assert values["dso_countback"] == "57.80"
    assert values["receivables"] == "3650.00"
    assert values["recovery_rate_percent:reminder_1"] == "25.00"
    assert values["median_days_to_payment:formal_notice"] == ""
