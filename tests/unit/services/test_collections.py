"""CollectionsService with in-memory fakes: pause, resume, disputes, promises, task outcomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.collections import DisputeOutcome, DisputeReason, dispute_state
from chalicelib.domain.dunning import decide
from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    CustomerNotFoundError,
    InvalidTransitionError,
    InvoiceNotFoundError,
    NotFoundError,
    ValidationError,
)
from chalicelib.domain.invoices import Customer, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY
from chalicelib.domain.records import EventType
from chalicelib.domain.risk import PaymentHistory
from chalicelib.domain.work import Task, TaskOutcome, TaskStatus
from chalicelib.services.collections import CollectionsService, DisputeRequest
from chalicelib.services.work_queues import WorkQueues
from tests.fakes import (
    FixedClock,
    InMemoryCustomerRepository,
    InMemoryInvoiceRepository,
    InMemoryTaskStore,
    InMemoryTimeline,
)
from tests.unit.domain.dunning_builders import CALENDAR

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
POLICY = DEFAULT_FRENCH_B2B_POLICY


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


class RacingInvoiceRepository(InMemoryInvoiceRepository):
    """Someone else saves the invoice between our read and our write, `races` times."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def save(self, invoice: Invoice) -> Invoice:
        if self.races and invoice.invoice_id in self.items:
            self.races -= 1
            stored = self.items[invoice.invoice_id]
            self.items[invoice.invoice_id] = replace(stored, version=stored.version + 1)
        return super().save(invoice)


def engine_next_action_at(invoice: Invoice, customer: Customer) -> datetime | None:
    """What DunningService.next_action_at does, with the fake calendar."""
    if invoice.is_closed:
        return None
    decision = decide(invoice, customer, POLICY, PaymentHistory(), NOW, CALENDAR, 0)
    return NOW if decision.actions else decision.next_action_at


class World:
    def __init__(self, invoices: InMemoryInvoiceRepository | None = None) -> None:
        self.clock = FixedClock(NOW)
        self.invoices = invoices or InMemoryInvoiceRepository()
        self.customers = InMemoryCustomerRepository()
        self.timeline = InMemoryTimeline()
        self.tasks = InMemoryTaskStore()
        self.service = CollectionsService(
            invoices=self.invoices,
            customers=self.customers,
            timeline=self.timeline,
            work=WorkQueues(self.tasks, None, self.timeline, self.clock),  # type: ignore[arg-type]
            next_action_at=engine_next_action_at,
            policy_for=lambda _invoice: POLICY,
            clock=self.clock,
        )
        self.customers.save_new_batch(
            [
                Customer(
                    customer_id="cus_1",
                    seller_id="seller",
                    name="Dupont SARL",
                    email="compta@dupont.example",
                    country="FR",
                )
            ]
        )

    def add(self, invoice_id: str = "inv_1", **overrides: object) -> Invoice:
        base = Invoice(
            invoice_id=invoice_id,
            seller_id="seller",
            number=f"F-{invoice_id}",
            customer_id="cus_1",
            issue_date=date(2026, 10, 1),
            due_date=date(2026, 11, 2),
            amount_total=eur("1000.00"),
            amount_paid=eur("0"),
            steps_done=("courtesy", "friendly", "firm"),
            next_action_at=datetime(2026, 11, 17, 8, 0, tzinfo=UTC),
        )
        invoice = replace(base, **overrides)  # type: ignore[arg-type]
        self.invoices.save_new_batch([invoice])
        return self.invoices.items[invoice_id]

    def invoice(self, invoice_id: str = "inv_1") -> Invoice:
        return self.invoices.items[invoice_id]

    def events(self, kind: EventType) -> list:
        return [e for e in self.timeline.events if e.type == kind]


@pytest.fixture
def world() -> World:
    return World()


# -- pause and resume ---------------------------------------------------------------------------


def test_pause_without_date_stops_the_chase_until_resumed(world):
    world.add()

    paused = world.service.pause("inv_1", until=None, comment="customer on leave", by="alice")

    assert paused.paused
    assert paused.paused_until is None
    assert paused.next_action_at is None
    assert paused.version == 2
    [event] = world.events(EventType.PAUSED)
    assert event.actor == "alice"
    assert event.detail("comment") == "customer on leave"


