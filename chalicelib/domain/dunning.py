"""Domain: the dunning engine. `decide` turns one invoice's situation into actions, as data.

The engine never sends anything and never reads the clock: it is told the time (`as_of`) and
returns a `Decision`. The service carries the actions out, records them, and stores
`next_action_at` so the planner wakes the invoice up again at the right moment.

Rules, in the order `decide` applies them:

1. Never chased: credit notes; cancelled or written-off invoices; paid invoices (nothing
   due); customers erased under GDPR; invoices disputed in full; invoices or customers paused
   by a collector (no date: `next_action_at` is None until someone resumes them).
2. Held: an invoice paused until a date, or under a promise to pay, waits. A promise holds
   until the end of ``promise_date + grace_days_after_promise``; if the invoice is still
   unpaid then, the promise is broken (`RecordBrokenPromise`), the hold ends
   (`ResumeAfterPromise`) and the chase resumes where it stopped: steps already done are never
   repeated, nothing restarts. While held, `next_action_at` is the end of the hold or the next
   step's time, whichever is later, so it never moves backwards.
3. Schedule: each step not yet done (``invoice.steps_done``) is due at the first send-window
   opening on or after ``due_date + effective offset`` (see `policies.effective_offsets`).
4. Catch-up: when several steps are due at once (the engine was down, a hold ended), only the
   most advanced applicable step is carried out; the earlier ones are marked
   ``SkipStep(reason="superseded")``, so a customer never gets a burst of stale reminders.
   Pre-due steps (the courtesy reminder) are skipped with ``due_date_passed`` once the due
   date is over, and steps whose conditions do not hold with ``not_applicable``.
5. Acting on the chosen step: nobody reachable gives an ``unreachable`` task; a manual step a
   ``call`` or ``legal`` task; an approval step a `RequestApproval`; an automatic step for a
   strategic, high-risk-segment or high-risk customer a ``strategic_review`` task; otherwise a
   `SendReminder`.
6. A `SendReminder` only goes out inside the send window (customer's local hours on their
   country's business days) and under the pressure cap; otherwise it becomes a `DeferStep` to
   the next window opening (outside the window) or to the next day's opening (pressure cap).
   Deferred steps are never dropped.

Actions come in policy-step order (a broken promise first), so a timeline reads in order.
A step counts as done once its action is carried out: `SendReminder`, `RequestApproval`,
`CreateTask` with a step and `SkipStep` all complete it; `DeferStep` does not. `apply_decision`
does that bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeAlias

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import (
    Customer,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    RiskClass,
)
from chalicelib.domain.money import Money
from chalicelib.domain.policies import (
    Channel,
    DunningPolicy,
    PolicyStep,
    StepMode,
    can_reach,
    conditions_met,
    effective_offsets,
)
from chalicelib.domain.risk import (
    PaymentHistory,
    Tone,
    compute_risk_class,
    requires_human,
    tone_for,
)
from chalicelib.domain.send_window import (
    BusinessCalendar,
    Place,
    customer_zone,
    first_opening_from,
    is_open,
    local_day,
    next_day_opening,
    next_opening,
    require_aware,
)

# Holidays need a country; customers imported without one are treated as French.
DEFAULT_COUNTRY = "FR"
# Business rule: an unreachable email falls back to SMS, an unreachable SMS to email.
_FALLBACK = {Channel.EMAIL: Channel.SMS, Channel.SMS: Channel.EMAIL}


class TaskKind(StrEnum):
    """What a person is asked to do."""

    CALL = "call"
    LEGAL = "legal"
    UNREACHABLE = "unreachable"
    STRATEGIC_REVIEW = "strategic_review"


class SkipReason(StrEnum):
    """Why a due step was not carried out and never will be."""

    SUPERSEDED = "superseded"
    DUE_DATE_PASSED = "due_date_passed"
    NOT_APPLICABLE = "not_applicable"


class DecisionReason(StrEnum):
    """Why a decision is what it is (stable codes for logs, metrics and the timeline)."""

    STEP_DUE = "step_due"
    NOT_DUE = "not_due"
    COMPLETED = "completed"
    PAID = "paid"
    CLOSED = "closed"
    CREDIT_NOTE = "credit_note"
    ERASED = "erased"
    DISPUTED = "disputed"
    PAUSED = "paused"
    PROMISE = "promise"
    OUTSIDE_WINDOW = "outside_window"
    PRESSURE_CAP = "pressure_cap"


@dataclass(frozen=True, slots=True)
class SendReminder:
    """Send the step's message on these channels.

    Attributes:
        invoice_id: Invoice chased.
        customer_id: Its customer.
        step_id: Policy step (claim key with the invoice id).
        channels: Channels to send on, after reachability fallback.
        template: Template name, looked up per channel.
        tone: Wording to use.
        mode: ``auto``, or ``approval`` when sent after a person approved it.
        amount: Amount chased (the undisputed balance).
    """

    invoice_id: str
    customer_id: str
    step_id: str
    channels: tuple[Channel, ...]
    template: str
    tone: Tone
    mode: StepMode = StepMode.AUTO
    amount: Money | None = None


@dataclass(frozen=True, slots=True)
class RequestApproval:
    """Ask a person to approve the step's message before it is sent."""

    invoice_id: str
    customer_id: str
    step_id: str
    channels: tuple[Channel, ...]
    template: str
    tone: Tone
    amount: Money | None = None


