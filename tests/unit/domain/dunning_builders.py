"""Builders and fakes for the dunning engine tests: a fake calendar, invoices, customers, times."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.dunning import (
    CreateTask,
    Decision,
    DeferStep,
    RecordBrokenPromise,
    RequestApproval,
    ResumeAfterPromise,
    SendReminder,
    SkipStep,
    decide,
)
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY, DunningPolicy
from chalicelib.domain.risk import PaymentHistory

PARIS = ZoneInfo("Europe/Paris")
# Weekends are not business days; these public holidays are not either.
HOLIDAYS = {
    "FR": frozenset({date(2025, 11, 1), date(2025, 11, 11), date(2025, 12, 25), date(2026, 1, 1)}),
    "DE": frozenset({date(2025, 10, 3), date(2025, 12, 25), date(2025, 12, 26)}),
}
# A Wednesday. Default steps: courtesy Mon 13 Oct, friendly Thu 16, firm Thu 23, call Thu 30,
# formal_notice Fri 14 Nov, legal Sat 29 Nov (so Mon 1 Dec).
DUE = date(2025, 10, 15)
ON_TIME = PaymentHistory(invoices_paid=10)
NEW_CUSTOMER = PaymentHistory()
CHRONIC = PaymentHistory(invoices_paid=6, paid_late=4, total_days_late=40)


class FakeCalendar:
    """Business days: Monday to Friday, minus a fixed set of holidays per country."""

    def __init__(self, holidays: dict[str, frozenset[date]] | None = None) -> None:
        self.holidays = HOLIDAYS if holidays is None else holidays

    def is_business_day(self, country: str, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays.get(country, frozenset())


class NoBusinessDays:
    """A broken calendar: no day is ever a business day."""

    def is_business_day(self, country: str, day: date) -> bool:
        return False


CALENDAR = FakeCalendar()


def paris(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2025) -> datetime:
    """An aware instant, given in Paris local time."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2025) -> datetime:
    """An aware instant in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


def a_customer(**overrides: Any) -> Customer:
    base = Customer(
        customer_id="cus_1",
        seller_id="seller",
        name="Dupont SARL",
        email="compta@dupont.example",
        phone="+33612345678",
        country="FR",
    )
    return replace(base, **overrides)


def an_invoice(amount: str = "1200.00", **overrides: Any) -> Invoice:
    base = Invoice(
        invoice_id="inv_1",
        seller_id="seller",
        number="F-2025-001",
        customer_id="cus_1",
        issue_date=date(2025, 9, 15),
        due_date=DUE,
        amount_total=eur(amount),
        amount_paid=eur("0"),
    )
    return replace(base, **overrides)


def decide_at(
    as_of: datetime,
    invoice: Invoice | None = None,
    customer: Customer | None = None,
    *,
    policy: DunningPolicy = DEFAULT_FRENCH_B2B_POLICY,
    history: PaymentHistory = ON_TIME,
    recent: int = 0,
    calendar: Any = CALENDAR,
) -> Decision:
    """`decide` with the usual cast: default policy, punctual payer, fake French calendar."""
    return decide(
        invoice or an_invoice(),
        customer or a_customer(),
        policy,
        history,
        as_of,
        calendar,
        recent,
    )


def describe(decision: Decision) -> list[str]:
    """One short line per action, for readable table tests."""
    return [_describe(action) for action in decision.actions]


def _channels(channels: tuple[Any, ...]) -> str:
    return "+".join(channels) if channels else "-"


def _describe(action: Any) -> str:
    if isinstance(action, SendReminder):
        return f"send {action.step_id} via {_channels(action.channels)} tone={action.tone}"
    if isinstance(action, RequestApproval):
        return f"approve {action.step_id} via {_channels(action.channels)}"
    if isinstance(action, CreateTask):
        return f"task {action.kind} for {action.step_id} via {_channels(action.channels)}"
    if isinstance(action, SkipStep):
        return f"skip {action.step_id} {action.reason}"
    if isinstance(action, DeferStep):
        return f"defer {action.step_id} {action.reason}"
    if isinstance(action, RecordBrokenPromise):
        return f"broken promise {action.promise_date.isoformat()}"
    if isinstance(action, ResumeAfterPromise):
        return "resume"
    raise AssertionError(f"unknown action {action!r}")
