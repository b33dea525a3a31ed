"""Domain: customer risk class and reminder tone from payment history."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import RiskClass, Segment
from chalicelib.domain.money import Money

# Thresholds, in one place so a credit manager can read and tune them.
HIGH_LATE_SHARE = Fraction(1, 2)
HIGH_AVERAGE_DAYS_LATE = 15
HIGH_OVERDUE = Money(1_000_000, "EUR")  # 10,000.00 EUR
HIGH_BROKEN_PROMISES = 2
MEDIUM_LATE_SHARE = Fraction(1, 5)
MEDIUM_AVERAGE_DAYS_LATE = 7
CHRONIC_LATE_PAYMENTS = 3
CHRONIC_LATE_SHARE = Fraction(1, 2)
HUMAN_SEGMENTS = frozenset({Segment.STRATEGIC.value, Segment.HIGH_RISK.value})


class Tone(StrEnum):
    """How a reminder is worded."""

    FRIENDLY = "friendly"
    STANDARD = "standard"
    FIRM = "firm"


@dataclass(frozen=True, slots=True)
class PaymentHistory:
    """What a customer's past invoices say about how they pay.

    Attributes:
        invoices_paid: Invoices paid so far.
        paid_late: How many of those were paid after their due date.
        total_days_late: Sum of days late over the late-paid invoices.
        overdue_amount: What is overdue today across the customer's invoices, if known.
        broken_promises: Promises to pay that were not kept.
    """

    invoices_paid: int = 0
    paid_late: int = 0
    total_days_late: int = 0
    overdue_amount: Money | None = None
    broken_promises: int = 0

    def __post_init__(self) -> None:
        for name in ("invoices_paid", "paid_late", "total_days_late", "broken_promises"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"{name} must be a non-negative integer", name)
        if self.paid_late > self.invoices_paid:
            raise ValidationError("more late payments than payments", "paid_late")
        if self.paid_late == 0 and self.total_days_late > 0:
            raise ValidationError("days late without any late payment", "total_days_late")

    @property
    def late_share(self) -> Fraction:
        """Share of paid invoices that were paid late (0 without history)."""
        if self.invoices_paid == 0:
            return Fraction(0)
        return Fraction(self.paid_late, self.invoices_paid)

    @property
    def average_days_late(self) -> Fraction:
        """Average days late over the invoices paid late (0 if none)."""
        if self.paid_late == 0:
            return Fraction(0)
        return Fraction(self.total_days_late, self.paid_late)


def _large_overdue(history: PaymentHistory, threshold: Money) -> bool:
    overdue = history.overdue_amount
    # Amounts in other currencies are not converted: the criterion simply does not apply.
    return overdue is not None and overdue.currency == threshold.currency and overdue >= threshold


def _is_high(history: PaymentHistory, high_overdue: Money) -> bool:
    habitually_very_late = (
        history.late_share >= HIGH_LATE_SHARE
        and history.average_days_late >= HIGH_AVERAGE_DAYS_LATE
    )
    return (
        habitually_very_late
        or _large_overdue(history, high_overdue)
        or history.broken_promises >= HIGH_BROKEN_PROMISES
    )


def _is_medium(history: PaymentHistory) -> bool:
    return (
        history.invoices_paid == 0
        or history.late_share >= MEDIUM_LATE_SHARE
        or history.average_days_late >= MEDIUM_AVERAGE_DAYS_LATE
        or history.broken_promises > 0
    )


def compute_risk_class(
    history: PaymentHistory,
    override: RiskClass | None = None,
    *,
    high_overdue: Money = HIGH_OVERDUE,
) -> RiskClass:
    """Business rule: risk class from payment history, unless a collector set one.

    - override: a collector's class always wins;
    - high: at least half the invoices paid late *and* 15+ days late on average, or
      10,000 EUR (``high_overdue``, same currency only) overdue now, or 2+ broken promises;
    - medium: no payment history yet (unknown payer), or 1 invoice in 5 paid late, or
      7+ days late on average, or one broken promise;
    - low: everything else.
    """
    if override is not None:
        return RiskClass(override)
    if _is_high(history, high_overdue):
        return RiskClass.HIGH
    if _is_medium(history):
        return RiskClass.MEDIUM
    return RiskClass.LOW


def tone_for(history: PaymentHistory) -> Tone:
    """Business rule: friendly to payers who were always on time, firm to chronic late payers.

    Always on time means at least one invoice paid and none late. A chronic late payer paid
    at least 3 invoices late and at least half of all invoices late. Everyone else, including
    new customers, gets the standard tone.
    """
    if history.invoices_paid > 0 and history.paid_late == 0:
        return Tone.FRIENDLY
    chronic = (
        history.paid_late >= CHRONIC_LATE_PAYMENTS and history.late_share >= CHRONIC_LATE_SHARE
    )
    return Tone.FIRM if chronic else Tone.STANDARD


def requires_human(segment: str, risk: RiskClass) -> bool:
    """Business rule: strategic and high-risk customers get tasks for a person, not automation.

    Applies to the ``strategic`` and ``high_risk`` segments and to any customer whose risk
    class is high (computed or overridden).
    """
    return segment in HUMAN_SEGMENTS or risk == RiskClass.HIGH
