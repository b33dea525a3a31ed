"""Report snapshots read back from invoices and their timeline, as known on a date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.report_snapshots import paid_events, report_snapshot


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


def an_invoice(**overrides: object) -> Invoice:
    base = {
        "invoice_id": "inv_1",
        "seller_id": "s",
        "number": "F-1",
        "customer_id": "cus_1",
        "issue_date": date(2026, 1, 5),
        "due_date": date(2026, 2, 4),
        "amount_total": eur("1000.00"),
        "amount_paid": eur("0"),
        "extra": (("imported_at", "2026-01-06T08:00:00+00:00"),),
    }
    base.update(overrides)
    return Invoice(**base)  # type: ignore[arg-type]


def event(type_: EventType, when: str, **details: str) -> TimelineEvent:
    return TimelineEvent(
        event_id=f"{type_}-{when}-{sorted(details.items())}",
        invoice_id="inv_1",
        customer_id="cus_1",
        type=type_,
        at=at(when),
        actor="test",
        details=tuple(sorted(details.items())),
    )


def pay(when: str, amount: str, **extra: str) -> TimelineEvent:
    return event(EventType.PAYMENT, when, amount=amount, **extra)


def test_payments_come_from_dated_events():
    invoice = an_invoice(amount_paid=eur("700.00"))
    events = [pay("2026-02-20T10:00", "400.00"), pay("2026-03-01T10:00", "300.00")]

    assert paid_events(invoice, events) == (
        (date(2026, 2, 20), eur("400.00")),
        (date(2026, 3, 1), eur("300.00")),
    )


def test_paid_amount_without_events_is_dated_when_relance_learned_it():
    imported_paid = an_invoice(amount_paid=eur("250.00"))
    paid_in_full = an_invoice(
        amount_paid=eur("1000.00"), status=InvoiceStatus.PAID, paid_at=at("2026-02-10T09:00")
    )

    assert paid_events(imported_paid, []) == ((date(2026, 1, 6), eur("250.00")),)
    assert paid_events(paid_in_full, [pay("2026-02-01T00:00", "100.00")]) == (
        (date(2026, 2, 1), eur("100.00")),
        (date(2026, 2, 10), eur("900.00")),
    )


def test_payments_beyond_the_amount_paid_were_reversed_latest_first():
    invoice = an_invoice(amount_paid=eur("500.00"))
    events = [pay("2026-02-01T00:00", "400.00"), pay("2026-02-15T00:00", "300.00")]

    assert paid_events(invoice, events) == (
        (date(2026, 2, 1), eur("400.00")),
        (date(2026, 2, 15), eur("100.00")),
    )


@pytest.mark.parametrize(
    "details",
    [{"amount": "abc"}, {"amount": "-5"}, {"amount": "10.00", "currency": "USD"}, {}],
    ids=["not-a-number", "negative", "other-currency", "no-amount"],
)
def test_payment_events_without_a_usable_amount_are_ignored(details):
    invoice = an_invoice()

    assert paid_events(invoice, [event(EventType.PAYMENT, "2026-02-01T00:00", **details)]) == ()


def test_promise_kept_broken_replaced_and_pending():
    invoice = an_invoice(
        amount_paid=eur("1000.00"), status=InvoiceStatus.PAID, paid_at=at("2026-03-09T12:00")
    )
    events = [
        event(
            EventType.PROMISE, "2026-02-01T09:00", promise_date="2026-02-10", deadline="2026-02-13"
        ),
        event(EventType.PROMISE_BROKEN, "2026-02-14T08:00", promise_date="2026-02-10"),
        event(
            EventType.PROMISE, "2026-02-20T09:00", promise_date="2026-02-27", deadline="2026-03-02"
        ),
        event(
            EventType.PROMISE, "2026-02-25T09:00", promise_date="2026-03-06", deadline="2026-03-09"
        ),
        pay("2026-03-09T12:00", "1000.00"),
    ]

    on_march_1 = report_snapshot(invoice, "C", events, date(2026, 3, 1)).promises
    on_march_31 = report_snapshot(invoice, "C", events, date(2026, 3, 31)).promises

    assert [(p.promised_date, p.kept) for p in on_march_1] == [
        (date(2026, 2, 10), False),  # broken
        (date(2026, 2, 27), False),  # replaced by a new promise before its deadline
        (date(2026, 3, 6), None),  # not decided yet on March 1st
    ]
    assert [p.kept for p in on_march_31] == [False, False, True]


def test_promise_made_after_the_report_date_is_unknown_then():
    invoice = an_invoice()
    events = [event(EventType.PROMISE, "2026-03-10T09:00", promise_date="2026-03-20")]

    assert report_snapshot(invoice, "C", events, date(2026, 3, 5)).promises == ()


def test_steps_sent_come_from_messages_and_step_tasks():
    invoice = an_invoice()
    events = [
        event(EventType.REMINDER_SENT, "2026-02-05T08:00", step="friendly", channel="email"),
        event(EventType.REMINDER_SENT, "2026-02-05T08:00", step="friendly", channel="sms"),
        event(EventType.TASK_CREATED, "2026-02-19T08:00", step="call", kind="call"),
        event(EventType.TASK_CREATED, "2026-02-19T08:00", step="firm", kind="unreachable"),
        event(EventType.REMINDER_SENT, "2026-04-01T08:00", step="formal_notice"),
    ]

    snapshot = report_snapshot(invoice, "C", events, date(2026, 3, 15))

    assert snapshot.steps_sent == (("friendly", date(2026, 2, 5)), ("call", date(2026, 2, 19)))


def test_dispute_is_placed_in_time_even_when_opened_after_the_report_date():
    invoice = an_invoice(status=InvoiceStatus.DISPUTED)
    events = [event(EventType.DISPUTE_OPENED, "2026-02-25T08:00", reason="quality")]

    snapshot = report_snapshot(invoice, "C", events, date(2026, 2, 1))

    assert snapshot.disputed
    assert snapshot.dispute_opened_on == date(2026, 2, 25)


def test_chargeback_dispute_without_event_counts_without_a_date():
    invoice = an_invoice(status=InvoiceStatus.DISPUTED, disputed_amount=eur("1000.00"))

    snapshot = report_snapshot(invoice, "C", [], date(2026, 3, 1))

    assert snapshot.disputed
    assert snapshot.dispute_opened_on is None


def test_an_inconsistent_invoice_cannot_be_reported():
    invoice = an_invoice(due_date=date(2025, 12, 1))

    with pytest.raises(ValidationError) as error:
        report_snapshot(invoice, "C", [], date(2026, 3, 1))

    assert error.value.field == "due_date"
