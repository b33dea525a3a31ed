"""Domain: collection reports (aging, DSO, CEI, days delinquent, recovery, promises, disputes).

Every report is a pure function of invoice snapshots and a date: the snapshot carries its dated
payments, so the same portfolio can be reported as of any past day. Formulas, conventions and
worked examples are in docs/reports.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import assert_never

from chalicelib.domain.errors import InvalidAmountError, ValidationError
from chalicelib.domain.invoices import InvoiceStatus
from chalicelib.domain.money import Money

# Independent of the caller's thread-local decimal context, so a report never changes with it.
_CTX = Context(prec=34, rounding=ROUND_HALF_UP)
_CENT = Decimal("0.01")
_MAX_PERIOD_MONTHS = 120

# Cancelled and written-off invoices are off the receivables ledger. The snapshot has no write-off
# date, so they are left out of the amount reports at every date rather than guessed at.
_OFF_LEDGER = frozenset({InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF})
_VOID = frozenset({InvoiceStatus.CANCELLED})

PaidEvent = tuple[date, Money]
StepSent = tuple[str, date]


@dataclass(frozen=True, slots=True)
class PromiseRecord:
    """A customer's promise to pay by a date; `kept` is None until it is decided."""

    made_on: date
    promised_date: date
    kept: bool | None = None

    def __post_init__(self) -> None:
        if self.promised_date < self.made_on:
            raise ValidationError(
                "a promise cannot fall before the day it was made", "promised_date"
            )


@dataclass(frozen=True, slots=True)
class ReportInvoice:
    """An invoice snapshot rich enough to be reported as of any date.

    Credit notes are not separate rows: their amount is in `credited` on the invoice they
    reduce, and counts from the invoice's issue date (the snapshot carries no credit date).
    `status` is only used to leave out cancelled and written-off invoices; what is owed is
    always computed from the amounts and dated payments.
    """

    invoice_id: str
    customer_id: str
    customer_name: str
    currency: str
    issue_date: date
    due_date: date
    amount_total: Money
    paid_events: tuple[PaidEvent, ...]
    credited: Money
    status: InvoiceStatus = InvoiceStatus.OPEN
    disputed: bool = False
    dispute_opened_on: date | None = None
    promises: tuple[PromiseRecord, ...] = ()
    steps_sent: tuple[StepSent, ...] = ()

    def __post_init__(self) -> None:
        _require_currency(self.currency)
        if not self.invoice_id.strip():
            raise ValidationError("invoice_id must not be empty", "invoice_id")
        if not self.customer_id.strip():
            raise ValidationError("customer_id must not be empty", "customer_id")
        if self.due_date < self.issue_date:
            raise ValidationError("due_date is before issue_date", "due_date")
        self._check_amounts()
        if any(not step_id.strip() for step_id, _ in self.steps_sent):
            raise ValidationError("a step id must not be empty", "steps_sent")

    def _check_amounts(self) -> None:
        for name, amount in (("amount_total", self.amount_total), ("credited", self.credited)):
            if amount.currency != self.currency:
                raise ValidationError(f"{name} is not in {self.currency}", name)
        if self.amount_total.minor < 0:
            raise ValidationError("amount_total must not be negative", "amount_total")
        if self.credited.minor < 0 or self.credited > self.amount_total:
            raise ValidationError("credited must be between zero and amount_total", "credited")
        for _, paid in self.paid_events:
            if paid.currency != self.currency:
                raise ValidationError(f"a payment is not in {self.currency}", "paid_events")
            if not paid.is_positive:
                raise ValidationError("a payment must be positive", "paid_events")

    @property
    def net_amount(self) -> Money:
        """What the invoice asks for once credit notes are applied."""
        return self.amount_total - self.credited

    def paid_as_of(self, as_of: date) -> Money:
        """Sum of the payments dated on or before `as_of`."""
        return Money(sum(m.minor for on, m in self.paid_events if on <= as_of), self.currency)

    def outstanding_as_of(self, as_of: date) -> Money:
        """Business rule: owed as of D = total - credited - payments dated <= D, never below zero.

        An invoice issued after D did not exist on D and owes nothing then; an overpayment is
        not a negative receivable.
        """
        if self.issue_date > as_of:
            return Money.zero(self.currency)
        owed = self.net_amount.minor - self.paid_as_of(as_of).minor
        return Money(max(owed, 0), self.currency)

    @property
    def paid_in_full_on(self) -> date | None:
        """The date the payments first covered the net amount; None if never, or nothing to pay."""
        net = self.net_amount.minor
        if net <= 0:
            return None
        paid = 0
        for on, amount in sorted(self.paid_events, key=lambda event: event[0]):
            paid += amount.minor
            if paid >= net:
                return on
        return None


