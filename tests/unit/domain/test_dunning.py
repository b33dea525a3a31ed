"""The dunning engine as tables: one line per situation, what `decide` does and when it wakes up.

Dates refer to the default French B2B policy on an invoice due Wednesday 15 October 2025
(see `dunning_builders.DUE`); times are Paris local time unless written in UTC.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from chalicelib.domain.dunning import (
    CreateTask,
    Decision,
    DecisionReason,
    DeferStep,
    RecordBrokenPromise,
    ResumeAfterPromise,
    SendReminder,
    SkipReason,
    SkipStep,
    TaskKind,
    apply_decision,
    check_promise_date,
    consolidate,
    is_disputed_in_full,
    resolve_channels,
)
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import (
    ChannelStatus,
    DocumentKind,
    InvoiceStatus,
    RiskClass,
)
from chalicelib.domain.money import Money
from chalicelib.domain.policies import (
    DEFAULT_FRENCH_B2B_POLICY,
    Anchor,
    Channel,
    DunningPolicy,
    PolicyStep,
    StepConditions,
    StepMode,
)
from chalicelib.domain.risk import PaymentHistory, Tone

from .dunning_builders import (
    CHRONIC,
    NEW_CUSTOMER,
    ON_TIME,
    NoBusinessDays,
    a_customer,
    an_invoice,
    decide_at,
    describe,
    eur,
    paris,
    utc,
)

ALL_STEPS = ("courtesy", "friendly", "firm", "call", "formal_notice", "legal")
UP_TO = {step: ALL_STEPS[:i] for i, step in enumerate(ALL_STEPS)}  # steps done before `step`
VERY_LATE = PaymentHistory(invoices_paid=4, paid_late=3, total_days_late=60)


# --- The sequence, day by day --------------------------------------------------------------

# fmt: off
SCHEDULE = [
    # Columns: case, steps done, as_of, actions, reason, next_action_at.
    ("before the courtesy day", (), paris(10, 10), [], "not_due", paris(10, 13, 9)),
    ("courtesy on a Sunday goes Monday", (), paris(10, 13), ["send courtesy via email tone=friendly"], "step_due", paris(10, 16, 9)),  # noqa: E501
    ("courtesy still goes on the due date", (), paris(10, 15), ["send courtesy via email tone=friendly"], "step_due", paris(10, 16, 9)),  # noqa: E501
    ("courtesy never goes once overdue", (), paris(10, 16), ["skip courtesy due_date_passed", "send friendly via email tone=friendly"], "step_due", paris(10, 23, 9)),  # noqa: E501
    ("courtesy dropped before the window", (), paris(10, 16, 8), ["skip courtesy due_date_passed"], "not_due", paris(10, 16, 9)),  # noqa: E501
    ("friendly the day after the due date", UP_TO["friendly"], paris(10, 16), ["send friendly via email tone=friendly"], "step_due", paris(10, 23, 9)),  # noqa: E501
    ("firm by email and sms at D+8", UP_TO["firm"], paris(10, 23), ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("call at D+15 is a task", UP_TO["call"], paris(10, 30), ["task call for call via call"], "step_due", paris(11, 14, 9)),  # noqa: E501
    ("formal notice at D+30 awaits approval", UP_TO["formal_notice"], paris(11, 14), ["approve formal_notice via email+letter"], "step_due", paris(12, 1, 9)),  # noqa: E501
    ("legal hand-off at D+45, after the weekend", UP_TO["legal"], paris(12, 1), ["task legal for legal via letter"], "step_due", None),  # noqa: E501
    ("nothing left to do", ALL_STEPS, paris(12, 20), [], "completed", None),
    ("between two steps", UP_TO["call"], paris(10, 27), [], "not_due", paris(10, 30, 9)),
    ("downtime: only the most advanced step", UP_TO["firm"], paris(11, 4), ["skip firm superseded", "task call for call via call"], "step_due", paris(11, 14, 9)),  # noqa: E501
    ("long downtime", UP_TO["friendly"], paris(11, 20), ["skip friendly superseded", "skip firm superseded", "skip call superseded", "approve formal_notice via email+letter"], "step_due", paris(12, 1, 9)),  # noqa: E501
    ("downtime across the due date", (), paris(10, 24), ["skip courtesy due_date_passed", "skip friendly superseded", "send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("unknown step ids are ignored", ("old_step", *UP_TO["firm"]), paris(10, 23), ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("done", "as_of", "actions", "reason", "next_at"),
    [case[1:] for case in SCHEDULE],
    ids=[case[0] for case in SCHEDULE],
)
def test_sequence_follows_the_default_policy(
    done: tuple[str, ...],
    as_of: datetime,
    actions: list[str],
    reason: str,
    next_at: datetime | None,
) -> None:
    decision = decide_at(as_of, an_invoice(steps_done=done))
    assert describe(decision) == actions
    assert decision.reason == reason
    assert decision.next_action_at == next_at


# --- Send window and pressure cap ----------------------------------------------------------

NY = a_customer(timezone="America/New_York", country="US")
DUE_MONDAY = an_invoice(due_date=date(2025, 11, 10), steps_done=("courtesy",))  # D+1 = 11 Nov

# fmt: off
WINDOW = [
    # Columns: case, invoice, customer, as_of, recent, actions, reason, next_action_at.
    ("Saturday waits for Monday (after DST ends)", None, None, paris(10, 25), 0, ["defer firm outside_window"], "outside_window", utc(10, 27, 8)),  # noqa: E501
    ("evening waits for the next morning", None, None, paris(10, 23, 19), 0, ["defer firm outside_window"], "outside_window", paris(10, 24, 9)),  # noqa: E501
    ("night before waits for the opening", None, None, paris(10, 24, 7), 0, ["defer firm outside_window"], "outside_window", paris(10, 24, 9)),  # noqa: E501
    ("18:00 is closed", None, None, paris(10, 23, 18), 0, ["defer firm outside_window"], "outside_window", paris(10, 24, 9)),  # noqa: E501
    ("17:59 is open", None, None, paris(10, 23, 17, 59), 0, ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("09:00 sharp is open", None, None, paris(10, 23, 9), 0, ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("public holiday moves the step", DUE_MONDAY, None, paris(11, 11), 0, [], "not_due", paris(11, 12, 9)),  # noqa: E501
    ("due step waits out a public holiday", replace(DUE_MONDAY, due_date=date(2025, 11, 6)), None, paris(11, 11), 0, ["defer friendly outside_window"], "outside_window", paris(11, 12, 9)),  # noqa: E501
    ("New York customer: due at 9:00 New York", None, NY, paris(10, 23, 10), 0, [], "not_due", paris(10, 23, 15)),  # noqa: E501
    ("New York customer: sent in their morning", None, NY, paris(10, 23, 16), 0, ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 14)),  # noqa: E501
    ("pressure cap reached: next day", None, None, paris(10, 23), 3, ["defer firm pressure_cap"], "pressure_cap", paris(10, 24, 9)),  # noqa: E501
    ("pressure cap on a Friday: Monday", None, None, paris(10, 24), 5, ["defer firm pressure_cap"], "pressure_cap", utc(10, 27, 8)),  # noqa: E501
    ("under the cap: sent", None, None, paris(10, 23), 2, ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("cap does not hold a call task", an_invoice(steps_done=UP_TO["call"]), None, paris(10, 30), 9, ["task call for call via call"], "step_due", paris(11, 14, 9)),  # noqa: E501
    ("cap does not hold an approval", an_invoice(steps_done=UP_TO["formal_notice"]), None, paris(11, 14), 9, ["approve formal_notice via email+letter"], "step_due", paris(12, 1, 9)),  # noqa: E501
    ("tasks are created outside business hours", an_invoice(steps_done=UP_TO["call"]), None, paris(11, 1, 22), 0, ["task call for call via call"], "step_due", paris(11, 14, 9)),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("invoice", "customer", "as_of", "recent", "actions", "reason", "next_at"),
    [case[1:] for case in WINDOW],
    ids=[case[0] for case in WINDOW],
)
def test_messages_respect_the_send_window_and_pressure_cap(
    invoice, customer, as_of, recent, actions, reason, next_at
) -> None:
    invoice = invoice or an_invoice(steps_done=UP_TO["firm"])
    decision = decide_at(as_of, invoice, customer, recent=recent)
    assert describe(decision) == actions
    assert decision.reason == reason
    assert decision.next_action_at == next_at


def test_deferred_step_names_when_it_will_be_tried_again() -> None:
    decision = decide_at(paris(10, 25), an_invoice(steps_done=UP_TO["firm"]))
    assert decision.actions == (
        DeferStep("inv_1", "firm", utc(10, 27, 8), DecisionReason.OUTSIDE_WINDOW),
    )


def test_policy_without_business_day_rule_sends_on_sunday() -> None:
    every_day = replace(
        DEFAULT_FRENCH_B2B_POLICY,
        send_window=replace(DEFAULT_FRENCH_B2B_POLICY.send_window, business_days_only=False),
    )
    decision = decide_at(paris(10, 26, 10), an_invoice(steps_done=UP_TO["firm"]), policy=every_day)
    assert describe(decision) == ["send firm via email+sms tone=friendly"]


# --- Never chased --------------------------------------------------------------------------

# fmt: off
STOPPED = [
    # Columns: case, invoice overrides, customer overrides, reason.
    ("paid", {"status": InvoiceStatus.PAID, "amount_paid": eur("1200.00")}, {}, "paid"),
    ("paid but status not updated yet", {"amount_paid": eur("1200.00")}, {}, "paid"),
    ("credited in full", {"credited": eur("1200.00")}, {}, "paid"),
    ("cancelled", {"status": InvoiceStatus.CANCELLED}, {}, "closed"),
    ("written off", {"status": InvoiceStatus.WRITTEN_OFF}, {}, "closed"),
    ("credit note", {"kind": DocumentKind.CREDIT_NOTE}, {}, "credit_note"),
    ("disputed, no amount", {"status": InvoiceStatus.DISPUTED}, {}, "disputed"),
    ("disputed for the whole balance", {"status": InvoiceStatus.DISPUTED, "disputed_amount": eur("1200.00")}, {}, "disputed"),  # noqa: E501
    ("disputed for more than the balance", {"disputed_amount": eur("5000.00")}, {}, "disputed"),
    ("rest disputed after a part payment", {"amount_paid": eur("200.00"), "disputed_amount": eur("1000.00")}, {}, "disputed"),  # noqa: E501
    ("invoice paused", {"paused": True}, {}, "paused"),
    ("customer paused", {}, {"paused": True}, "paused"),
    ("customer erased", {}, {"erased": True}, "erased"),
    ("paid with a promise running", {"status": InvoiceStatus.PAID, "amount_paid": eur("1200.00"), "promise_date": date(2025, 10, 20)}, {}, "paid"),  # noqa: E501
    ("closed even with a broken time zone", {"status": InvoiceStatus.CANCELLED}, {"timezone": "Mars/Olympus"}, "closed"),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("invoice_changes", "customer_changes", "reason"),
    [case[1:] for case in STOPPED],
    ids=[case[0] for case in STOPPED],
)
def test_closed_disputed_and_paused_invoices_are_left_alone(
    invoice_changes, customer_changes, reason
) -> None:
    invoice = an_invoice(steps_done=UP_TO["firm"], **invoice_changes)
    decision = decide_at(paris(10, 23), invoice, a_customer(**customer_changes))
    assert decision == Decision("inv_1", (), None, DecisionReason(reason))


def test_partial_dispute_keeps_chasing_the_undisputed_rest() -> None:
    invoice = an_invoice(
        status=InvoiceStatus.DISPUTED, disputed_amount=eur("1000.00"), steps_done=UP_TO["firm"]
    )
    (reminder,) = decide_at(paris(10, 23), invoice).actions
    assert isinstance(reminder, SendReminder)
    assert reminder.amount == eur("200.00")


def test_reminder_carries_the_balance_after_part_payment() -> None:
    invoice = an_invoice(amount_paid=eur("450.50"), status=InvoiceStatus.PARTIALLY_PAID)
    (reminder,) = decide_at(paris(10, 13), invoice).actions
    assert isinstance(reminder, SendReminder)
    assert reminder.amount == eur("749.50")


@pytest.mark.parametrize(
    ("status", "disputed", "expected"),
    [
        (InvoiceStatus.DISPUTED, None, True),
        (InvoiceStatus.DISPUTED, "1200.00", True),
        (InvoiceStatus.DISPUTED, "0.01", False),
        (InvoiceStatus.OPEN, "1200.00", True),
        (InvoiceStatus.OPEN, "1199.99", False),
        (InvoiceStatus.OPEN, None, False),
    ],
)
def test_dispute_covers_the_whole_invoice_only_when_nothing_undisputed_is_left(
    status, disputed, expected
) -> None:
    amount = eur(disputed) if disputed else None
    assert is_disputed_in_full(an_invoice(status=status, disputed_amount=amount)) is expected


# --- Pauses and promises -------------------------------------------------------------------

FIRM_NEXT = UP_TO["firm"]
PROMISED = date(2025, 10, 24)  # + 3 grace days: kept if paid by Monday 27 October

# fmt: off
HOLDS = [
    # Columns: case, invoice overrides, as_of, actions, reason, next_action_at.
    ("dated pause holds the chase", {"paused_until": paris(10, 27, 12)}, paris(10, 23), [], "paused", paris(10, 27, 12)),  # noqa: E501
    ("pause ending before the next step waits for it", {"paused_until": paris(10, 20)}, paris(10, 17), [], "paused", paris(10, 23, 9)),  # noqa: E501
    ("dated pause over: chase resumes", {"paused_until": paris(10, 22)}, paris(10, 23), ["send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("promise holds the chase", {"promise_date": PROMISED}, paris(10, 23), [], "promise", utc(10, 28, 8)),  # noqa: E501
    ("promise still holds on the last grace day", {"promise_date": PROMISED}, paris(10, 27, 17), [], "promise", utc(10, 28, 8)),  # noqa: E501
    ("promise holds until the window opens", {"promise_date": PROMISED}, paris(10, 28, 7), [], "promise", utc(10, 28, 8)),  # noqa: E501
    ("broken promise: resume where it stopped", {"promise_date": PROMISED}, paris(10, 28, 10), ["broken promise 2025-10-24", "resume", "send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
    ("broken promise found late: catch-up", {"promise_date": PROMISED}, paris(11, 4), ["broken promise 2025-10-24", "resume", "skip firm superseded", "task call for call via call"], "step_due", paris(11, 14, 9)),  # noqa: E501
    ("short promise waits for the next step", {"promise_date": date(2025, 10, 17), "steps_done": UP_TO["firm"]}, paris(10, 17), [], "promise", paris(10, 23, 9)),  # noqa: E501
    ("broken promise with nothing left to do", {"promise_date": date(2025, 12, 20), "steps_done": ALL_STEPS}, paris(12, 29), ["broken promise 2025-12-20", "resume"], "completed", None),  # noqa: E501
    ("part-paid promise is still broken", {"promise_date": PROMISED, "amount_paid": eur("100.00")}, paris(10, 28, 10), ["broken promise 2025-10-24", "resume", "send firm via email+sms tone=friendly"], "step_due", paris(10, 30, 9)),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("changes", "as_of", "actions", "reason", "next_at"),
    [case[1:] for case in HOLDS],
    ids=[case[0] for case in HOLDS],
)
def test_pauses_and_promises_hold_then_resume(changes, as_of, actions, reason, next_at) -> None:
    invoice = an_invoice(**{"steps_done": FIRM_NEXT, **changes})
    decision = decide_at(as_of, invoice)
    assert describe(decision) == actions
    assert decision.reason == reason
    assert decision.next_action_at == next_at


def test_broken_promise_names_the_promise_and_its_deadline() -> None:
    decision = decide_at(paris(10, 28, 10), an_invoice(steps_done=FIRM_NEXT, promise_date=PROMISED))
    assert decision.actions[:2] == (
        RecordBrokenPromise("inv_1", "cus_1", PROMISED, date(2025, 10, 27)),
        ResumeAfterPromise("inv_1", PROMISED, paris(10, 28, 10)),
    )


def test_grace_days_come_from_the_policy() -> None:
    no_grace = replace(DEFAULT_FRENCH_B2B_POLICY, grace_days_after_promise=0)
    invoice = an_invoice(steps_done=FIRM_NEXT, promise_date=PROMISED)
    decision = decide_at(paris(10, 24, 20), invoice, policy=no_grace)
    assert decision.reason == DecisionReason.PROMISE
    assert decision.next_action_at == utc(10, 27, 8)  # Monday, the first window after Friday


# --- Who is reached, how, and in which tone ------------------------------------------------

BOUNCED = {"email_status": ChannelStatus.BOUNCED}
NO_SMS = {"sms_status": ChannelStatus.OPTED_OUT}

# fmt: off
REACH = [
    # Columns: case, step, customer overrides, history, actions.
    ("email bounced: firm goes by sms only", "firm", BOUNCED, ON_TIME, ["send firm via sms tone=friendly"]),  # noqa: E501
    ("sms opted out: firm goes by email only", "firm", NO_SMS, ON_TIME, ["send firm via email tone=friendly"]),  # noqa: E501
    ("email bounced: friendly falls back to sms", "friendly", BOUNCED, ON_TIME, ["send friendly via sms tone=friendly"]),  # noqa: E501
    ("no email address: friendly falls back to sms", "friendly", {"email": None}, ON_TIME, ["send friendly via sms tone=friendly"]),  # noqa: E501
    ("complaint counts as unreachable", "friendly", {"email_status": ChannelStatus.COMPLAINED}, ON_TIME, ["send friendly via sms tone=friendly"]),  # noqa: E501
    ("nobody reachable: a person finds a way", "friendly", {**BOUNCED, **NO_SMS}, ON_TIME, ["task unreachable for friendly via -"]),  # noqa: E501
    ("no contact at all", "firm", {"email": None, "phone": None}, ON_TIME, ["task unreachable for firm via -"]),  # noqa: E501
    ("call without a phone number", "call", {"phone": None}, ON_TIME, ["task unreachable for call via -"]),  # noqa: E501
    ("call despite sms opt-out", "call", NO_SMS, ON_TIME, ["task call for call via call"]),
    ("formal notice without email: letter", "formal_notice", {"email": None}, ON_TIME, ["approve formal_notice via letter"]),  # noqa: E501
    ("strategic customer: a person reviews", "firm", {"segment": "strategic"}, ON_TIME, ["task strategic_review for firm via email+sms"]),  # noqa: E501
    ("high-risk segment: a person reviews", "friendly", {"segment": "high_risk"}, ON_TIME, ["task strategic_review for friendly via email"]),  # noqa: E501
    ("computed high risk: a person reviews", "firm", {}, VERY_LATE, ["task strategic_review for firm via email+sms"]),  # noqa: E501
    ("collector's high risk: a person reviews", "firm", {"risk_override": RiskClass.HIGH}, ON_TIME, ["task strategic_review for firm via email+sms"]),  # noqa: E501
    ("collector's low risk beats history", "firm", {"risk_override": RiskClass.LOW}, VERY_LATE, ["send firm via email+sms tone=firm"]),  # noqa: E501
    ("strategic approval step stays an approval", "formal_notice", {"segment": "strategic"}, ON_TIME, ["approve formal_notice via email+letter"]),  # noqa: E501
    ("strategic call stays a call", "call", {"segment": "strategic"}, ON_TIME, ["task call for call via call"]),  # noqa: E501
    ("unreachable strategic customer", "friendly", {"segment": "strategic", **BOUNCED, **NO_SMS}, ON_TIME, ["task unreachable for friendly via -"]),  # noqa: E501
    ("new customer: standard tone", "firm", {}, NEW_CUSTOMER, ["send firm via email+sms tone=standard"]),  # noqa: E501
    ("chronic late payer: firm tone", "firm", {}, CHRONIC, ["send firm via email+sms tone=firm"]),
]
# fmt: on
STEP_DAY = {
    "friendly": paris(10, 16),
    "firm": paris(10, 23),
    "call": paris(10, 30),
    "formal_notice": paris(11, 14),
}


@pytest.mark.parametrize(
    ("step", "customer_changes", "history", "actions"),
    [case[1:] for case in REACH],
    ids=[case[0] for case in REACH],
)
def test_channel_fallback_segments_and_tone(step, customer_changes, history, actions) -> None:
    decision = decide_at(
        STEP_DAY[step],
        an_invoice(steps_done=UP_TO[step]),
        a_customer(**customer_changes),
        history=history,
    )
    assert describe(decision) == actions
    assert decision.reason == DecisionReason.STEP_DUE


def test_tasks_carry_the_step_for_the_person() -> None:
    decision = decide_at(
        paris(10, 23), an_invoice(steps_done=UP_TO["firm"]), a_customer(segment="strategic")
    )
    (task,) = decision.actions
    assert task == CreateTask(
        kind=TaskKind.STRATEGIC_REVIEW,
        invoice_id="inv_1",
        customer_id="cus_1",
        step_id="firm",
        channels=(Channel.EMAIL, Channel.SMS),
        template="firm",
        tone=Tone.FRIENDLY,
        amount=eur("1200.00"),
        note="segment strategic, risk low: a person handles this step",
    )


@pytest.mark.parametrize(
    ("channels", "mode", "customer_changes", "expected"),
    [
        ((Channel.EMAIL,), StepMode.AUTO, {}, (Channel.EMAIL,)),
        ((Channel.EMAIL,), StepMode.AUTO, BOUNCED, (Channel.SMS,)),
        ((Channel.SMS,), StepMode.AUTO, NO_SMS, (Channel.EMAIL,)),
        ((Channel.SMS,), StepMode.AUTO, {"phone": None}, (Channel.EMAIL,)),
        ((Channel.EMAIL, Channel.SMS), StepMode.AUTO, {}, (Channel.EMAIL, Channel.SMS)),
        ((Channel.SMS, Channel.EMAIL), StepMode.AUTO, BOUNCED, (Channel.SMS,)),
        ((Channel.EMAIL,), StepMode.AUTO, {**BOUNCED, **NO_SMS}, ()),
        ((Channel.EMAIL, Channel.LETTER), StepMode.APPROVAL, BOUNCED, (Channel.LETTER,)),
        ((Channel.CALL,), StepMode.MANUAL, {"phone": None}, ()),
        ((Channel.LETTER,), StepMode.MANUAL, {"email": None, "phone": None}, (Channel.LETTER,)),
    ],
)
def test_resolve_channels(channels, mode, customer_changes, expected) -> None:
    step = PolicyStep("s", 1, Anchor.DUE_DATE, channels, mode, "s")
    assert resolve_channels(step, a_customer(**customer_changes)) == expected


# --- Step conditions -----------------------------------------------------------------------

CONDITIONAL = DunningPolicy(
    policy_id="conditional",
    version=1,
    name="Conditional steps",
    steps=(
        PolicyStep("reminder", 1, Anchor.DUE_DATE, (Channel.EMAIL,), StepMode.AUTO, "reminder"),
        PolicyStep(
            "big_sms",
            5,
            Anchor.DUE_DATE,
            (Channel.SMS,),
            StepMode.AUTO,
            "big_sms",
            StepConditions(min_amount_due=eur("1000.00"), requires_channel=Channel.SMS),
        ),
        PolicyStep(
            "vip_check",
            5,
            Anchor.PREVIOUS_STEP,
            (Channel.EMAIL,),
            StepMode.AUTO,
            "vip_check",
            StepConditions(segments=frozenset({"vip"})),
        ),
        PolicyStep(
            "medium_risk",
            20,
            Anchor.DUE_DATE,
            (Channel.EMAIL,),
            StepMode.AUTO,
            "medium_risk",
            StepConditions(risk_classes=frozenset({RiskClass.MEDIUM})),
        ),
    ),
)
# reminder Thu 16 Oct, big_sms Mon 20 Oct, vip_check Sat 25 (so Mon 27), medium_risk Tue 4 Nov.

# fmt: off
CONDITIONS = [
    # Columns: case, amount, customer changes, history, done, as_of, actions, next_action_at.
    ("amount reached", "1200.00", {}, ON_TIME, ("reminder",), paris(10, 20), ["send big_sms via sms tone=friendly"], paris(10, 27, 9)),  # noqa: E501
    ("amount too small", "999.99", {}, ON_TIME, ("reminder",), paris(10, 20), ["skip big_sms not_applicable"], paris(10, 27, 9)),  # noqa: E501
    ("required channel unreachable", "1200.00", NO_SMS, ON_TIME, ("reminder",), paris(10, 20), ["skip big_sms not_applicable"], paris(10, 27, 9)),  # noqa: E501
    ("segment matches", "500.00", {"segment": "vip"}, ON_TIME, ("reminder", "big_sms"), paris(10, 27), ["send vip_check via email tone=friendly"], paris(11, 4, 9)),  # noqa: E501
    ("segment does not match", "500.00", {}, ON_TIME, ("reminder", "big_sms"), paris(10, 27), ["skip vip_check not_applicable"], paris(11, 4, 9)),  # noqa: E501
    ("risk class matches", "500.00", {}, NEW_CUSTOMER, ("reminder", "big_sms", "vip_check"), paris(11, 4), ["send medium_risk via email tone=standard"], None),  # noqa: E501
    ("risk class does not match", "500.00", {}, ON_TIME, ("reminder", "big_sms", "vip_check"), paris(11, 4), ["skip medium_risk not_applicable"], None),  # noqa: E501
    ("inapplicable later step does not hide an earlier one", "1200.00", {}, ON_TIME, (), paris(10, 27), ["skip reminder superseded", "send big_sms via sms tone=friendly", "skip vip_check not_applicable"], paris(11, 4, 9)),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("amount", "customer_changes", "history", "done", "as_of", "actions", "next_at"),
    [case[1:] for case in CONDITIONS],
    ids=[case[0] for case in CONDITIONS],
)
def test_step_conditions(amount, customer_changes, history, done, as_of, actions, next_at) -> None:
    decision = decide_at(
        as_of,
        an_invoice(amount, steps_done=done),
        a_customer(**customer_changes),
        policy=CONDITIONAL,
        history=history,
    )
    assert describe(decision) == actions
    assert decision.next_action_at == next_at


def test_condition_on_amount_uses_the_undisputed_part() -> None:
    invoice = an_invoice("1500.00", steps_done=("reminder",), disputed_amount=eur("600.00"))
    decision = decide_at(paris(10, 20), invoice, policy=CONDITIONAL)
    assert describe(decision) == ["skip big_sms not_applicable"]


def test_policy_without_steps_has_nothing_to_do() -> None:
    empty = replace(DEFAULT_FRENCH_B2B_POLICY, steps=())
    assert decide_at(paris(10, 23), policy=empty) == Decision(
        "inv_1", (), None, DecisionReason.COMPLETED
    )


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"as_of": datetime(2025, 10, 23, 10)}, "as_of"),
        ({"customer": a_customer(customer_id="cus_other")}, "customer_id"),
        ({"recent": -1}, "recent_message_count"),
        ({"customer": a_customer(timezone="Mars/Olympus")}, "timezone"),
        ({"customer": a_customer(timezone="../../etc/passwd")}, "timezone"),
        ({"calendar": NoBusinessDays()}, "calendar"),
    ],
    ids=[
        "naive time",
        "wrong customer",
        "negative count",
        "unknown zone",
        "path as zone",
        "no day",
    ],
)
def test_bad_input_is_rejected_with_the_field_named(kwargs, field) -> None:
    as_of = kwargs.pop("as_of", paris(10, 23))
    with pytest.raises(ValidationError) as error:
        decide_at(as_of, an_invoice(steps_done=UP_TO["firm"]), **kwargs)
    assert error.value.field == field


def test_customer_without_country_gets_french_holidays() -> None:
    decision = decide_at(paris(11, 11), DUE_MONDAY, a_customer(country=None))
    assert decision.next_action_at == paris(11, 12, 9)


def test_lower_case_country_is_understood() -> None:
    decision = decide_at(paris(11, 11), DUE_MONDAY, a_customer(country="fr"))
    assert decision.next_action_at == paris(11, 12, 9)


# --- Applying decisions --------------------------------------------------------------------


def test_applying_a_decision_marks_sent_and_skipped_steps_done() -> None:
    invoice = an_invoice()
    decision = decide_at(paris(10, 24), invoice)
    updated = apply_decision(invoice, decision)
    assert updated.steps_done == ("courtesy", "friendly", "firm")
    assert updated.next_action_at == paris(10, 30, 9)


def test_deferred_step_stays_pending() -> None:
    invoice = an_invoice(steps_done=UP_TO["firm"])
    updated = apply_decision(invoice, decide_at(paris(10, 25), invoice))
    assert updated.steps_done == UP_TO["firm"]
    assert updated.next_action_at == utc(10, 27, 8)


def test_resume_clears_the_promise() -> None:
    invoice = an_invoice(steps_done=FIRM_NEXT, promise_date=PROMISED)
    updated = apply_decision(invoice, decide_at(paris(10, 28, 10), invoice))
    assert updated.promise_date is None
    assert "firm" in updated.steps_done


def test_applying_twice_never_duplicates_a_step() -> None:
    invoice = an_invoice(steps_done=UP_TO["firm"])
    decision = decide_at(paris(10, 23), invoice)
    once = apply_decision(invoice, decision)
    assert apply_decision(once, decision).steps_done == (*UP_TO["firm"], "firm")


def test_decision_about_another_invoice_is_refused() -> None:
    decision = decide_at(paris(10, 23), an_invoice(invoice_id="inv_2"))
    with pytest.raises(ValidationError) as error:
        apply_decision(an_invoice(), decision)
    assert error.value.field == "invoice_id"


def test_decision_lists_completed_steps_and_messages() -> None:
    decision = decide_at(paris(10, 24), an_invoice())
    assert decision.completed_steps == ("courtesy", "friendly", "firm")
    assert [m.step_id for m in decision.messages] == ["firm"]


def test_skip_reasons_are_stable_codes() -> None:
    decision = decide_at(paris(10, 24), an_invoice())
    assert [a.reason for a in decision.actions if isinstance(a, SkipStep)] == [
        SkipReason.DUE_DATE_PASSED,
        SkipReason.SUPERSEDED,
    ]


# --- Promise dates -------------------------------------------------------------------------

TODAY = date(2025, 10, 20)


@pytest.mark.parametrize(
    ("promised", "max_days", "ok"),
    [
        (TODAY, 30, True),
        (date(2025, 11, 19), 30, True),
        (date(2025, 11, 20), 30, False),
        (date(2025, 10, 19), 30, False),
        (date(2025, 10, 30), 10, True),
        (date(2025, 10, 31), 10, False),
    ],
    ids=["today", "limit", "one day too far", "yesterday", "custom limit", "past custom limit"],
)
def test_promised_date_must_be_soon_and_not_past(promised, max_days, ok) -> None:
    policy = replace(DEFAULT_FRENCH_B2B_POLICY, max_promise_days=max_days)
    if ok:
        assert check_promise_date(promised, TODAY, policy) == promised
    else:
        with pytest.raises(ValidationError) as error:
            check_promise_date(promised, TODAY, policy)
        assert error.value.field == "promise_date"


# --- Consolidation -------------------------------------------------------------------------


def reminder(
    invoice_id: str,
    customer_id: str = "cus_1",
    step_id: str = "firm",
    channels: tuple[Channel, ...] = (Channel.EMAIL,),
    amount: Money | None = None,
    template: str | None = None,
) -> SendReminder:
    return SendReminder(
        invoice_id,
        customer_id,
        step_id,
        channels,
        template or step_id,
        Tone.STANDARD,
        amount=amount or eur("100.00"),
    )


def test_one_message_per_customer_step_and_channel() -> None:
    batch = [
        reminder("inv_1", channels=(Channel.EMAIL, Channel.SMS)),
        reminder("inv_2", channels=(Channel.EMAIL, Channel.SMS)),
        reminder("inv_3", customer_id="cus_2"),
        reminder("inv_4", step_id="friendly"),
    ]
    messages = consolidate(batch)
    assert [(m.customer_id, m.step_id, m.channel, m.invoice_ids) for m in messages] == [
        ("cus_1", "firm", Channel.EMAIL, ("inv_1", "inv_2")),
        ("cus_1", "firm", Channel.SMS, ("inv_1", "inv_2")),
        ("cus_2", "firm", Channel.EMAIL, ("inv_3",)),
        ("cus_1", "friendly", Channel.EMAIL, ("inv_4",)),
    ]


def test_same_invoice_is_listed_once() -> None:
    (message,) = consolidate([reminder("inv_1"), reminder("inv_1")])
    assert message.invoice_ids == ("inv_1",)


def test_consolidated_message_totals_each_currency() -> None:
    batch = [
        reminder("inv_1", amount=eur("100.10")),
        reminder("inv_2", amount=Money.parse("50", "USD")),
        reminder("inv_3", amount=eur("0.90")),
    ]
    (message,) = consolidate(batch)
    assert message.totals == (eur("101.00"), Money.parse("50", "USD"))


def test_different_templates_are_not_merged() -> None:
    messages = consolidate([reminder("inv_1"), reminder("inv_2", template="firm_v2")])
    assert [m.template for m in messages] == ["firm", "firm_v2"]


def test_consolidation_off_gives_one_message_per_invoice() -> None:
    messages = consolidate([reminder("inv_1"), reminder("inv_2")], enabled=False)
    assert [m.invoice_ids for m in messages] == [("inv_1",), ("inv_2",)]


def test_nothing_to_consolidate() -> None:
    assert consolidate([]) == ()


def test_engine_output_consolidates_across_invoices() -> None:
    first = an_invoice(invoice_id="inv_1", steps_done=UP_TO["firm"])
    second = an_invoice("300.00", invoice_id="inv_2", number="F-2", steps_done=UP_TO["firm"])
    reminders = [m for inv in (first, second) for m in decide_at(paris(10, 23), inv).messages]
    assert [(m.channel, m.invoice_ids) for m in consolidate(reminders)] == [
        (Channel.EMAIL, ("inv_1", "inv_2")),
        (Channel.SMS, ("inv_1", "inv_2")),
    ]