def test_pause_until_a_date_wakes_the_invoice_at_that_date(world):
    world.add()
    until = NOW + timedelta(days=10)

    paused = world.service.pause("inv_1", until=until, comment=None, by="alice")

    assert not paused.paused
    assert paused.paused_until == until
    assert paused.next_action_at is not None
    assert paused.next_action_at >= until
    assert world.events(EventType.PAUSED)[0].detail("until") == until.isoformat()


@pytest.mark.parametrize(
    "until",
    [NOW - timedelta(minutes=1), NOW, datetime(2026, 12, 1, 9, 0)],
    ids=["past", "now", "naive"],
)
def test_pause_until_must_be_a_future_aware_instant(world, until):
    world.add()

    with pytest.raises(ValidationError) as error:
        world.service.pause("inv_1", until=until, comment=None, by="alice")

    assert error.value.field == "until"
    assert world.invoice().version == 1
    assert world.timeline.events == []


def test_resume_puts_the_invoice_back_in_the_due_index(world):
    world.add()
    world.service.pause("inv_1", until=None, comment=None, by="alice")

    resumed = world.service.resume("inv_1", comment="back", by="bob")

    assert not resumed.paused
    assert resumed.next_action_at is not None
    assert resumed.steps_done == ("courtesy", "friendly", "firm")
    assert world.events(EventType.RESUMED)[0].actor == "bob"


def test_resume_refuses_an_invoice_that_is_not_paused(world):
    world.add()

    with pytest.raises(InvalidTransitionError):
        world.service.resume("inv_1", comment=None, by="bob")


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.CANCELLED])
def test_closed_invoices_refuse_every_collector_action(world, status):
    world.add(
        status=status, amount_paid=eur("1000.00") if status == InvoiceStatus.PAID else eur("0")
    )
    service = world.service

    with pytest.raises(InvalidTransitionError):
        service.pause("inv_1", until=None, comment=None, by="a")
    with pytest.raises(InvalidTransitionError):
        service.open_dispute("inv_1", DisputeRequest(DisputeReason.QUALITY), by="a")
    with pytest.raises(InvalidTransitionError):
        service.promise("inv_1", date(2026, 11, 30), comment=None, by="a")
    assert world.timeline.events == []


def test_unknown_invoice_is_not_found(world):
    with pytest.raises(InvoiceNotFoundError):
        world.service.pause("inv_missing", until=None, comment=None, by="a")


# -- versions -------------------------------------------------------------------------------------


def test_a_pinned_version_that_moved_on_is_refused_and_changes_nothing(world):
    world.add()

    with pytest.raises(ConcurrentUpdateError):
        world.service.pause("inv_1", until=None, comment=None, by="a", version=0)

    assert not world.invoice().paused
    assert world.timeline.events == []


def test_a_lost_race_is_retried_on_fresh_data():
    world = World(RacingInvoiceRepository(races=1))
    world.add()

    paused = world.service.pause("inv_1", until=None, comment=None, by="a")

    assert paused.paused
    assert paused.version == 3  # the concurrent write, then ours
    assert len(world.events(EventType.PAUSED)) == 1


def test_a_lost_race_with_a_pinned_version_is_a_conflict():
    world = World(RacingInvoiceRepository(races=1))
    world.add()

    with pytest.raises(ConcurrentUpdateError):
        world.service.pause("inv_1", until=None, comment=None, by="a", version=1)
    assert world.timeline.events == []


def test_an_invoice_that_keeps_changing_gives_up_with_a_conflict():
    world = World(RacingInvoiceRepository(races=10))
    world.add()

    with pytest.raises(ConcurrentUpdateError):
        world.service.pause("inv_1", until=None, comment=None, by="a")


# -- disputes -------------------------------------------------------------------------------------


def test_partial_dispute_keeps_chasing_the_undisputed_part(world):
    world.add(amount_paid=eur("100.00"), status=InvoiceStatus.PARTIALLY_PAID)

    disputed = world.service.open_dispute(
        "inv_1", DisputeRequest(DisputeReason.QUALITY, "300.00", "two chairs broken"), by="alice"
    )

    assert disputed.status == InvoiceStatus.PARTIALLY_PAID
    assert disputed.disputed_amount == eur("300.00")
    assert disputed.chaseable_amount == eur("600.00")
    assert disputed.next_action_at is not None
    assert dispute_state(disputed) is not None
    [event] = world.events(EventType.DISPUTE_OPENED)
    assert dict(event.details) == {
        "amount": "300.00",
        "comment": "two chairs broken",
        "currency": "EUR",
        "in_full": "false",
        "reason": "quality",
    }


