"""The dunning service end to end with fakes, including every crash point of a send.

Crash points and what happens (docs/dunning.md):
- before the claim: the redelivered message redoes everything; one message goes out;
- after the claim, before the send: nothing went out; the claim is held, the invoice is looked
  at again in 15 minutes; a claim still unconfirmed after 30 minutes becomes a task;
- after the send, before recording it: the message went out once; never resent; a task asks a
  person to check (nothing recorded says it went out);
- after recording, before confirming the claim: the next worker finds the recorded send and
  confirms the claim itself: no task, no resend;
- after confirming, before saving the invoice: the redelivery sees "already sent", marks the
  step done and saves.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.adapters.jinja_templates import JinjaTemplateRenderer
from chalicelib.adapters.locale_format import BabelLocaleFormatter
from chalicelib.domain.errors import InvalidTransitionError
from chalicelib.domain.invoices import ChannelStatus, Customer, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType
from chalicelib.services.dispatch import MessageDispatcher, SellerContact
from chalicelib.services.dunning import DunningService, PolicyResolver
from chalicelib.services.pay_links import PayLinks
from tests.dunning_fakes import (
    CrashingClaimLog,
    CrashingInvoiceRepository,
    CrashingTimeline,
    EmptyPolicyStore,
    FaultyEmailSender,
    InMemoryApprovalStore,
    InMemoryRunLog,
    RecordingQueue,
    WeekdaysCalendar,
    WorkerDied,
)
from tests.fakes import (
    FixedClock,
    InMemoryCustomerRepository,
    InMemoryTaskStore,
    NoDocuments,
    RecordingSmsSender,
    StaticSecrets,
)

TEMPLATES = Path(__file__).resolve().parents[3] / "chalicelib" / "templates"
# A Monday, 10:00 in Paris.
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
        self.invoices = CrashingInvoiceRepository(shards=4)
        self.customers = InMemoryCustomerRepository()
        self.timeline = CrashingTimeline()
        self.claims = CrashingClaimLog(self.invoices)
        self.email = FaultyEmailSender()
        self.sms = RecordingSmsSender()
        self.queue = RecordingQueue()
        self.tasks = InMemoryTaskStore()
        self.approvals = InMemoryApprovalStore()
        self.runs = InMemoryRunLog()
        dispatcher = MessageDispatcher(
            claims=self.claims,
            renderer=JinjaTemplateRenderer(TEMPLATES),
            formatter=BabelLocaleFormatter(),
            email=self.email,
            sms=self.sms,
            timeline=self.timeline,
            pay_links=PayLinks(StaticSecrets({"pay_link_key": "k" * 32}), "https://x.example"),
            documents=NoDocuments(),
            clock=self.clock,
            seller=SellerContact("Atelier SAS", "compta@atelier.example", None, "ATELIER"),
            retention=timedelta(days=400),
        )
        self.service = DunningService(
            invoices=self.invoices,
            customers=self.customers,
            timeline=self.timeline,
            queue=self.queue,
            tasks=self.tasks,
            approvals=self.approvals,
            runs=self.runs,
            policies=PolicyResolver(EmptyPolicyStore(), self.clock),
            calendar=WeekdaysCalendar(),
            dispatcher=dispatcher,
            clock=self.clock,
            shards=4,
        )

    def add(
        self,
        number: str,
        due: date,
        total: int = 120000,
        customer_id: str = "cus_1",
        phone: str | None = "+33612345678",
    ) -> Invoice:
        if self.customers.get(customer_id) is None:
            self.customers.save(
                Customer(
                    customer_id=customer_id,
                    seller_id="s",
                    name="Acme SARL",
                    email="ap@acme.example",
                    phone=phone,
                    country="FR",
                )
            )
        invoice = Invoice(
            invoice_id=f"inv_{number}",
            seller_id="s",
            number=number,
            customer_id=customer_id,
            issue_date=due - timedelta(days=30),
            due_date=due,
            amount_total=Money(total, "EUR"),
            amount_paid=Money(0, "EUR"),
            next_action_at=NOW - timedelta(hours=1),
        )
        return self.invoices.save(invoice)

    def plan(self, as_of: datetime | None = None) -> list[dict]:
        self.queue.bodies.clear()
        self.service.run_cycle(as_of or self.clock.now(), trigger="manual")
        return [json.loads(b) for b in self.queue.bodies]

    def work(self, bodies: list[dict]) -> None:
        for index, body in enumerate(bodies):
            self.service.process_batch(body, batch_id=f"b{index}-{len(self.runs.batches)}")

    def cycle(self) -> None:
        self.work(self.plan())


@pytest.fixture
def world() -> World:
    return World()


OVERDUE = date(2027, 2, 26)  # friendly (D+1) is due on 1 March


def test_planner_reads_only_due_invoices_grouped_by_customer(world):
    world.add("A", OVERDUE, customer_id="cus_1")
    world.add("B", OVERDUE, customer_id="cus_1")
    later = world.add("C", date(2027, 6, 1), customer_id="cus_2")
    world.invoices.save(replace(later, next_action_at=NOW + timedelta(days=80)))

    bodies = world.plan()

    assert [sorted(b["invoice_ids"]) for b in bodies] == [["inv_A", "inv_B"]]
    assert world.runs.runs[bodies[0]["run_id"]].examined == 2


def test_two_planners_at_once_send_one_message(world):
    world.add("A", OVERDUE)
    first, second = world.plan(), world.plan()

    world.work(first + second)

    assert len(world.email.sent) == 1
    assert world.invoices.get("inv_A").steps_done == ("courtesy", "friendly")


def test_consolidates_a_customers_invoices_into_one_email(world):
    world.add("A", OVERDUE)
    world.add("B", OVERDUE, total=5000)
    world.cycle()
    [email] = world.email.sent
    assert "A" in email.text
    assert "B" in email.text


def test_redelivered_message_after_success_sends_nothing_more(world):
    world.add("A", OVERDUE)
    bodies = world.plan()
    world.work(bodies)
    world.work(bodies)  # SQS delivered the same message again
    assert len(world.email.sent) == 1


def test_crash_between_claim_and_send_never_sends_and_becomes_a_task(world):
    world.add("A", OVERDUE)
    bodies = world.plan()
    world.claims.die_after_claim = True
    with pytest.raises(WorkerDied):
        world.work(bodies)

    world.work(bodies)  # redelivery while the claim is fresh: someone may be sending
    assert world.email.sent == []
    assert world.invoices.get("inv_A").next_action_at == NOW + timedelta(minutes=15)

    world.clock.advance(minutes=31)
    world.cycle()
    assert world.email.sent == []
    [task] = world.tasks.tasks.values()
    assert task.kind == "delivery_unknown"
    assert "friendly" in world.invoices.get("inv_A").steps_done


def test_crash_after_send_before_record_is_never_resent(world):
    world.add("A", OVERDUE)
    bodies = world.plan()
    world.email.die_after_send = True
    with pytest.raises(WorkerDied):
        world.work(bodies)
    world.work(bodies)
    world.clock.advance(minutes=31)
    world.cycle()

    assert len(world.email.sent) == 1
    assert [t.kind for t in world.tasks.tasks.values()] == ["delivery_unknown"]


def test_crash_after_record_before_confirm_is_recovered_without_a_task(world):
    world.add("A", OVERDUE)
    bodies = world.plan()
    world.claims.die_on_confirm = True
    with pytest.raises(WorkerDied):
        world.work(bodies)
    world.clock.advance(minutes=31)
    world.cycle()

    assert len(world.email.sent) == 1
    assert world.tasks.tasks == {}
    assert world.claims.get("inv_A", "friendly", "email").status == "sent"
    assert "friendly" in world.invoices.get("inv_A").steps_done


def test_crash_after_confirm_before_saving_the_invoice(world):
    world.add("A", OVERDUE)
    bodies = world.plan()
    world.invoices.die_on_next_save = True
    with pytest.raises(WorkerDied):
        world.work(bodies)
    world.work(bodies)

    assert len(world.email.sent) == 1
    assert "friendly" in world.invoices.get("inv_A").steps_done


def test_throttled_send_is_retried_next_time_and_sent_once(world):
    world.add("A", OVERDUE)
    world.email.refuse = 1
    world.cycle()
    assert world.email.sent == []
    assert "friendly" not in world.invoices.get("inv_A").steps_done

    world.clock.advance(minutes=15)
    world.cycle()
    assert len(world.email.sent) == 1


def test_send_with_unknown_outcome_is_not_retried_automatically(world):
    world.add("A", OVERDUE)
    world.email.unknown = 1
    world.cycle()
    world.clock.advance(minutes=15)
    world.cycle()
    assert len(world.email.sent) == 1
    world.clock.advance(minutes=31)
    world.cycle()
    assert len(world.email.sent) == 1
    assert [t.kind for t in world.tasks.tasks.values()] == ["delivery_unknown"]


def test_payment_landing_between_read_and_claim_stops_the_send(world):
    invoice = world.add("A", OVERDUE)
    bodies = world.plan()

    def payment_lands(invoice_id):
        stored = world.invoices.get(invoice_id)
        if stored.status != InvoiceStatus.PAID:
            world.invoices.save(stored.with_payment(invoice.amount_total, NOW))

    world.claims.before_claim = payment_lands
    world.work(bodies)

    assert world.email.sent == []
    assert world.invoices.get("inv_A").status == InvoiceStatus.PAID
    assert world.invoices.get("inv_A").next_action_at is None


def test_opted_out_number_is_not_texted_and_is_remembered(world):
    world.add("A", date(2027, 2, 20))  # firm (D+8, email and SMS) is due
    world.sms.opted_out.add("+33612345678")
    world.cycle()

    assert world.sms.sent == []
    assert len(world.email.sent) == 1
    assert world.customers.get("cus_1").sms_status == ChannelStatus.OPTED_OUT


def test_formal_notice_waits_for_approval_and_is_sent_once(world):
    world.add("A", date(2027, 1, 29))  # 31 days late: formal notice (approval) is due
    world.cycle()
    world.clock.advance(minutes=15)
    world.cycle()
    [approval] = world.approvals.approvals.values()
    assert world.email.sent == []

    world.service.approve(approval.approval_id, "alice", "ok", None, None)
    with pytest.raises(InvalidTransitionError):
        world.service.approve(approval.approval_id, "bob", None, None, None)

    [email] = world.email.sent
    assert "40" in email.text  # the statutory recovery indemnity is in the notice
    assert [t.kind for t in world.tasks.tasks.values()] == ["letter"]


@pytest.mark.parametrize(
    ("country", "expected"),
    [("FR", "ATELIER"), ("BE", "ATELIER-BE"), ("US", None), (None, "ATELIER")],
)
def test_sms_sender_id_is_chosen_per_country(country, expected):
    seller = SellerContact("Atelier SAS", "c@a.example", None, "ATELIER", (("BE", "ATELIER-BE"),))
    assert seller.sender_for(country) == expected


def test_pressure_cap_counts_a_consolidated_message_once(world):
    # Three invoices at the same step make one message: it counts once toward the weekly cap.
    for number in ("A", "B", "C"):
        world.add(number, OVERDUE)
    world.cycle()
    assert len(world.email.sent) == 1
    assert (
        world.timeline.count_since(
            "cus_1", frozenset({EventType.REMINDER_SENT}), NOW - timedelta(days=7)
        )
        == 1
    )
