"""Domain: dunning policies (steps, timing, channels), their validation and assignment rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import Customer, Invoice, RiskClass
from chalicelib.domain.money import Money
from chalicelib.domain.send_window import SendWindow
from chalicelib.domain.statutory import Jurisdiction

MIN_OFFSET_DAYS = -60
MAX_OFFSET_DAYS = 365
MAX_GRACE_DAYS = 30
MAX_PROMISE_DAYS = 365
MAX_MESSAGES_PER_WEEK = 21
# Step ids key claims and timeline events; templates name files. Both stay plain slugs.
_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class Channel(StrEnum):
    """How a step reaches the customer."""

    EMAIL = "email"
    SMS = "sms"
    CALL = "call"
    LETTER = "letter"


class StepMode(StrEnum):
    """Who carries a step out: the engine, the engine after a person approves, or a person."""

    AUTO = "auto"
    APPROVAL = "approval"
    MANUAL = "manual"


class Anchor(StrEnum):
    """What a step's offset counts from."""

    DUE_DATE = "due_date"
    PREVIOUS_STEP = "previous_step"


@dataclass(frozen=True, slots=True)
class StepConditions:
    """When a step applies to an invoice; None means no restriction.

    Attributes:
        min_amount_due: Only when the chased (undisputed) amount is at least this.
        segments: Only for customers in one of these segments.
        risk_classes: Only for customers in one of these risk classes.
        requires_channel: Only when the customer can be reached on this channel.
    """

    min_amount_due: Money | None = None
    segments: frozenset[str] | None = None
    risk_classes: frozenset[RiskClass] | None = None
    requires_channel: Channel | None = None


@dataclass(frozen=True, slots=True)
class PolicyStep:
    """One step of a dunning sequence.

    Attributes:
        step_id: Stable slug, unique in the policy (keys claims and timeline events).
        offset_days: Days from the anchor (negative = before the due date).
        anchor: Count from the due date, or from the previous step's scheduled day.
        channels: Channels to use, in order of preference.
        mode: auto, approval (a person approves first) or manual (a task for a person).
        template: Template name the renderer looks up per channel.
        conditions: When the step applies at all.
    """

    step_id: str
    offset_days: int
    anchor: Anchor
    channels: tuple[Channel, ...]
    mode: StepMode
    template: str
    conditions: StepConditions = StepConditions()


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    """A versioned dunning sequence and the limits that govern it.

    Attributes:
        policy_id: Stable slug.
        version: Incremented on every change (invoices remember the version they ran on).
        name: Human-readable name.
        steps: Steps in chronological order.
        grace_days_after_promise: Days after a promised date before the promise counts as broken.
        max_promise_days: Furthest a promised payment date may be, in days from today.
        max_messages_per_week: Pressure cap: messages per customer over a rolling 7 days.
        send_window: Local hours and days messages may go out.
        consolidate: Merge a customer's reminders at the same step into one message.
        jurisdiction: Late-payment law quoted in formal notices.
    """

    policy_id: str
    version: int
    name: str
    steps: tuple[PolicyStep, ...]
    grace_days_after_promise: int = 3
    max_promise_days: int = 30
    max_messages_per_week: int = 3
    send_window: SendWindow = SendWindow()
    consolidate: bool = True
    jurisdiction: Jurisdiction = Jurisdiction.FR

    def step(self, step_id: str) -> PolicyStep:
        """The step with that id.

        Raises:
            ValidationError: no such step.
        """
        for candidate in self.steps:
            if candidate.step_id == step_id:
                return candidate
        raise ValidationError(f"policy {self.policy_id} has no step {step_id!r}", "step_id")


class PolicyProblem(NamedTuple):
    """One reason a policy is invalid: the field path and what is wrong with it."""

    field: str
    reason: str


def effective_offsets(policy: DunningPolicy) -> tuple[int, ...]:
    """Business rule: each step's day relative to the due date.

    A ``previous_step`` offset counts from the previous step's *scheduled* day, not from the
    day it was actually sent, so the schedule of an invoice is known in advance and the same
    on every run. A first step anchored on a previous step counts from the due date.
    """
    offsets: list[int] = []
    for step in policy.steps:
        base = offsets[-1] if offsets and step.anchor == Anchor.PREVIOUS_STEP else 0
        offsets.append(base + step.offset_days)
    return tuple(offsets)


