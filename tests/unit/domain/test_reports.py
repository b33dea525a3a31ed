"""Collection reports against a fixed, hand-computed portfolio, edge cases and properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, getcontext, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.reports import (
    AgingBucket,
    AgingReport,
    PromiseRecord,
    ReportInvoice,
    aging,
    aging_bucket,
    average_days_delinquent,
    cei,
    dispute_rate,
    dso_countback,
    promise_kept_rate,
    recovery_by_step,
    to_csv_rows,
)


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def an_invoice(
    invoice_id: str,
    *,
    issued: str,
    due: str,
    total: str,
    customer: tuple[str, str] = ("C1", "Atelier Dupont"),
    currency: str = "EUR",
    credited: str = "0",
    paid: tuple[tuple[str, str], ...] = (),
    status: InvoiceStatus = InvoiceStatus.OPEN,
    disputed: bool = False,
    dispute_opened_on: str | None = None,
    promises: tuple[tuple[str, str, bool | None], ...] = (),
    steps: tuple[tuple[str, str], ...] = (),
) -> ReportInvoice:
    return ReportInvoice(
        invoice_id=invoice_id,
        customer_id=customer[0],
        customer_name=customer[1],
        currency=currency,
        issue_date=d(issued),
        due_date=d(due),
        amount_total=Money.parse(total, currency),
        paid_events=tuple((d(on), Money.parse(amount, currency)) for on, amount in paid),
        credited=Money.parse(credited, currency),
        status=status,
        disputed=disputed,
        dispute_opened_on=d(dispute_opened_on) if dispute_opened_on else None,
        promises=tuple(PromiseRecord(d(made), d(by), kept) for made, by, kept in promises),
        steps_sent=tuple((step, d(on)) for step, on in steps),
    )


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


C1 = ("C1", "Atelier Dupont")
C2 = ("C2", "Boulangerie Martin")
C3 = ("C3", "Cafe Lumiere")
C4 = ("C4", "Dockside Ltd")

# The fixed portfolio, reported as of AS_OF = 2026-03-15 (amounts in EUR unless said).
#
# id   cust issued      due         total    credit  paid (date)                 status
# A1   C1   2026-03-10  2026-04-09  1200.00     -    -                           open
# A2   C1   2026-02-01  2026-03-03   800.00     -    300.00 (03-05)              partially paid
# A3   C2   2026-01-05  2026-02-04  2000.00  500.00  1000.00 (02-20)             disputed 02-25
# A4   C2   2025-11-20  2025-12-20   450.00     -    -                           open
# A5   C3   2025-10-01  2025-10-31   300.00     -    -                           disputed 2025-12-10
# A6   C3   2026-02-10  2026-03-12   600.00     -    600.00 (03-10)              paid
# A7   C1   2026-03-20  2026-04-19   999.00     -    -                           issued after as_of
# A8   C4   2026-01-10  2026-02-09  5000.00 USD -    -                           other currency
# A9   C2   2026-02-15  2026-03-17   100.00     -    -                           cancelled+disputed
# A10  C3   2026-01-20  2026-02-19   700.00     -    700.00 (03-20, after as_of) open on as_of
# A11  C2   2025-12-01  2025-12-31  1000.00     -    400.00 (01-10), 600.00 (01-30) paid
# A12  C3   2025-12-15  2026-01-14   250.00   50.00  200.00 (01-25)              paid
# A13  C2   2025-06-01  2025-07-01   380.00     -    -                           written off
PORTFOLIO = (
    an_invoice(
        "A1", customer=C1, issued="2026-03-10", due="2026-04-09", total="1200.00",
        steps=(("pre_due", "2026-04-06"),),
    ),
    an_invoice(
        "A2", customer=C1, issued="2026-02-01", due="2026-03-03", total="800.00",
        paid=(("2026-03-05", "300.00"),), status=InvoiceStatus.PARTIALLY_PAID,
        promises=(("2026-03-06", "2026-03-31", None),),
        steps=(("reminder_1", "2026-03-04"),),
    ),
    an_invoice(
        "A3", customer=C2, issued="2026-01-05", due="2026-02-04", total="2000.00",
        credited="500.00", paid=(("2026-02-20", "1000.00"),), status=InvoiceStatus.DISPUTED,
        disputed=True, dispute_opened_on="2026-02-25",
        promises=(("2026-02-10", "2026-02-20", False),),
        steps=(("reminder_1", "2026-02-05"), ("reminder_2", "2026-02-15")),
    ),
    an_invoice(
        "A4", customer=C2, issued="2025-11-20", due="2025-12-20", total="450.00",
        promises=(("2026-01-25", "2026-02-10", False),),
        steps=(
            ("reminder_1", "2025-12-21"), ("reminder_2", "2025-12-31"),
            ("formal_notice", "2026-01-20"),
        ),
    ),
    an_invoice(
        "A5", customer=C3, issued="2025-10-01", due="2025-10-31", total="300.00",
        status=InvoiceStatus.DISPUTED, disputed=True, dispute_opened_on="2025-12-10",
        steps=(
            ("reminder_1", "2025-11-01"), ("reminder_2", "2025-11-10"),
            ("formal_notice", "2025-12-01"),
        ),
    ),
    an_invoice(
        "A6", customer=C3, issued="2026-02-10", due="2026-03-12", total="600.00",
        paid=(("2026-03-10", "600.00"),), status=InvoiceStatus.PAID,
        steps=(("pre_due", "2026-03-09"),),
    ),
    an_invoice("A7", customer=C1, issued="2026-03-20", due="2026-04-19", total="999.00"),
    an_invoice(
        "A8", customer=C4, currency="USD", issued="2026-01-10", due="2026-02-09",
        total="5000.00", steps=(("reminder_1", "2026-02-10"),),
    ),
    an_invoice(
        "A9", customer=C2, issued="2026-02-15", due="2026-03-17", total="100.00",
        status=InvoiceStatus.CANCELLED, disputed=True, dispute_opened_on="2026-02-20",
    ),
    an_invoice(
        "A10", customer=C3, issued="2026-01-20", due="2026-02-19", total="700.00",
        paid=(("2026-03-20", "700.00"),), status=InvoiceStatus.PAID,
        promises=(("2026-02-25", "2026-03-20", True),),
        steps=(("reminder_1", "2026-02-20"),),
    ),
    an_invoice(
        "A11", customer=C2, issued="2025-12-01", due="2025-12-31", total="1000.00",
        paid=(("2026-01-10", "400.00"), ("2026-01-30", "600.00")), status=InvoiceStatus.PAID,
        promises=(("2026-01-12", "2026-01-30", True),),
        steps=(("reminder_1", "2026-01-01"), ("reminder_2", "2026-01-11")),
    ),
    an_invoice(
        "A12", customer=C3, issued="2025-12-15", due="2026-01-14", total="250.00",
        credited="50.00", paid=(("2026-01-25", "200.00"),), status=InvoiceStatus.PAID,
        steps=(("reminder_1", "2026-01-15"),),
    ),
    an_invoice(
        "A13", customer=C2, issued="2025-06-01", due="2025-07-01", total="380.00",
        status=InvoiceStatus.WRITTEN_OFF, steps=(("reminder_1", "2025-07-02"),),
    ),
)  # fmt: skip

AS_OF = d("2026-03-15")


# ---- aging as of 2026-03-15 -------------------------------------------------------------
# Left out: A7 (issued 03-20, after as_of, not counted), A8 (USD: excluded_other_currency=1),
# A9 cancelled + A13 written off (excluded_cancelled_or_written_off=2).
# invoice  outstanding                          days past due               bucket
# A1       1200.00                              04-09 not reached           not_due
# A2       800.00 - 300.00 = 500.00             03-03 -> 03-15 = 12         1-30
# A3       2000.00 - 500.00 - 1000.00 = 500.00  02-04 -> 03-15 = 24+15 = 39 31-60
# A4       450.00                               12-20 -> 03-15 = 11+31+28+15 = 85   61-90
# A5       300.00                               10-31 -> 03-15 = 30+31+31+28+15 = 135 over_90
# A6       600.00 - 600.00 = 0                  (paid 03-10)                 -
# A10      700.00 (payment of 03-20 is later)   02-19 -> 03-15 = 9+15 = 24  1-30
# A11      1000.00 - 400.00 - 600.00 = 0        -                            -
# A12      250.00 - 50.00 - 200.00 = 0          -                            -
# by customer: C1 = 1200.00 not_due + 500.00 1-30 = 1700.00 (2 invoices)
#              C3 = 700.00 1-30 + 300.00 over_90 = 1000.00 (2 invoices)
#              C2 = 500.00 31-60 + 450.00 61-90 = 950.00 (2 invoices)
# total: not_due 1200.00, 1-30 1200.00, 31-60 500.00, 61-90 450.00, over_90 300.00 = 3650.00


def test_aging_buckets_each_outstanding_amount_by_days_past_due() -> None:
    report = aging(PORTFOLIO, AS_OF, "EUR")

    assert report.total.not_due == eur("1200.00")
    assert report.total.days_1_30 == eur("1200.00")
    assert report.total.days_31_60 == eur("500.00")
    assert report.total.days_61_90 == eur("450.00")
    assert report.total.over_90 == eur("300.00")
    assert report.total.total == eur("3650.00")
    assert report.invoice_count == 6
    assert report.excluded_other_currency == 1
    assert report.excluded_cancelled_or_written_off == 2


def test_aging_lists_customers_largest_balance_first() -> None:
    report = aging(PORTFOLIO, AS_OF, "EUR")

    lines = [
        (
            c.customer_id,
            c.customer_name,
            c.invoice_count,
            [m.to_wire() for _, m in c.amounts.by_bucket()],
        )
        for c in report.customers
    ]
    assert lines == [
        ("C1", "Atelier Dupont", 2, ["1200.00", "500.00", "0.00", "0.00", "0.00"]),
        ("C3", "Cafe Lumiere", 2, ["0.00", "700.00", "0.00", "0.00", "300.00"]),
        ("C2", "Boulangerie Martin", 2, ["0.00", "0.00", "500.00", "450.00", "0.00"]),
    ]


def test_aging_exports_csv_with_a_total_row() -> None:
    rows = to_csv_rows(aging(PORTFOLIO, AS_OF, "EUR"))

    assert [",".join(row) for row in rows] == [
        "customer_id,customer_name,currency,invoices,not_due,1-30,31-60,61-90,over_90,total",
        "C1,Atelier Dupont,EUR,2,1200.00,500.00,0.00,0.00,0.00,1700.00",
        "C3,Cafe Lumiere,EUR,2,0.00,700.00,0.00,0.00,300.00,1000.00",
        "C2,Boulangerie Martin,EUR,2,0.00,0.00,500.00,450.00,0.00,950.00",
        "TOTAL,,EUR,6,1200.00,1200.00,500.00,450.00,300.00,3650.00",
    ]


def test_aging_of_the_other_currency_sees_only_that_currency() -> None:
    report = aging(PORTFOLIO, AS_OF, "USD")

    assert [c.customer_id for c in report.customers] == ["C4"]
    # A8: due 2026-02-09 -> 03-15 = 19 + 15 = 34 days past due.
    assert report.total.days_31_60 == Money.parse("5000.00", "USD")
    assert report.excluded_other_currency == 11


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-30, AgingBucket.NOT_DUE),
        (0, AgingBucket.NOT_DUE),
        (1, AgingBucket.DAYS_1_30),
        (30, AgingBucket.DAYS_1_30),
        (31, AgingBucket.DAYS_31_60),
        (60, AgingBucket.DAYS_31_60),
        (61, AgingBucket.DAYS_61_90),
        (90, AgingBucket.DAYS_61_90),
        (91, AgingBucket.OVER_90),
        (2000, AgingBucket.OVER_90),
    ],
)
def test_aging_bucket_boundaries(days_past_due: int, bucket: AgingBucket) -> None:
    assert aging_bucket(days_past_due) is bucket


def test_invoice_due_on_the_report_date_is_not_yet_due() -> None:
    due_today = an_invoice("X", issued="2026-02-13", due="2026-03-15", total="10.00")

    report = aging([due_today], AS_OF, "EUR")

    assert report.total.not_due == eur("10.00")


# ---- DSO countback as of 2026-03-15, period_months=3 (calendar months) --------------------
# Receivables at as_of = 3650.00 (the aging total).
# Credit sales = net (total - credited) of EUR invoices issued in the month, up to as_of;
# cancelled A9, written-off A13, USD A8 and A7 (issued after as_of) are not sales.
# month              days  credit sales                     to cover  days counted      left
# 2026-03-01..03-15  15    A1 1200.00                       3650.00   15 (covers all)   2450.00
# 2026-02-01..02-28  28    A2 800.00 + A6 600.00 = 1400.00  2450.00   28 (covers all)   1050.00
# 2026-01-01..01-31  31    A3 1500.00 + A10 700.00 = 2200.00 1050.00  31 x 1050/2200
#                                                                     = 14.7954... -> 14.80  0.00
# DSO = 15 + 28 + 14.795454... = 57.795454... -> 57.80; window sales 4800.00


def test_dso_countback_walks_back_calendar_months_until_receivables_are_covered() -> None:
    report = dso_countback(PORTFOLIO, AS_OF, "EUR")

    assert report.receivables == eur("3650.00")
    assert report.credit_sales == eur("4800.00")
    assert report.dso == Decimal("57.80")
    assert report.is_lower_bound is False
    walk = [
        (
            m.start.isoformat(),
            m.end.isoformat(),
            m.days,
            m.credit_sales.to_wire(),
            m.receivables_to_cover.to_wire(),
            m.days_counted,
            m.receivables_left.to_wire(),
        )
        for m in report.months
    ]
    assert walk == [
        ("2026-03-01", "2026-03-15", 15, "1200.00", "3650.00", Decimal("15.00"), "2450.00"),
        ("2026-02-01", "2026-02-28", 28, "1400.00", "2450.00", Decimal("28.00"), "1050.00"),
        ("2026-01-01", "2026-01-31", 31, "2200.00", "1050.00", Decimal("14.80"), "0.00"),
    ]
    assert report.excluded_other_currency == 1
    assert report.excluded_cancelled_or_written_off == 2


def test_dso_is_a_lower_bound_when_the_window_does_not_cover_receivables() -> None:
    # Only March: 3650.00 > 1200.00 of March sales, so all 15 days count and 2450.00 is left.
    report = dso_countback(PORTFOLIO, AS_OF, "EUR", period_months=1)

    assert report.dso == Decimal("15.00")
    assert report.is_lower_bound is True
    assert report.months[-1].receivables_left == eur("2450.00")


def test_dso_exports_the_walk_and_a_total_row() -> None:
    rows = to_csv_rows(dso_countback(PORTFOLIO, AS_OF, "EUR"))

    assert [",".join(row) for row in rows] == [
        "month_start,month_end,days,credit_sales,receivables_to_cover,days_counted,"
        "receivables_left,currency",
        "2026-03-01,2026-03-15,15,1200.00,3650.00,15.00,2450.00,EUR",
        "2026-02-01,2026-02-28,28,1400.00,2450.00,28.00,1050.00,EUR",
        "2026-01-01,2026-01-31,31,2200.00,1050.00,14.80,0.00,EUR",
        "TOTAL,,74,4800.00,3650.00,57.80,0.00,EUR",
    ]


def test_dso_is_zero_when_every_sale_was_collected() -> None:
    paid = an_invoice(
        "X", issued="2026-03-01", due="2026-03-31", total="100.00", paid=(("2026-03-02", "100.00"),)
    )

    report = dso_countback([paid], AS_OF, "EUR")

    assert report.dso == Decimal("0.00")
    assert report.is_lower_bound is False


def test_dso_counts_a_month_without_sales_in_full() -> None:
    # Receivables 100.00; March 1-15 has no sales (15 days), February sold 400.00:
    # 28 x 100/400 = 7 days. DSO = 22.00.
    old = an_invoice(
        "X", issued="2026-02-10", due="2026-03-12", total="400.00", paid=(("2026-03-01", "300.00"),)
    )

    report = dso_countback([old], AS_OF, "EUR")

    assert report.dso == Decimal("22.00")


def test_dso_walk_handles_a_year_boundary_and_leap_february() -> None:
    invoice = an_invoice("X", issued="2023-12-05", due="2024-01-04", total="50.00")

    report = dso_countback([invoice], d("2024-03-31"), "EUR", period_months=4)

    assert [(m.start, m.days) for m in report.months] == [
        (d("2024-03-01"), 31),
        (d("2024-02-01"), 29),
        (d("2024-01-01"), 31),
        (d("2023-12-01"), 31),
    ]
    assert report.dso == Decimal("122.00")  # 31 + 29 + 31 + all of December (50/50 x 31)


@pytest.mark.parametrize("period_months", [0, -1, 121, True])
def test_dso_rejects_a_window_outside_one_to_120_months(period_months: int) -> None:
    with pytest.raises(ValidationError) as caught:
        dso_countback(PORTFOLIO, AS_OF, "EUR", period_months=period_months)
    assert caught.value.field == "period_months"


# ---- CEI for February 2026 (2026-02-01 .. 2026-02-28) -------------------------------------
# B = receivables at the end of 2026-01-31:
#     A3 1500.00 (net, paid only 02-20) + A4 450.00 + A5 300.00 + A10 700.00
#     + A11 0 (paid in full 01-30) + A12 0 (paid 01-25) = 2950.00
# S = credit sales issued in February: A2 800.00 + A6 600.00 = 1400.00 (A9 cancelled)
# E = receivables at 2026-02-28:
#     A2 800.00 + A3 500.00 + A4 450.00 + A5 300.00 + A6 600.00 + A10 700.00 = 3350.00
# Ec = not yet due on 02-28: A2 (due 03-03) 800.00 + A6 (due 03-12) 600.00 = 1400.00
# CEI = (2950 + 1400 - 3350) / (2950 + 1400 - 1400) x 100 = 1000 / 2950 x 100
#     = 33.898... -> 33.90  (the 1000.00 is A3's payment of 02-20)


def test_cei_compares_what_was_collected_with_what_was_collectible() -> None:
    report = cei(PORTFOLIO, d("2026-02-01"), d("2026-02-28"), "EUR")

    assert report.beginning_receivables == eur("2950.00")
    assert report.credit_sales == eur("1400.00")
    assert report.ending_receivables == eur("3350.00")
    assert report.ending_current_receivables == eur("1400.00")
    assert report.cei == Decimal("33.90")
    assert report.excluded_other_currency == 1
    assert report.excluded_cancelled_or_written_off == 2


def test_cei_exports_metric_rows() -> None:
    rows = to_csv_rows(cei(PORTFOLIO, d("2026-02-01"), d("2026-02-28"), "EUR"))

    assert rows == [
        ["metric", "value"],
        ["period_start", "2026-02-01"],
        ["period_end", "2026-02-28"],
        ["currency", "EUR"],
        ["beginning_receivables", "2950.00"],
        ["credit_sales", "1400.00"],
        ["ending_receivables", "3350.00"],
        ["ending_current_receivables", "1400.00"],
        ["cei_percent", "33.90"],
        ["excluded_other_currency", "1"],
        ["excluded_cancelled_or_written_off", "2"],
    ]


def test_cei_is_100_when_everything_due_was_collected() -> None:
    collected = an_invoice(
        "X", issued="2026-01-05", due="2026-02-04", total="100.00", paid=(("2026-02-04", "100.00"),)
    )

    report = cei([collected], d("2026-02-01"), d("2026-02-28"), "EUR")

    assert report.cei == Decimal("100.00")


def test_cei_is_none_when_nothing_was_collectible() -> None:
    not_due = an_invoice("X", issued="2026-02-10", due="2026-04-10", total="100.00")

    report = cei([not_due], d("2026-02-01"), d("2026-02-28"), "EUR")

    assert report.cei is None


def test_cei_rejects_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(ValidationError) as caught:
        cei(PORTFOLIO, d("2026-03-01"), d("2026-02-28"), "EUR")
    assert caught.value.field == "period_start"


# ---- average days delinquent as of 2026-03-15, window 2026-01-01 .. 2026-03-15 (74 days) -----
# credit sales = 2200.00 + 1400.00 + 1200.00 = 4800.00; receivables = 3650.00;
# current (not yet due) = A1 1200.00
# DSO   = 3650 x 74 / 4800 = 56.2708... -> 56.27
# BPDSO = 1200 x 74 / 4800 = 18.50
# ADD   = 56.27 - 18.50 = 37.77   (exactly 2450 x 74 / 4800 = 37.7708...)
# Paid in full inside the window: A6 (03-10), A11 (01-30), A12 (01-25); A10 pays after as_of.
# payment  amount   days late
# A6       600.00   03-10 vs due 03-12: early -> 0
# A11      400.00   01-10 vs due 12-31: 10
# A11      600.00   01-30 vs due 12-31: 30
# A12      200.00   01-25 vs due 01-14: 11
# weighted = (600x0 + 400x10 + 600x30 + 200x11) / (600+400+600+200) = 24200 / 1800
#          = 13.444... -> 13.44


def test_average_days_delinquent_is_dso_minus_best_possible_dso() -> None:
    report = average_days_delinquent(PORTFOLIO, AS_OF, "EUR")

    assert report.period_start == d("2026-01-01")
    assert report.days_in_period == 74
    assert report.credit_sales == eur("4800.00")
    assert report.receivables == eur("3650.00")
    assert report.current_receivables == eur("1200.00")
    assert report.dso == Decimal("56.27")
    assert report.best_possible_dso == Decimal("18.50")
    assert report.average_days_delinquent == Decimal("37.77")


def test_average_days_late_of_paid_invoices_is_weighted_by_payment() -> None:
    report = average_days_delinquent(PORTFOLIO, AS_OF, "EUR")

    assert report.paid_invoice_count == 3
    assert report.average_days_late_paid == Decimal("13.44")


def test_days_delinquent_exports_metric_rows() -> None:
    rows = to_csv_rows(average_days_delinquent(PORTFOLIO, AS_OF, "EUR"))

    assert rows == [
        ["metric", "value"],
        ["as_of", "2026-03-15"],
        ["period_start", "2026-01-01"],
        ["days_in_period", "74"],
        ["currency", "EUR"],
        ["credit_sales", "4800.00"],
        ["receivables", "3650.00"],
        ["current_receivables", "1200.00"],
        ["dso", "56.27"],
        ["best_possible_dso", "18.50"],
        ["average_days_delinquent", "37.77"],
        ["paid_invoice_count", "3"],
        ["average_days_late_paid", "13.44"],
        ["excluded_other_currency", "1"],
        ["excluded_cancelled_or_written_off", "2"],
    ]


# ---- recovery by step as of 2026-03-15, EUR ----------------------------------------------
# Steps sent after as_of (A1 pre_due 04-06) are ignored; A13 (written off) counts, unrecovered.
# step           invoices reached                          paid in full after the step
# pre_due        A6 (03-09)                                A6 03-10: 1 day
# reminder_1     A2, A3, A4, A5, A10, A11, A12, A13 = 8    A11 01-01 -> 01-30: 29 days
#                (A10 pays 03-20, after as_of)             A12 01-15 -> 01-25: 10 days
#                                                          2/8 = 25.00 %, median (10+29)/2 = 19.50
# reminder_2     A3, A4, A5, A11 = 4                       A11 01-11 -> 01-30: 19 -> 25.00 %, 19.00
# formal_notice  A4, A5 = 2                                none -> 0.00 %, no median
# Order = median days between due date and send: pre_due -3, reminder_1 +1, reminder_2 +11,
# formal_notice +31.


def test_recovery_by_step_counts_invoices_paid_in_full_after_each_step() -> None:
    report = recovery_by_step(PORTFOLIO, AS_OF, "EUR")

    rows = [
        (s.step_id, s.reached, s.recovered, s.recovery_rate, s.median_days_to_payment)
        for s in report.steps
    ]
    assert rows == [
        ("pre_due", 1, 1, Decimal("100.00"), Decimal("1.00")),
        ("reminder_1", 8, 2, Decimal("25.00"), Decimal("19.50")),
        ("reminder_2", 4, 1, Decimal("25.00"), Decimal("19.00")),
        ("formal_notice", 2, 0, Decimal("0.00"), None),
    ]
    assert report.excluded_other_currency == 1
    assert report.excluded_cancelled == 1


def test_recovery_without_a_currency_counts_every_currency() -> None:
    report = recovery_by_step(PORTFOLIO, AS_OF)

    reminder_1 = next(s for s in report.steps if s.step_id == "reminder_1")
    assert (reminder_1.reached, reminder_1.recovered) == (9, 2)  # + A8 in USD
    assert reminder_1.recovery_rate == Decimal("22.22")
    assert report.excluded_other_currency == 0


def test_recovery_exports_one_row_per_step() -> None:
    rows = to_csv_rows(recovery_by_step(PORTFOLIO, AS_OF, "EUR"))

    assert rows == [
        ["step_id", "reached", "recovered", "recovery_rate_percent", "median_days_to_payment"],
        ["pre_due", "1", "1", "100.00", "1.00"],
        ["reminder_1", "8", "2", "25.00", "19.50"],
        ["reminder_2", "4", "1", "25.00", "19.00"],
        ["formal_notice", "2", "0", "0.00", ""],
    ]


def test_a_step_sent_twice_counts_once_from_its_first_send() -> None:
    resent = an_invoice(
        "X",
        issued="2026-01-01",
        due="2026-01-31",
        total="10.00",
        paid=(("2026-02-11", "10.00"),),
        steps=(("reminder_1", "2026-02-05"), ("reminder_1", "2026-02-01")),
    )

    (step,) = recovery_by_step([resent], AS_OF).steps

    assert (step.reached, step.recovered, step.median_days_to_payment) == (1, 1, Decimal("10.00"))


def test_payment_on_the_day_of_the_step_counts_as_recovered_in_zero_days() -> None:
    same_day = an_invoice(
        "X",
        issued="2026-01-01",
        due="2026-01-31",
        total="10.00",
        paid=(("2026-02-01", "10.00"),),
        steps=(("reminder_1", "2026-02-01"),),
    )

    (step,) = recovery_by_step([same_day], AS_OF).steps

    assert step.median_days_to_payment == Decimal("0.00")


def test_invoice_paid_before_the_step_was_sent_is_not_recovered_by_it() -> None:
    late_step = an_invoice(
        "X",
        issued="2026-01-01",
        due="2026-01-31",
        total="10.00",
        paid=(("2026-02-01", "10.00"),),
        steps=(("reminder_1", "2026-02-02"),),
    )

    (step,) = recovery_by_step([late_step], AS_OF).steps

    assert (step.reached, step.recovered) == (1, 0)


def test_partial_payment_after_a_step_is_not_a_recovery() -> None:
    partial = an_invoice(
        "X",
        issued="2026-01-01",
        due="2026-01-31",
        total="10.00",
        paid=(("2026-02-03", "9.99"),),
        steps=(("reminder_1", "2026-02-01"),),
    )

    (step,) = recovery_by_step([partial], AS_OF).steps

    assert step.recovered == 0


# ---- promises and disputes, first quarter 2026 (2026-01-01 .. 2026-03-31), EUR ------------
# promises falling due in the quarter: A11 01-30 kept, A4 02-10 broken, A3 02-20 broken,
# A10 03-20 kept, A2 03-31 undecided -> kept rate = 2 / (2 + 2) = 50.00 %, 1 pending
# issued in the quarter: A1, A2, A3, A6, A7, A9, A10 = 7 (A8 is USD);
# disputed by 03-31: A3 (02-25) and A9 (02-20, later cancelled) -> 2/7 = 28.57 %


def test_promise_kept_rate_counts_decided_promises_due_in_the_period() -> None:
    report = promise_kept_rate(PORTFOLIO, d("2026-01-01"), d("2026-03-31"), "EUR")

    assert (report.promises_due, report.kept, report.broken, report.pending) == (5, 2, 2, 1)
    assert report.kept_rate == Decimal("50.00")


def test_promise_kept_rate_ignores_promises_due_outside_the_period() -> None:
    report = promise_kept_rate(PORTFOLIO, d("2026-03-01"), d("2026-03-31"), "EUR")

    assert (report.promises_due, report.kept, report.pending) == (2, 1, 1)
    assert report.kept_rate == Decimal("100.00")


def test_dispute_rate_divides_disputed_by_issued_invoices() -> None:
    report = dispute_rate(PORTFOLIO, d("2026-01-01"), d("2026-03-31"), "EUR")

    assert (report.issued, report.disputed) == (7, 2)
    assert report.dispute_rate == Decimal("28.57")
    assert report.excluded_other_currency == 1


def test_dispute_rate_without_a_currency_counts_every_currency() -> None:
    report = dispute_rate(PORTFOLIO, d("2026-01-01"), d("2026-03-31"))

    assert (report.issued, report.disputed, report.dispute_rate) == (8, 2, Decimal("25.00"))


def test_dispute_opened_after_the_period_does_not_count_in_it() -> None:
    # A3's dispute opens 02-25: not yet there at the end of January.
    report = dispute_rate(PORTFOLIO, d("2026-01-01"), d("2026-01-31"), "EUR")

    assert (report.issued, report.disputed) == (2, 0)  # A3 and A10


def test_dispute_without_a_date_counts_on_the_flag() -> None:
    undated = an_invoice("X", issued="2026-01-05", due="2026-02-04", total="10.00", disputed=True)

    report = dispute_rate([undated], d("2026-01-01"), d("2026-01-31"))

    assert report.disputed == 1


def test_promise_and_dispute_reports_export_metric_rows() -> None:
    promises = to_csv_rows(promise_kept_rate(PORTFOLIO, d("2026-01-01"), d("2026-03-31"), "EUR"))
    disputes = to_csv_rows(dispute_rate(PORTFOLIO, d("2026-01-01"), d("2026-03-31")))

    assert promises == [
        ["metric", "value"],
        ["period_start", "2026-01-01"],
        ["period_end", "2026-03-31"],
        ["currency", "EUR"],
        ["promises_due", "5"],
        ["kept", "2"],
        ["broken", "2"],
        ["pending", "1"],
        ["kept_rate_percent", "50.00"],
        ["excluded_other_currency", "1"],
        ["excluded_cancelled", "1"],
    ]
    assert disputes == [
        ["metric", "value"],
        ["period_start", "2026-01-01"],
        ["period_end", "2026-03-31"],
        ["currency", ""],
        ["issued", "8"],
        ["disputed", "2"],
        ["dispute_rate_percent", "25.00"],
        ["excluded_other_currency", "0"],
    ]


# ---- edge cases ---------------------------------------------------------------------------


def test_empty_portfolio_gives_zero_amounts_and_no_ratios() -> None:
    feb_start, feb_end = d("2026-02-01"), d("2026-02-28")

    aged = aging([], AS_OF, "EUR")
    dso = dso_countback([], AS_OF, "EUR")
    index = cei([], feb_start, feb_end, "EUR")
    delinquent = average_days_delinquent([], AS_OF, "EUR")
    recovery = recovery_by_step([], AS_OF)
    promises = promise_kept_rate([], feb_start, feb_end)
    disputes = dispute_rate([], feb_start, feb_end)

    assert aged.customers == ()
    assert aged.total.total == eur("0.00")
    assert dso.dso is None
    assert dso.is_lower_bound is False
    assert index.cei is None
    assert delinquent.dso is None
    assert delinquent.best_possible_dso is None
    assert delinquent.average_days_delinquent is None
    assert delinquent.average_days_late_paid is None
    assert recovery.steps == ()
    assert promises.kept_rate is None
    assert disputes.dispute_rate is None


def test_empty_reports_export_a_header_and_empty_ratio_cells() -> None:
    assert [",".join(row) for row in to_csv_rows(aging([], AS_OF, "EUR"))] == [
        "customer_id,customer_name,currency,invoices,not_due,1-30,31-60,61-90,over_90,total",
        "TOTAL,,EUR,0,0.00,0.00,0.00,0.00,0.00,0.00",
    ]
    dso_rows = to_csv_rows(dso_countback([], AS_OF, "EUR", period_months=1))
    assert ",".join(dso_rows[-1]) == "TOTAL,,15,0.00,0.00,,0.00,EUR"
    assert to_csv_rows(recovery_by_step([], AS_OF)) == [
        ["step_id", "reached", "recovered", "recovery_rate_percent", "median_days_to_payment"]
    ]


def test_fully_credited_invoice_owes_nothing_and_is_no_sale() -> None:
    credited = an_invoice(
        "X", issued="2026-03-01", due="2026-03-05", total="100.00", credited="100.00"
    )

    assert credited.outstanding_as_of(AS_OF) == eur("0.00")
    assert aging([credited], AS_OF, "EUR").customers == ()
    assert dso_countback([credited], AS_OF, "EUR").dso is None
    assert credited.paid_in_full_on is None


def test_credit_note_and_partial_payment_reduce_what_is_owed() -> None:
    invoice = an_invoice(
        "X",
        issued="2026-01-10",
        due="2026-02-09",
        total="1000.00",
        credited="150.00",
        paid=(("2026-02-01", "200.00"), ("2026-03-01", "300.00"), ("2026-03-20", "350.00")),
    )

    assert invoice.outstanding_as_of(d("2026-01-31")) == eur("850.00")
    assert invoice.outstanding_as_of(d("2026-02-15")) == eur("650.00")
    assert invoice.outstanding_as_of(AS_OF) == eur("350.00")
    assert invoice.outstanding_as_of(d("2026-03-20")) == eur("0.00")
    assert invoice.paid_in_full_on == d("2026-03-20")


def test_overpayment_is_not_a_negative_receivable() -> None:
    overpaid = an_invoice(
        "X", issued="2026-01-10", due="2026-02-09", total="100.00", paid=(("2026-02-01", "150.00"),)
    )

    assert overpaid.outstanding_as_of(AS_OF) == eur("0.00")
    assert aging([overpaid], AS_OF, "EUR").total.total == eur("0.00")


def test_invoices_issued_after_the_report_date_are_ignored() -> None:
    future = an_invoice(
        "X",
        issued="2026-03-16",
        due="2026-04-15",
        total="100.00",
        steps=(("pre_due", "2026-03-16"),),
    )

    assert future.outstanding_as_of(AS_OF) == eur("0.00")
    assert aging([future], AS_OF, "EUR").invoice_count == 0
    assert dso_countback([future], AS_OF, "EUR").credit_sales == eur("0.00")
    assert recovery_by_step([future], AS_OF).steps == ()
    assert dispute_rate([future], d("2026-03-01"), AS_OF).issued == 0


def test_the_same_portfolio_reported_at_an_earlier_date_ignores_later_events() -> None:
    # As of 2026-01-31, A11 and A12 are paid, A3 still owes its net 1500.00 (paid 02-20).
    report = aging(PORTFOLIO, d("2026-01-31"), "EUR")

    assert report.total.total == eur("2950.00")  # the CEI beginning receivables


def test_reports_accept_a_one_shot_iterator() -> None:
    report = aging(iter(PORTFOLIO), AS_OF, "EUR")

    assert report.total.total == eur("3650.00")


def test_reports_do_not_depend_on_the_callers_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        dso = dso_countback(PORTFOLIO, AS_OF, "EUR")
        delinquent = average_days_delinquent(PORTFOLIO, AS_OF, "EUR")
    assert getcontext().prec != 3
    assert dso.dso == Decimal("57.80")
    assert delinquent.average_days_delinquent == Decimal("37.77")


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["eur", "EURO", "", "E1R"])
def test_reports_reject_a_currency_that_is_not_iso_4217(currency: str) -> None:
    with pytest.raises(ValidationError) as caught:
        aging(PORTFOLIO, AS_OF, currency)
    assert caught.value.field == "currency"


def test_count_reports_reject_a_bad_currency_too() -> None:
    with pytest.raises(ValidationError) as caught:
        recovery_by_step(PORTFOLIO, AS_OF, "euro")
    assert caught.value.field == "currency"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due": "2026-01-01"}, "due_date"),
        ({"credited": "150.00"}, "credited"),
        ({"credited": "-1.00"}, "credited"),
        ({"total": "-5.00"}, "amount_total"),
        ({"paid": (("2026-02-01", "0.00"),)}, "paid_events"),
        ({"paid": (("2026-02-01", "-10.00"),)}, "paid_events"),
        ({"steps": (("  ", "2026-02-01"),)}, "steps_sent"),
        ({"promises": (("2026-02-10", "2026-02-01", None),)}, "promised_date"),
    ],
)
def test_report_invoice_rejects_inconsistent_snapshots(
    overrides: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"issued": "2026-01-10", "due": "2026-02-09", "total": "100.00"}
    values.update(overrides)

    with pytest.raises(ValidationError) as caught:
        an_invoice("X", **values)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_report_invoice_rejects_amounts_in_another_currency() -> None:
    with pytest.raises(ValidationError) as caught:
        ReportInvoice(
            invoice_id="X",
            customer_id="C1",
            customer_name="Atelier Dupont",
            currency="EUR",
            issue_date=d("2026-01-10"),
            due_date=d("2026-02-09"),
            amount_total=eur("100.00"),
            paid_events=((d("2026-02-01"), Money.parse("10.00", "USD")),),
            credited=eur("0"),
        )
    assert caught.value.field == "paid_events"

    with pytest.raises(ValidationError) as caught:
        ReportInvoice(
            invoice_id="X",
            customer_id="C1",
            customer_name="Atelier Dupont",
            currency="EUR",
            issue_date=d("2026-01-10"),
            due_date=d("2026-02-09"),
            amount_total=Money.parse("100.00", "USD"),
            paid_events=(),
            credited=eur("0"),
        )
    assert caught.value.field == "amount_total"


@pytest.mark.parametrize(
    ("invoice_id", "customer_id", "field"),
    [(" ", "C1", "invoice_id"), ("X", "", "customer_id")],
)
def test_report_invoice_rejects_empty_identifiers(
    invoice_id: str, customer_id: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        an_invoice(
            invoice_id,
            customer=(customer_id, "Atelier Dupont"),
            issued="2026-01-10",
            due="2026-02-09",
            total="1.00",
        )
    assert caught.value.field == field


@pytest.mark.parametrize("report", ["promise", "dispute"])
def test_rate_reports_reject_a_period_that_ends_before_it_starts(report: str) -> None:
    build = promise_kept_rate if report == "promise" else dispute_rate
    with pytest.raises(ValidationError) as caught:
        build(PORTFOLIO, d("2026-03-01"), d("2026-02-01"))
    assert caught.value.field == "period_start"


# ---- properties ---------------------------------------------------------------------------

_START = date(2025, 1, 1)
_statuses = st.sampled_from(list(InvoiceStatus))


@st.composite
def report_invoices(draw: st.DrawFn, index: int) -> ReportInvoice:
    currency = draw(st.sampled_from(["EUR", "EUR", "EUR", "USD"]))
    issued = _START + timedelta(days=draw(st.integers(0, 500)))
    due = issued + timedelta(days=draw(st.integers(0, 90)))
    total = draw(st.integers(0, 1_000_000))
    credited = draw(st.integers(0, total))
    payments = draw(st.lists(st.tuples(st.integers(-30, 400), st.integers(1, 600_000)), max_size=4))
    return ReportInvoice(
        invoice_id=f"I{index}",
        customer_id=f"C{draw(st.integers(0, 4))}",
        customer_name="Customer",
        currency=currency,
        issue_date=issued,
        due_date=due,
        amount_total=Money(total, currency),
        paid_events=tuple(
            (issued + timedelta(days=offset), Money(minor, currency)) for offset, minor in payments
        ),
        credited=Money(credited, currency),
        status=draw(_statuses),
    )


@st.composite
def portfolios(draw: st.DrawFn) -> list[ReportInvoice]:
    size = draw(st.integers(0, 25))
    return [draw(report_invoices(i)) for i in range(size)]


def _expected_outstanding(invoices: list[ReportInvoice], as_of: date) -> int:
    total = 0
    for invoice in invoices:
        if invoice.currency != "EUR" or invoice.issue_date > as_of:
            continue
        if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
            continue
        paid = sum(m.minor for on, m in invoice.paid_events if on <= as_of)
        total += max(invoice.amount_total.minor - invoice.credited.minor - paid, 0)
    return total


@settings(max_examples=200, deadline=None)
@given(invoices=portfolios(), as_of_offset=st.integers(-10, 700))
def test_aging_buckets_always_sum_to_the_total_outstanding(
    invoices: list[ReportInvoice], as_of_offset: int
) -> None:
    as_of = _START + timedelta(days=as_of_offset)

    report: AgingReport = aging(invoices, as_of, "EUR")

    bucket_sum = sum(amount.minor for _, amount in report.total.by_bucket())
    assert bucket_sum == report.total.total.minor == _expected_outstanding(invoices, as_of)
    for bucket in AgingBucket:
        per_customer = sum(dict(c.amounts.by_bucket())[bucket].minor for c in report.customers)
        assert per_customer == dict(report.total.by_bucket())[bucket].minor
    assert all(c.amounts.total.is_positive for c in report.customers)


@settings(max_examples=100, deadline=None)
@given(invoices=portfolios(), as_of_offset=st.integers(0, 700))
def test_countback_dso_never_exceeds_its_window_and_ratios_stay_in_range(
    invoices: list[ReportInvoice], as_of_offset: int
) -> None:
    as_of = _START + timedelta(days=as_of_offset)

    dso = dso_countback(invoices, as_of, "EUR")
    index = cei(invoices, as_of - timedelta(days=30), as_of, "EUR")
    delinquent = average_days_delinquent(invoices, as_of, "EUR")

    if dso.dso is not None:
        assert Decimal(0) <= dso.dso <= sum(m.days for m in dso.months)
    if index.cei is not None:
        assert Decimal(0) <= index.cei <= Decimal(100)
    if delinquent.average_days_delinquent is not None:
        assert delinquent.average_days_delinquent >= Decimal(0)
