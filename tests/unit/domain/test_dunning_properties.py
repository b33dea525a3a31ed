"""Properties of the dunning engine over random policies, customers and simulated chases.

A simulation calls `decide` again and again on one invoice, applying each decision the way the
service does (`apply_decision`). The engine is called on time, late (downtime) or early, with
random pressure counts, and the customer may promise to pay or pay along the way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.dunning import (
    CreateTask,
    Decision,
    RequestApproval,
    SendReminder,
    apply_decision,
    decide,
)
from chalicelib.domain.invoices import ChannelStatus, Customer, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policies import (
    Anchor,
    Channel,
    DunningPolicy,
    PolicyStep,
    StepConditions,
    StepMode,
    validate_policy,
)
from chalicelib.domain.risk import PaymentHistory
from chalicelib.domain.send_window import Place, SendWindow, is_open

from .dunning_builders import CALENDAR, a_customer, an_invoice, eur

ZONES = ("Europe/Paris", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")
STEP_KINDS = (
    (StepMode.AUTO, (Channel.EMAIL,)),
    (StepMode.AUTO, (Channel.EMAIL,)),
    (StepMode.AUTO, (Channel.SMS,)),
    (StepMode.AUTO, (Channel.EMAIL, Channel.SMS)),
    (StepMode.AUTO, (Channel.EMAIL, Channel.SMS)),
    (StepMode.APPROVAL, (Channel.EMAIL,)),
    (StepMode.APPROVAL, (Channel.EMAIL, Channel.LETTER)),
    (StepMode.MANUAL, (Channel.CALL,)),
    (StepMode.MANUAL, (Channel.LETTER,)),
)
CONDITIONS = (
    StepConditions(),
    StepConditions(min_amount_due=eur("500.00")),
    StepConditions(requires_channel=Channel.SMS),
    StepConditions(segments=frozenset({"standard"})),
)
HUMAN_ACTIONS = (SendReminder, RequestApproval, CreateTask)
OK = ChannelStatus.OK
SEGMENTS = ("standard", "standard", "standard", "retail", "strategic", "high_risk")
EMAIL, PHONE = "compta@dupont.example", "+33612345678"


@st.composite
def policies(draw: st.DrawFn) -> DunningPolicy:
    days = sorted(draw(st.sets(st.integers(-20, 90), min_size=1, max_size=6)))
    steps: list[PolicyStep] = []
    for index, day in enumerate(days):
        mode, channels = draw(st.sampled_from(STEP_KINDS))
        chained = index > 0 and draw(st.booleans())
        anchor = Anchor.PREVIOUS_STEP if chained else Anchor.DUE_DATE
        offset = day - days[index - 1] if chained else day
        conditions = draw(st.sampled_from(CONDITIONS))
        steps.append(
            PolicyStep(f"s{index}", offset, anchor, channels, mode, f"s{index}", conditions)
        )
    start = draw(st.integers(0, 12))
    window = SendWindow(start, draw(st.integers(start + 1, 24)), draw(st.booleans()))
    policy = DunningPolicy(
        "simulated",
        1,
        "Simulated policy",
        tuple(steps),
        grace_days_after_promise=draw(st.integers(0, 5)),
        max_messages_per_week=draw(st.integers(1, 4)),
        send_window=window,
    )
    assert validate_policy(policy) == []
    return policy


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    return a_customer(
        timezone=draw(st.sampled_from(ZONES)),
        country=draw(st.sampled_from(("FR", "DE", "US", None))),
        segment=draw(st.sampled_from(SEGMENTS)),
        email=draw(st.sampled_from((EMAIL, EMAIL, EMAIL, None))),
        phone=draw(st.sampled_from((PHONE, PHONE, PHONE, None))),
        email_status=draw(st.sampled_from((OK, OK, OK, *ChannelStatus))),
        sms_status=draw(st.sampled_from((OK, OK, OK, *ChannelStatus))),
    )


@st.composite
def histories(draw: st.DrawFn) -> PaymentHistory:
    paid = draw(st.integers(0, 20))
    late = draw(st.integers(0, paid))
    days = draw(st.integers(late, late * 40))
    return PaymentHistory(
        paid, late, days, broken_promises=draw(st.sampled_from((0, 0, 0, 0, 0, 1, 2)))
    )


due_dates = st.dates(date(2024, 1, 1), date(2026, 6, 30))


def _messages(decision: Decision) -> list[object]:
    return [a for a in decision.actions if isinstance(a, HUMAN_ACTIONS)]


def _local_today(as_of: datetime, customer: Customer) -> date:
    return as_of.astimezone(ZoneInfo(customer.timezone)).date()


def _place(customer: Customer) -> Place:
    return Place(ZoneInfo(customer.timezone), (customer.country or "FR").upper())


def _next_call(data: st.DataObject, as_of: datetime, next_at: datetime) -> datetime:
    """When the engine is called next: on time, after some downtime, or early."""
    timing = data.draw(st.sampled_from(("on time", "on time", "downtime", "early")))
    if timing == "on time":
        return next_at
    if timing == "downtime":
        return next_at + timedelta(hours=data.draw(st.integers(1, 24 * 25)))
    return as_of + timedelta(hours=data.draw(st.integers(1, 48)))


def _events(
    data: st.DataObject,
    invoice: Invoice,
    customer: Customer,
    as_of: datetime,
    turn: int,
    plan: dict[str, int | None],
) -> Invoice:
    """Along the chase the customer may promise to pay, pay part, then pay everything."""
    if turn == plan["promise"] and invoice.promise_date is None:
        promised = _local_today(as_of, customer) + timedelta(days=data.draw(st.integers(0, 30)))
        return replace(invoice, promise_date=promised)
    if turn == plan["part"] and invoice.amount_due.minor > 1:
        return invoice.with_payment(Money(invoice.amount_due.minor // 2, invoice.currency), as_of)
    if turn == plan["pay"]:
        return invoice.with_payment(invoice.amount_due, as_of)
    return invoice


def _check_reminders_obey_window_and_cap(
    decision: Decision, policy: DunningPolicy, customer: Customer, as_of: datetime, recent: int
) -> None:
    if decision.messages:
        assert is_open(policy.send_window, as_of, _place(customer), CALENDAR)
        assert recent < policy.max_messages_per_week


@given(
    data=st.data(),
    policy=policies(),
    customer=customers(),
    history=histories(),
    due=due_dates,
    hour=st.integers(0, 23),
)
@settings(max_examples=150, deadline=None)
def test_simulated_chase_never_repeats_a_step_and_never_goes_back_in_time(
    data, policy, customer, history, due, hour
) -> None:
    invoice = an_invoice(due_date=due)
    as_of = datetime.combine(due - timedelta(days=25), time(hour), UTC)
    done: set[str] = set()
    previous_next: datetime | None = None
    turns = st.one_of(st.none(), st.integers(0, 8))
    plan = {"promise": data.draw(turns), "part": data.draw(turns), "pay": data.draw(turns)}
    for turn in range(60):
        invoice = _events(data, invoice, customer, as_of, turn, plan)
        recent = data.draw(st.sampled_from((0, 0, 0, 1, 2, 3, 5)))
        decision = decide(invoice, customer, policy, history, as_of, CALENDAR, recent)

        completed = decision.completed_steps
        assert len(set(completed)) == len(completed), "a step done twice in one decision"
        assert not done & set(completed), "a step done twice over the chase"
        done |= set(completed)
        _check_reminders_obey_window_and_cap(decision, policy, customer, as_of, recent)
        if invoice.status == InvoiceStatus.PAID:
            assert decision.actions == ()
            assert decision.next_action_at is None
            return
        next_at = decision.next_action_at
        if next_at is None:
            assert done == {s.step_id for s in policy.steps}
            return
        assert next_at > as_of
        assert previous_next is None or next_at >= previous_next, "next_action_at went back"
        previous_next = next_at
        invoice = apply_decision(invoice, decision)
        as_of = _next_call(data, as_of, next_at)


@given(policy=policies(), customer=customers(), history=histories(), due=due_dates)
@settings(max_examples=100, deadline=None)
def test_punctual_chase_completes_every_step_once_in_order(policy, customer, history, due) -> None:
    invoice = an_invoice(due_date=due)
    as_of = datetime.combine(due - timedelta(days=25), time(12), UTC)
    order: list[str] = []
    for _ in range(4 * len(policy.steps) + 10):
        decision = decide(invoice, customer, policy, history, as_of, CALENDAR, 0)
        order.extend(decision.completed_steps)
        invoice = apply_decision(invoice, decision)
        if decision.next_action_at is None:
            break
        as_of = decision.next_action_at
    assert order == [s.step_id for s in policy.steps]


stopping = st.sampled_from(
    (
        {"status": InvoiceStatus.PAID, "amount_paid": eur("1200.00")},
        {"amount_paid": eur("1200.00")},
        {"status": InvoiceStatus.CANCELLED},
        {"status": InvoiceStatus.WRITTEN_OFF},
        {"status": InvoiceStatus.DISPUTED},
        {"status": InvoiceStatus.DISPUTED, "disputed_amount": eur("1200.00")},
        {"disputed_amount": eur("9999.00")},
        {"paused": True},
    )
)


@given(
    policy=policies(),
    customer=customers(),
    history=histories(),
    due=due_dates,
    stop=stopping,
    days_after_due=st.integers(-30, 400),
    hour=st.integers(0, 23),
    done_count=st.integers(0, 6),
    promised=st.one_of(st.none(), st.integers(-10, 30)),
    recent=st.integers(0, 10),
)
@settings(max_examples=200, deadline=None)
def test_paid_disputed_or_paused_invoice_never_gets_a_message(
    policy,
    customer,
    history,
    due,
    stop,
    days_after_due,
    hour,
    done_count,
    promised,
    recent,
) -> None:
    steps_done = tuple(s.step_id for s in policy.steps[:done_count])
    promise = None if promised is None else due + timedelta(days=promised)
    invoice = an_invoice(due_date=due, steps_done=steps_done, promise_date=promise, **stop)
    as_of = datetime.combine(due + timedelta(days=days_after_due), time(hour), UTC)
    decision = decide(invoice, customer, policy, history, as_of, CALENDAR, recent)
    assert decision.actions == ()
    assert decision.next_action_at is None


@given(
    policy=policies(),
    customer=customers(),
    history=histories(),
    due=due_dates,
    days_after_due=st.integers(-30, 400),
    hour=st.integers(0, 23),
)
@settings(max_examples=100, deadline=None)
def test_paused_customer_never_gets_a_message(
    policy, customer, history, due, days_after_due, hour
) -> None:
    as_of = datetime.combine(due + timedelta(days=days_after_due), time(hour), UTC)
    decision = decide(
        an_invoice(due_date=due),
        replace(customer, paused=True),
        policy,
        history,
        as_of,
        CALENDAR,
        0,
    )
    assert _messages(decision) == []
    assert decision.next_action_at is None