def _policy_problems(policy: DunningPolicy) -> list[PolicyProblem]:
    found: list[PolicyProblem] = []
    if not _SLUG.match(policy.policy_id):
        found.append(PolicyProblem("policy_id", "must be a lower-case slug (a-z, 0-9, _ or -)"))
    if policy.version < 1:
        found.append(PolicyProblem("version", "must be 1 or more"))
    if not policy.name.strip():
        found.append(PolicyProblem("name", "must not be empty"))
    if not policy.steps:
        found.append(PolicyProblem("steps", "a policy needs at least one step"))
    if not 0 <= policy.grace_days_after_promise <= MAX_GRACE_DAYS:
        found.append(
            PolicyProblem("grace_days_after_promise", f"must be between 0 and {MAX_GRACE_DAYS}")
        )
    if not 1 <= policy.max_promise_days <= MAX_PROMISE_DAYS:
        found.append(PolicyProblem("max_promise_days", f"must be between 1 and {MAX_PROMISE_DAYS}"))
    if not 1 <= policy.max_messages_per_week <= MAX_MESSAGES_PER_WEEK:
        found.append(
            PolicyProblem("max_messages_per_week", f"must be between 1 and {MAX_MESSAGES_PER_WEEK}")
        )
    if policy.jurisdiction not in tuple(Jurisdiction):
        found.append(PolicyProblem("jurisdiction", "must be FR or EU"))
    found.extend(PolicyProblem(f"send_window.{f}", r) for f, r in policy.send_window.problems())
    return found


def _identity_problems(path: str, step: PolicyStep, seen: set[str]) -> list[PolicyProblem]:
    found: list[PolicyProblem] = []
    if not _SLUG.match(step.step_id):
        found.append(PolicyProblem(f"{path}.step_id", "must be a lower-case slug"))
    elif step.step_id in seen:
        found.append(PolicyProblem(f"{path}.step_id", f"duplicate step id {step.step_id!r}"))
    if not step.template.strip():
        found.append(PolicyProblem(f"{path}.template", "must not be empty"))
    elif not _SLUG.match(step.template):
        found.append(PolicyProblem(f"{path}.template", "must be a bare template name, no path"))
    return found


def _channel_problems(path: str, step: PolicyStep) -> list[PolicyProblem]:
    """Business rule: which channels each mode may use.

    - every step names at least one channel, each at most once;
    - a call is a person's job: ``call`` only in manual mode;
    - a letter costs postage and carries legal weight: ``letter`` never in auto mode;
    - a manual step is one task: exactly one channel, ``call`` (a call task) or ``letter``
      (a legal hand-off task). A message a person must vet is an approval step instead.
    """
    field = f"{path}.channels"
    if not step.channels:
        return [PolicyProblem(field, "a step needs at least one channel")]
    found: list[PolicyProblem] = []
    if len(set(step.channels)) != len(step.channels):
        found.append(PolicyProblem(field, "a channel is listed twice"))
    if Channel.CALL in step.channels and step.mode != StepMode.MANUAL:
        found.append(PolicyProblem(field, "call is only allowed in manual mode"))
    if Channel.LETTER in step.channels and step.mode == StepMode.AUTO:
        found.append(PolicyProblem(field, "letter needs approval or manual mode"))
    manual_ok = len(step.channels) == 1 and step.channels[0] in (Channel.CALL, Channel.LETTER)
    if step.mode == StepMode.MANUAL and not manual_ok:
        found.append(PolicyProblem(field, "a manual step has exactly one channel: call or letter"))
    return found


def _condition_problems(path: str, conditions: StepConditions) -> list[PolicyProblem]:
    found: list[PolicyProblem] = []
    if conditions.min_amount_due is not None and conditions.min_amount_due.minor < 0:
        found.append(PolicyProblem(f"{path}.conditions.min_amount_due", "must not be negative"))
    if conditions.segments is not None and not conditions.segments:
        found.append(PolicyProblem(f"{path}.conditions.segments", "empty: would match no one"))
    if conditions.risk_classes is not None and not conditions.risk_classes:
        found.append(PolicyProblem(f"{path}.conditions.risk_classes", "empty: would match no one"))
    return found


