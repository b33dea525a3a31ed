"""Service: the dunning cycle. The planner reads the due index; workers decide and act.

`run_cycle` (schedule, every 15 minutes, or POST /admin/runs) reads only what is due through
the sharded sparse index and enqueues one message per customer. `process_batch` (SQS worker)
re-reads each invoice, asks the pure engine (`domain.dunning.decide`) what to do, carries the
actions out through ports, and stores the next action time. See docs/dunning.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chalicelib.domain.dunning import (
    CreateTask,
    Decision,
    DeferStep,
    RecordBrokenPromise,
    RequestApproval,
    ResumeAfterPromise,
    SkipStep,
    apply_decision,
    consolidate,
    decide,
)
from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    InvalidTransitionError,
    InvoiceNotFoundError,
    NotFoundError,
)
from chalicelib.domain.invoices import (
    ChannelStatus,
    Customer,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    RiskClass,
)
from chalicelib.domain.money import Money
from chalicelib.domain.policies import (
    DEFAULT_FRENCH_B2B_POLICY,
    Channel,
    DunningPolicy,
    PolicyAssignmentRule,
    choose_policy,
)
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.risk import PaymentHistory, compute_risk_class
from chalicelib.domain.send_window import BusinessCalendar
from chalicelib.domain.work import Approval, ApprovalStatus, RunReport, Task, TaskStatus, stable_id
from chalicelib.services.dispatch import MessageDispatcher
from chalicelib.services.ports import (
    ApprovalStore,
    Clock,
    CustomerRepository,
    InvoiceRepository,
    PolicyStore,
    RunLog,
    TaskStore,
    Timeline,
    WorkQueue,
)

log = logging.getLogger(__name__)

MAX_INVOICES_PER_MESSAGE = 50
MESSAGE_TYPES = frozenset({EventType.REMINDER_SENT})
TASK_DUE_DAYS = 2


@dataclass(frozen=True, slots=True)
class RunStarted:
    """What the planner did."""

    run_id: str
    examined: int
    enqueued: int


def run_id_for(as_of: datetime, trigger: str) -> str:
    """Business rule: a schedule tick has one run id, so a tick delivered twice is one run."""
    if trigger == "schedule":
        return "run_" + as_of.strftime("%Y%m%dT%H%M")
    return "run_" + uuid.uuid4().hex[:16]


def payment_history(invoices: Iterable[Invoice], as_of: datetime) -> PaymentHistory:
    """Business rule: a customer's history is read from their own invoices."""
    paid = late = days = 0
    broken = 0
    overdue: Money | None = None
    for invoice in invoices:
        if invoice.kind != DocumentKind.INVOICE:
            continue
        broken += int(dict(invoice.extra).get("broken_promises", "0"))
        if invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None:
            paid += 1
            lateness = (invoice.paid_at.date() - invoice.due_date).days
            if lateness > 0:
                late += 1
                days += lateness
        elif not invoice.is_closed and invoice.due_date < as_of.date():
            due = invoice.amount_due
            if overdue is None:
                overdue = due
            elif overdue.currency == due.currency:
                overdue = overdue + due
    return PaymentHistory(
        invoices_paid=paid,
        paid_late=late,
        total_days_late=days,
        overdue_amount=overdue,
        broken_promises=broken,
    )