@dataclass(frozen=True, slots=True)
class _Selection:
    invoices: tuple[ReportInvoice, ...]
    other_currency: int
    dropped_status: int


def _select(
    invoices: Iterable[ReportInvoice],
    currency: str | None,
    issued_until: date,
    dropped: frozenset[InvoiceStatus],
    issued_from: date | None = None,
) -> _Selection:
    """Keep the invoices a report looks at, counting the ones it leaves out on purpose.

    Invoices issued outside the window are not counted as exclusions: they are not in scope.
    """
    kept: list[ReportInvoice] = []
    other_currency = 0
    dropped_status = 0
    for invoice in invoices:
        if invoice.issue_date > issued_until:
            continue
        if issued_from is not None and invoice.issue_date < issued_from:
            continue
        if currency is not None and invoice.currency != currency:
            other_currency += 1
        elif invoice.status in dropped:
            dropped_status += 1
        else:
            kept.append(invoice)
    return _Selection(tuple(kept), other_currency, dropped_status)


def _require_currency(currency: object) -> None:
    if not isinstance(currency, str):
        raise ValidationError("currency must be an ISO 4217 code", "currency")
    try:
        Money.zero(currency)
    except InvalidAmountError as exc:
        raise ValidationError(str(exc), "currency") from exc


def _require_optional_currency(currency: str | None) -> None:
    if currency is not None:
        _require_currency(currency)


def _require_period(period_start: date, period_end: date) -> None:
    if period_start > period_end:
        raise ValidationError("period_start is after period_end", "period_start")


def _require_period_months(period_months: int) -> None:
    if isinstance(period_months, bool) or not isinstance(period_months, int):
        raise ValidationError("period_months must be a whole number", "period_months")
    if not 1 <= period_months <= _MAX_PERIOD_MONTHS:
        raise ValidationError(
            f"period_months must be between 1 and {_MAX_PERIOD_MONTHS}", "period_months"
        )


def _round2(value: Decimal) -> Decimal:
    return _CTX.quantize(value, _CENT)


def _ratio(numerator: int, denominator: int) -> Decimal:
    """The quotient numerator / denominator as a Decimal, exact to 34 digits; both are integers."""
    return _CTX.divide(Decimal(numerator), Decimal(denominator))


