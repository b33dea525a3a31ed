"""Payment ledger settlement (order-independent), reconcile and incremental invoice effects."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import CurrencyMismatchError, InvalidTransitionError, ValidationError
from chalicelib.domain.invoices import Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.payments import (
    Allocation,
    AllocationLine,
    MatchMethod,
    PaymentEventKind,
    PaymentLedgerEntry,
    Settlement,
    apply_event,
    ledger_entries,
    reconcile,
    settle,
    settlement,
)

from .builders import T0, an_entry, an_event, an_invoice, eur

Kind = PaymentEventKind
TOTAL = eur("100.00")


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


# --- settle: scenarios ------------------------------------------------------------------------


def test_single_payment_is_what_was_paid() -> None:
    assert settle(TOTAL, [an_entry(Kind.PAYMENT_SUCCEEDED, "60.00")]) == eur("60.00")


def test_same_payment_reported_by_several_event_types_counts_once() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "60.00", event_id="evt_charge"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "60.00", event_id="evt_intent"),
        an_entry(Kind.PAID_OUT, "60.00", event_id="evt_payout"),
    ]

    assert settle(TOTAL, entries) == eur("60.00")


def test_two_different_payments_add_up() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "60.00", payment_id="pi_1"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "40.00", payment_id="pi_2", event_id="evt_2"),
    ]

    assert settle(TOTAL, entries) == eur("100.00")


def test_payments_without_payment_id_are_distinct_by_event() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "30.00", payment_id=None, event_id="evt_a"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "30.00", payment_id=None, event_id="evt_b"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "30.00", payment_id=None, event_id="evt_b"),
    ]

    assert settle(TOTAL, entries) == eur("60.00")


def test_same_payment_id_from_two_providers_does_not_collide() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "30.00", payment_id="P1", provider="gocardless"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "30.00", payment_id="P1", provider="generic"),
    ]

    assert settle(TOTAL, entries) == eur("60.00")


def test_cumulative_refunds_count_their_largest_amount() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00"),
        an_entry(Kind.REFUNDED, "30.00", event_id="evt_r1", at=T0 + minutes(5)),
        an_entry(Kind.REFUNDED, "50.00", event_id="evt_r2", at=T0 + minutes(9)),
    ]

    assert settle(TOTAL, entries) == eur("50.00")


def test_refund_before_its_payment_nets_to_zero_then_converges() -> None:
    refund = an_entry(Kind.REFUNDED, "40.00", event_id="evt_r", at=T0 + minutes(5))
    payment = an_entry(Kind.PAYMENT_SUCCEEDED, "100.00", event_id="evt_p")

    assert settle(TOTAL, [refund]) == eur("0")
    assert settle(TOTAL, [refund, payment]) == eur("60.00")
    assert settle(TOTAL, [payment, refund]) == eur("60.00")


def test_refund_of_one_payment_never_eats_into_another() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "50.00", payment_id="pi_1"),
        an_entry(Kind.REFUNDED, "80.00", payment_id="pi_2", event_id="evt_r"),
    ]

    assert settle(TOTAL, entries) == eur("50.00")


def test_retry_that_succeeds_after_a_failure_counts() -> None:
    entries = [
        an_entry(Kind.PAYMENT_FAILED, "0", event_id="evt_fail", at=T0),
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00", event_id="evt_ok", at=T0 + minutes(30)),
    ]

    assert settle(TOTAL, entries) == eur("100.00")


def test_late_failure_after_confirmation_cancels_the_payment() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00", event_id="evt_ok", at=T0),
        an_entry(Kind.PAYMENT_FAILED, None, event_id="evt_fail", at=T0 + timedelta(days=3)),
    ]

    assert settle(TOTAL, entries) == eur("0")


def test_success_wins_a_tie_with_failure_at_the_same_instant() -> None:
    entries = [
        an_entry(Kind.PAYMENT_FAILED, "0", event_id="evt_z"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00", event_id="evt_a"),
    ]

    assert settle(TOTAL, entries) == eur("100.00")


def test_open_chargeback_keeps_the_payment_and_puts_the_amount_at_stake() -> None:
    result = settlement(
        TOTAL,
        [
            an_entry(Kind.PAYMENT_SUCCEEDED, "100.00"),
            an_entry(Kind.CHARGEBACK_OPENED, "100.00", event_id="evt_cb", at=T0 + minutes(1)),
        ],
    )

    assert result == Settlement(
        paid=eur("100.00"), excess=eur("0"), chargeback_at_stake=eur("100.00"), had_chargeback=True
    )


def test_lost_chargeback_takes_the_money_back() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00"),
        an_entry(Kind.CHARGEBACK_OPENED, "100.00", event_id="evt_o", at=T0 + minutes(1)),
        an_entry(Kind.CHARGEBACK_LOST, "100.00", event_id="evt_l", at=T0 + minutes(2)),
    ]

    result = settlement(TOTAL, entries)

    assert result.paid == eur("0")
    assert result.chargeback_at_stake is None


def test_won_chargeback_leaves_the_payment() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00"),
        an_entry(Kind.CHARGEBACK_OPENED, "100.00", event_id="evt_o", at=T0 + minutes(1)),
        an_entry(Kind.CHARGEBACK_WON, "100.00", event_id="evt_w", at=T0 + minutes(2)),
    ]

    result = settlement(TOTAL, entries)

    assert result.paid == eur("100.00")
    assert result.chargeback_at_stake is None
    assert result.had_chargeback


def test_gocardless_chargeback_cancelled_after_charged_back_restores_the_payment() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00"),
        an_entry(Kind.CHARGEBACK_LOST, "100.00", event_id="evt_l", at=T0 + minutes(1)),
        an_entry(Kind.CHARGEBACK_WON, "100.00", event_id="evt_w", at=T0 + minutes(2)),
    ]

    assert settle(TOTAL, entries) == eur("100.00")


def test_paid_is_capped_at_the_total_and_the_excess_reported() -> None:
    result = settlement(TOTAL, [an_entry(Kind.PAYMENT_SUCCEEDED, "130.00")])

    assert result.paid == eur("100.00")
    assert result.excess == eur("30.00")


def test_empty_ledger_is_nothing_paid() -> None:
    assert settlement(TOTAL, []) == Settlement(eur("0"), eur("0"), None, False)


def test_entry_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        settle(TOTAL, [an_entry(Kind.PAYMENT_SUCCEEDED, "10.00", currency="USD")])


def test_ledger_entries_refuse_ignored_kind_negative_amount_and_naive_time() -> None:
    with pytest.raises(ValidationError):
        an_entry(Kind.IGNORED, None)
    with pytest.raises(ValidationError):
        an_entry(Kind.PAYMENT_SUCCEEDED, "-1.00")
    with pytest.raises(ValidationError):
        an_entry(Kind.PAYMENT_SUCCEEDED, "1.00", at=T0.replace(tzinfo=None))


# --- settle: order independence (property) ----------------------------------------------------

KINDS = [k for k in PaymentEventKind if k != PaymentEventKind.IGNORED]


@st.composite
def ledgers(draw: st.DrawFn) -> list[PaymentLedgerEntry]:
    size = draw(st.integers(min_value=0, max_value=12))
    entries = []
    for index in range(size):
        kind = draw(st.sampled_from(KINDS))
        cents = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)))
        entries.append(
            PaymentLedgerEntry(
                event_id=f"evt_{index}",
                provider_payment_id=draw(st.sampled_from([None, "pi_1", "pi_2", "PM3"])),
                kind=kind,
                amount=None if cents is None else Money(cents, "EUR"),
                occurred_at=T0 + minutes(draw(st.integers(min_value=0, max_value=5))),
                provider=draw(st.sampled_from(["stripe", "gocardless"])),
            )
        )
    return entries


@settings(max_examples=300)
@given(st.data())
def test_any_permutation_of_a_ledger_settles_the_same(data: st.DataObject) -> None:
    entries = data.draw(ledgers())
    shuffled = data.draw(st.permutations(entries))

    assert settlement(TOTAL, shuffled) == settlement(TOTAL, entries)


@settings(max_examples=200)
@given(st.data())
def test_redelivered_entries_change_nothing(data: st.DataObject) -> None:
    entries = data.draw(ledgers())
    repeated = data.draw(st.lists(st.sampled_from(entries), max_size=6)) if entries else []

    assert settlement(TOTAL, [*entries, *repeated]) == settlement(TOTAL, entries)


@given(ledgers())
def test_paid_always_stays_between_zero_and_the_total(entries: list[PaymentLedgerEntry]) -> None:
    paid = settle(TOTAL, entries)

    assert eur("0") <= paid <= TOTAL


@settings(max_examples=200)
@given(st.data())
def test_reconcile_is_order_independent(data: st.DataObject) -> None:
    entries = data.draw(ledgers())
    shuffled = data.draw(st.permutations(entries))
    invoice = an_invoice(total="100.00")

    assert reconcile(invoice, shuffled, T0) == reconcile(invoice, entries, T0)


# --- reconcile --------------------------------------------------------------------------------


def test_reconcile_full_payment_closes_the_invoice() -> None:
    invoice = an_invoice(next_action_at=T0 + timedelta(days=3))

    paid = reconcile(invoice, [an_entry(Kind.PAYMENT_SUCCEEDED, "100.00")], T0)

    assert paid.status == InvoiceStatus.PAID
    assert paid.amount_due == eur("0")
    assert paid.paid_at == T0
    assert paid.next_action_at is None


def test_reconcile_partial_payment_lowers_amount_due_and_keeps_chasing() -> None:
    invoice = an_invoice(next_action_at=T0 + timedelta(days=3))

    partial = reconcile(invoice, [an_entry(Kind.PAYMENT_SUCCEEDED, "30.00")], T0)

    assert partial.status == InvoiceStatus.PARTIALLY_PAID
    assert partial.amount_due == eur("70.00")
    assert partial.next_action_at == T0 + timedelta(days=3)


def test_reconcile_refund_reopens_a_paid_invoice_and_resumes_the_chase() -> None:
    payment = an_entry(Kind.PAYMENT_SUCCEEDED, "100.00")
    paid = reconcile(an_invoice(), [payment], T0)
    refund_at = T0 + timedelta(days=2)

    reopened = reconcile(
        paid, [payment, an_entry(Kind.REFUNDED, "25.00", event_id="evt_r", at=refund_at)], refund_at
    )

    assert reopened.status == InvoiceStatus.PARTIALLY_PAID
    assert reopened.amount_due == eur("25.00")
    assert reopened.paid_at is None
    assert reopened.next_action_at == refund_at


def test_reconcile_open_chargeback_disputes_the_invoice_then_won_closes_it_again() -> None:
    payment = an_entry(Kind.PAYMENT_SUCCEEDED, "100.00")
    opened = an_entry(Kind.CHARGEBACK_OPENED, "100.00", event_id="evt_o", at=T0 + minutes(1))
    won = an_entry(Kind.CHARGEBACK_WON, "100.00", event_id="evt_w", at=T0 + minutes(2))
    paid = reconcile(an_invoice(), [payment], T0)

    disputed = reconcile(paid, [payment, opened], T0 + minutes(1))
    closed = reconcile(disputed, [payment, opened, won], T0 + minutes(2))

    assert disputed.status == InvoiceStatus.DISPUTED
    assert disputed.disputed_amount == eur("100.00")
    assert closed.status == InvoiceStatus.PAID
    assert closed.disputed_amount is None
    assert closed.paid_at == T0


def test_reconcile_lost_chargeback_reopens_and_resumes_the_chase() -> None:
    entries = [
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00"),
        an_entry(Kind.CHARGEBACK_OPENED, "100.00", event_id="evt_o", at=T0 + minutes(1)),
    ]
    disputed = reconcile(an_invoice(), entries, T0)
    lost_at = T0 + timedelta(days=40)

    lost = reconcile(
        disputed,
        [*entries, an_entry(Kind.CHARGEBACK_LOST, "100.00", event_id="evt_l", at=lost_at)],
        lost_at,
    )

    assert lost.status == InvoiceStatus.OPEN
    assert lost.amount_due == eur("100.00")
    assert lost.disputed_amount is None
    assert lost.next_action_at == lost_at


def test_reconcile_leaves_a_collector_dispute_alone_when_no_chargeback_is_involved() -> None:
    disputed = an_invoice(status=InvoiceStatus.DISPUTED, next_action_at=None)

    after = reconcile(disputed, [an_entry(Kind.PAYMENT_SUCCEEDED, "30.00")], T0)

    assert after.status == InvoiceStatus.DISPUTED
    assert after.amount_due == eur("70.00")


def test_reconcile_keeps_cancelled_invoices_cancelled() -> None:
    cancelled = an_invoice(status=InvoiceStatus.CANCELLED)

    after = reconcile(cancelled, [an_entry(Kind.PAYMENT_SUCCEEDED, "30.00")], T0)

    assert after.status == InvoiceStatus.CANCELLED


def test_reconcile_converges_whatever_the_arrival_order_of_a_real_sequence() -> None:
    # Stripe: charge.succeeded, payment_intent.succeeded (same intent), a partial refund, a
    # second refund (cumulative), delivered in the worst order.
    entries = [
        an_entry(Kind.REFUNDED, "70.00", event_id="evt_r2", at=T0 + minutes(20)),
        an_entry(Kind.REFUNDED, "30.00", event_id="evt_r1", at=T0 + minutes(10)),
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00", event_id="evt_pi"),
        an_entry(Kind.PAYMENT_SUCCEEDED, "100.00", event_id="evt_ch"),
    ]
    invoice = an_invoice()
    for i in range(1, len(entries) + 1):
        invoice = reconcile(invoice, entries[:i], T0 + minutes(30))

    assert invoice.amount_paid == eur("30.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID


# --- ledger entries from an allocation --------------------------------------------------------


def test_ledger_entries_are_one_per_allocation_line() -> None:
    event = an_event(amount="300.00", payment_id="pi_7", event_id="evt_7")
    allocation = Allocation(
        method=MatchMethod.INVOICE_REFERENCE,
        lines=(AllocationLine("inv_a", eur("100.00")), AllocationLine("inv_b", eur("200.00"))),
    )

    pairs = ledger_entries(event, allocation)

    assert [(invoice_id, entry.amount) for invoice_id, entry in pairs] == [
        ("inv_a", eur("100.00")),
        ("inv_b", eur("200.00")),
    ]
    assert {entry.key for _, entry in pairs} == {"stripe:pi_7"}
    assert all(entry.event_id == "evt_7" and entry.occurred_at == T0 for _, entry in pairs)


def test_ignored_events_produce_no_ledger_entries() -> None:
    event = an_event(Kind.IGNORED, amount=None)

    assert ledger_entries(event, Allocation(method=MatchMethod.UNALLOCATED)) == ()


# --- apply_event: incremental effects ---------------------------------------------------------


def test_full_payment_marks_the_invoice_paid() -> None:
    invoice = an_invoice(next_action_at=T0 + timedelta(days=1))

    paid = apply_event(invoice, an_event(amount="100.00"))

    assert paid.status == InvoiceStatus.PAID
    assert paid.paid_at == T0
    assert paid.next_action_at is None


def test_partial_payment_lowers_the_amount_due() -> None:
    partial = apply_event(an_invoice(), an_event(amount="250.00"), eur("40.00"))

    assert partial.status == InvoiceStatus.PARTIALLY_PAID
    assert partial.amount_due == eur("60.00")


@pytest.mark.parametrize("kind", [Kind.REFUNDED, Kind.CHARGEBACK_LOST])
def test_refund_or_lost_chargeback_reopens_and_resumes_the_chase(kind: PaymentEventKind) -> None:
    paid = an_invoice(paid="100.00")
    at = T0 + timedelta(days=5)

    reopened = apply_event(paid, an_event(kind, amount="100.00", at=at))

    assert reopened.status == InvoiceStatus.OPEN
    assert reopened.amount_paid == eur("0")
    assert reopened.paid_at is None
    assert reopened.next_action_at == at


def test_reversal_never_takes_more_than_was_paid() -> None:
    partial = an_invoice(paid="30.00")

    after = apply_event(partial, an_event(Kind.REFUNDED, amount="80.00"))

    assert after.amount_paid == eur("0")
    assert after.status == InvoiceStatus.OPEN


def test_chargeback_opened_disputes_and_won_restores() -> None:
    paid = an_invoice(paid="100.00")

    disputed = apply_event(paid, an_event(Kind.CHARGEBACK_OPENED, amount="100.00"))
    restored = apply_event(disputed, an_event(Kind.CHARGEBACK_WON, amount="100.00"))

    assert disputed.status == InvoiceStatus.DISPUTED
    assert disputed.disputed_amount == eur("100.00")
    assert restored.status == InvoiceStatus.PAID
    assert restored.disputed_amount is None


def test_lost_chargeback_on_a_disputed_invoice_ends_the_dispute_and_reopens() -> None:
    disputed = apply_event(
        an_invoice(paid="100.00"), an_event(Kind.CHARGEBACK_OPENED, amount="100.00")
    )

    lost = apply_event(disputed, an_event(Kind.CHARGEBACK_LOST, amount=None))

    assert lost.status == InvoiceStatus.OPEN
    assert lost.amount_due == eur("100.00")
    assert lost.next_action_at == T0


@pytest.mark.parametrize("kind", [Kind.PAYMENT_FAILED, Kind.IGNORED])
def test_failures_and_ignored_events_change_nothing(kind: PaymentEventKind) -> None:
    invoice = an_invoice(paid="10.00")

    assert apply_event(invoice, an_event(kind, amount=None)) == invoice


def test_zero_payment_changes_nothing() -> None:
    invoice = an_invoice()

    assert apply_event(invoice, an_event(amount="0.00")) == invoice


def test_payment_without_amount_cannot_be_applied() -> None:
    with pytest.raises(ValidationError) as excinfo:
        apply_event(an_invoice(), an_event(amount=None, provider="gocardless"))

    assert excinfo.value.field == "amount"


def test_payment_on_a_cancelled_invoice_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransitionError):
        apply_event(an_invoice(status=InvoiceStatus.CANCELLED), an_event(amount="10.00"))


def test_apply_and_reconcile_agree_for_in_order_delivery() -> None:
    invoice: Invoice = an_invoice(due=date(2026, 1, 31))
    events = [
        an_event(amount="60.00", payment_id="pi_1", event_id="e1", at=T0),
        an_event(amount="40.00", payment_id="pi_2", event_id="e2", at=T0 + minutes(1)),
        an_event(
            Kind.REFUNDED, amount="40.00", payment_id="pi_2", event_id="e3", at=T0 + minutes(2)
        ),
    ]
    applied = invoice
    entries: list[PaymentLedgerEntry] = []
    reconciled = invoice
    for event in events:
        applied = apply_event(applied, event)
        allocation = Allocation(
            MatchMethod.INVOICE_REFERENCE,
            (AllocationLine(invoice.invoice_id, event.amount or eur("0")),),
        )
        entries.extend(entry for _, entry in ledger_entries(event, allocation))
        reconciled = reconcile(reconciled, entries, event.occurred_at)

    assert replace(applied, version=0) == replace(reconciled, version=0)
    assert reconciled.amount_paid == eur("60.00")