class PolicyResolver:
    """The policy (and version) an invoice runs on; cached per container."""

    RULES_TTL = timedelta(minutes=1)

    def __init__(self, store: PolicyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._cache: dict[tuple[str, int], DunningPolicy] = {}
        self._rules: tuple[datetime, Sequence[PolicyAssignmentRule]] | None = None
        self._latest: dict[str, tuple[datetime, DunningPolicy]] = {}

    def forget_rules(self) -> None:
        """Drop the cached rules and latest versions (this container just saved new ones)."""
        self._rules = None
        self._latest.clear()

    def rules(self) -> Sequence[PolicyAssignmentRule]:
        """Assignment rules, re-read at most once a minute per container.

        A change made through another container takes effect within that minute.
        """
        now = self._clock.now()
        if self._rules is None or now - self._rules[0] > self.RULES_TTL:
            self._rules = (now, tuple(self._store.rules()))
        return self._rules[1]

    def for_invoice(
        self, invoice: Invoice, customer: Customer | None = None, risk: RiskClass | None = None
    ) -> DunningPolicy:
        """Business rule: an invoice keeps the policy version it started with.

        Before it starts, the policy is chosen (`domain.policies.choose_policy`): the invoice's
        own override, the customer's, the first matching assignment rule, the default. Saved
        versions never change, so (policy, version) is cached for the container's life.
        """
        if invoice.policy_version is None:
            if customer is None:
                return self.latest(invoice.policy_id)
            chosen = choose_policy(
                invoice, customer, self.rules(), invoice.policy_id, customer.policy_id, risk=risk
            )
            return self.latest(chosen)
        policy_id = invoice.policy_id or DEFAULT_FRENCH_B2B_POLICY.policy_id
        key = (policy_id, invoice.policy_version)
        if key not in self._cache:
            found = self._store.get(policy_id, invoice.policy_version)
            self._cache[key] = found or self.latest(policy_id)
        return self._cache[key]

    def exact(self, policy_id: str, version: int | None) -> DunningPolicy:
        """A policy that must exist (the built-in default counts as version 1).

        Raises:
            NotFoundError: no such policy or version.
        """
        found = self._store.get(policy_id, version)
        if (
            found is None
            and policy_id == DEFAULT_FRENCH_B2B_POLICY.policy_id
            and version in (None, DEFAULT_FRENCH_B2B_POLICY.version)
        ):
            found = DEFAULT_FRENCH_B2B_POLICY
        if found is None:
            raise NotFoundError(f"no policy {policy_id}" + (f" v{version}" if version else ""))
        return found

    def latest(self, policy_id: str | None) -> DunningPolicy:
        """The newest version, for invoices that have not started yet.

        Cached for a minute per container like the rules: a bulk import asks for it once per
        invoice, and a new version saved elsewhere takes effect within that minute.
        """
        wanted = policy_id or DEFAULT_FRENCH_B2B_POLICY.policy_id
        now = self._clock.now()
        cached = self._latest.get(wanted)
        if cached is None or now - cached[0] > self.RULES_TTL:
            found = self._store.get(wanted) or DEFAULT_FRENCH_B2B_POLICY
            cached = (now, found)
            self._latest[wanted] = cached
        return cached[1]


class DunningService:
    """Plans and carries out dunning cycles."""

    def __init__(
        self,
        *,
        invoices: InvoiceRepository,
        customers: CustomerRepository,
        timeline: Timeline,
        queue: WorkQueue,
        tasks: TaskStore,
        approvals: ApprovalStore,
        runs: RunLog,
        policies: PolicyResolver,
        calendar: BusinessCalendar,
        dispatcher: MessageDispatcher,
        clock: Clock,
        shards: int,
    ) -> None:
        self._invoices = invoices
        self._customers = customers
        self._timeline = timeline
        self._queue = queue
        self._tasks = tasks
        self._approvals = approvals
        self._runs = runs
        self._policies = policies
        self._calendar = calendar
        self._dispatcher = dispatcher
        self._clock = clock
        self._shards = shards

    # -- planning --

    def policy_for(self, invoice: Invoice, customer: Customer | None = None) -> DunningPolicy:
        """The policy (and version) the invoice runs on, or would start on."""
        return self._policies.for_invoice(invoice, customer)

    def assignment_rules(self) -> Sequence[PolicyAssignmentRule]:
        """The rules that choose a policy for invoices that have not started."""
        return self._policies.rules()

    def migrate(self, invoice_id: str, policy_id: str, version: int | None, by: str) -> Invoice:
        """Move an invoice to another policy (or version): an admin's decision.

        Steps already done stay done; the next action is recomputed.

        Raises:
            InvoiceNotFoundError: no such invoice.
            NotFoundError: no such policy or version.
        """
        policy = self._policies.exact(policy_id, version)
        for _ in range(3):
            invoice = self._invoices.get(invoice_id)
            if invoice is None:
                raise InvoiceNotFoundError(f"no invoice {invoice_id}")
            customer = self._customers.get(invoice.customer_id)
            moved = replace(invoice, policy_id=policy.policy_id, policy_version=policy.version)
            if customer is not None and not moved.is_closed:
                moved = replace(moved, next_action_at=self.next_action_at(moved, customer))
            try:
                saved = self._invoices.save(moved)
            except ConcurrentUpdateError:
                continue
            self._timeline.append(
                [
                    _event(
                        saved,
                        EventType.UPDATED,
                        self._clock.now(),
                        actor=by,
                        changed="policy",
                        policy=policy.policy_id,
                        policy_version=str(policy.version),
                    )
                ]
            )
            return saved
        raise ConcurrentUpdateError(f"invoice {invoice_id} kept changing")

    def next_action_at(self, invoice: Invoice, customer: Customer) -> datetime | None:
        """When an invoice next needs the engine: just imported, or just changed by a person.

        Now when something is already due (the next run acts on it), else the engine's own
        wake-up time, None when only an outside event can change anything.
        """
        if invoice.is_closed:
            return None
        policy = self._policies.for_invoice(invoice, customer)
        if invoice.policy_version is None:
            invoice = replace(invoice, policy_id=policy.policy_id, policy_version=policy.version)
        now = self._clock.now()
        decision = decide(invoice, customer, policy, PaymentHistory(), now, self._calendar, 0)
        return now if decision.actions else decision.next_action_at

    def run_cycle(
        self, as_of: datetime, *, trigger: str = "schedule", run_id: str | None = None
    ) -> RunStarted:
        """Read what is due at `as_of` (O(due), never a scan) and enqueue it per customer."""
        run_id = run_id or run_id_for(as_of, trigger)
        by_customer: dict[str, list[str]] = defaultdict(list)
        examined = 0
        for shard in range(self._shards):
            for entry in self._invoices.due(shard, as_of):
                examined += 1
                by_customer[entry.customer_id].append(entry.invoice_id)
        bodies = [
            json.dumps(
                {
                    "run_id": run_id,
                    "as_of": as_of.isoformat(),
                    "customer_id": customer,
                    "invoice_ids": ids[start : start + MAX_INVOICES_PER_MESSAGE],
                }
            )
            for customer, ids in sorted(by_customer.items())
            for start in range(0, len(ids), MAX_INVOICES_PER_MESSAGE)
        ]
        started = self._runs.start(
            RunReport(
                run_id=run_id,
                as_of=as_of,
                started_at=self._clock.now(),
                trigger=trigger,
                examined=examined,
                enqueued=len(bodies),
            )
        )
        if not started:
            # The same tick delivered twice: the first delivery planned it. Had that one
            # died before enqueuing, the invoices stay due and the next tick takes them.
            log.info("run already planned", extra={"run_id": run_id})
            return RunStarted(run_id, examined, 0)
        if bodies:
            self._queue.send_batch(bodies)
        log.info(
            "dunning run planned",
            extra={"run_id": run_id, "examined": examined, "enqueued": len(bodies)},
        )
        return RunStarted(run_id, examined, len(bodies))

    # -- working --

    def process_batch(self, body: Mapping[str, object], batch_id: str) -> Counter[str]:
        """Decide and act for one customer's due invoices; returns the counts it recorded."""
        run_id = str(body["run_id"])
        as_of = datetime.fromisoformat(str(body["as_of"]))
        customer_id = str(body["customer_id"])
        invoice_ids = [str(i) for i in body["invoice_ids"]]  # type: ignore[attr-defined]
        counts: Counter[str] = Counter()
        customer = self._customers.get(customer_id)
        if customer is None:
            counts["failed:customer_missing"] += len(invoice_ids)
            self._runs.add_batch(run_id, batch_id, counts)
            return counts
        # The due index is eventually consistent: every invoice is re-read, consistently.
        due = [i for i in (self._invoices.get(i) for i in invoice_ids) if i is not None]
        counts["examined"] += len(due)
        history = payment_history(self._invoices.by_customer(customer_id), as_of)
        recent = self._timeline.count_since(customer_id, MESSAGE_TYPES, as_of - timedelta(days=7))
        decisions: dict[str, tuple[Invoice, Decision, DunningPolicy]] = {}
        risk = compute_risk_class(history, customer.risk_override)
        for invoice in due:
            policy = self._policies.for_invoice(invoice, customer, risk)
            if invoice.policy_version is None:
                # The invoice starts its chase: it keeps this policy version from now on.
                invoice = replace(
                    invoice, policy_id=policy.policy_id, policy_version=policy.version
                )
            decision = decide(invoice, customer, policy, history, as_of, self._calendar, recent)
            decisions[invoice.invoice_id] = (invoice, decision, policy)
            if not decision.actions:
                counts[f"skipped:{decision.reason.value}"] += 1
        failed_steps = self._send_reminders(customer, decisions, run_id, counts, as_of)
        events: list[TimelineEvent] = []
        for invoice, decision, _policy in decisions.values():
            events += self._other_actions(customer, invoice, decision, as_of, counts)
            self._save(
                invoice,
                decision,
                failed_steps.get(invoice.invoice_id, set()),
                customer,
                history,
                as_of,
            )
        if events:
            self._timeline.append(events)
        self._runs.add_batch(run_id, batch_id, counts)
        return counts

    def _send_reminders(
        self,
        customer: Customer,
        decisions: Mapping[str, tuple[Invoice, Decision, DunningPolicy]],
        run_id: str,
        counts: Counter[str],
        as_of: datetime,
    ) -> dict[str, set[str]]:
        failed: dict[str, set[str]] = defaultdict(set)
        reminders = [m for _, d, _ in decisions.values() for m in d.messages]
        policies = {p.policy_id: p for _, _, p in decisions.values()}
        enabled = all(p.consolidate for p in policies.values())
        for message in consolidate(reminders, enabled=enabled):
            invoices = [decisions[i][0] for i in message.invoice_ids]
            policy = decisions[message.invoice_ids[0]][2]
            if message.channel == Channel.LETTER:
                self._letter_task(customer, invoices, message.step_id, counts, as_of)
                continue
            result = self._dispatcher.dispatch(
                customer,
                invoices,
                message.step_id,
                message.channel,
                message.tone.value,
                run_id,
                jurisdiction=policy.jurisdiction,
                at=as_of,
            )
            for reason, number in result.skipped.items():
                counts[f"skipped:{reason}"] += number
            # Changed since we read it (paid, disputed...), or another worker is sending it
            # right now: not done here; the invoice is looked at again soon.
            for invoice_id in (*result.changed_invoice_ids, *result.in_flight_invoice_ids):
                failed[invoice_id].add(message.step_id)
            if result.opted_out:
                counts["skipped:sms_opted_out"] += len(invoices)
                customer = self._opt_out(customer)
            if result.failed:
                counts[f"failed:{message.step_id}:{message.channel.value}"] += len(invoices)
                for invoice in invoices:
                    failed[invoice.invoice_id].add(message.step_id)
            elif result.sent_invoice_ids:
                counts[f"sent:{message.step_id}:{message.channel.value}"] += 1
                counts["reminders_sent"] += len(result.sent_invoice_ids)
            for invoice_id in result.stale_claims:
                self._task(
                    customer,
                    [invoice_id],
                    message.step_id,
                    "delivery_unknown",
                    "A worker stopped between claiming and confirming this message: "
                    "check with the customer whether it arrived before resending.",
                    counts,
                    as_of,
                )
        return failed

    def _opt_out(self, customer: Customer) -> Customer:
        """Business rule: a number that replied STOP is never texted again (email continues)."""
        for _ in range(3):
            current = self._customers.get(customer.customer_id) or customer
            try:
                return self._customers.save(replace(current, sms_status=ChannelStatus.OPTED_OUT))
            except ConcurrentUpdateError:
                continue
        return customer

    def _letter_task(
        self,
        customer: Customer,
        invoices: Sequence[Invoice],
        step_id: str,
        counts: Counter[str],
        at: datetime | None = None,
    ) -> None:
        self._task(
            customer,
            [i.invoice_id for i in invoices],
            step_id,
            "letter",
            f"Send the {step_id.replace('_', ' ')} by registered letter "
            "(the email version went out with the same content).",
            counts,
            at,
        )

    def _task(
        self,
        customer: Customer,
        invoice_ids: Sequence[str],
        step_id: str | None,
        kind: str,
        note: str,
        counts: Counter[str],
        at: datetime | None = None,
    ) -> None:
        now = at or self._clock.now()
        task = Task(
            task_id=stable_id("task", kind, step_id or "", *invoice_ids),
            kind=kind,
            status=TaskStatus.OPEN,
            customer_id=customer.customer_id,
            invoice_ids=tuple(invoice_ids),
            step_id=step_id,
            note=note,
            created_at=now,
            due_date=(now + timedelta(days=TASK_DUE_DAYS)).date(),
        )
        if self._tasks.create(task):
            counts[f"task:{kind}"] += 1
            self._timeline.append(
                TimelineEvent(
                    event_id=uuid.uuid4().hex,
                    invoice_id=i,
                    customer_id=customer.customer_id,
                    type=EventType.TASK_CREATED,
                    at=now,
                    actor="dunning",
                    details=(("kind", kind), ("step", step_id or ""), ("task_id", task.task_id)),
                )
                for i in invoice_ids
            )
        else:
            counts["skipped:task_exists"] += 1

    def _other_actions(
        self,
        customer: Customer,
        invoice: Invoice,
        decision: Decision,
        as_of: datetime,
        counts: Counter[str],
    ) -> list[TimelineEvent]:
        events: list[TimelineEvent] = []
        for action in decision.actions:
            if isinstance(action, CreateTask):
                self._task(
                    customer,
                    [invoice.invoice_id],
                    action.step_id,
                    action.kind.value,
                    action.note,
                    counts,
                    as_of,
                )
            elif isinstance(action, RequestApproval):
                self._request_approval(customer, invoice, action, counts, as_of)
            elif isinstance(action, DeferStep):
                counts[f"deferred:{action.reason.value}"] += 1
                events.append(
                    _event(
                        invoice,
                        EventType.REMINDER_DEFERRED,
                        as_of,
                        step=action.step_id,
                        until=action.until.isoformat(),
                        reason=action.reason.value,
                    )
                )
            elif isinstance(action, SkipStep):
                counts[f"skipped:{action.reason.value}"] += 1
                events.append(
                    _event(
                        invoice,
                        EventType.REMINDER_SKIPPED,
                        as_of,
                        step=action.step_id,
                        reason=action.reason.value,
                    )
                )
            elif isinstance(action, RecordBrokenPromise):
                counts["promise_broken"] += 1
                events.append(
                    _event(
                        invoice,
                        EventType.PROMISE_BROKEN,
                        as_of,
                        promise_date=action.promise_date.isoformat(),
                    )
                )
            elif isinstance(action, ResumeAfterPromise):
                events.append(_event(invoice, EventType.RESUMED, as_of, reason="broken_promise"))
        return events

    def _request_approval(
        self,
        customer: Customer,
        invoice: Invoice,
        action: RequestApproval,
        counts: Counter[str],
        at: datetime | None = None,
    ) -> None:
        now = at or self._clock.now()
        approval = Approval(
            approval_id=stable_id("apr", invoice.invoice_id, action.step_id),
            status=ApprovalStatus.PENDING,
            customer_id=customer.customer_id,
            invoice_ids=(invoice.invoice_id,),
            step_id=action.step_id,
            channels=tuple(c.value for c in action.channels),
            template=action.template,
            tone=action.tone.value,
            created_at=now,
        )
        if self._approvals.create(approval):
            counts[f"approval:{action.step_id}"] += 1
            self._timeline.append(
                [
                    _event(
                        invoice,
                        EventType.APPROVAL_REQUESTED,
                        now,
                        step=action.step_id,
                        approval_id=approval.approval_id,
                    )
                ]
            )
        else:
            counts["skipped:approval_exists"] += 1

    def _save(
        self,
        invoice: Invoice,
        decision: Decision,
        failed_steps: set[str],
        customer: Customer,
        history: PaymentHistory,
        as_of: datetime,
    ) -> None:
        if failed_steps:
            # A failed send is not done: drop it from the decision and look again soon.
            kept = tuple(
                a for a in decision.actions if getattr(a, "step_id", None) not in failed_steps
            )
            retry_at = self._clock.now() + timedelta(minutes=15)
            decision = replace(decision, actions=kept, next_action_at=retry_at)
        updated = apply_decision(invoice, decision)
        if updated == invoice:
            return
        for _ in range(3):
            try:
                self._invoices.save(updated)
                return
            except ConcurrentUpdateError:
                fresh = self._invoices.get(invoice.invoice_id)
                if fresh is None or fresh.is_closed:
                    return
                # Someone (a payment, a collector) changed the invoice meanwhile: keep their
                # change, add the steps we carried out, and recompute the next action.
                merged = replace(
                    fresh,
                    steps_done=tuple(dict.fromkeys(fresh.steps_done + updated.steps_done)),
                    policy_id=updated.policy_id,
                    policy_version=updated.policy_version,
                )
                policy = self._policies.for_invoice(merged)
                again = decide(merged, customer, policy, history, as_of, self._calendar, 0)
                updated = replace(merged, next_action_at=again.next_action_at)
        log.warning(
            "invoice kept changing; next run will look again",
            extra={"invoice_id": invoice.invoice_id},
        )

    # -- approvals --

    def _decide_approval(
        self,
        approval_id: str,
        status: ApprovalStatus,
        by: str,
        comment: str | None,
        subject_override: str | None = None,
        text_override: str | None = None,
    ) -> Approval:
        """Record one decision on a pending approval; a second decision is refused."""
        approval = self._approvals.get(approval_id)
        if approval is None:
            raise NotFoundError(f"no approval {approval_id}")
        decided = replace(
            approval,
            status=status,
            decided_at=self._clock.now(),
            decided_by=by,
            comment=comment,
            subject_override=subject_override,
            text_override=text_override,
        )
        if approval.status != ApprovalStatus.PENDING or not self._approvals.decide(decided):
            raise InvalidTransitionError(f"approval {approval_id} is already decided")
        return decided

    def _record_decision(
        self, approval: Approval, invoices: Sequence[Invoice], kind: EventType
    ) -> None:
        self._timeline.append(
            [
                _event(
                    i,
                    kind,
                    self._clock.now(),
                    actor=approval.decided_by or "",
                    step=approval.step_id,
                    comment=approval.comment or "",
                )
                for i in invoices
            ]
        )

    def approve(
        self,
        approval_id: str,
        by: str,
        comment: str | None,
        subject_override: str | None,
        text_override: str | None,
    ) -> Approval:
        """Send an approved step's message (claims still guarantee at most once)."""
        decided = self._decide_approval(
            approval_id,
            ApprovalStatus.APPROVED,
            by,
            comment,
            subject_override=subject_override,
            text_override=text_override,
        )
        customer = self._customers.get(decided.customer_id)
        invoices = [i for i in self._invoices.get_many(decided.invoice_ids) if not i.is_closed]
        counts: Counter[str] = Counter()
        if customer is not None and invoices:
            policy = self._policies.for_invoice(invoices[0])
            for channel in (Channel(c) for c in decided.channels):
                if channel == Channel.LETTER:
                    self._letter_task(customer, invoices, decided.step_id, counts)
                    continue
                self._dispatcher.dispatch(
                    customer,
                    invoices,
                    decided.step_id,
                    channel,
                    decided.tone,
                    f"approval_{approval_id}",
                    jurisdiction=policy.jurisdiction,
                    subject_override=subject_override,
                    text_override=text_override,
                )
        self._record_decision(decided, invoices, EventType.APPROVED)
        return decided

    def reject(self, approval_id: str, by: str, comment: str | None) -> Approval:
        """Refuse an approval: nothing is sent, the chase goes on with the next step."""
        decided = self._decide_approval(approval_id, ApprovalStatus.REJECTED, by, comment)
        self._record_decision(
            decided, self._invoices.get_many(decided.invoice_ids), EventType.REJECTED
        )
        return decided

    def run_report(self, run_id: str) -> RunReport | None:
        """A run's planner figures and its workers' counts so far."""
        return self._runs.get(run_id)


def _event(
    invoice: Invoice, kind: EventType, at: datetime, actor: str = "dunning", **details: str
) -> TimelineEvent:
    seed = f"{invoice.invoice_id}|{kind}|{at.isoformat()}|{sorted(details.items())}"
    return TimelineEvent(
        event_id=hashlib.sha256(seed.encode()).hexdigest()[:24],
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        type=kind,
        at=at,
        actor=actor,
        details=tuple(sorted(details.items())),
    )