def _offset_problems(
    path: str, index: int, step: PolicyStep, effective: int, previous: int | None
) -> list[PolicyProblem]:
    """Business rule: steps run from 60 days before to 365 days after the due date, in order.

    A ``previous_step`` anchor needs a previous step and a positive offset; effective days
    (see `effective_offsets`) strictly increase, so "the most advanced due step" is never
    ambiguous.
    """
    field = f"{path}.offset_days"
    bounds = f"must be between {MIN_OFFSET_DAYS} and {MAX_OFFSET_DAYS} days"
    found: list[PolicyProblem] = []
    if not MIN_OFFSET_DAYS <= step.offset_days <= MAX_OFFSET_DAYS:
        found.append(PolicyProblem(field, bounds))
    elif not MIN_OFFSET_DAYS <= effective <= MAX_OFFSET_DAYS:
        found.append(PolicyProblem(field, "effective day " + bounds))
    if step.anchor == Anchor.PREVIOUS_STEP and index == 0:
        found.append(PolicyProblem(f"{path}.anchor", "the first step has no previous step"))
    elif step.anchor == Anchor.PREVIOUS_STEP and step.offset_days < 1:
        found.append(PolicyProblem(field, "must be at least 1 after the previous step"))
    elif previous is not None and effective <= previous:
        found.append(PolicyProblem(field, "steps must be in order of their effective day"))
    return found


def validate_policy(policy: DunningPolicy) -> list[PolicyProblem]:
    """Business rule: everything that makes a policy unusable, as (field, reason) pairs.

    Checks the policy's own fields, each step's id (unique slug), template (bare name),
    channels and mode (see `_channel_problems`), conditions, and offsets (see
    `_offset_problems`). An empty list means the policy is valid.
    """
    found = _policy_problems(policy)
    seen: set[str] = set()
    offsets = effective_offsets(policy)
    for index, step in enumerate(policy.steps):
        path = f"steps[{index}]"
        previous = offsets[index - 1] if index else None
        found.extend(_identity_problems(path, step, seen))
        found.extend(_channel_problems(path, step))
        found.extend(_condition_problems(path, step.conditions))
        found.extend(_offset_problems(path, index, step, offsets[index], previous))
        seen.add(step.step_id)
    return found


def ensure_valid_policy(policy: DunningPolicy) -> DunningPolicy:
    """Return the policy if valid.

    Raises:
        ValidationError: naming the first invalid field; the message lists every problem.
    """
    problems = validate_policy(policy)
    if problems:
        summary = "; ".join(f"{p.field}: {p.reason}" for p in problems)
        raise ValidationError(f"invalid policy: {summary}", problems[0].field)
    return policy


def can_reach(customer: Customer, channel: Channel) -> bool:
    """Business rule: whether a channel can reach this customer now.

    Email needs a working address, SMS a number that has not opted out, a call any phone
    number. A letter goes to the billing address the seller holds, so it is always possible.
    """
    if channel == Channel.EMAIL:
        return customer.can_email
    if channel == Channel.SMS:
        return customer.can_text
    if channel == Channel.CALL:
        return bool(customer.phone)
    return True


def _amount_at_least(amount: Money, minimum: Money) -> bool:
    # A threshold in another currency cannot be compared without exchange rates: no match.
    return amount.currency == minimum.currency and amount >= minimum


def conditions_met(
    conditions: StepConditions, chased: Money, customer: Customer, risk: RiskClass
) -> bool:
    """Business rule: a step applies when every condition it sets holds.

    The amount compared is the chased (undisputed) amount; a threshold in another currency
    never matches.
    """
    if conditions.min_amount_due is not None and not _amount_at_least(
        chased, conditions.min_amount_due
    ):
        return False
    if conditions.segments is not None and customer.segment not in conditions.segments:
        return False
    if conditions.risk_classes is not None and risk not in conditions.risk_classes:
        return False
    required = conditions.requires_channel
    return required is None or can_reach(customer, required)