def _percent(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return _round2(_ratio(part * 100, whole))


def _median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return _round2(Decimal(ordered[middle]))
    return _round2(_ratio(ordered[middle - 1] + ordered[middle], 2))


def _lower_median(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def _outstanding_total(invoices: Iterable[ReportInvoice], as_of: date) -> int:
    return sum(invoice.outstanding_as_of(as_of).minor for invoice in invoices)


def _current_total(invoices: Iterable[ReportInvoice], as_of: date) -> int:
    """Receivables not yet past due on `as_of` (due that day or later)."""
    return sum(
        invoice.outstanding_as_of(as_of).minor for invoice in invoices if invoice.due_date >= as_of
    )


def _credit_sales(invoices: Iterable[ReportInvoice], start: date, end: date) -> int:
    """Business rule: credit sales of a period = net amounts of the invoices issued in it."""
    return sum(
        invoice.net_amount.minor for invoice in invoices if start <= invoice.issue_date <= end
    )


def _month_segments(as_of: date, period_months: int) -> list[tuple[date, date]]:
    """Calendar months walked back from `as_of`, newest first; the first one ends at `as_of`."""
    segments: list[tuple[date, date]] = []
    end = as_of
    for _ in range(period_months):
        start = end.replace(day=1)
        segments.append((start, end))
        end = start - timedelta(days=1)
    return segments


def _days(start: date, end: date) -> int:
    return (end - start).days + 1


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


class AgingBucket(StrEnum):
    """Days past due, in the buckets a credit manager reads."""

    NOT_DUE = "not_due"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = "over_90"


def aging_bucket(days_past_due: int) -> AgingBucket:
    """Business rule: the aging bucket for a number of days past due (0 or less is not due)."""
    if days_past_due <= 0:
        return AgingBucket.NOT_DUE
    if days_past_due <= 30:
        return AgingBucket.DAYS_1_30
    if days_past_due <= 60:
        return AgingBucket.DAYS_31_60
    if days_past_due <= 90:
        return AgingBucket.DAYS_61_90
    return AgingBucket.OVER_90


@dataclass(frozen=True, slots=True)
class AgingAmounts:
    """Outstanding amounts split by aging bucket."""

    not_due: Money
    days_1_30: Money
    days_31_60: Money
    days_61_90: Money
    over_90: Money

    @classmethod
    def from_minor(cls, currency: str, minor_by_bucket: dict[AgingBucket, int]) -> AgingAmounts:
        """Build from minor units per bucket; a missing bucket is zero."""

        def pick(bucket: AgingBucket) -> Money:
            return Money(minor_by_bucket.get(bucket, 0), currency)

        return cls(
            not_due=pick(AgingBucket.NOT_DUE),
            days_1_30=pick(AgingBucket.DAYS_1_30),
            days_31_60=pick(AgingBucket.DAYS_31_60),
            days_61_90=pick(AgingBucket.DAYS_61_90),
            over_90=pick(AgingBucket.OVER_90),
        )

    def by_bucket(self) -> tuple[tuple[AgingBucket, Money], ...]:
        """The amounts in bucket order, from not due to over 90 days."""
        return (
            (AgingBucket.NOT_DUE, self.not_due),
            (AgingBucket.DAYS_1_30, self.days_1_30),
            (AgingBucket.DAYS_31_60, self.days_31_60),
            (AgingBucket.DAYS_61_90, self.days_61_90),
            (AgingBucket.OVER_90, self.over_90),
        )

    @property
    def total(self) -> Money:
        """The sum of every bucket."""
        return Money(sum(amount.minor for _, amount in self.by_bucket()), self.not_due.currency)


@dataclass(frozen=True, slots=True)
class CustomerAging:
    """One customer's aging line."""

    customer_id: str
    customer_name: str
    amounts: AgingAmounts
    invoice_count: int


@dataclass(frozen=True, slots=True)
class AgingReport:
    """Aging of receivables as of a date, by customer and in total."""

    as_of: date
    currency: str
    customers: tuple[CustomerAging, ...]
    total: AgingAmounts
    invoice_count: int
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int


def aging(invoices: Iterable[ReportInvoice], as_of: date, currency: str) -> AgingReport:
    """Aged receivables: each invoice's outstanding amount as of `as_of`, bucketed by days past due.

    Customers are sorted by total outstanding, largest first. Totals are integer sums, so the
    customer lines and the buckets add up exactly to the total.

    Raises:
        ValidationError: `currency` is not an ISO 4217 code.
    """
    _require_currency(currency)
    selection = _select(invoices, currency, as_of, _OFF_LEDGER)
    minor: dict[str, dict[AgingBucket, int]] = {}
    counts: dict[str, int] = {}
    # The name on the most recently issued invoice wins when a customer was renamed.
    names: dict[str, tuple[date, str, str]] = {}
    for invoice in selection.invoices:
        owed = invoice.outstanding_as_of(as_of)
        if owed.is_zero:
            continue
        bucket = aging_bucket((as_of - invoice.due_date).days)
        line = minor.setdefault(invoice.customer_id, {})
        line[bucket] = line.get(bucket, 0) + owed.minor
        counts[invoice.customer_id] = counts.get(invoice.customer_id, 0) + 1
        naming = (invoice.issue_date, invoice.invoice_id, invoice.customer_name)
        names[invoice.customer_id] = max(names.get(invoice.customer_id, naming), naming)
    customers = [
        CustomerAging(cid, names[cid][2], AgingAmounts.from_minor(currency, line), counts[cid])
        for cid, line in minor.items()
    ]
    customers.sort(key=lambda c: (-c.amounts.total.minor, c.customer_name, c.customer_id))
    total: dict[AgingBucket, int] = {}
    for line in minor.values():
        for bucket, amount in line.items():
            total[bucket] = total.get(bucket, 0) + amount
    return AgingReport(
        as_of=as_of,
        currency=currency,
        customers=tuple(customers),
        total=AgingAmounts.from_minor(currency, total),
        invoice_count=sum(counts.values()),
        excluded_other_currency=selection.other_currency,
        excluded_cancelled_or_written_off=selection.dropped_status,
    )


@dataclass(frozen=True, slots=True)
class DsoMonth:
    """One calendar month of the countback walk (the newest one ends at the report date)."""

    start: date
    end: date
    days: int
    credit_sales: Money
    receivables_to_cover: Money
    days_counted: Decimal
    receivables_left: Money


@dataclass(frozen=True, slots=True)
class DsoReport:
    """Days sales outstanding by the countback method.

    `dso` is None when there is nothing to measure (no receivables and no sales in the window).
    `is_lower_bound` is True when the window's sales did not cover the receivables: the true
    DSO is longer than `dso`, which then counts every day of the window.
    """

    as_of: date
    currency: str
    period_months: int
    receivables: Money
    credit_sales: Money
    dso: Decimal | None
    is_lower_bound: bool
    months: tuple[DsoMonth, ...]
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int


def dso_countback(
    invoices: Iterable[ReportInvoice], as_of: date, currency: str, period_months: int = 3
) -> DsoReport:
    """Business rule: DSO by countback over calendar months.

    Start from the receivables outstanding at `as_of`. Walk back month by month (the current
    month counts from its 1st to `as_of`): while the receivables still cover a month's credit
    sales, subtract them and add all its days; the month that exhausts them adds its days pro
    rata (days x receivables left / month's sales). At most `period_months` months are walked.

    Raises:
        ValidationError: bad `currency` or `period_months` outside 1..120.
    """
    _require_currency(currency)
    _require_period_months(period_months)
    selection = _select(invoices, currency, as_of, _OFF_LEDGER)
    receivables = _outstanding_total(selection.invoices, as_of)
    left = receivables
    total_days = Decimal(0)
    months: list[DsoMonth] = []
    for start, end in _month_segments(as_of, period_months):
        days = _days(start, end)
        sold = _credit_sales(selection.invoices, start, end)
        to_cover = left
        if left == 0:
            counted = Decimal(0)
        elif left >= sold:
            counted = Decimal(days)
            left -= sold
        else:
            counted = _ratio(days * left, sold)
            left = 0
        total_days = _CTX.add(total_days, counted)
        months.append(
            DsoMonth(
                start=start,
                end=end,
                days=days,
                credit_sales=Money(sold, currency),
                receivables_to_cover=Money(to_cover, currency),
                days_counted=_round2(counted),
                receivables_left=Money(left, currency),
            )
        )
    window_sales = sum(month.credit_sales.minor for month in months)
    nothing_to_measure = receivables == 0 and window_sales == 0
    return DsoReport(
        as_of=as_of,
        currency=currency,
        period_months=period_months,
        receivables=Money(receivables, currency),
        credit_sales=Money(window_sales, currency),
        dso=None if nothing_to_measure else _round2(total_days),
        is_lower_bound=left > 0,
        months=tuple(months),
        excluded_other_currency=selection.other_currency,
        excluded_cancelled_or_written_off=selection.dropped_status,
    )


@dataclass(frozen=True, slots=True)
class CeiReport:
    """Collection Effectiveness Index over a period; `cei` is None when nothing was collectible."""

    period_start: date
    period_end: date
    currency: str
    beginning_receivables: Money
    credit_sales: Money
    ending_receivables: Money
    ending_current_receivables: Money
    cei: Decimal | None
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int


def cei(
    invoices: Iterable[ReportInvoice], period_start: date, period_end: date, currency: str
) -> CeiReport:
    """Business rule: CEI = (B + S - E) / (B + S - Ec) x 100.

    B = receivables at the end of the day before `period_start`, S = credit sales issued in the
    period, E = receivables at `period_end`, Ec = the part of E not yet past due on `period_end`.

    Raises:
        ValidationError: bad `currency`, or `period_start` after `period_end`.
    """
    _require_currency(currency)
    _require_period(period_start, period_end)
    selection = _select(invoices, currency, period_end, _OFF_LEDGER)
    beginning = _outstanding_total(selection.invoices, period_start - timedelta(days=1))
    sales = _credit_sales(selection.invoices, period_start, period_end)
    ending = _outstanding_total(selection.invoices, period_end)
    ending_current = _current_total(selection.invoices, period_end)
    collectible = beginning + sales - ending_current
    collected = beginning + sales - ending
    return CeiReport(
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        beginning_receivables=Money(beginning, currency),
        credit_sales=Money(sales, currency),
        ending_receivables=Money(ending, currency),
        ending_current_receivables=Money(ending_current, currency),
        cei=_percent(collected, collectible),
        excluded_other_currency=selection.other_currency,
        excluded_cancelled_or_written_off=selection.dropped_status,
    )


@dataclass(frozen=True, slots=True)
class DaysDelinquentReport:
    """Average days delinquent (DSO - best possible DSO) and the days late of paid invoices.

    `dso` here is the standard (average) method, AR / credit sales x days, the same method as
    `best_possible_dso`, so their difference measures only the past-due receivables.
    `average_days_delinquent` is `dso - best_possible_dso` of the rounded values, so the
    identity holds in what is displayed.
    """

    as_of: date
    currency: str
    period_start: date
    days_in_period: int
    credit_sales: Money
    receivables: Money
    current_receivables: Money
    dso: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    paid_invoice_count: int
    average_days_late_paid: Decimal | None
    excluded_other_currency: int
    excluded_cancelled_or_written_off: int


def _payment_weighted_days_late(
    invoices: Iterable[ReportInvoice], start: date, as_of: date
) -> tuple[int, Decimal | None]:
    """Business rule: days late of paid invoices, weighted by the amount of each payment.

    Counts invoices paid in full between `start` and `as_of`. A payment on or before the due
    date is 0 days late: early payers must not hide late ones.
    """
    weighted = 0
    weight = 0
    count = 0
    for invoice in invoices:
        paid_on = invoice.paid_in_full_on
        if paid_on is None or not start <= paid_on <= as_of:
            continue
        count += 1
        for on, amount in invoice.paid_events:
            if on <= as_of:
                weighted += amount.minor * max((on - invoice.due_date).days, 0)
                weight += amount.minor
    if weight == 0:
        return count, None
    return count, _round2(_ratio(weighted, weight))


def average_days_delinquent(
    invoices: Iterable[ReportInvoice], as_of: date, currency: str, period_months: int = 3
) -> DaysDelinquentReport:
    """Business rule: ADD = DSO - BPDSO over the same calendar-month window as the countback DSO.

    DSO = receivables / credit sales x days in period; BPDSO = current (not yet due)
    receivables / credit sales x days in period. The window runs from the 1st of the month
    `period_months - 1` months before `as_of`, to `as_of`.

    Raises:
        ValidationError: bad `currency` or `period_months` outside 1..120.
    """
    _require_currency(currency)
    _require_period_months(period_months)
    selection = _select(invoices, currency, as_of, _OFF_LEDGER)
    period_start = _month_segments(as_of, period_months)[-1][0]
    days = _days(period_start, as_of)
    sales = _credit_sales(selection.invoices, period_start, as_of)
    receivables = _outstanding_total(selection.invoices, as_of)
    current = _current_total(selection.invoices, as_of)
    dso = bpdso = add = None
    if sales > 0:
        dso = _round2(_ratio(receivables * days, sales))
        bpdso = _round2(_ratio(current * days, sales))
        add = _CTX.subtract(dso, bpdso)
    paid_count, days_late = _payment_weighted_days_late(selection.invoices, period_start, as_of)
    return DaysDelinquentReport(
        as_of=as_of,
        currency=currency,
        period_start=period_start,
        days_in_period=days,
        credit_sales=Money(sales, currency),
        receivables=Money(receivables, currency),
        current_receivables=Money(current, currency),
        dso=dso,
        best_possible_dso=bpdso,
        average_days_delinquent=add,
        paid_invoice_count=paid_count,
        average_days_late_paid=days_late,
        excluded_other_currency=selection.other_currency,
        excluded_cancelled_or_written_off=selection.dropped_status,
    )


@dataclass(frozen=True, slots=True)
class StepRecovery:
    """How invoices did after one policy step was sent."""

    step_id: str
    reached: int
    recovered: int
    recovery_rate: Decimal | None
    median_days_to_payment: Decimal | None


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """Recovery per policy step, ordered by when steps are sent relative to the due date."""

    as_of: date
    currency: str | None
    steps: tuple[StepRecovery, ...]
    excluded_other_currency: int
    excluded_cancelled: int


def _first_sends(invoice: ReportInvoice, as_of: date) -> dict[str, date]:
    """A step sent twice to an invoice (a retry, a resend) counts once, from its first send."""
    first: dict[str, date] = {}
    for step_id, sent_on in invoice.steps_sent:
        if sent_on <= as_of and (step_id not in first or sent_on < first[step_id]):
            first[step_id] = sent_on
    return first


def recovery_by_step(
    invoices: Iterable[ReportInvoice], as_of: date, currency: str | None = None
) -> RecoveryReport:
    """Business rule: a step recovered an invoice if it was paid in full on or after the send.

    For each step id: invoices that got it by `as_of`, how many were paid in full afterwards
    and by `as_of` (recovery rate in percent), and the median days from the step to that
    payment. A written-off invoice counts as not recovered; cancelled ones are left out.
    `currency=None` reports on every currency, since these are counts, not amounts.

    Raises:
        ValidationError: `currency` is given and is not an ISO 4217 code.
    """
    _require_optional_currency(currency)
    selection = _select(invoices, currency, as_of, _VOID)
    reached: dict[str, int] = {}
    offsets: dict[str, list[int]] = {}
    days_to_pay: dict[str, list[int]] = {}
    for invoice in selection.invoices:
        paid_on = invoice.paid_in_full_on
        for step_id, sent_on in _first_sends(invoice, as_of).items():
            reached[step_id] = reached.get(step_id, 0) + 1
            offsets.setdefault(step_id, []).append((sent_on - invoice.due_date).days)
            recovered = days_to_pay.setdefault(step_id, [])
            if paid_on is not None and sent_on <= paid_on <= as_of:
                recovered.append((paid_on - sent_on).days)
    steps = [
        StepRecovery(
            step_id=step_id,
            reached=count,
            recovered=len(days_to_pay[step_id]),
            recovery_rate=_percent(len(days_to_pay[step_id]), count),
            median_days_to_payment=_median(days_to_pay[step_id]),
        )
        for step_id, count in reached.items()
    ]
    # Step ids carry no order; sending time relative to the due date is the policy's order.
    steps.sort(key=lambda step: (_lower_median(offsets[step.step_id]), step.step_id))
    return RecoveryReport(
        as_of=as_of,
        currency=currency,
        steps=tuple(steps),
        excluded_other_currency=selection.other_currency,
        excluded_cancelled=selection.dropped_status,
    )


@dataclass(frozen=True, slots=True)
class PromiseReport:
    """Promises to pay falling due in a period, and the share of decided ones that were kept."""

    period_start: date
    period_end: date
    currency: str | None
    promises_due: int
    kept: int
    broken: int
    pending: int
    kept_rate: Decimal | None
    excluded_other_currency: int
    excluded_cancelled: int


def promise_kept_rate(
    invoices: Iterable[ReportInvoice],
    period_start: date,
    period_end: date,
    currency: str | None = None,
) -> PromiseReport:
    """Business rule: kept rate = kept / (kept + broken) x 100 over promises due in the period.

    A promise is in the period when its promised date is; undecided ones are counted as
    pending and stay out of the rate.

    Raises:
        ValidationError: bad `currency`, or `period_start` after `period_end`.
    """
    _require_optional_currency(currency)
    _require_period(period_start, period_end)
    selection = _select(invoices, currency, period_end, _VOID)
    decided = [
        promise.kept
        for invoice in selection.invoices
        for promise in invoice.promises
        if period_start <= promise.promised_date <= period_end
    ]
    kept = sum(1 for outcome in decided if outcome is True)
    broken = sum(1 for outcome in decided if outcome is False)
    return PromiseReport(
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        promises_due=len(decided),
        kept=kept,
        broken=broken,
        pending=len(decided) - kept - broken,
        kept_rate=_percent(kept, kept + broken),
        excluded_other_currency=selection.other_currency,
        excluded_cancelled=selection.dropped_status,
    )


@dataclass(frozen=True, slots=True)
class DisputeReport:
    """Share of the invoices issued in a period that were disputed by its end."""

    period_start: date
    period_end: date
    currency: str | None
    issued: int
    disputed: int
    dispute_rate: Decimal | None
    excluded_other_currency: int


def _disputed_by(invoice: ReportInvoice, day: date) -> bool:
    if invoice.dispute_opened_on is not None:
        return invoice.dispute_opened_on <= day
    # Without an opening date the flag is all there is; it cannot be placed in time.
    return invoice.disputed


def dispute_rate(
    invoices: Iterable[ReportInvoice],
    period_start: date,
    period_end: date,
    currency: str | None = None,
) -> DisputeReport:
    """Business rule: dispute rate = invoices issued in the period and disputed by its end / issued.

    An invoice with a dispute opening date counts if the dispute opened by `period_end`, even
    if resolved since. Cancelled invoices count: disputes often end in a cancellation.

    Raises:
        ValidationError: bad `currency`, or `period_start` after `period_end`.
    """
    _require_optional_currency(currency)
    _require_period(period_start, period_end)
    selection = _select(invoices, currency, period_end, frozenset(), issued_from=period_start)
    disputed = sum(1 for invoice in selection.invoices if _disputed_by(invoice, period_end))
    return DisputeReport(
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        issued=len(selection.invoices),
        disputed=disputed,
        dispute_rate=_percent(disputed, len(selection.invoices)),
        excluded_other_currency=selection.other_currency,
    )


Report = (
    AgingReport
    | DsoReport
    | CeiReport
    | DaysDelinquentReport
    | RecoveryReport
    | PromiseReport
    | DisputeReport
)


def _aging_rows(report: AgingReport) -> list[list[str]]:
    header = ["customer_id", "customer_name", "currency", "invoices"]
    header += [str(bucket) for bucket in AgingBucket] + ["total"]

    def line(cid: str, name: str, count: int, amounts: AgingAmounts) -> list[str]:
        cells = [cid, name, report.currency, str(count)]
        return cells + [m.to_wire() for _, m in amounts.by_bucket()] + [amounts.total.to_wire()]

    rows = [header]
    rows += [
        line(c.customer_id, c.customer_name, c.invoice_count, c.amounts) for c in report.customers
    ]
    rows.append(line("TOTAL", "", report.invoice_count, report.total))
    return rows


def _dso_rows(report: DsoReport) -> list[list[str]]:
    rows = [
        [
            "month_start",
            "month_end",
            "days",
            "credit_sales",
            "receivables_to_cover",
            "days_counted",
            "receivables_left",
            "currency",
        ]
    ]
    for m in report.months:
        rows.append(
            [
                m.start.isoformat(),
                m.end.isoformat(),
                str(m.days),
                m.credit_sales.to_wire(),
                m.receivables_to_cover.to_wire(),
                _fmt(m.days_counted),
                m.receivables_left.to_wire(),
                report.currency,
            ]
        )
    left = report.months[-1].receivables_left.to_wire()
    window_days = sum(m.days for m in report.months)
    rows.append(
        [
            "TOTAL",
            "",
            str(window_days),
            report.credit_sales.to_wire(),
            report.receivables.to_wire(),
            _fmt(report.dso),
            left,
            report.currency,
        ]
    )
    return rows


def _metric_rows(pairs: list[tuple[str, str]]) -> list[list[str]]:
    return [["metric", "value"]] + [[name, value] for name, value in pairs]


def _cei_rows(report: CeiReport) -> list[list[str]]:
    return _metric_rows(
        [
            ("period_start", report.period_start.isoformat()),
            ("period_end", report.period_end.isoformat()),
            ("currency", report.currency),
            ("beginning_receivables", report.beginning_receivables.to_wire()),
            ("credit_sales", report.credit_sales.to_wire()),
            ("ending_receivables", report.ending_receivables.to_wire()),
            ("ending_current_receivables", report.ending_current_receivables.to_wire()),
            ("cei_percent", _fmt(report.cei)),
            ("excluded_other_currency", str(report.excluded_other_currency)),
            (
                "excluded_cancelled_or_written_off",
                str(report.excluded_cancelled_or_written_off),
            ),
        ]
    )


def _add_rows(report: DaysDelinquentReport) -> list[list[str]]:
    return _metric_rows(
        [
            ("as_of", report.as_of.isoformat()),
            ("period_start", report.period_start.isoformat()),
            ("days_in_period", str(report.days_in_period)),
            ("currency", report.currency),
            ("credit_sales", report.credit_sales.to_wire()),
            ("receivables", report.receivables.to_wire()),
            ("current_receivables", report.current_receivables.to_wire()),
            ("dso", _fmt(report.dso)),
            ("best_possible_dso", _fmt(report.best_possible_dso)),
            ("average_days_delinquent", _fmt(report.average_days_delinquent)),
            ("paid_invoice_count", str(report.paid_invoice_count)),
            ("average_days_late_paid", _fmt(report.average_days_late_paid)),
            ("excluded_other_currency", str(report.excluded_other_currency)),
            (
                "excluded_cancelled_or_written_off",
                str(report.excluded_cancelled_or_written_off),
            ),
        ]
    )


def _recovery_rows(report: RecoveryReport) -> list[list[str]]:
    rows = [["step_id", "reached", "recovered", "recovery_rate_percent", "median_days_to_payment"]]
    for step in report.steps:
        rows.append(
            [
                step.step_id,
                str(step.reached),
                str(step.recovered),
                _fmt(step.recovery_rate),
                _fmt(step.median_days_to_payment),
            ]
        )
    return rows


def _promise_rows(report: PromiseReport) -> list[list[str]]:
    return _metric_rows(
        [
            ("period_start", report.period_start.isoformat()),
            ("period_end", report.period_end.isoformat()),
            ("currency", report.currency or ""),
            ("promises_due", str(report.promises_due)),
            ("kept", str(report.kept)),
            ("broken", str(report.broken)),
            ("pending", str(report.pending)),
            ("kept_rate_percent", _fmt(report.kept_rate)),
            ("excluded_other_currency", str(report.excluded_other_currency)),
            ("excluded_cancelled", str(report.excluded_cancelled)),
        ]
    )


def _dispute_rows(report: DisputeReport) -> list[list[str]]:
    return _metric_rows(
        [
            ("period_start", report.period_start.isoformat()),
            ("period_end", report.period_end.isoformat()),
            ("currency", report.currency or ""),
            ("issued", str(report.issued)),
            ("disputed", str(report.disputed)),
            ("dispute_rate_percent", _fmt(report.dispute_rate)),
            ("excluded_other_currency", str(report.excluded_other_currency)),
        ]
    )


def to_csv_rows(report: Report) -> list[list[str]]:
    """Rows for CSV export: a header row first, amounts as decimal strings, absent values empty.

    Aging and DSO are tables ending with a TOTAL row, recovery is one row per step, and the
    other reports are `metric,value` pairs.
    """
    match report:
        case AgingReport():
            return _aging_rows(report)
        case DsoReport():
            return _dso_rows(report)
        case CeiReport():
            return _cei_rows(report)
        case DaysDelinquentReport():
            return _add_rows(report)
        case RecoveryReport():
            return _recovery_rows(report)
        case PromiseReport():
            return _promise_rows(report)
        case DisputeReport():
            return _dispute_rows(report)
        case _:
            assert_never(report)
