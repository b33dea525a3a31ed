"""Risk class, tone and who needs a person, from payment history."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import RiskClass
from chalicelib.domain.money import Money
from chalicelib.domain.risk import (
    PaymentHistory,
    Tone,
    compute_risk_class,
    requires_human,
    tone_for,
)

from .dunning_builders import eur

H = PaymentHistory
LOW, MEDIUM, HIGH = RiskClass.LOW, RiskClass.MEDIUM, RiskClass.HIGH

# fmt: off
RISK = [
    # Columns: case, history, collector override, risk class.
    ("always on time", H(invoices_paid=10), None, LOW),
    ("one late in ten, briefly", H(invoices_paid=10, paid_late=1, total_days_late=3), None, LOW),
    ("new customer: unknown payer", H(), None, MEDIUM),
    ("one in five late", H(invoices_paid=10, paid_late=2, total_days_late=4), None, MEDIUM),
    ("rarely late but by a week", H(invoices_paid=10, paid_late=1, total_days_late=7), None, MEDIUM),  # noqa: E501
    ("one broken promise", H(invoices_paid=10, broken_promises=1), None, MEDIUM),
    ("half late, 15 days on average", H(invoices_paid=10, paid_late=5, total_days_late=75), None, HIGH),  # noqa: E501
    ("half late, 14 days on average", H(invoices_paid=10, paid_late=5, total_days_late=70), None, MEDIUM),  # noqa: E501
    ("very late but rarely", H(invoices_paid=10, paid_late=4, total_days_late=200), None, MEDIUM),  # noqa: E501
    ("10,000 EUR overdue", H(invoices_paid=10, overdue_amount=eur("10000.00")), None, HIGH),
    ("just under 10,000 EUR overdue", H(invoices_paid=10, overdue_amount=eur("9999.99")), None, LOW),  # noqa: E501
    ("overdue in another currency not compared", H(invoices_paid=10, overdue_amount=Money.parse("50000", "USD")), None, LOW),  # noqa: E501
    ("two broken promises", H(invoices_paid=10, broken_promises=2), None, HIGH),
    ("collector says low", H(invoices_paid=10, paid_late=9, total_days_late=900), LOW, LOW),
    ("collector says high", H(invoices_paid=10), HIGH, HIGH),
]
# fmt: on


@pytest.mark.parametrize(
    ("history", "override", "expected"), [c[1:] for c in RISK], ids=[c[0] for c in RISK]
)
def test_compute_risk_class(history, override, expected) -> None:
    assert compute_risk_class(history, override) == expected


def test_overdue_threshold_can_be_set_per_currency() -> None:
    history = H(invoices_paid=10, overdue_amount=Money.parse("20000", "USD"))
    threshold = Money.parse("15000", "USD")
    assert compute_risk_class(history, high_overdue=threshold) == HIGH


def test_override_given_as_text_is_a_risk_class() -> None:
    assert compute_risk_class(H(), "high") is RiskClass.HIGH  # type: ignore[arg-type]


# fmt: off
TONE = [
    # Columns: case, history, tone.
    ("always on time", H(invoices_paid=1), Tone.FRIENDLY),
    ("new customer", H(), Tone.STANDARD),
    ("late once", H(invoices_paid=10, paid_late=1, total_days_late=2), Tone.STANDARD),
    ("late twice in three", H(invoices_paid=3, paid_late=2, total_days_late=10), Tone.STANDARD),
    ("chronic: three of six late", H(invoices_paid=6, paid_late=3, total_days_late=9), Tone.FIRM),
    ("often late but mostly on time", H(invoices_paid=20, paid_late=9, total_days_late=90), Tone.STANDARD),  # noqa: E501
    ("always late", H(invoices_paid=5, paid_late=5, total_days_late=50), Tone.FIRM),
]
# fmt: on


@pytest.mark.parametrize(("history", "expected"), [c[1:] for c in TONE], ids=[c[0] for c in TONE])
def test_tone_for(history, expected) -> None:
    assert tone_for(history) == expected


@pytest.mark.parametrize(
    ("segment", "risk", "expected"),
    [
        ("standard", LOW, False),
        ("standard", MEDIUM, False),
        ("standard", HIGH, True),
        ("strategic", LOW, True),
        ("high_risk", LOW, True),
        ("retail", MEDIUM, False),
    ],
)
def test_requires_human(segment, risk, expected) -> None:
    assert requires_human(segment, risk) is expected


def test_history_ratios() -> None:
    history = H(invoices_paid=8, paid_late=2, total_days_late=9)
    assert history.late_share == Fraction(1, 4)
    assert history.average_days_late == Fraction(9, 2)
    assert H().late_share == 0
    assert H().average_days_late == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"invoices_paid": -1}, "invoices_paid"),
        ({"paid_late": -1}, "paid_late"),
        ({"total_days_late": -5}, "total_days_late"),
        ({"broken_promises": -1}, "broken_promises"),
        ({"invoices_paid": 1.5}, "invoices_paid"),
        ({"invoices_paid": True}, "invoices_paid"),
        ({"invoices_paid": 2, "paid_late": 3}, "paid_late"),
        ({"invoices_paid": 2, "total_days_late": 3}, "total_days_late"),
    ],
)
def test_impossible_history_is_refused(kwargs, field) -> None:
    with pytest.raises(ValidationError) as error:
        PaymentHistory(**kwargs)
    assert error.value.field == field
