"""Statutory late-payment interest, the 40 EUR indemnity, claims, and the ECB rate table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.ecb_rates import ECB_MRO_RATES, ecb_rate_for, half_of
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import DocumentKind, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.statutory import (
    RECOVERY_INDEMNITY,
    InterestPeriod,
    Jurisdiction,
    ReferenceRateUnknownError,
    StatutoryClaim,
    interest_periods,
    late_payment_interest,
    recovery_indemnity,
    statutory_claim,
    statutory_rate,
)

from .dunning_builders import an_invoice, eur

D = Decimal
FR, EU = Jurisdiction.FR, Jurisdiction.EU


def test_reference_example_45_days_late_in_late_2025() -> None:
    # 10,000 EUR due 30 Sep 2025, paid 14 Nov 2025: 45 days at 2.15 % + 10 = 12.15 %.
    invoice = an_invoice(
        "10000.00",
        due_date=date(2025, 9, 30),
        status=InvoiceStatus.PAID,
        amount_paid=eur("10000.00"),
        paid_at=datetime(2025, 11, 14, 15, 30, tzinfo=UTC),
    )
    claim = statutory_claim(invoice, date(2025, 12, 1))
    assert claim.days_late == 45
    assert claim.rate_percent == D("12.15")
    assert claim.interest == eur("149.79")
    assert claim.indemnity == eur("40.00")
    assert claim.total == eur("189.79")


# fmt: off
INTEREST = [
    # Columns: case, amount, due date, paid or as of, jurisdiction, interest.
    ("reference example", "10000.00", date(2025, 9, 30), date(2025, 11, 14), FR, "149.79"),
    ("EU directive margin", "10000.00", date(2025, 9, 30), date(2025, 11, 14), EU, "125.14"),
    ("paid on the due date", "10000.00", date(2025, 9, 30), date(2025, 9, 30), FR, "0.00"),
    ("paid early", "10000.00", date(2025, 9, 30), date(2025, 9, 1), FR, "0.00"),
    ("one day late", "10000.00", date(2025, 9, 30), date(2025, 10, 1), FR, "3.33"),
    ("one day on a small amount", "100.00", date(2025, 9, 30), date(2025, 10, 1), FR, "0.03"),
    ("across 1 July", "10000.00", date(2025, 6, 20), date(2025, 7, 10), FR, "69.32"),
    ("across the new year", "5000.00", date(2024, 12, 20), date(2025, 1, 10), FR, "39.49"),
    ("leap day counts, still /365", "1000.00", date(2024, 2, 27), date(2024, 3, 2), FR, "1.59"),
    ("zero-rate years: margin only", "1000.00", date(2016, 6, 30), date(2016, 7, 30), FR, "8.22"),
    ("three half-years", "1000.00", date(2022, 6, 30), date(2023, 12, 31), FR, "182.97"),
    ("three half-years, EU", "1000.00", date(2022, 6, 30), date(2023, 12, 31), EU, "152.89"),
    ("nothing owed", "0.00", date(2025, 9, 30), date(2025, 11, 14), FR, "0.00"),
    ("jurisdiction as text", "10000.00", date(2025, 9, 30), date(2025, 11, 14), "EU", "125.14"),
]
# fmt: on


@pytest.mark.parametrize(
    ("amount", "due", "end", "jurisdiction", "expected"),
    [case[1:] for case in INTEREST],
    ids=[case[0] for case in INTEREST],
)
def test_late_payment_interest(amount, due, end, jurisdiction, expected) -> None:
    assert late_payment_interest(eur(amount), due, end, jurisdiction) == eur(expected)


def test_interest_keeps_the_amounts_currency_and_minor_units() -> None:
    interest = late_payment_interest(
        Money.parse("1000000", "JPY"), date(2025, 9, 30), date(2025, 11, 14)
    )
    assert interest == Money.parse("14979", "JPY")


def test_interest_is_rounded_once_not_per_period() -> None:
    # Rounded per period it would be 0.04 + 0.07 = 0.11; summed first it is 0.1026, so 0.10.
    periods = interest_periods(date(2025, 6, 29), date(2025, 7, 2))
    assert [(p.days, p.rate_percent) for p in periods] == [(1, D("13.15")), (2, D("12.15"))]
    assert late_payment_interest(eur("100.00"), date(2025, 6, 29), date(2025, 7, 2)) == eur("0.10")


def test_periods_split_at_each_half_year() -> None:
    periods = interest_periods(date(2024, 12, 20), date(2025, 7, 3))
    assert [(p.first_day, p.last_day, p.days, p.rate_percent) for p in periods] == [
        (date(2024, 12, 21), date(2024, 12, 31), 11, D("14.25")),
        (date(2025, 1, 1), date(2025, 6, 30), 181, D("13.15")),
        (date(2025, 7, 1), date(2025, 7, 3), 3, D("12.15")),
    ]
    assert periods[1].reference.in_force_on == date(2025, 1, 1)


def test_datetimes_are_taken_as_their_dates() -> None:
    end = datetime(2025, 11, 14, 23, 59, tzinfo=UTC)
    assert late_payment_interest(eur("10000.00"), date(2025, 9, 30), end) == eur("149.79")


@pytest.mark.parametrize(
    ("day", "jurisdiction", "rate"),
    [
        (date(2025, 7, 1), FR, "12.15"),
        (date(2025, 6, 30), FR, "13.15"),
        (date(2025, 6, 30), EU, "11.15"),
        (date(2023, 1, 1), FR, "12.50"),
        (date(2023, 12, 31), FR, "14.00"),
        (date(2022, 12, 31), FR, "10.00"),
        (date(2013, 1, 1), FR, "10.75"),
    ],
)
def test_statutory_rate_is_reference_plus_margin(day, jurisdiction, rate) -> None:
    assert statutory_rate(day, jurisdiction) == D(rate)


# fmt: off
BAD = [
    # Columns: case, call, expected error, field.
    ("negative amount", lambda: late_payment_interest(eur("-1.00"), date(2025, 1, 1), date(2025, 2, 1)), ValidationError, "amount"),  # noqa: E501
    ("unknown jurisdiction", lambda: late_payment_interest(eur("1.00"), date(2025, 1, 1), date(2025, 2, 1), "US"), ValidationError, "jurisdiction"),  # noqa: E501
    ("before the table", lambda: late_payment_interest(eur("1.00"), date(2012, 12, 1), date(2013, 1, 5)), ReferenceRateUnknownError, None),  # noqa: E501
    ("before the table", lambda: late_payment_interest(eur("1.00"), date(2012, 12, 1), date(2013, 1, 5)), ReferenceRateUnknownError, None),  # noqa: E501
    ("rate before the table", lambda: statutory_rate(date(2010, 1, 1)), ReferenceRateUnknownError, None),  # noqa: E501
    ("indemnity in dollars", lambda: recovery_indemnity("USD"), ValidationError, "currency"),
]
# fmt: on


@pytest.mark.parametrize(
    ("call", "error", "field"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_input_is_refused(call, error, field) -> None:
    with pytest.raises(error) as raised:
        call()
    assert getattr(raised.value, "field", None) == field


def test_missing_half_year_says_which_one() -> None:
    with pytest.raises(ReferenceRateUnknownError, match="2010 H2"):
        statutory_rate(date(2010, 8, 1))


def test_after_the_table_the_last_rate_is_carried_forward_unverified() -> None:
    last = ECB_MRO_RATES[-1]
    carried = ecb_rate_for(date(2027, 8, 1))
    assert carried is not None
    assert (carried.year, carried.half, carried.rate_percent) == (2027, 2, last.rate_percent)
    assert not carried.verified
    assert "carried forward" in carried.note
    assert statutory_rate(date(2027, 8, 1)) == last.rate_percent + 10


def test_recovery_indemnity_is_40_euros() -> None:
    assert recovery_indemnity("EUR") == eur("40.00") == RECOVERY_INDEMNITY


# --- Claims --------------------------------------------------------------------------------

AS_OF = date(2025, 11, 14)
DUE = date(2025, 9, 30)

# fmt: off
CLAIMS = [
    # Columns: case, invoice changes, interest, indemnity, days late, total.
    ("open, whole balance", {}, "149.79", "40.00", 45, "189.79"),
    ("open, part paid", {"amount_paid": eur("4000.00"), "status": InvoiceStatus.PARTIALLY_PAID}, "89.88", "40.00", 45, "129.88"),  # noqa: E501
    ("open, part disputed", {"disputed_amount": eur("5000.00")}, "74.90", "40.00", 45, "114.90"),
    ("disputed in full", {"status": InvoiceStatus.DISPUTED}, "0.00", "0.00", 45, "0.00"),
    ("paid late, counted to the payment day", {"status": InvoiceStatus.PAID, "amount_paid": eur("10000.00"), "paid_at": datetime(2025, 10, 31, 9, tzinfo=UTC)}, "103.19", "40.00", 31, "143.19"),  # noqa: E501
    ("paid on time", {"status": InvoiceStatus.PAID, "amount_paid": eur("10000.00"), "paid_at": datetime(2025, 9, 29, tzinfo=UTC)}, "0.00", "0.00", 0, "0.00"),  # noqa: E501
    ("paid late after a credit note", {"status": InvoiceStatus.PAID, "amount_paid": eur("8000.00"), "credited": eur("2000.00"), "paid_at": datetime(2025, 11, 14, tzinfo=UTC)}, "119.84", "40.00", 45, "159.84"),  # noqa: E501
    ("not yet due", {"due_date": date(2025, 12, 1)}, "0.00", "0.00", 0, "0.00"),
    ("cancelled", {"status": InvoiceStatus.CANCELLED}, "0.00", "0.00", 45, "0.00"),
    ("written off", {"status": InvoiceStatus.WRITTEN_OFF}, "0.00", "0.00", 45, "0.00"),
    ("credit note", {"kind": DocumentKind.CREDIT_NOTE}, "0.00", "0.00", 45, "0.00"),
]
# fmt: on


@pytest.mark.parametrize(
    ("changes", "interest", "indemnity", "days", "total"),
    [case[1:] for case in CLAIMS],
    ids=[case[0] for case in CLAIMS],
)
def test_statutory_claim(changes, interest, indemnity, days, total) -> None:
    invoice = an_invoice("10000.00", **{"due_date": DUE, **changes})
    claim = statutory_claim(invoice, AS_OF)
    assert (claim.interest, claim.indemnity, claim.days_late, claim.total) == (
        eur(interest),
        eur(indemnity),
        days,
        eur(total),
    )


def test_claim_in_another_currency_has_no_indemnity() -> None:
    invoice = an_invoice(
        due_date=DUE, amount_total=Money.parse("10000.00", "USD"), amount_paid=Money.zero("USD")
    )
    claim = statutory_claim(invoice, AS_OF)
    assert claim.indemnity is None
    assert claim.interest == Money.parse("149.79", "USD")
    assert claim.total == claim.interest


def test_claim_under_the_eu_directive() -> None:
    claim = statutory_claim(an_invoice("10000.00", due_date=DUE), AS_OF, Jurisdiction.EU)
    assert (claim.rate_percent, claim.interest) == (D("10.15"), eur("125.14"))


def test_claim_lists_its_periods() -> None:
    h1, h2 = ECB_MRO_RATES[24], ECB_MRO_RATES[25]
    assert (h1.year, h1.half, h2.year, h2.half) == (2025, 1, 2025, 2)
    claim = statutory_claim(an_invoice("10000.00", due_date=date(2025, 6, 20)), date(2025, 7, 10))
    assert claim == StatutoryClaim(
        interest=eur("69.32"),
        indemnity=eur("40.00"),
        rate_percent=D("12.15"),
        days_late=20,
        total=eur("109.32"),
        periods=(
            InterestPeriod(date(2025, 6, 21), date(2025, 6, 30), 10, D("13.15"), h1),
            InterestPeriod(date(2025, 7, 1), date(2025, 7, 10), 10, D("12.15"), h2),
        ),
    )


def test_claim_accepts_a_datetime_as_of() -> None:
    claim = statutory_claim(an_invoice("10000.00", due_date=DUE), datetime(2025, 11, 14, 8))
    assert claim.days_late == 45


def test_claim_before_the_payment_day_stops_at_as_of() -> None:
    invoice = an_invoice(
        "10000.00",
        due_date=DUE,
        status=InvoiceStatus.PAID,
        amount_paid=eur("10000.00"),
        paid_at=datetime(2025, 12, 31, tzinfo=UTC),
    )
    assert statutory_claim(invoice, AS_OF).days_late == 45


# --- The ECB table -------------------------------------------------------------------------


def test_table_covers_every_half_year_from_2013_to_2026_once_in_order() -> None:
    keys = [(row.year, row.half) for row in ECB_MRO_RATES]
    assert keys == [(year, half) for year in range(2013, 2027) for half in (1, 2)]


@pytest.mark.parametrize(
    ("year", "half", "rate"),
    [
        (2013, 1, "0.75"),
        (2013, 2, "0.50"),
        (2014, 1, "0.25"),
        (2014, 2, "0.15"),
        (2015, 1, "0.05"),
        (2016, 1, "0.05"),
        (2016, 2, "0.00"),
        (2022, 2, "0.00"),
        (2023, 1, "2.50"),
        (2023, 2, "4.00"),
        (2024, 1, "4.50"),
        (2024, 2, "4.25"),
        (2025, 1, "3.15"),
        (2025, 2, "2.15"),
        (2026, 1, "2.15"),
        (2026, 2, "2.15"),
    ],
)
def test_table_holds_the_rate_in_force_on_1_january_and_1_july(year, half, rate) -> None:
    row = ecb_rate_for(date(year, 1 if half == 1 else 7, 1))
    assert row is not None
    assert row.rate_percent == D(rate)


def test_every_row_names_its_source() -> None:
    for row in ECB_MRO_RATES:
        assert "ECB" in row.source
        assert "Banque de France" in row.source


def test_only_the_forecast_row_is_unverified() -> None:
    unverified = [(row.year, row.half, row.note) for row in ECB_MRO_RATES if not row.verified]
    assert unverified == [(2026, 2, "unverified; update from the ECB")]


@pytest.mark.parametrize(
    ("day", "half"), [(date(2025, 1, 1), 1), (date(2025, 6, 30), 1), (date(2025, 7, 1), 2)]
)
def test_half_of(day, half) -> None:
    assert half_of(day) == half
