"""Dunning policies: the French default, validation rules, conditions and policy assignment."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import ChannelStatus, RiskClass
from chalicelib.domain.money import Money
from chalicelib.domain.policies import (
    DEFAULT_FRENCH_B2B_POLICY,
    DEFAULT_POLICY_ID,
    Anchor,
    Channel,
    DunningPolicy,
    PolicyAssignmentRule,
    PolicyProblem,
    PolicyStep,
    StepConditions,
    StepMode,
    can_reach,
    choose_policy,
    conditions_met,
    effective_offsets,
    ensure_valid_policy,
    validate_policy,
)
from chalicelib.domain.send_window import SendWindow
from chalicelib.domain.statutory import Jurisdiction

from .dunning_builders import a_customer, an_invoice, eur

EMAIL = (Channel.EMAIL,)
AUTO, APPROVAL, MANUAL = StepMode.AUTO, StepMode.APPROVAL, StepMode.MANUAL
DUE, PREVIOUS = Anchor.DUE_DATE, Anchor.PREVIOUS_STEP


def step(
    step_id: str = "s1",
    offset: int = 1,
    channels: tuple[Channel, ...] = EMAIL,
    mode: StepMode = AUTO,
    anchor: Anchor = DUE,
    template: str | None = None,
    conditions: StepConditions | None = None,
) -> PolicyStep:
    return PolicyStep(
        step_id,
        offset,
        anchor,
        channels,
        mode,
        step_id if template is None else template,
        conditions or StepConditions(),
    )


def policy(*steps: PolicyStep, **changes: Any) -> DunningPolicy:
    base = DunningPolicy("p1", 1, "Test policy", steps or (step(),))
    return replace(base, **changes)


# --- The French default --------------------------------------------------------------------


def test_default_french_policy_has_the_agreed_steps() -> None:
    assert [
        (s.step_id, s.offset_days, s.anchor, s.channels, s.mode, s.template)
        for s in DEFAULT_FRENCH_B2B_POLICY.steps
    ] == [
        ("courtesy", -3, DUE, (Channel.EMAIL,), AUTO, "courtesy"),
        ("friendly", 1, DUE, (Channel.EMAIL,), AUTO, "friendly"),
        ("firm", 8, DUE, (Channel.EMAIL, Channel.SMS), AUTO, "firm"),
        ("call", 15, DUE, (Channel.CALL,), MANUAL, "call"),
        ("formal_notice", 30, DUE, (Channel.EMAIL, Channel.LETTER), APPROVAL, "formal_notice"),
        ("legal", 45, DUE, (Channel.LETTER,), MANUAL, "legal"),
    ]


def test_default_french_policy_limits() -> None:
    default = DEFAULT_FRENCH_B2B_POLICY
    assert (default.grace_days_after_promise, default.max_promise_days) == (3, 30)
    assert default.max_messages_per_week == 3
    assert default.send_window == SendWindow(start_hour=9, end_hour=18, business_days_only=True)
    assert default.consolidate is True
    assert default.jurisdiction == Jurisdiction.FR
    assert default.policy_id == DEFAULT_POLICY_ID


def test_default_french_policy_is_valid() -> None:
    assert validate_policy(DEFAULT_FRENCH_B2B_POLICY) == []
    assert ensure_valid_policy(DEFAULT_FRENCH_B2B_POLICY) is DEFAULT_FRENCH_B2B_POLICY


def test_step_lookup_by_id() -> None:
    assert DEFAULT_FRENCH_B2B_POLICY.step("firm").offset_days == 8
    with pytest.raises(ValidationError) as error:
        DEFAULT_FRENCH_B2B_POLICY.step("nope")
    assert error.value.field == "step_id"


# --- Effective offsets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ((step("a", -3), step("b", 1), step("c", 8)), (-3, 1, 8)),
        ((step("a", 1), step("b", 7, anchor=PREVIOUS), step("c", 7, anchor=PREVIOUS)), (1, 8, 15)),
        ((step("a", 5), step("b", 10), step("c", 3, anchor=PREVIOUS)), (5, 10, 13)),
        ((step("a", 4, anchor=PREVIOUS),), (4,)),
        ((), ()),
    ],
    ids=["due date", "chained", "mixed", "first step has no previous", "no steps"],
)
def test_effective_offsets(steps, expected) -> None:
    assert effective_offsets(replace(policy(), steps=steps)) == expected


# --- Validation ----------------------------------------------------------------------------

LONG = "x" * 65

# fmt: off
INVALID = [
    # Columns: case, policy, (field, reason fragment).
    ("blank policy id", policy(policy_id=""), ("policy_id", "slug")),
    ("policy id with spaces", policy(policy_id="my policy"), ("policy_id", "slug")),
    ("version zero", policy(version=0), ("version", "1 or more")),
    ("blank name", policy(name="  "), ("name", "empty")),
    ("no steps", replace(policy(), steps=()), ("steps", "at least one")),
    ("negative grace", policy(grace_days_after_promise=-1), ("grace_days_after_promise", "between")),  # noqa: E501
    ("endless grace", policy(grace_days_after_promise=31), ("grace_days_after_promise", "between")),  # noqa: E501
    ("promise window zero", policy(max_promise_days=0), ("max_promise_days", "between")),
    ("no message allowed", policy(max_messages_per_week=0), ("max_messages_per_week", "between")),
    ("message flood", policy(max_messages_per_week=22), ("max_messages_per_week", "between")),
    ("unknown jurisdiction", policy(jurisdiction="US"), ("jurisdiction", "FR or EU")),
    ("window closes before it opens", policy(send_window=SendWindow(18, 9)), ("send_window.end_hour", "after start_hour")),  # noqa: E501
    ("window start hour 24", policy(send_window=SendWindow(24, 24)), ("send_window.start_hour", "between")),  # noqa: E501
    ("window end hour 25", policy(send_window=SendWindow(9, 25)), ("send_window.end_hour", "between")),  # noqa: E501
    ("duplicate step id", policy(step("a", 1), step("a", 2)), ("steps[1].step_id", "duplicate")),
    ("blank step id", policy(step("", 1)), ("steps[0].step_id", "slug")),
    ("step id too long", policy(step(LONG, 1)), ("steps[0].step_id", "slug")),
    ("upper-case step id", policy(step("Firm", 1, template="firm")), ("steps[0].step_id", "slug")),
    ("blank template", policy(step("a", 1, template=" ")), ("steps[0].template", "empty")),
    ("template with a path", policy(step("a", 1, template="../secrets")), ("steps[0].template", "bare")),  # noqa: E501
    ("no channel", policy(step("a", 1, channels=())), ("steps[0].channels", "at least one")),
    ("channel twice", policy(step("a", 1, channels=(Channel.EMAIL, Channel.EMAIL))), ("steps[0].channels", "twice")),  # noqa: E501
    ("automatic call", policy(step("a", 1, channels=(Channel.CALL,))), ("steps[0].channels", "call is only allowed in manual")),  # noqa: E501
    ("call to approve", policy(step("a", 1, channels=(Channel.CALL,), mode=APPROVAL)), ("steps[0].channels", "call is only allowed in manual")),  # noqa: E501
    ("automatic letter", policy(step("a", 1, channels=(Channel.LETTER,))), ("steps[0].channels", "letter needs approval")),  # noqa: E501
    ("manual email", policy(step("a", 1, mode=MANUAL)), ("steps[0].channels", "exactly one channel")),  # noqa: E501
    ("manual call and letter", policy(step("a", 1, channels=(Channel.CALL, Channel.LETTER), mode=MANUAL)), ("steps[0].channels", "exactly one channel")),  # noqa: E501
    ("offset before -60", policy(step("a", -61)), ("steps[0].offset_days", "between -60 and 365")),  # noqa: E501
    ("offset after 365", policy(step("a", 366)), ("steps[0].offset_days", "between -60 and 365")),
    ("chained past 365", policy(step("a", 300), step("b", 100, anchor=PREVIOUS)), ("steps[1].offset_days", "effective day")),  # noqa: E501
    ("steps out of order", policy(step("a", 8), step("b", 1)), ("steps[1].offset_days", "in order")),  # noqa: E501
    ("two steps the same day", policy(step("a", 8), step("b", 8)), ("steps[1].offset_days", "in order")),  # noqa: E501
    ("first step anchored on a previous one", policy(step("a", 1, anchor=PREVIOUS)), ("steps[0].anchor", "no previous")),  # noqa: E501
    ("previous-step anchor with zero days", policy(step("a", 1), step("b", 0, anchor=PREVIOUS)), ("steps[1].offset_days", "at least 1")),  # noqa: E501
    ("negative amount condition", policy(step("a", 1, conditions=StepConditions(min_amount_due=eur("-1.00")))), ("steps[0].conditions.min_amount_due", "negative")),  # noqa: E501
    ("empty segment condition", policy(step("a", 1, conditions=StepConditions(segments=frozenset()))), ("steps[0].conditions.segments", "match no one")),  # noqa: E501
    ("empty risk condition", policy(step("a", 1, conditions=StepConditions(risk_classes=frozenset()))), ("steps[0].conditions.risk_classes", "match no one")),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("bad_policy", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_policies_are_reported_field_by_field(bad_policy, expected) -> None:
    field, fragment = expected
    problems = validate_policy(bad_policy)
    assert [p for p in problems if p.field == field and fragment in p.reason], problems


# fmt: off
VALID = [
    # Columns: case, policy.
    ("single email step", policy()),
    ("sms only", policy(step("a", 1, channels=(Channel.SMS,)))),
    ("approved letter", policy(step("a", 30, channels=(Channel.LETTER,), mode=APPROVAL))),
    ("approved email", policy(step("a", 30, mode=APPROVAL))),
    ("manual letter", policy(step("a", 30, channels=(Channel.LETTER,), mode=MANUAL))),
    ("earliest and latest offsets", policy(step("a", -60), step("b", 365))),
    ("chained steps", policy(step("a", 1), step("b", 7, anchor=PREVIOUS), step("c", 5, anchor=PREVIOUS))),  # noqa: E501
    ("step id with dash and digits", policy(step("step-2", 1))),
    ("all conditions", policy(step("a", 1, conditions=StepConditions(eur("10.00"), frozenset({"vip"}), frozenset({RiskClass.LOW}), Channel.SMS)))),  # noqa: E501
    ("whole-day window", policy(send_window=SendWindow(0, 24, business_days_only=False))),
    ("EU jurisdiction", policy(jurisdiction=Jurisdiction.EU)),
]
# fmt: on


@pytest.mark.parametrize(
    "good_policy", [case[1] for case in VALID], ids=[case[0] for case in VALID]
)
def test_valid_policies_have_no_problem(good_policy) -> None:
    assert validate_policy(good_policy) == []


def test_every_problem_is_reported_not_just_the_first() -> None:
    bad = policy(step("a", 8, channels=()), step("a", 1), policy_id="", version=0)
    fields = [p.field for p in validate_policy(bad)]
    assert fields == [
        "policy_id",
        "version",
        "steps[0].channels",
        "steps[1].step_id",
        "steps[1].offset_days",
    ]


def test_problems_unpack_as_field_and_reason() -> None:
    ((field, reason),) = validate_policy(policy(version=0))
    assert (field, reason) == ("version", "must be 1 or more")
    assert validate_policy(policy(version=0)) == [PolicyProblem("version", "must be 1 or more")]


def test_ensure_valid_policy_names_the_first_bad_field_and_lists_all() -> None:
    with pytest.raises(ValidationError) as error:
        ensure_valid_policy(policy(name="", version=0))
    assert error.value.field == "version"
    assert "version: must be 1 or more; name: must not be empty" in str(error.value)


# --- Reachability and conditions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "changes", "expected"),
    [
        (Channel.EMAIL, {}, True),
        (Channel.EMAIL, {"email": None}, False),
        (Channel.EMAIL, {"email": ""}, False),
        (Channel.EMAIL, {"email_status": ChannelStatus.BOUNCED}, False),
        (Channel.EMAIL, {"email_status": ChannelStatus.COMPLAINED}, False),
        (Channel.SMS, {}, True),
        (Channel.SMS, {"phone": None}, False),
        (Channel.SMS, {"sms_status": ChannelStatus.OPTED_OUT}, False),
        (Channel.CALL, {"sms_status": ChannelStatus.OPTED_OUT}, True),
        (Channel.CALL, {"phone": None}, False),
        (Channel.LETTER, {"email": None, "phone": None}, True),
    ],
)
def test_can_reach(channel, changes, expected) -> None:
    assert can_reach(a_customer(**changes), channel) is expected


# fmt: off
CONDITION_CASES = [
    # Columns: case, conditions, chased amount, customer changes, risk, applies.
    ("no conditions", StepConditions(), "0.01", {}, RiskClass.LOW, True),
    ("amount at threshold", StepConditions(min_amount_due=eur("100.00")), "100.00", {}, RiskClass.LOW, True),  # noqa: E501
    ("amount under threshold", StepConditions(min_amount_due=eur("100.00")), "99.99", {}, RiskClass.LOW, False),  # noqa: E501
    ("threshold in another currency", StepConditions(min_amount_due=Money.parse("1", "USD")), "500.00", {}, RiskClass.LOW, False),  # noqa: E501
    ("segment listed", StepConditions(segments=frozenset({"vip", "standard"})), "1.00", {}, RiskClass.LOW, True),  # noqa: E501
    ("segment not listed", StepConditions(segments=frozenset({"vip"})), "1.00", {}, RiskClass.LOW, False),  # noqa: E501
    ("risk listed", StepConditions(risk_classes=frozenset({RiskClass.MEDIUM})), "1.00", {}, RiskClass.MEDIUM, True),  # noqa: E501
    ("risk not listed", StepConditions(risk_classes=frozenset({RiskClass.MEDIUM})), "1.00", {}, RiskClass.LOW, False),  # noqa: E501
    ("required channel reachable", StepConditions(requires_channel=Channel.SMS), "1.00", {}, RiskClass.LOW, True),  # noqa: E501
    ("required channel unreachable", StepConditions(requires_channel=Channel.SMS), "1.00", {"phone": None}, RiskClass.LOW, False),  # noqa: E501
    ("all hold", StepConditions(eur("1.00"), frozenset({"standard"}), frozenset({RiskClass.LOW}), Channel.EMAIL), "1.00", {}, RiskClass.LOW, True),  # noqa: E501
    ("one fails", StepConditions(eur("1.00"), frozenset({"standard"}), frozenset({RiskClass.HIGH}), Channel.EMAIL), "1.00", {}, RiskClass.LOW, False),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("conditions", "chased", "changes", "risk", "applies"),
    [case[1:] for case in CONDITION_CASES],
    ids=[case[0] for case in CONDITION_CASES],
)
def test_conditions_met(conditions, chased, changes, risk, applies) -> None:
    assert conditions_met(conditions, eur(chased), a_customer(**changes), risk) is applies


# --- Choosing a policy ---------------------------------------------------------------------

RULES = (
    PolicyAssignmentRule("big-tickets", min_amount=eur("50000.00"), priority=20),
    PolicyAssignmentRule("strategic", segment="strategic", priority=10),
    PolicyAssignmentRule("risky", risk_class=RiskClass.HIGH, priority=30),
    PolicyAssignmentRule(
        "risky-strategic", segment="strategic", risk_class=RiskClass.HIGH, priority=5
    ),  # noqa: E501
)

# fmt: off
CHOICES = [
    # Columns: case, amount, customer changes, invoice override, customer override, risk, chosen.
    ("invoice override wins", "100.00", {"segment": "strategic"}, "inv-policy", "cus-policy", None, "inv-policy"),  # noqa: E501
    ("customer override next", "100.00", {"segment": "strategic"}, None, "cus-policy", None, "cus-policy"),  # noqa: E501
    ("most specific rule by priority", "100.00", {"segment": "strategic"}, None, None, RiskClass.HIGH, "risky-strategic"),  # noqa: E501
    ("segment rule", "100.00", {"segment": "strategic"}, None, None, RiskClass.LOW, "strategic"),
    ("amount rule", "50000.00", {}, None, None, None, "big-tickets"),
    ("amount just below", "49999.99", {}, None, None, None, DEFAULT_POLICY_ID),
    ("risk from the argument", "100.00", {}, None, None, RiskClass.HIGH, "risky"),
    ("risk from the customer's override", "100.00", {"risk_override": RiskClass.HIGH}, None, None, None, "risky"),  # noqa: E501
    ("unknown risk matches no risk rule", "100.00", {}, None, None, None, DEFAULT_POLICY_ID),
    ("nothing matches: default", "100.00", {"segment": "standard"}, None, None, RiskClass.LOW, DEFAULT_POLICY_ID),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("amount", "changes", "invoice_override", "customer_override", "risk", "chosen"),
    [case[1:] for case in CHOICES],
    ids=[case[0] for case in CHOICES],
)
def test_choose_policy(amount, changes, invoice_override, customer_override, risk, chosen) -> None:
    picked = choose_policy(
        an_invoice(amount),
        a_customer(**changes),
        RULES,
        invoice_override,
        customer_override,
        risk=risk,
    )
    assert picked == chosen


def test_rules_with_equal_priority_keep_their_order() -> None:
    rules = [
        PolicyAssignmentRule("first", segment="standard", priority=1),
        PolicyAssignmentRule("second", segment="standard", priority=1),
    ]
    assert choose_policy(an_invoice(), a_customer(), rules) == "first"
    assert choose_policy(an_invoice(), a_customer(), reversed(rules)) == "second"


def test_default_policy_can_be_replaced() -> None:
    assert choose_policy(an_invoice(), a_customer(), [], default="house") == "house"


def test_amount_rule_uses_what_is_still_due() -> None:
    rule = PolicyAssignmentRule("big", min_amount=eur("1000.00"))
    part_paid = an_invoice("1200.00", amount_paid=eur("300.00"))
    assert choose_policy(part_paid, a_customer(), [rule]) == DEFAULT_POLICY_ID


def test_amount_rule_in_another_currency_never_matches() -> None:
    rule = PolicyAssignmentRule("big", min_amount=Money.parse("1", "USD"))
    assert choose_policy(an_invoice(), a_customer(), [rule]) == DEFAULT_POLICY_ID


@pytest.mark.parametrize("field", ["invoice_override", "customer_override"])
def test_blank_override_is_rejected(field) -> None:
    overrides: dict[str, Any] = {field: "  "}
    with pytest.raises(ValidationError) as error:
        choose_policy(an_invoice(), a_customer(), [], **overrides)
    assert error.value.field == field


def test_rule_must_name_a_policy() -> None:
    with pytest.raises(ValidationError) as error:
        PolicyAssignmentRule(" ")
    assert error.value.field == "policy_id"