@dataclass(frozen=True, slots=True)
class CreateTask:
    """Give a person something to do about an invoice.

    Attributes:
        kind: call, legal, unreachable or strategic_review.
        invoice_id: Invoice concerned.
        customer_id: Its customer.
        step_id: Policy step the task stands for.
        channels: Channels the step would use (those reachable, if any).
        template: The step's template, for the person's reference.
        tone: Suggested tone.
        amount: Amount chased.
        note: Why the task exists, for the person reading it.
    """

    kind: TaskKind
    invoice_id: str
    customer_id: str
    step_id: str | None = None
    channels: tuple[Channel, ...] = ()
    template: str | None = None
    tone: Tone = Tone.STANDARD
    amount: Money | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class DeferStep:
    """A due step cannot be carried out now; try again at `until` (it is not dropped)."""

    invoice_id: str
    step_id: str
    until: datetime
    reason: DecisionReason


@dataclass(frozen=True, slots=True)
class SkipStep:
    """Mark a due step done without carrying it out."""

    invoice_id: str
    step_id: str
    reason: SkipReason = SkipReason.SUPERSEDED


@dataclass(frozen=True, slots=True)
class RecordBrokenPromise:
    """Record that a promise to pay was not kept (timeline, risk history)."""

    invoice_id: str
    customer_id: str
    promise_date: date
    deadline: date


@dataclass(frozen=True, slots=True)
class ResumeAfterPromise:
    """End the hold of a broken promise: clear the invoice's promise date."""

    invoice_id: str
    promise_date: date
    resumed_at: datetime


