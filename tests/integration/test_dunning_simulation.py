"""Sixty simulated days over a mixed portfolio, against the emulator, through the real path.

Each day at 09:00 UTC (10:00 in Paris) a run is started through POST /admin/runs, the event
pump delivers the actions queue to the worker, and the test reads what went out from the
outbox, the tasks and the approvals. Rules exercised (docs/dunning.md): pre-due courtesy,
escalation, catch-up to the most advanced due step, consolidation, strategic and high-risk
customers handed to people, payment and dispute stopping the chase, promises kept and broken.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.domain.invoices import InvoiceStatus, RiskClass
from chalicelib.domain.money import Money
from tests.integration.simulation import Simulation, invoice_record

START = date(2027, 3, 1)  # a Monday; French holidays in the window: Easter Monday 29 March
DAYS = 60


def _due(days: int) -> date:
    return START + timedelta(days=days)


PORTFOLIO = [
    invoice_record("PRE-DUE", "Alpha SARL", "a@alpha.example", _due(10), "1000.00"),
    invoice_record("LATE-20", "Bravo SA", "b@bravo.example", _due(-20), "2000.00"),
    invoice_record("PAYS", "Charlie SAS", "c@charlie.example", _due(5), "300.00"),
    invoice_record("DISPUTES", "Delta SARL", "d@delta.example", _due(-2), "400.00"),
    invoice_record("STRATEGIC", "Echo Group", "e@echo.example", _due(-2), "50000.00"),
    invoice_record("RISKY", "Foxtrot EURL", "f@foxtrot.example", _due(-2), "700.00"),
    invoice_record("KEPT", "Golf SA", "g@golf.example", _due(-2), "800.00"),
    invoice_record("BROKEN", "Hotel SARL", "h@hotel.example", _due(-2), "900.00"),
    invoice_record("TWIN-1", "India SAS", "i@india.example", _due(-2), "110.00"),
    invoice_record("TWIN-2", "India SAS", "i@india.example", _due(-2), "220.00"),
]


def test_sixty_days_over_a_mixed_portfolio(stack, pump, api, admin_headers):
    sim = Simulation(stack, pump, api, admin_headers)
    sim.import_records(PORTFOLIO, "inbox/portfolio.jsonl")
    invoices, customers = DynamoInvoiceRepository(shards=16), DynamoCustomerRepository()

    def by_number(number):
        return invoices.get(sim.invoice(number)["invoice_id"])

    def customer_of(number):
        return customers.get(by_number(number).customer_id)

    # GIVEN a strategic customer and one a collector classed high risk
    customers.save(replace(customer_of("STRATEGIC"), segment="strategic"))
    customers.save(replace(customer_of("RISKY"), risk_override=RiskClass.HIGH))

    def events_of_the_day(day: date) -> None:
        offset = (day - START).days
        if offset == 2:  # promises made on day 2
            for number, promised in (("KEPT", 12), ("BROKEN", 5)):
                invoice = by_number(number)
                invoices.save(replace(invoice, promise_date=_due(promised)))
        if offset == 3:  # a full dispute
            invoice = by_number("DISPUTES")
            invoices.save(
                replace(invoice, status=InvoiceStatus.DISPUTED, disputed_amount=invoice.amount_due)
            )
        if offset == 10:  # a payment arrives in the accounting export, and the kept promise
            paid = [
                dict(r, amount_paid=r["amount_total"]) for r in PORTFOLIO if r["number"] == "PAYS"
            ]
            sim.import_records(paid, "inbox/payments-day-10.jsonl")
        if offset == 11:
            invoice = by_number("KEPT")
            invoices.save(
                replace(invoice, amount_paid=invoice.amount_total).with_settled_status(
                    datetime.combine(day, time(8), tzinfo=UTC)
                )
            )

    sim.days(START, DAYS, before_each=events_of_the_day)

    assert sim.sent() == {
        ("PRE-DUE", "courtesy", "email"),
        ("PRE-DUE", "friendly", "email"),
        ("PRE-DUE", "firm", "email"),
        ("PRE-DUE", "firm", "sms"),
        ("PAYS", "courtesy", "email"),
        ("PAYS", "friendly", "email"),
        ("DISPUTES", "friendly", "email"),
        ("KEPT", "friendly", "email"),
        ("BROKEN", "friendly", "email"),
        ("BROKEN", "firm", "email"),
        ("BROKEN", "firm", "sms"),
        ("TWIN-1", "friendly", "email"),
        ("TWIN-2", "friendly", "email"),
        ("TWIN-1", "firm", "email"),
        ("TWIN-2", "firm", "email"),
        ("TWIN-1", "firm", "sms"),
        ("TWIN-2", "firm", "sms"),
    }
    # One message per customer and step: the twins share every email and SMS.
    twins = [m for m in sim.outbox() if len(m["invoice_ids"]) == 2]
    assert len(twins) == 3
    assert all(
        "TWIN-1" in m["text"] and "TWIN-2" in m["text"] for m in twins if m["channel"] == "email"
    )
    # No message after payment, dispute or a kept promise; nothing sent twice.
    assert len(sim.outbox()) == len(
        {(tuple(m["invoice_ids"]), m["step_id"], m["channel"]) for m in sim.outbox()}
    )
    tasks = sim.tasks()
    assert {t for t in tasks if t[0] == "LATE-20"} == {
        ("LATE-20", "call", "call"),
        ("LATE-20", "legal", "legal"),
    }
    assert ("PRE-DUE", "call", "call") in tasks
    assert ("STRATEGIC", "strategic_review", "friendly") in tasks
    assert ("RISKY", "strategic_review", "friendly") in tasks
    assert not [t for t in tasks if t[0] in ("PAYS", "DISPUTES", "KEPT")]
    assert sim.approvals() >= {
        ("LATE-20", "formal_notice"),
        ("PRE-DUE", "formal_notice"),
        ("BROKEN", "formal_notice"),
    }
    assert by_number("PAYS").status == InvoiceStatus.PAID
    assert by_number("PAYS").next_action_at is None
    assert by_number("KEPT").status == InvoiceStatus.PAID
    broken = api.http.get(
        f"/admin/invoices/{sim.invoice('BROKEN')['invoice_id']}/timeline", headers=admin_headers
    ).json_body["items"]
    assert "promise_broken" in {e["type"] for e in broken}
    assert by_number("LATE-20").amount_due == Money(200000, "EUR")
