"""Domain: statutory late-payment interest and the fixed recovery indemnity (B2B, FR and EU)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from chalicelib.domain.ecb_rates import EcbRate, ecb_rate_for, half_of
from chalicelib.domain.errors import DomainError, ValidationError
from chalicelib.domain.invoices import DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money


class Jurisdiction(StrEnum):
    """Which late-payment law sets the statutory rate."""

    FR = "FR"
    EU = "EU"


class ReferenceRateUnknownError(DomainError):
    """The ECB table in `ecb_rates.py` has no row for a half-year that is needed."""

    code = "reference-rate-unknown"


# Code de commerce L441-10: ECB rate + 10 points. Directive 2011/7/EU art. 2(6): + 8 points.
MARGIN_POINTS: dict[Jurisdiction, Decimal] = {
    Jurisdiction.FR: Decimal(10),
    Jurisdiction.EU: Decimal(8),
}
# Code de commerce D441-5 and directive 2011/7/EU art. 6: a fixed 40 EUR per late invoice.
RECOVERY_INDEMNITY = Money(4000, "EUR")
_DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True, slots=True)
class InterestPeriod:
    """Consecutive late days that share one statutory rate (one half-year at most).

    Attributes:
        first_day: First day accruing interest.
        last_day: Last day accruing interest (inclusive).
        days: Number of days accruing.
        rate_percent: Statutory rate for these days (reference rate + margin).
        reference: The ECB table row the rate comes from.
    """

    first_day: date
    last_day: date
    days: int
    rate_percent: Decimal
    reference: EcbRate


@dataclass(frozen=True, slots=True)
class StatutoryClaim:
    """What a creditor may claim on top of the principal for one late invoice.

    Attributes:
        interest: Late-payment interest, rounded half-up to the minor unit.
        indemnity: The fixed recovery indemnity; None when it cannot be expressed in the
            invoice's currency (non-EUR), zero when the invoice is not late.
        rate_percent: Statutory rate on the last day counted.
        days_late: Days from the day after the due date to the end date, inclusive.
        total: Interest plus indemnity (the indemnity only when it is not None).
        periods: The rate periods the interest was computed over.
    """

    interest: Money
    indemnity: Money | None
    rate_percent: Decimal
    days_late: int
    total: Money
    periods: tuple[InterestPeriod, ...] = ()


def _as_day(value: date) -> date:
    # datetime is a date subclass but cannot be subtracted from one.
    return value.date() if isinstance(value, datetime) else value


def _jurisdiction(value: Jurisdiction | str) -> Jurisdiction:
    try:
        return Jurisdiction(value)
    except ValueError as exc:
        raise ValidationError(f"unknown jurisdiction {value!r}", "jurisdiction") from exc


def statutory_rate(day: date, jurisdiction: Jurisdiction | str = Jurisdiction.FR) -> Decimal:
    """Business rule: the statutory rate for a late day is the ECB reference rate plus a margin.

    The reference rate is the MRO rate in force on 1 January for days in January-June and
    on 1 July for days in July-December; the margin is 10 points in France, 8 under the
    EU directive.

    Raises:
        ReferenceRateUnknownError: the ECB table has no row for that half-year.
        ValidationError: unknown jurisdiction.
    """
    return _reference(_as_day(day)).rate_percent + MARGIN_POINTS[_jurisdiction(jurisdiction)]


def _reference(day: date) -> EcbRate:
    row = ecb_rate_for(day)
    if row is None:
        raise ReferenceRateUnknownError(
            f"no ECB reference rate for {day.year} H{half_of(day)}; update ecb_rates.py"
        )
    return row


def _half_end(day: date) -> date:
    return date(day.year, 6, 30) if half_of(day) == 1 else date(day.year, 12, 31)


def interest_periods(
    due_date: date, end: date, jurisdiction: Jurisdiction | str = Jurisdiction.FR
) -> tuple[InterestPeriod, ...]:
    """Business rule: interest runs from the day after the due date to `end`, split by half-year.

    Returns:
        One period per half-year touched; empty when `end` is not after the due date.
    """
    margin = MARGIN_POINTS[_jurisdiction(jurisdiction)]
    periods: list[InterestPeriod] = []
    first, last = _as_day(due_date) + timedelta(days=1), _as_day(end)
    while first <= last:
        period_end = min(_half_end(first), last)
        reference = _reference(first)
        days = (period_end - first).days + 1
        periods.append(
            InterestPeriod(first, period_end, days, reference.rate_percent + margin, reference)
        )
        first = period_end + timedelta(days=1)
    return tuple(periods)


def late_payment_interest(
    amount: Money,
    due_date: date,
    paid_or_as_of: date,
    jurisdiction: Jurisdiction | str = Jurisdiction.FR,
) -> Money:
    """Business rule: simple interest, actual/365, pro rata per late day, rounded once.

    Each late day earns ``amount x rate / 365`` at the rate of its half-year; the sum is
    rounded half-up to the currency's minor unit at the end (never per period), so splitting
    a period cannot change the result by more than the final rounding.

    Args:
        amount: The principal paid late (or still unpaid).
        due_date: The contractual due date; interest starts the day after.
        paid_or_as_of: Day of payment, or the day the claim is computed for if unpaid.
        jurisdiction: FR (ECB + 10 points) or EU (ECB + 8 points).

    Raises:
        ValidationError: negative amount or unknown jurisdiction.
        ReferenceRateUnknownError: a late day falls in a half-year missing from the table.
    """
    if amount.minor < 0:
        raise ValidationError("interest is computed on a positive principal", "amount")
    periods = interest_periods(due_date, paid_or_as_of, jurisdiction)
    principal = amount.to_decimal()
    raw = sum(
        (principal * p.rate_percent / 100 * p.days / _DAYS_PER_YEAR for p in periods),
        Decimal(0),
    )
    return Money.from_decimal_rounded(raw, amount.currency)


def recovery_indemnity(currency: str) -> Money:
    """Business rule: 40 EUR fixed compensation for recovery costs, per late invoice.

    The law fixes the amount in euros. Relance holds no exchange rates, so asking for it in
    another currency is refused rather than guessed.

    Raises:
        ValidationError: the currency is not EUR.
    """
    if currency != RECOVERY_INDEMNITY.currency:
        raise ValidationError(
            f"the recovery indemnity is 40 EUR; no rate to express it in {currency}", "currency"
        )
    return RECOVERY_INDEMNITY


def _claim_end(invoice: Invoice, as_of: date) -> date:
    if invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None:
        return min(as_of, invoice.paid_at.date())
    return as_of


def _claimable(invoice: Invoice) -> Money:
    """Business rule: interest is owed on what was paid late or is still chased, nothing else.

    A paid invoice is claimed on its total less credit notes, up to its payment day; an
    open one on its undisputed balance (payment dates of earlier partial payments are not
    known here, so the claim errs on the low side). Cancelled and written-off invoices,
    invoices disputed in full and credit notes carry no claim.
    """
    zero = Money.zero(invoice.currency)
    disputed_in_full = invoice.status == InvoiceStatus.DISPUTED and invoice.disputed_amount is None
    if invoice.kind == DocumentKind.CREDIT_NOTE or disputed_in_full:
        return zero
    if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
        return zero
    if invoice.status == InvoiceStatus.PAID:
        owed = invoice.amount_total - (invoice.credited or zero)
        return owed if owed.is_positive else zero
    return invoice.chaseable_amount


def _indemnity(currency: str, late: bool) -> Money | None:
    if not late:
        return Money.zero(currency)
    if currency != RECOVERY_INDEMNITY.currency:
        return None
    return RECOVERY_INDEMNITY


def statutory_claim(
    invoice: Invoice, as_of: date, jurisdiction: Jurisdiction | str = Jurisdiction.FR
) -> StatutoryClaim:
    """Business rule: a late invoice owes statutory interest plus one 40 EUR indemnity.

    Args:
        invoice: The invoice; a paid one is counted up to its payment day.
        as_of: The day the claim is computed for (a datetime is reduced to its own date).
        jurisdiction: FR or EU rate margin.

    Returns:
        The claim; all zero when the invoice is not late or nothing is claimable.

    Raises:
        ReferenceRateUnknownError: a needed half-year is missing from the ECB table.
    """
    end = _claim_end(invoice, _as_day(as_of))
    amount = _claimable(invoice)
    days_late = max(0, (end - invoice.due_date).days)
    late = days_late > 0 and amount.is_positive
    periods = interest_periods(invoice.due_date, end, jurisdiction) if late else ()
    interest = late_payment_interest(amount, invoice.due_date, end, jurisdiction)
    indemnity = _indemnity(invoice.currency, late)
    total = interest + indemnity if indemnity is not None else interest
    rate = statutory_rate(end, jurisdiction)
    return StatutoryClaim(interest, indemnity, rate, days_late, total, periods)