Action: TypeAlias = (
    SendReminder
    | RequestApproval
    | CreateTask
    | DeferStep
    | SkipStep
    | RecordBrokenPromise
    | ResumeAfterPromise
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about one invoice now, and when to look at it again.

    Attributes:
        invoice_id: The invoice decided on.
        actions: Actions to carry out, in order.
        next_action_at: When the invoice next needs the engine (None: only an outside event,
            such as a resume or a payment, can make anything happen).
        reason: Why the decision is what it is.
    """

    invoice_id: str
    actions: tuple[Action, ...]
    next_action_at: datetime | None
    reason: DecisionReason

    @property
    def completed_steps(self) -> tuple[str, ...]:
        """Step ids this decision completes once carried out."""
        done: list[str] = []
        for action in self.actions:
            step_id = getattr(action, "step_id", None)
            if step_id is not None and not isinstance(action, DeferStep):
                done.append(step_id)
        return tuple(done)

    @property
    def messages(self) -> tuple[SendReminder, ...]:
        """The reminders to send to the customer."""
        return tuple(a for a in self.actions if isinstance(a, SendReminder))


@dataclass(frozen=True, slots=True)
class _Slot:
    """A step not yet done, with its place in the policy and when it falls due."""

    index: int
    step: PolicyStep
    offset: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class _Situation:
    """Everything a decision needs, resolved once."""

    invoice: Invoice
    customer: Customer
    policy: DunningPolicy
    calendar: BusinessCalendar
    as_of: datetime
    place: Place
    today: date
    risk: RiskClass
    tone: Tone
    recent_messages: int

    @property
    def chased(self) -> Money:
        return self.invoice.chaseable_amount


def is_disputed_in_full(invoice: Invoice) -> bool:
    """Business rule: a dispute stops the chase only for the amount disputed.

    Disputed with no amount means the whole invoice; with an amount, the chase goes on for
    the undisputed remainder, and stops only when nothing undisputed is left.
    """
    if invoice.status == InvoiceStatus.DISPUTED and invoice.disputed_amount is None:
        return True
    return invoice.disputed_amount is not None and invoice.chaseable_amount.is_zero


def stop_reason(invoice: Invoice, customer: Customer) -> DecisionReason | None:
    """Business rule: invoices that are never chased, and why (rule 1 of the module)."""
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        return DecisionReason.CREDIT_NOTE
    if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF):
        return DecisionReason.CLOSED
    if invoice.status == InvoiceStatus.PAID or invoice.amount_due.is_zero:
        return DecisionReason.PAID
    if customer.erased:
        return DecisionReason.ERASED
    if is_disputed_in_full(invoice):
        return DecisionReason.DISPUTED
    if invoice.paused or customer.paused:
        return DecisionReason.PAUSED
    return None


def resolve_channels(step: PolicyStep, customer: Customer) -> tuple[Channel, ...]:
    """Business rule: use the step's reachable channels, else fall back, else nobody.

    Unreachable channels are dropped. If none is left, an email step falls back to SMS and an
    SMS step to email. Manual steps (a call, a legal hand-off) have no fallback.
    """
    reachable = tuple(c for c in step.channels if can_reach(customer, c))
    if reachable or step.mode == StepMode.MANUAL:
        return reachable
    for wanted in step.channels:
        fallback = _FALLBACK.get(wanted)
        if fallback is not None and can_reach(customer, fallback):
            return (fallback,)
    return ()


def promise_deadline(promise_date: date, policy: DunningPolicy) -> date:
    """Business rule: a promise is kept if paid by the end of the promised date plus grace."""
    return promise_date + timedelta(days=policy.grace_days_after_promise)


def check_promise_date(promise_date: date, today: date, policy: DunningPolicy) -> date:
    """Business rule: a promised date is today or later, at most `max_promise_days` away.

    Raises:
        ValidationError: the date is in the past or too far away (field ``promise_date``).
    """
    if promise_date < today:
        raise ValidationError("a promised payment date cannot be in the past", "promise_date")
    latest = today + timedelta(days=policy.max_promise_days)
    if promise_date > latest:
        raise ValidationError(
            f"a promised payment date is at most {policy.max_promise_days} days away "
            f"({latest.isoformat()})",
            "promise_date",
        )
    return promise_date


def _check_inputs(
    invoice: Invoice, customer: Customer, as_of: datetime, recent_message_count: int
) -> None:
    require_aware(as_of)
    if invoice.customer_id != customer.customer_id:
        raise ValidationError("the customer is not the invoice's customer", "customer_id")
    if recent_message_count < 0:
        raise ValidationError("a message count cannot be negative", "recent_message_count")


def _situation(
    invoice: Invoice,
    customer: Customer,
    policy: DunningPolicy,
    history: PaymentHistory,
    as_of: datetime,
    calendar: BusinessCalendar,
    recent_messages: int,
) -> _Situation:
    country = (customer.country or DEFAULT_COUNTRY).upper()
    place = Place(customer_zone(customer.timezone), country)
    return _Situation(
        invoice=invoice,
        customer=customer,
        policy=policy,
        calendar=calendar,
        as_of=as_of,
        place=place,
        today=local_day(as_of, place),
        risk=compute_risk_class(history, customer.risk_override),
        tone=tone_for(history),
        recent_messages=recent_messages,
    )


def _schedule(s: _Situation) -> tuple[_Slot, ...]:
    """Business rule: a pending step is due at the first window opening on or after its day."""
    done = set(s.invoice.steps_done)
    window = s.policy.send_window
    slots: list[_Slot] = []
    for index, (step, offset) in enumerate(
        zip(s.policy.steps, effective_offsets(s.policy), strict=True)
    ):
        if step.step_id in done:
            continue
        day = s.invoice.due_date + timedelta(days=offset)
        slots.append(
            _Slot(index, step, offset, first_opening_from(window, day, s.place, s.calendar))
        )
    return tuple(slots)


def _later(at: datetime, schedule: tuple[_Slot, ...]) -> datetime:
    return max(at, schedule[0].due_at) if schedule else at


def _promise_resumes_at(s: _Situation, promise_date: date) -> datetime:
    after_deadline = promise_deadline(promise_date, s.policy) + timedelta(days=1)
    return first_opening_from(s.policy.send_window, after_deadline, s.place, s.calendar)


def _hold(s: _Situation, schedule: tuple[_Slot, ...]) -> Decision | None:
    """Business rule: a dated pause or a running promise holds every step (rule 2)."""
    invoice = s.invoice
    if invoice.paused_until is not None and s.as_of < invoice.paused_until:
        return Decision(
            invoice.invoice_id, (), _later(invoice.paused_until, schedule), DecisionReason.PAUSED
        )
    if invoice.promise_date is not None:
        resumes_at = _promise_resumes_at(s, invoice.promise_date)
        if s.as_of < resumes_at:
            return Decision(
                invoice.invoice_id, (), _later(resumes_at, schedule), DecisionReason.PROMISE
            )
    return None


def _broken_promise(s: _Situation) -> tuple[Action, ...]:
    """Business rule: a promise whose deadline passed unpaid is broken, and the chase resumes."""
    promised = s.invoice.promise_date
    if promised is None:
        return ()
    invoice = s.invoice
    return (
        RecordBrokenPromise(
            invoice.invoice_id, invoice.customer_id, promised, promise_deadline(promised, s.policy)
        ),
        ResumeAfterPromise(invoice.invoice_id, promised, s.as_of),
    )


def _skip(s: _Situation, slot: _Slot, reason: SkipReason) -> SkipStep:
    return SkipStep(s.invoice.invoice_id, slot.step.step_id, reason)


def _triage(s: _Situation, due: list[_Slot]) -> tuple[list[SkipStep], _Slot | None]:
    """Business rule: of the due steps, only the most advanced applicable one is acted on.

    Pre-due steps are dropped once the due date is over, inapplicable steps are dropped, and
    every applicable step before the most advanced one is superseded (rule 4).
    """
    skips: list[SkipStep] = []
    applicable: list[_Slot] = []
    for slot in due:
        if slot.offset < 0 and s.today > s.invoice.due_date:
            skips.append(_skip(s, slot, SkipReason.DUE_DATE_PASSED))
        elif not conditions_met(slot.step.conditions, s.chased, s.customer, s.risk):
            skips.append(_skip(s, slot, SkipReason.NOT_APPLICABLE))
        else:
            applicable.append(slot)
    if not applicable:
        return skips, None
    *superseded, chosen = applicable
    skips.extend(_skip(s, slot, SkipReason.SUPERSEDED) for slot in superseded)
    return skips, chosen


def _in_policy_order(s: _Situation, actions: list[Action]) -> tuple[Action, ...]:
    """Step actions in the order of the policy's steps, so a timeline reads chronologically."""
    position = {step.step_id: index for index, step in enumerate(s.policy.steps)}
    return tuple(sorted(actions, key=lambda action: position[getattr(action, "step_id", "")]))


def _task(
    s: _Situation, step: PolicyStep, kind: TaskKind, channels: tuple[Channel, ...], note: str
) -> CreateTask:
    invoice = s.invoice
    return CreateTask(
        kind=kind,
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        step_id=step.step_id,
        channels=channels,
        template=step.template,
        tone=s.tone,
        amount=s.chased,
        note=note,
    )


def _manual_kind(step: PolicyStep) -> TaskKind:
    """Business rule: a manual call step is a call task; a manual letter is a legal hand-off."""
    return TaskKind.CALL if Channel.CALL in step.channels else TaskKind.LEGAL


def _gate(s: _Situation, reminder: SendReminder) -> Action:
    """Business rule: messages go out inside the send window and under the pressure cap.

    Outside the window the step waits for the next opening. At or over the cap
    (``recent_message_count`` = messages to this customer over the last 7 days) it waits
    for the next day's opening and is checked again then, so it goes out as soon as the
    rolling count drops below the cap.
    """
    window, invoice = s.policy.send_window, s.invoice
    if not is_open(window, s.as_of, s.place, s.calendar):
        until = next_opening(window, s.as_of, s.place, s.calendar)
        return DeferStep(invoice.invoice_id, reminder.step_id, until, DecisionReason.OUTSIDE_WINDOW)
    if s.recent_messages >= s.policy.max_messages_per_week:
        until = next_day_opening(window, s.as_of, s.place, s.calendar)
        return DeferStep(invoice.invoice_id, reminder.step_id, until, DecisionReason.PRESSURE_CAP)
    return reminder


def _act(s: _Situation, step: PolicyStep) -> Action:
    """Business rule: turn the chosen step into one action (rule 5)."""
    channels = resolve_channels(step, s.customer)
    invoice = s.invoice
    if not channels:
        wanted = ", ".join(step.channels)
        return _task(s, step, TaskKind.UNREACHABLE, (), f"no reachable channel among {wanted}")
    if step.mode == StepMode.MANUAL:
        return _task(s, step, _manual_kind(step), channels, f"manual step {step.step_id}")
    if step.mode == StepMode.APPROVAL:
        return RequestApproval(
            invoice.invoice_id,
            invoice.customer_id,
            step.step_id,
            channels,
            step.template,
            s.tone,
            s.chased,
        )
    if requires_human(s.customer.segment, s.risk):
        note = f"segment {s.customer.segment}, risk {s.risk}: a person handles this step"
        return _task(s, step, TaskKind.STRATEGIC_REVIEW, channels, note)
    reminder = SendReminder(
        invoice.invoice_id,
        invoice.customer_id,
        step.step_id,
        channels,
        step.template,
        s.tone,
        StepMode.AUTO,
        s.chased,
    )
    return _gate(s, reminder)


def _run_steps(s: _Situation, schedule: tuple[_Slot, ...]) -> Decision:
    """Business rule: act on what is due now and wake up for the next step (rules 3-6)."""
    invoice_id = s.invoice.invoice_id
    due = [slot for slot in schedule if slot.due_at <= s.as_of]
    later = [slot for slot in schedule if slot.due_at > s.as_of]
    next_at = later[0].due_at if later else None
    idle = DecisionReason.NOT_DUE if later else DecisionReason.COMPLETED
    skips, chosen = _triage(s, due)
    if chosen is None:
        return Decision(invoice_id, _in_policy_order(s, [*skips]), next_at, idle)
    action = _act(s, chosen.step)
    actions = _in_policy_order(s, [*skips, action])
    if isinstance(action, DeferStep):
        return Decision(invoice_id, actions, action.until, action.reason)
    return Decision(invoice_id, actions, next_at, DecisionReason.STEP_DUE)


def decide(
    invoice: Invoice,
    customer: Customer,
    policy: DunningPolicy,
    history: PaymentHistory,
    as_of: datetime,
    calendar: BusinessCalendar,
    recent_message_count: int,
) -> Decision:
    """Business rule: what to do about one invoice at `as_of` (see the module docstring).

    Args:
        invoice: The invoice, with the steps already done and any pause, promise or dispute.
        customer: Its customer (contacts, time zone, country, segment, pause).
        policy: The invoice's policy; expected to have passed `validate_policy`.
        history: The customer's payment history (risk class and tone).
        as_of: The decision instant; must be timezone-aware.
        calendar: Business days of the customer's country.
        recent_message_count: Messages sent to this customer over the last 7 days.

    Returns:
        The actions and the time the invoice next needs the engine.

    Raises:
        ValidationError: naive `as_of`, mismatched customer, negative count, unknown time zone.
    """
    _check_inputs(invoice, customer, as_of, recent_message_count)
    stopped = stop_reason(invoice, customer)
    if stopped is not None:
        return Decision(invoice.invoice_id, (), None, stopped)
    s = _situation(invoice, customer, policy, history, as_of, calendar, recent_message_count)
    schedule = _schedule(s)
    held = _hold(s, schedule)
    if held is not None:
        return held
    decision = _run_steps(s, schedule)
    promise_actions = _broken_promise(s)
    return replace(decision, actions=(*promise_actions, *decision.actions))


def apply_decision(invoice: Invoice, decision: Decision) -> Invoice:
    """Business rule: once a decision is carried out, its steps are done and its time is next.

    Adds the completed steps to ``steps_done`` (each once), stores ``next_action_at`` and
    clears the promise date after `ResumeAfterPromise`.

    Raises:
        ValidationError: the decision is about another invoice.
    """
    if decision.invoice_id != invoice.invoice_id:
        raise ValidationError("the decision is about another invoice", "invoice_id")
    done = list(invoice.steps_done)
    done.extend(step for step in decision.completed_steps if step not in done)
    resumed = any(isinstance(a, ResumeAfterPromise) for a in decision.actions)
    return replace(
        invoice,
        steps_done=tuple(done),
        next_action_at=decision.next_action_at,
        promise_date=None if resumed else invoice.promise_date,
    )


@dataclass(frozen=True, slots=True)
class ConsolidatedReminder:
    """One message to one customer on one channel, covering several invoices at the same step.

    Attributes:
        customer_id: The customer.
        step_id: The step every listed invoice is at.
        channel: The channel of this message.
        template: The step's template.
        tone: Wording to use.
        reminders: The per-invoice reminders merged, in input order.
    """

    customer_id: str
    step_id: str
    channel: Channel
    template: str
    tone: Tone
    reminders: tuple[SendReminder, ...]

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        """The invoices listed in the message."""
        return tuple(r.invoice_id for r in self.reminders)

    @property
    def totals(self) -> tuple[Money, ...]:
        """Total chased per currency, in order of first appearance."""
        sums: dict[str, Money] = {}
        for reminder in self.reminders:
            if reminder.amount is not None:
                currency = reminder.amount.currency
                sums[currency] = sums.get(currency, Money.zero(currency)) + reminder.amount
        return tuple(sums.values())


# (customer, step, channel, template, tone, invoice id when consolidation is off)
_GroupKey: TypeAlias = tuple[str, str, Channel, str, Tone, str]


def consolidate(
    actions: Iterable[SendReminder], *, enabled: bool = True
) -> tuple[ConsolidatedReminder, ...]:
    """Business rule: one message per customer, step and channel in a run, not one per invoice.

    Reminders are grouped by (customer, step, channel); template and tone are part of the
    key too, because one message is rendered from one template in one tone (they agree
    whenever the invoices share a policy). A reminder on two channels joins two groups. An
    invoice appears once per group. With ``enabled=False`` (a policy with
    ``consolidate=False``) every invoice gets its own message per channel.
    """
    groups: dict[_GroupKey, list[SendReminder]] = {}
    for reminder in actions:
        alone = "" if enabled else reminder.invoice_id
        for channel in reminder.channels:
            key = (
                reminder.customer_id,
                reminder.step_id,
                channel,
                reminder.template,
                reminder.tone,
                alone,
            )
            bucket = groups.setdefault(key, [])
            if all(r.invoice_id != reminder.invoice_id for r in bucket):
                bucket.append(reminder)
    return tuple(_merged(key[2], bucket) for key, bucket in groups.items())


def _merged(channel: Channel, bucket: list[SendReminder]) -> ConsolidatedReminder:
    first = bucket[0]
    return ConsolidatedReminder(
        customer_id=first.customer_id,
        step_id=first.step_id,
        channel=channel,
        template=first.template,
        tone=first.tone,
        reminders=tuple(bucket),
    )