def test_dispute_without_amount_covers_everything_due_and_stops_the_chase(world):
    world.add(amount_paid=eur("100.00"), status=InvoiceStatus.PARTIALLY_PAID)

    disputed = world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.PRICE), by="a")

    assert disputed.status == InvoiceStatus.DISPUTED
    assert disputed.disputed_amount == eur("900.00")
    assert disputed.next_action_at is None
    assert world.events(EventType.DISPUTE_OPENED)[0].detail("in_full") == "true"


@pytest.mark.parametrize("amount", ["1000.01", "0", "0.00", "12.345", "abc", "-5"])
def test_dispute_amount_must_be_a_positive_part_of_what_is_due(world, amount):
    world.add()

    with pytest.raises(ValidationError) as error:
        world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.OTHER, amount), by="a")

    assert error.value.field == "amount"
    assert world.invoice().disputed_amount is None
    assert world.timeline.events == []


def test_an_invoice_cannot_be_disputed_twice(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.OTHER, "10.00"), by="a")

    with pytest.raises(InvalidTransitionError):
        world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.OTHER), by="a")


def test_a_chargeback_dispute_blocks_a_collector_dispute(world):
    world.add(status=InvoiceStatus.DISPUTED, disputed_amount=eur("1000.00"))

    with pytest.raises(InvalidTransitionError):
        world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.OTHER), by="a")
    with pytest.raises(InvalidTransitionError):
        world.service.comment_dispute("inv_1", "hello", by="a")


def test_comments_need_an_open_dispute_and_text(world):
    world.add()
    with pytest.raises(InvalidTransitionError):
        world.service.comment_dispute("inv_1", "anything", by="a")
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.OTHER), by="a")
    with pytest.raises(ValidationError) as error:
        world.service.comment_dispute("inv_1", "   ", by="a")
    assert error.value.field == "comment"

    event = world.service.comment_dispute("inv_1", "photos received", by="bob")

    assert event.type == EventType.DISPUTE_COMMENT
    assert event.detail("comment") == "photos received"
    assert world.invoice().version == 2  # a comment does not change the invoice


def test_accepted_dispute_credits_the_disputed_amount_by_default(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.QUALITY, "300.00"), by="a")

    resolved = world.service.resolve_dispute(
        "inv_1",
        DisputeOutcome.ACCEPTED,
        credit_amount=None,
        credit_note_number="AV-12",
        comment=None,
        by="b",
    )

    assert resolved.credited == eur("300.00")
    assert resolved.amount_due == eur("700.00")
    assert resolved.disputed_amount is None
    assert resolved.status == InvoiceStatus.OPEN
    assert resolved.next_action_at is not None
    event = world.events(EventType.DISPUTE_RESOLVED)[0]
    assert (event.detail("outcome"), event.detail("credit_amount")) == ("accepted", "300.00")
    assert event.detail("credit_note") == "AV-12"


def test_accepted_dispute_with_a_smaller_credit_chases_the_rest_again(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.QUALITY), by="a")

    resolved = world.service.resolve_dispute(
        "inv_1",
        DisputeOutcome.ACCEPTED,
        credit_amount="250.00",
        credit_note_number=None,
        comment=None,
        by="b",
    )

    assert resolved.status == InvoiceStatus.OPEN
    assert resolved.amount_due == eur("750.00")
    assert resolved.chaseable_amount == eur("750.00")


def test_a_credit_covering_everything_closes_the_invoice(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.DUPLICATE), by="a")

    resolved = world.service.resolve_dispute(
        "inv_1",
        DisputeOutcome.ACCEPTED,
        credit_amount=None,
        credit_note_number=None,
        comment=None,
        by="b",
    )

    assert resolved.status == InvoiceStatus.PAID
    assert resolved.amount_due.is_zero
    assert resolved.next_action_at is None


