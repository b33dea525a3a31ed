"""PaymentRecorder against in-memory fakes: exactly once, convergence, matching, receipts."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import permutations

import pytest

from chalicelib.adapters.webhook_signatures import (
    GenericSignatureVerifier,
    StripeSignatureVerifier,
    sign_generic,
    sign_stripe,
)
from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    CurrencyMismatchError,
    InvalidTransitionError,
    NotFoundError,
)
from chalicelib.domain.invoices import Customer, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.payments import (
    PaymentEvent,
    PaymentEventKind,
    SignatureError,
    WebhookPayloadError,
    rf_reference_for,
)
from chalicelib.domain.records import EventType
from chalicelib.schemas.webhooks import parse_generic_webhook, parse_stripe_webhook
from chalicelib.services.dispatch import MessageDispatcher, SellerContact
from chalicelib.services.pay_links import PayLinks
from chalicelib.services.payments import (
    EventOutcome,
    PaymentRecorder,
    WebhookProvider,
    number_tokens,
    payer_key,
    reference_key,
    secret_values,
)
from chalicelib.services.ports import UnallocatedStatus, WebhookClaim
from tests.fakes import (
    EchoRenderer,
    FixedClock,
    InMemoryClaimLog,
    InMemoryCustomerRepository,
    InMemoryInvoiceRepository,
    InMemoryPaymentDirectory,
    InMemoryPaymentStore,
    InMemoryTaskStore,
    InMemoryWebhookEventLog,
    MessageTimeline,
    NoDocuments,
    PlainFormatter,
    RecordingEmailSender,
    RecordingSmsSender,
    StaticSecrets,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SECRETS = {
    "webhook_stripe": "whsec_old, whsec_new",
    "webhook_generic": "generic-secret",
    "pay_link_key": "pay-link-key",
}


@dataclass
class World:
    clock: FixedClock
    invoices: InMemoryInvoiceRepository
    customers: InMemoryCustomerRepository
    timeline: MessageTimeline
    events: InMemoryWebhookEventLog
    directory: InMemoryPaymentDirectory
    store: InMemoryPaymentStore
    tasks: InMemoryTaskStore
    email: RecordingEmailSender
    recorder: PaymentRecorder

    def add(self, invoice: Invoice) -> Invoice:
        return self.invoices.save(invoice)

    def invoice(self, invoice_id: str) -> Invoice:
        found = self.invoices.get(invoice_id)
        assert found is not None
        return found

    def receipts(self) -> list[str]:
        return [e.subject for e in self.email.sent if e.subject.startswith("receipt")]


def a_world() -> World:
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    invoices, customers = InMemoryInvoiceRepository(), InMemoryCustomerRepository()
    timeline, events = MessageTimeline(), InMemoryWebhookEventLog()
    directory = InMemoryPaymentDirectory()
    store = InMemoryPaymentStore(invoices, timeline, events, directory)
    tasks, email = InMemoryTaskStore(), RecordingEmailSender()
    secrets = StaticSecrets(SECRETS)
    dispatcher = MessageDispatcher(
        claims=InMemoryClaimLog(invoices),
        renderer=EchoRenderer(),
        formatter=PlainFormatter(),
        email=email,
        sms=RecordingSmsSender(),
        timeline=timeline,
        pay_links=PayLinks(secrets, "https://pay.example"),
        documents=NoDocuments(),
        clock=clock,
        seller=SellerContact("Seller", "ar@seller.example", None, None),
        retention=timedelta(days=30),
    )
    recorder = PaymentRecorder(
        providers={
            "stripe": WebhookProvider(
                "stripe",
                "Stripe-Signature",
                "webhook_stripe",
                StripeSignatureVerifier,
                parse_stripe_webhook,
            ),
            "generic": WebhookProvider(
                "generic",
                "Relance-Signature",
                "webhook_generic",
                GenericSignatureVerifier,
                parse_generic_webhook,
            ),
        },
        secrets=secrets,
        events=events,
        store=store,
        directory=directory,
        invoices=invoices,
        customers=customers,
        tasks=tasks,
        dispatcher=dispatcher,
        # The engine's answer is tested with the engine; here: "look again now".
        next_action_at=lambda invoice, customer: clock.now(),
        clock=clock,
    )
    customers.save(
        Customer(customer_id="cus_a", seller_id="s1", name="Client A", email="ap@a.example")
    )
    customers.save(
        Customer(customer_id="cus_b", seller_id="s1", name="Client B", email="ap@b.example")
    )
    return World(
        clock, invoices, customers, timeline, events, directory, store, tasks, email, recorder
    )


def an_invoice(
    suffix: str = "1",
    *,
    total: str = "100.00",
    currency: str = "EUR",
    customer_id: str = "cus_a",
    due: date = date(2026, 10, 31),
) -> Invoice:
    return Invoice(
        invoice_id="inv_" + suffix.rjust(24, "0"),
        seller_id="s1",
        number=f"F-2026-{suffix.rjust(4, '0')}",
        customer_id=customer_id,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount_total=Money.parse(total, currency),
        amount_paid=Money.zero(currency),
        next_action_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    )


def an_event(
    kind: PaymentEventKind = PaymentEventKind.PAYMENT_SUCCEEDED,
    *,
    event_id: str = "evt_1",
    amount: str | None = "100.00",
    currency: str = "EUR",
    refs: tuple[str, ...] = (),
    payment_id: str | None = "pi_1",
    text: str | None = None,
    email: str | None = None,
    at: datetime = T0,
) -> PaymentEvent:
    return PaymentEvent(
        provider="stripe",
        event_id=event_id,
        kind=kind,
        occurred_at=at,
        amount=None if amount is None else Money.parse(amount, currency),
        invoice_refs=refs,
        remittance_text=text,
        customer_email=email,
        provider_payment_id=payment_id,
        raw_type=kind.value,
    )


def generic_body(**members: object) -> bytes:
    note = {
        "event_id": "bank-1",
        "type": "payment_succeeded",
        "occurred_at": "2026-11-20T10:00:00+01:00",
        "amount": "100.00",
        "currency": "EUR",
        "payment_id": "SEPA-1",
        **members,
    }
    return json.dumps(note, separators=(",", ":")).encode()


@pytest.fixture
def world() -> World:
    return a_world()


# --- exactly once ------------------------------------------------------------------------------


def test_same_payment_delivered_ten_times_is_applied_once(world):
    invoice = world.add(an_invoice())
    event = an_event(refs=(invoice.invoice_id,))

    outcomes = [world.recorder.apply(event, world.clock.now()) for _ in range(10)]

    assert outcomes == [EventOutcome.APPLIED] + [EventOutcome.DUPLICATE] * 9
    paid = world.invoice(invoice.invoice_id)
    assert (paid.status, paid.amount_paid, paid.next_action_at) == (
        InvoiceStatus.PAID,
        Money.parse("100.00", "EUR"),
        None,
    )
    assert len(world.store.ledger(invoice.invoice_id)) == 1
    assert [e.type for e in world.timeline.events if e.type == EventType.PAYMENT] == [
        EventType.PAYMENT
    ]
    assert world.store.commits == 1


def test_signed_delivery_repeated_through_record_is_applied_once(world):
    invoice = world.add(an_invoice())
    body = generic_body(invoice_id=invoice.invoice_id)
    now = world.clock.now()
    headers = {"relance-signature": sign_generic(body, "generic-secret", int(now.timestamp()))}

    results = [world.recorder.record("generic", body, headers, now) for _ in range(10)]

    assert [r.events for r in results] == [(("bank-1", EventOutcome.APPLIED),)] + [
        (("bank-1", EventOutcome.DUPLICATE),)
    ] * 9
    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID


def test_event_being_processed_elsewhere_is_reported_in_flight(world):
    invoice = world.add(an_invoice())
    world.events.begin("stripe", "evt_1", world.clock.now())

    outcome = world.recorder.apply(an_event(refs=(invoice.invoice_id,)), world.clock.now())

    assert outcome == EventOutcome.IN_FLIGHT
    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.OPEN


def test_event_abandoned_by_a_crashed_delivery_is_processed_by_a_later_retry(world):
    invoice = world.add(an_invoice())
    world.events.begin("stripe", "evt_1", world.clock.now())
    world.clock.advance(minutes=10)

    outcome = world.recorder.apply(an_event(refs=(invoice.invoice_id,)), world.clock.now())

    assert outcome == EventOutcome.APPLIED
    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID


def test_invoice_changed_by_someone_else_during_the_commit_is_reconciled_again(world):
    invoice = world.add(an_invoice())
    # A collector pauses the invoice between our read and our commit.
    world.store.before_commit.append(
        lambda: world.invoices.save(replace(world.invoice(invoice.invoice_id), paused=True))
    )

    outcome = world.recorder.apply(
        an_event(amount="40.00", refs=(invoice.invoice_id,)), world.clock.now()
    )

    assert outcome == EventOutcome.APPLIED
    stored = world.invoice(invoice.invoice_id)
    assert stored.paused  # their change kept
    assert stored.amount_paid == Money.parse("40.00", "EUR")  # ours applied once
    assert len(world.store.ledger(invoice.invoice_id)) == 1


def test_invoice_that_never_stops_changing_fails_loudly_and_stays_unprocessed(world):
    invoice = world.add(an_invoice())

    def bump() -> None:
        world.invoices.save(world.invoice(invoice.invoice_id))
        world.store.before_commit.append(bump)

    world.store.before_commit.append(bump)

    with pytest.raises(ConcurrentUpdateError):
        world.recorder.apply(an_event(refs=(invoice.invoice_id,)), world.clock.now())
    world.store.before_commit.clear()
    assert world.store.ledger(invoice.invoice_id) == []
    assert not world.events.is_done("stripe", "evt_1")


# --- order independence ------------------------------------------------------------------------


def _final_state(order: tuple[PaymentEvent, ...]) -> tuple[object, ...]:
    world = a_world()
    invoice = world.add(an_invoice())
    for event in order:
        world.recorder.apply(event, world.clock.now())
    final = world.invoice(invoice.invoice_id)
    return (final.status, final.amount_paid, final.amount_due)


def test_refund_before_its_payment_converges_to_the_in_order_state():
    ref = (an_invoice().invoice_id,)
    payment = an_event(event_id="evt_pay", refs=ref)
    refund = an_event(
        PaymentEventKind.REFUNDED,
        event_id="evt_refund",
        amount="30.00",
        refs=ref,
        at=T0 + timedelta(days=1),
    )

    in_order = _final_state((payment, refund))
    reversed_order = _final_state((refund, payment))

    assert (
        in_order
        == reversed_order
        == (
            InvoiceStatus.PARTIALLY_PAID,
            Money.parse("70.00", "EUR"),
            Money.parse("30.00", "EUR"),
        )
    )


def test_refund_naming_only_its_payment_waits_for_the_payment_and_is_then_applied(world):
    invoice = world.add(an_invoice())
    refund = an_event(PaymentEventKind.REFUNDED, event_id="evt_refund", amount="30.00")

    assert world.recorder.apply(refund, world.clock.now()) == EventOutcome.UNALLOCATED
    waiting = world.recorder.unallocated(
        status=UnallocatedStatus.UNALLOCATED, limit=10, cursor=None
    )
    assert [i.event.event_id for i in waiting.items] == ["evt_refund"]

    world.recorder.apply(an_event(event_id="evt_pay", refs=(invoice.invoice_id,)), T0)

    stored = world.invoice(invoice.invoice_id)
    assert (stored.status, stored.amount_paid) == (
        InvoiceStatus.PARTIALLY_PAID,
        Money.parse("70.00", "EUR"),
    )
    placed = world.store.get_unallocated(waiting.items[0].payment_ref)
    assert placed is not None
    assert (placed.status, placed.allocated_to) == (
        UnallocatedStatus.ALLOCATED,
        (invoice.invoice_id,),
    )


def test_every_order_of_payment_refund_and_chargeback_events_converges():
    ref = (an_invoice().invoice_id,)
    events = (
        an_event(event_id="e1", refs=ref),
        an_event(
            PaymentEventKind.REFUNDED,
            event_id="e2",
            amount="20.00",
            refs=ref,
            at=T0 + timedelta(days=1),
        ),
        an_event(
            PaymentEventKind.CHARGEBACK_OPENED,
            event_id="e3",
            amount="80.00",
            refs=ref,
            at=T0 + timedelta(days=2),
        ),
        an_event(
            PaymentEventKind.CHARGEBACK_WON,
            event_id="e4",
            amount="80.00",
            refs=ref,
            at=T0 + timedelta(days=3),
        ),
    )

    states = {_final_state(order) for order in permutations(events)}

    assert states == {
        (InvoiceStatus.PARTIALLY_PAID, Money.parse("80.00", "EUR"), Money.parse("20.00", "EUR"))
    }


def test_same_payment_reported_by_two_event_types_counts_once(world):
    invoice = world.add(an_invoice())
    intent = an_event(event_id="evt_pi", refs=(invoice.invoice_id,))
    charge = replace(intent, event_id="evt_ch", raw_type="charge.succeeded")

    world.recorder.apply(intent, world.clock.now())
    world.recorder.apply(charge, world.clock.now())

    stored = world.invoice(invoice.invoice_id)
    assert stored.amount_paid == Money.parse("100.00", "EUR")
    assert world.store.credits("cus_a") == []


# --- effects -----------------------------------------------------------------------------------


def test_partial_payment_lowers_the_amount_due_and_keeps_the_chase_on(world):
    invoice = world.add(an_invoice())

    world.recorder.apply(an_event(amount="40.00", refs=(invoice.invoice_id,)), world.clock.now())

    stored = world.invoice(invoice.invoice_id)
    assert stored.status == InvoiceStatus.PARTIALLY_PAID
    assert stored.amount_due == Money.parse("60.00", "EUR")
    assert stored.next_action_at == invoice.next_action_at
    assert world.receipts() == []


def test_amount_the_accounting_file_recorded_as_paid_stays_paid(world):
    invoice = world.add(
        replace(
            an_invoice(),
            amount_paid=Money.parse("50.00", "EUR"),
            status=InvoiceStatus.PARTIALLY_PAID,
        )
    )
    ref = (invoice.invoice_id,)

    world.recorder.apply(an_event(event_id="e1", amount="30.00", refs=ref), world.clock.now())
    after_payment = world.invoice(invoice.invoice_id)
    world.recorder.apply(
        an_event(
            PaymentEventKind.REFUNDED,
            event_id="e2",
            amount="30.00",
            refs=ref,
            at=T0 + timedelta(days=1),
        ),
        world.clock.now(),
    )

    assert after_payment.amount_paid == Money.parse("80.00", "EUR")
    after_refund = world.invoice(invoice.invoice_id)
    assert (after_refund.amount_paid, after_refund.status) == (
        Money.parse("50.00", "EUR"),
        InvoiceStatus.PARTIALLY_PAID,
    )


def test_overpayment_pays_the_invoice_and_leaves_a_customer_credit(world):
    invoice = world.add(an_invoice())

    world.recorder.apply(an_event(amount="130.00", refs=(invoice.invoice_id,)), world.clock.now())

    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID
    [credit] = world.store.credits("cus_a")
    assert credit.amount == Money.parse("30.00", "EUR")
    assert credit.invoice_ids == (invoice.invoice_id,)
    customer_events = [e for e in world.timeline.events if e.invoice_id is None]
    assert customer_events[0].detail("credit") == "30.00"


def test_payment_spread_over_several_invoices_pays_the_oldest_first(world):
    old = world.add(an_invoice("1", due=date(2026, 9, 30)))
    new = world.add(an_invoice("2", due=date(2026, 10, 31)))

    world.recorder.apply(
        an_event(amount="150.00", refs=(new.invoice_id, old.invoice_id)), world.clock.now()
    )

    assert world.invoice(old.invoice_id).status == InvoiceStatus.PAID
    assert world.invoice(new.invoice_id).amount_due == Money.parse("50.00", "EUR")


def test_payment_in_another_currency_is_never_converted_and_waits_for_a_collector(world):
    invoice = world.add(an_invoice())

    outcome = world.recorder.apply(
        an_event(currency="USD", refs=(invoice.invoice_id,)), world.clock.now()
    )

    assert outcome == EventOutcome.UNALLOCATED
    assert world.invoice(invoice.invoice_id) == invoice
    [item] = world.recorder.unallocated(
        status=UnallocatedStatus.UNALLOCATED, limit=10, cursor=None
    ).items
    assert (item.reason, item.amount) == ("currency_mismatch", Money.parse("100.00", "USD"))
    [task] = world.tasks.tasks.values()
    assert task.kind == "unallocated_payment"


def test_full_payment_sends_one_thank_you_receipt(world):
    invoice = world.add(an_invoice())
    ref = (invoice.invoice_id,)

    world.recorder.apply(an_event(event_id="e1", amount="40.00", refs=ref), world.clock.now())
    assert world.receipts() == []
    world.recorder.apply(
        an_event(event_id="e2", payment_id="pi_2", amount="60.00", refs=ref), world.clock.now()
    )
    world.recorder.apply(
        an_event(event_id="e3", payment_id="pi_2", amount="60.00", refs=ref), world.clock.now()
    )

    assert world.receipts() == [f"receipt: {invoice.number}"]
    assert world.email.sent[0].to == "ap@a.example"
    [sent] = [e for e in world.timeline.events if e.type == EventType.REMINDER_SENT]
    assert sent.detail("step") == "receipt"


def test_invoice_paid_again_after_a_refund_gets_no_second_receipt(world):
    invoice = world.add(an_invoice())
    ref = (invoice.invoice_id,)

    world.recorder.apply(an_event(event_id="e1", refs=ref), world.clock.now())
    world.recorder.apply(
        an_event(PaymentEventKind.REFUNDED, event_id="e2", refs=ref, at=T0 + timedelta(hours=1)),
        world.clock.now(),
    )
    reopened = world.invoice(invoice.invoice_id)
    world.recorder.apply(
        an_event(event_id="e3", payment_id="pi_2", refs=ref, at=T0 + timedelta(hours=2)),
        world.clock.now(),
    )

    assert reopened.status == InvoiceStatus.OPEN
    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID
    assert len(world.receipts()) == 1


def test_refund_of_a_paid_invoice_reopens_it_and_the_engine_resumes_the_chase(world):
    invoice = world.add(an_invoice())
    ref = (invoice.invoice_id,)
    world.recorder.apply(an_event(event_id="e1", refs=ref), world.clock.now())
    world.clock.advance(days=2)

    world.recorder.apply(
        an_event(
            PaymentEventKind.REFUNDED, event_id="e2", amount="100.00", at=T0 + timedelta(days=1)
        ),
        world.clock.now(),
    )

    stored = world.invoice(invoice.invoice_id)
    assert (stored.status, stored.amount_due) == (InvoiceStatus.OPEN, invoice.amount_total)
    assert stored.next_action_at == world.clock.now()
    assert [e.type for e in world.timeline.events if e.invoice_id == invoice.invoice_id][-1] == (
        EventType.REFUND
    )


def test_lost_chargeback_reopens_the_invoice(world):
    invoice = world.add(an_invoice())
    world.recorder.apply(an_event(event_id="e1", refs=(invoice.invoice_id,)), world.clock.now())

    world.recorder.apply(
        an_event(PaymentEventKind.CHARGEBACK_OPENED, event_id="e2", at=T0 + timedelta(days=1)),
        world.clock.now(),
    )
    disputed = world.invoice(invoice.invoice_id)
    world.recorder.apply(
        an_event(PaymentEventKind.CHARGEBACK_LOST, event_id="e3", at=T0 + timedelta(days=9)),
        world.clock.now(),
    )

    assert disputed.status == InvoiceStatus.DISPUTED
    stored = world.invoice(invoice.invoice_id)
    assert (stored.status, stored.disputed_amount) == (InvoiceStatus.OPEN, None)
    assert stored.next_action_at is not None


def test_failed_payment_that_matches_nothing_changes_nothing(world):
    outcome = world.recorder.apply(
        an_event(PaymentEventKind.PAYMENT_FAILED, refs=("F-unknown",)), world.clock.now()
    )

    assert outcome == EventOutcome.NOT_APPLICABLE
    assert world.store.items == {}
    assert world.tasks.tasks == {}
    assert world.events.is_done("stripe", "evt_1")


def test_ignored_event_is_only_recorded_as_seen(world):
    event = an_event(PaymentEventKind.IGNORED, amount=None, payment_id=None)

    assert world.recorder.apply(event, world.clock.now()) == EventOutcome.IGNORED
    assert world.recorder.apply(event, world.clock.now()) == EventOutcome.DUPLICATE
    assert world.store.commits == 0


# --- matching ----------------------------------------------------------------------------------


def test_payment_quoting_an_invoice_number_in_metadata_is_matched(world):
    invoice = world.add(an_invoice())

    world.recorder.apply(an_event(refs=(invoice.number,)), world.clock.now())

    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID


def test_transfer_quoting_the_rf_reference_of_the_pay_page_is_matched(world):
    invoice = world.add(an_invoice())
    reference = rf_reference_for(invoice.number)
    world.directory.register([(reference_key(reference), invoice.invoice_id)])
    printed = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))

    world.recorder.apply(
        an_event(payment_id="SEPA-1", text=f"Virement {printed}"), world.clock.now()
    )

    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID
    [line] = [e for e in world.timeline.events if e.type == EventType.PAYMENT]
    assert line.detail("method") == "creditor_reference"


def test_mistyped_rf_reference_matches_nothing(world):
    invoice = world.add(an_invoice())
    reference = rf_reference_for(invoice.number)
    world.directory.register([(reference_key(reference), invoice.invoice_id)])
    typo = reference[:-1] + ("9" if reference[-1] != "9" else "8")

    outcome = world.recorder.apply(an_event(text=f"Payment {typo}"), world.clock.now())

    assert outcome == EventOutcome.UNALLOCATED
    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.OPEN


def test_invoice_number_quoted_in_the_remittance_text_is_matched(world):
    invoice = world.add(an_invoice())

    world.recorder.apply(an_event(text=f"Invoice {invoice.number}, thanks"), world.clock.now())

    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID


def test_exact_amount_from_a_known_payer_email_is_matched(world):
    invoice = world.add(an_invoice(total="123.45"))
    world.add(an_invoice("2", total="99.00"))
    world.directory.register([(payer_key("AP@a.example"), "cus_a")])

    world.recorder.apply(an_event(amount="123.45", email="ap@a.example"), world.clock.now())

    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID


def test_payer_email_learned_from_a_referenced_payment_helps_the_next_one(world):
    first = world.add(an_invoice("1"))
    second = world.add(an_invoice("2", total="55.00"))
    world.recorder.apply(
        an_event(event_id="e1", refs=(first.invoice_id,), email="pay@a.example"),
        world.clock.now(),
    )

    world.recorder.apply(
        an_event(event_id="e2", payment_id="pi_2", amount="55.00", email="pay@a.example"),
        world.clock.now(),
    )

    assert world.invoice(second.invoice_id).status == InvoiceStatus.PAID


def test_number_tokens_split_numbers_quoted_together():
    assert number_tokens("Invoices F-2026-0042/F-2026-0043 paid 12") == [
        "F-2026-0042/F-2026-0043",
        "F-2026-0042",
        "F-2026-0043",
    ]
    assert number_tokens("no digits here, ok") == []


# --- collectors --------------------------------------------------------------------------------


def test_collector_allocates_unmatched_money_to_an_invoice(world):
    invoice = world.add(an_invoice())
    world.recorder.apply(an_event(text="thanks for everything"), world.clock.now())
    [item] = world.store.items.values()

    placed = world.recorder.allocate(
        item.payment_ref, invoice.invoice_id, by="alice", now=world.clock.now()
    )

    assert (placed.status, placed.allocated_by, placed.allocated_to) == (
        UnallocatedStatus.ALLOCATED,
        "alice",
        (invoice.invoice_id,),
    )
    assert world.invoice(invoice.invoice_id).status == InvoiceStatus.PAID
    assert len(world.receipts()) == 1
    with pytest.raises(InvalidTransitionError):
        world.recorder.allocate(
            item.payment_ref, invoice.invoice_id, by="bob", now=world.clock.now()
        )


def test_collector_cannot_allocate_to_an_invoice_in_another_currency(world):
    invoice = world.add(an_invoice(currency="GBP"))
    world.recorder.apply(an_event(text="no reference"), world.clock.now())
    [item] = world.store.items.values()

    with pytest.raises(CurrencyMismatchError):
        world.recorder.allocate(item.payment_ref, invoice.invoice_id, by="a", now=T0)
    assert world.store.get_unallocated(item.payment_ref) == item


def test_allocating_unknown_money_or_to_an_unknown_invoice_is_refused(world):
    world.recorder.apply(an_event(text="no reference"), world.clock.now())
    [item] = world.store.items.values()

    with pytest.raises(NotFoundError):
        world.recorder.allocate("pay_missing", "inv_x", by="a", now=T0)
    with pytest.raises(NotFoundError):
        world.recorder.allocate(item.payment_ref, "inv_missing", by="a", now=T0)


def test_refund_placed_by_hand_is_not_applied_again_when_its_payment_arrives(world):
    chosen = world.add(an_invoice("1"))
    paid = world.add(an_invoice("2"))
    refund = an_event(PaymentEventKind.REFUNDED, event_id="evt_refund", amount="30.00")
    world.recorder.apply(refund, world.clock.now())
    [item] = world.store.items.values()
    world.recorder.allocate(item.payment_ref, chosen.invoice_id, by="alice", now=T0)

    world.recorder.apply(an_event(event_id="evt_pay", refs=(paid.invoice_id,)), T0)

    assert world.invoice(paid.invoice_id).amount_paid == Money.parse("100.00", "EUR")
    placed = world.store.get_unallocated(item.payment_ref)
    assert placed is not None
    assert (placed.allocated_by, placed.allocated_to) == ("alice", (chosen.invoice_id,))


# --- signatures and payloads -------------------------------------------------------------------


def test_any_of_the_rotated_secrets_is_accepted(world):
    invoice = world.add(an_invoice())
    body = json.dumps(
        {
            "id": "evt_stripe_1",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(T0.timestamp()),
            "data": {
                "object": {
                    "id": "pi_9",
                    "object": "payment_intent",
                    "amount": 10000,
                    "amount_received": 10000,
                    "currency": "eur",
                    "status": "succeeded",
                    "metadata": {"invoice_id": invoice.invoice_id},
                }
            },
        }
    ).encode()
    now = world.clock.now()

    result = world.recorder.record(
        "stripe",
        body,
        {"Stripe-Signature": sign_stripe(body, "whsec_new", int(now.timestamp()))},
        now,
    )

    assert result.events == (("evt_stripe_1", EventOutcome.APPLIED),)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"relance-signature": "t=1,v1=00"},
        {"relance-signature": sign_generic(b"other body", "generic-secret", 0)},
    ],
)
def test_bad_signature_stores_nothing(world, headers):
    invoice = world.add(an_invoice())
    body = generic_body(invoice_id=invoice.invoice_id)

    with pytest.raises(SignatureError):
        world.recorder.record("generic", body, headers, world.clock.now())
    assert world.events.records == {}
    assert world.events.rejected == []


def test_signed_but_invalid_body_is_kept_as_evidence_and_refused(world):
    body = generic_body(amount=12.5)
    now = world.clock.now()
    headers = {"Relance-Signature": sign_generic(body, "generic-secret", int(now.timestamp()))}

    with pytest.raises(WebhookPayloadError) as raised:
        world.recorder.record("generic", body, headers, now)

    assert raised.value.field == "amount"
    assert world.events.rejected[0][1] == body
    assert world.events.records == {}


def test_unknown_provider_is_not_found(world):
    with pytest.raises(NotFoundError):
        world.recorder.record("paypal", b"{}", {}, world.clock.now())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a", ("a",)), ("a, b ,", ("a", "b")), (" new,old ", ("new", "old"))],
)
def test_secret_values_are_comma_separated_for_rotation(raw, expected):
    assert secret_values(raw) == expected


@pytest.mark.parametrize("raw", ["", " , ,"])
def test_empty_secret_is_refused(raw):
    with pytest.raises(Exception, match="empty"):
        secret_values(raw)


def test_claim_states_map_to_outcomes(world):
    assert world.events.begin("p", "e", T0) == WebhookClaim.NEW
    assert world.events.begin("p", "e", T0) == WebhookClaim.IN_FLIGHT