@dataclass(frozen=True, slots=True)
class PolicyAssignmentRule:
    """Assign a policy to invoices matching every criterion it sets (None = any).

    Attributes:
        policy_id: The policy to use.
        segment: Customer segment.
        risk_class: Customer risk class.
        min_amount: Minimum amount due on the invoice (same currency only).
        priority: Lower numbers are tried first.
    """

    policy_id: str
    segment: str | None = None
    risk_class: RiskClass | None = None
    min_amount: Money | None = None
    priority: int = 100

    def __post_init__(self) -> None:
        if not self.policy_id.strip():
            raise ValidationError("an assignment rule names a policy", "policy_id")


def rule_matches(
    rule: PolicyAssignmentRule, invoice: Invoice, customer: Customer, risk: RiskClass | None
) -> bool:
    """Business rule: a rule matches when its segment, risk class and minimum amount all hold.

    The amount is the invoice's amount due (disputes do not move an invoice to another
    policy). A rule on risk class never matches a customer whose risk is unknown.
    """
    if rule.segment is not None and rule.segment != customer.segment:
        return False
    if rule.risk_class is not None and rule.risk_class != risk:
        return False
    return rule.min_amount is None or _amount_at_least(invoice.amount_due, rule.min_amount)


def _override(value: str | None, field: str) -> str | None:
    if value is not None and not value.strip():
        raise ValidationError("a policy override names a policy", field)
    return value


def choose_policy(
    invoice: Invoice,
    customer: Customer,
    rules: Iterable[PolicyAssignmentRule],
    invoice_override: str | None = None,
    customer_override: str | None = None,
    *,
    risk: RiskClass | None = None,
    default: str | None = None,
) -> str:
    """Business rule: which policy chases an invoice.

    Order: the invoice's override, then the customer's override, then the first matching
    rule by priority (lowest number first; equal priorities keep the order given), then the
    default policy (`DEFAULT_FRENCH_B2B_POLICY` unless `default` is given).

    Args:
        invoice: The invoice to chase.
        customer: Its customer.
        rules: Assignment rules, in any order.
        invoice_override: Policy id set on the invoice by a collector.
        customer_override: Policy id set on the customer by a collector.
        risk: The customer's risk class; defaults to the customer's override, if any.
        default: Policy id used when nothing else applies.

    Raises:
        ValidationError: an override is blank.
    """
    for chosen in (
        _override(invoice_override, "invoice_override"),
        _override(customer_override, "customer_override"),
    ):
        if chosen is not None:
            return chosen
    known_risk = risk if risk is not None else customer.risk_override
    for rule in sorted(rules, key=lambda r: r.priority):
        if rule_matches(rule, invoice, customer, known_risk):
            return rule.policy_id
    return default if default is not None else DEFAULT_FRENCH_B2B_POLICY.policy_id


def _step(step_id: str, offset: int, channels: tuple[Channel, ...], mode: StepMode) -> PolicyStep:
    return PolicyStep(step_id, offset, Anchor.DUE_DATE, channels, mode, template=step_id)


# French B2B default. The formal notice ("mise en demeure") needs a person's approval; the
# call and the legal hand-off are tasks for a collector.
DEFAULT_FRENCH_B2B_POLICY = DunningPolicy(
    policy_id="default-fr-b2b",
    version=1,
    name="Relance B2B France (par défaut)",
    steps=(
        _step("courtesy", -3, (Channel.EMAIL,), StepMode.AUTO),
        _step("friendly", 1, (Channel.EMAIL,), StepMode.AUTO),
        _step("firm", 8, (Channel.EMAIL, Channel.SMS), StepMode.AUTO),
        _step("call", 15, (Channel.CALL,), StepMode.MANUAL),
        _step("formal_notice", 30, (Channel.EMAIL, Channel.LETTER), StepMode.APPROVAL),
        _step("legal", 45, (Channel.LETTER,), StepMode.MANUAL),
    ),
    jurisdiction=Jurisdiction.FR,
)
DEFAULT_POLICY_ID = DEFAULT_FRENCH_B2B_POLICY.policy_id