def test_rejected_dispute_resumes_the_chase_and_gives_no_credit(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.QUALITY), by="a")
    with pytest.raises(ValidationError) as error:
        world.service.resolve_dispute(
            "inv_1",
            DisputeOutcome.REJECTED,
            credit_amount="10.00",
            credit_note_number=None,
            comment=None,
            by="b",
        )
    assert error.value.field == "credit_amount"

    resolved = world.service.resolve_dispute(
        "inv_1",
        DisputeOutcome.REJECTED,
        credit_amount=None,
        credit_note_number=None,
        comment="delivery note signed",
        by="b",
    )

    assert resolved.status == InvoiceStatus.OPEN
    assert resolved.disputed_amount is None
    assert resolved.credited is None
    assert resolved.next_action_at is not None
    with pytest.raises(InvalidTransitionError):
        world.service.resolve_dispute(
            "inv_1",
            DisputeOutcome.REJECTED,
            credit_amount=None,
            credit_note_number=None,
            comment=None,
            by="b",
        )


def test_credit_above_what_is_due_is_refused(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.QUALITY), by="a")

    with pytest.raises(ValidationError) as error:
        world.service.resolve_dispute(
            "inv_1",
            DisputeOutcome.ACCEPTED,
            credit_amount="1000.01",
            credit_note_number=None,
            comment=None,
            by="b",
        )

    assert error.value.field == "credit_amount"
    assert world.invoice().status == InvoiceStatus.DISPUTED


# -- promises -------------------------------------------------------------------------------------


def test_promise_holds_the_chase_until_its_deadline(world):
    world.add()

    promised = world.service.promise("inv_1", date(2026, 12, 4), comment="by transfer", by="a")

    assert promised.promise_date == date(2026, 12, 4)
    # Held until the end of the promised day + 3 days of grace.
    assert promised.next_action_at is not None
    assert promised.next_action_at.date() > date(2026, 12, 7)
    [event] = world.events(EventType.PROMISE)
    assert event.detail("promise_date") == "2026-12-04"
    assert event.detail("deadline") == "2026-12-07"
    assert event.detail("amount") == "1000.00"


@pytest.mark.parametrize(
    "promised",
    [date(2026, 11, 22), NOW.date() + timedelta(days=POLICY.max_promise_days + 1)],
    ids=["yesterday", "beyond-max-promise-days"],
)
def test_promise_date_is_bounded_by_today_and_the_policy(world, promised):
    world.add()

    with pytest.raises(ValidationError) as error:
        world.service.promise("inv_1", promised, comment=None, by="a")

    assert error.value.field == "promise_date"
    assert world.invoice().promise_date is None


def test_promise_on_the_last_allowed_day_is_accepted(world):
    world.add()
    last = NOW.date() + timedelta(days=POLICY.max_promise_days)

    assert world.service.promise("inv_1", last, comment=None, by="a").promise_date == last


def test_nothing_can_be_promised_on_an_invoice_disputed_in_full(world):
    world.add()
    world.service.open_dispute("inv_1", DisputeRequest(DisputeReason.QUALITY), by="a")

    with pytest.raises(InvalidTransitionError):
        world.service.promise("inv_1", date(2026, 11, 30), comment=None, by="a")


# -- a whole customer -----------------------------------------------------------------------------


def test_pausing_a_customer_takes_all_its_open_invoices_out_of_the_due_index(world):
    world.add("inv_1")
    world.add("inv_2")
    world.add("inv_3", status=InvoiceStatus.PAID, amount_paid=eur("1000.00"), next_action_at=None)

    customer = world.service.pause_customer("cus_1", comment="insolvency check", by="alice")

    assert customer.paused
    assert world.invoice("inv_1").next_action_at is None
    assert world.invoice("inv_2").next_action_at is None
    [event] = world.events(EventType.PAUSED)
    assert event.invoice_id is None
    assert event.detail("scope") == "customer"
    with pytest.raises(InvalidTransitionError):
        world.service.pause_customer("cus_1", comment=None, by="alice")

    world.service.resume_customer("cus_1", comment=None, by="alice")

    assert world.customers.items["cus_1"].paused is False
    assert world.invoice("inv_1").next_action_at is not None
    assert world.invoice("inv_3").next_action_at is None


def test_customer_actions_need_a_known_customer_and_the_current_version(world):
    with pytest.raises(CustomerNotFoundError):
        world.service.pause_customer("cus_missing", comment=None, by="a")
    with pytest.raises(ConcurrentUpdateError):
        world.service.pause_customer("cus_1", comment=None, by="a", version=7)
    assert not world.customers.items["cus_1"].paused


# -- task outcomes --------------------------------------------------------------------------------


