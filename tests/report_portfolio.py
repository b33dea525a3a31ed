"""The worked-example portfolio of docs/reports.md as stored data: invoices, customers, events.

tests/unit/domain/test_reports.py states it as `ReportInvoice` snapshots; here the same facts
are written the way Relance stores them (invoice state plus timeline events), so that the
snapshot builder, the report service and the HTTP routes can be checked against the same
hand-computed numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from chalicelib.domain.invoices import Customer, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType, TimelineEvent

GRACE_DAYS = 3  # the default policy's grace after a promised date

CUSTOMERS = {
    "C1": "Atelier Dupont",
    "C2": "Boulangerie Martin",
    "C3": "Cafe Lumiere",
    "C4": "Dockside Ltd",
}


def _d(iso: str) -> date:
    return date.fromisoformat(iso)


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(hour=9, tzinfo=UTC)


@dataclass
class Row:
    invoice_id: str
    customer: str
    issued: str
    due: str
    total: str
    currency: str = "EUR"
    credited: str | None = None
    paid: tuple[tuple[str, str], ...] = ()
    status: InvoiceStatus = InvoiceStatus.OPEN
    disputed_on: str | None = None
    # (made on, promised date, broken on or None)
    promises: tuple[tuple[str, str, str | None], ...] = ()
    steps: tuple[tuple[str, str], ...] = ()


ROWS = (
    Row("A1", "C1", "2026-03-10", "2026-04-09", "1200.00", steps=(("pre_due", "2026-04-06"),)),
    Row(
        "A2", "C1", "2026-02-01", "2026-03-03", "800.00",
        paid=(("2026-03-05", "300.00"),), status=InvoiceStatus.PARTIALLY_PAID,
        promises=(("2026-03-06", "2026-03-31", None),), steps=(("reminder_1", "2026-03-04"),),
    ),
    Row(
        "A3", "C2", "2026-01-05", "2026-02-04", "2000.00", credited="500.00",
        paid=(("2026-02-20", "1000.00"),), status=InvoiceStatus.DISPUTED,
        disputed_on="2026-02-25", promises=(("2026-02-10", "2026-02-20", "2026-02-24"),),
        steps=(("reminder_1", "2026-02-05"), ("reminder_2", "2026-02-15")),
    ),
    Row(
        "A4", "C2", "2025-11-20", "2025-12-20", "450.00",
        promises=(("2026-01-25", "2026-02-10", "2026-02-14"),),
        steps=(
            ("reminder_1", "2025-12-21"), ("reminder_2", "2025-12-31"),
            ("formal_notice", "2026-01-20"),
        ),
    ),
    Row(
        "A5", "C3", "2025-10-01", "2025-10-31", "300.00", status=InvoiceStatus.DISPUTED,
        disputed_on="2025-12-10",
        steps=(
            ("reminder_1", "2025-11-01"), ("reminder_2", "2025-11-10"),
            ("formal_notice", "2025-12-01"),
        ),
    ),
    Row(
        "A6", "C3", "2026-02-10", "2026-03-12", "600.00", paid=(("2026-03-10", "600.00"),),
        status=InvoiceStatus.PAID, steps=(("pre_due", "2026-03-09"),),
    ),
    Row("A7", "C1", "2026-03-20", "2026-04-19", "999.00"),
    Row(
        "A8", "C4", "2026-01-10", "2026-02-09", "5000.00", currency="USD",
        steps=(("reminder_1", "2026-02-10"),),
    ),
    Row(
        "A9", "C2", "2026-02-15", "2026-03-17", "100.00", status=InvoiceStatus.CANCELLED,
        disputed_on="2026-02-20",
    ),
    Row(
        "A10", "C3", "2026-01-20", "2026-02-19", "700.00", paid=(("2026-03-20", "700.00"),),
        status=InvoiceStatus.PAID, promises=(("2026-02-25", "2026-03-20", None),),
        steps=(("reminder_1", "2026-02-20"),),
    ),
    Row(
        "A11", "C2", "2025-12-01", "2025-12-31", "1000.00",
        paid=(("2026-01-10", "400.00"), ("2026-01-30", "600.00")), status=InvoiceStatus.PAID,
        promises=(("2026-01-12", "2026-01-30", None),),
        steps=(("reminder_1", "2026-01-01"), ("reminder_2", "2026-01-11")),
    ),
    Row(
        "A12", "C3", "2025-12-15", "2026-01-14", "250.00", credited="50.00",
        paid=(("2026-01-25", "200.00"),), status=InvoiceStatus.PAID,
        steps=(("reminder_1", "2026-01-15"),),
    ),
    Row(
        "A13", "C2", "2025-06-01", "2025-07-01", "380.00", status=InvoiceStatus.WRITTEN_OFF,
        steps=(("reminder_1", "2025-07-02"),),
    ),
)  # fmt: skip


def _event(row: Row, kind: EventType, on: str, n: int, **details: str) -> TimelineEvent:
    return TimelineEvent(
        event_id=f"{row.invoice_id}-{kind}-{n}",
        invoice_id=row.invoice_id,
        customer_id=row.customer,
        type=kind,
        at=_at(on),
        actor="fixture",
        details=tuple(sorted(details.items())),
    )


def _events(row: Row) -> list[TimelineEvent]:
    events = [
        _event(row, EventType.PAYMENT, on, n, amount=amount, currency=row.currency)
        for n, (on, amount) in enumerate(row.paid)
    ]
    for n, (made, promised, broken) in enumerate(row.promises):
        deadline = date.fromordinal(_d(promised).toordinal() + GRACE_DAYS).isoformat()
        events.append(
            _event(row, EventType.PROMISE, made, n, promise_date=promised, deadline=deadline)
        )
        if broken:
            events.append(_event(row, EventType.PROMISE_BROKEN, broken, n, promise_date=promised))
    if row.disputed_on:
        events.append(_event(row, EventType.DISPUTE_OPENED, row.disputed_on, 0, reason="quality"))
    events += [
        _event(row, EventType.REMINDER_SENT, on, n, step=step, channel="email")
        for n, (step, on) in enumerate(row.steps)
    ]
    return events


def _invoice(row: Row) -> Invoice:
    def money(amount: str) -> Money:
        return Money.parse(amount, row.currency)

    paid = sum((money(a).minor for _, a in row.paid), 0)
    last_payment = max((on for on, _ in row.paid), default=None)
    return Invoice(
        invoice_id=row.invoice_id,
        seller_id="seller",
        number=f"F-{row.invoice_id}",
        customer_id=row.customer,
        issue_date=_d(row.issued),
        due_date=_d(row.due),
        amount_total=money(row.total),
        amount_paid=Money(paid, row.currency),
        credited=money(row.credited) if row.credited else None,
        status=row.status,
        paid_at=_at(last_payment) if row.status == InvoiceStatus.PAID and last_payment else None,
    )


def portfolio() -> tuple[list[Customer], list[Invoice], list[TimelineEvent]]:
    """Customers, invoices and every timeline event of the worked example."""
    customers = [
        Customer(customer_id=cid, seller_id="seller", name=name) for cid, name in CUSTOMERS.items()
    ]
    invoices = [_invoice(row) for row in ROWS]
    events = [event for row in ROWS for event in _events(row)]
    return customers, invoices, events