def _task(world: World, *invoice_ids: str) -> Task:
    task = Task(
        task_id="task_1",
        kind="call",
        status=TaskStatus.OPEN,
        customer_id="cus_1",
        invoice_ids=invoice_ids,
        step_id="call",
        note="call the customer",
        created_at=NOW,
        due_date=NOW.date(),
    )
    world.tasks.create(task)
    return task


def test_a_call_ending_in_a_promise_records_it_on_every_open_invoice(world):
    world.add("inv_1")
    world.add("inv_2")
    world.add("inv_3", status=InvoiceStatus.PAID, amount_paid=eur("1000.00"))
    _task(world, "inv_1", "inv_2", "inv_3")

    done = world.service.complete_task(
        "task_1",
        TaskOutcome.PROMISE,
        comment="will pay Friday",
        by="alice",
        promise_date=date(2026, 11, 27),
    )

    assert done.status == TaskStatus.DONE
    assert done.outcome == TaskOutcome.PROMISE
    assert world.invoice("inv_1").promise_date == date(2026, 11, 27)
    assert world.invoice("inv_2").promise_date == date(2026, 11, 27)
    assert world.invoice("inv_3").promise_date is None
    assert {e.detail("source") for e in world.events(EventType.PROMISE)} == {"task"}
    assert len(world.events(EventType.TASK_DONE)) == 3


def test_a_call_ending_in_a_dispute_opens_it(world):
    world.add("inv_1")
    _task(world, "inv_1")

    world.service.complete_task(
        "task_1",
        TaskOutcome.DISPUTE,
        comment=None,
        by="alice",
        dispute=DisputeRequest(DisputeReason.DELIVERY, "200.00", "never delivered"),
    )

    assert world.invoice().disputed_amount == eur("200.00")
    assert world.tasks.tasks["task_1"].status == TaskStatus.DONE


def test_a_refused_promise_leaves_the_task_and_every_invoice_unchanged(world):
    world.add("inv_1")
    world.add("inv_2", status=InvoiceStatus.DISPUTED)
    _task(world, "inv_1", "inv_2")

    with pytest.raises(InvalidTransitionError):
        world.service.complete_task(
            "task_1",
            TaskOutcome.PROMISE,
            comment=None,
            by="alice",
            promise_date=date(2026, 11, 27),
        )

    assert world.invoice("inv_1").promise_date is None
    assert world.tasks.tasks["task_1"].status == TaskStatus.OPEN
    assert world.timeline.events == []


@pytest.mark.parametrize(
    ("outcome", "kwargs", "field"),
    [
        (TaskOutcome.REACHED, {"promise_date": date(2026, 11, 27)}, "promise_date"),
        (TaskOutcome.PROMISE, {"dispute": DisputeRequest(DisputeReason.OTHER)}, "dispute"),
        (TaskOutcome.PROMISE, {"promise_date": date(2026, 11, 1)}, "promise_date"),
    ],
    ids=["date-without-promise", "dispute-without-dispute", "past-date"],
)
def test_task_outcome_details_must_match_the_outcome(world, outcome, kwargs, field):
    world.add("inv_1")
    _task(world, "inv_1")

    with pytest.raises(ValidationError) as error:
        world.service.complete_task("task_1", outcome, comment=None, by="a", **kwargs)

    assert error.value.field == field
    assert world.tasks.tasks["task_1"].status == TaskStatus.OPEN


def test_a_partial_dispute_needs_a_single_invoice_task(world):
    world.add("inv_1")
    world.add("inv_2")
    _task(world, "inv_1", "inv_2")

    with pytest.raises(ValidationError) as error:
        world.service.complete_task(
            "task_1",
            TaskOutcome.DISPUTE,
            comment=None,
            by="a",
            dispute=DisputeRequest(DisputeReason.OTHER, "10.00"),
        )

    assert error.value.field == "dispute.amount"


def test_a_done_task_or_an_unknown_one_cannot_be_completed(world):
    world.add("inv_1")
    _task(world, "inv_1")
    world.service.complete_task("task_1", TaskOutcome.NO_ANSWER, comment=None, by="a")

    with pytest.raises(InvalidTransitionError):
        world.service.complete_task("task_1", TaskOutcome.REACHED, comment=None, by="a")
    with pytest.raises(NotFoundError):
        world.service.complete_task("task_missing", TaskOutcome.REACHED, comment=None, by="a")
