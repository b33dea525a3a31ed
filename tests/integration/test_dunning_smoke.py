from __future__ import annotations

from datetime import UTC, date, datetime

from tests.integration.simulation import Simulation, invoice_record

MONDAY = date(2027, 3, 1)


def test_an_overdue_invoice_gets_its_friendly_reminder_once(stack, pump, api, admin_headers):
    sim = Simulation(stack, pump, api, admin_headers)
    sim.import_records(
        [invoice_record("S-1", "Acme SARL", "ap@acme.example", date(2027, 2, 26), "1200.00")],
        "inbox/s.jsonl",
    )

    first = sim.run(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    second = sim.run(datetime(2027, 3, 1, 9, 15, tzinfo=UTC))

    assert first["sent"] == {"friendly:email": 1}
    assert second["examined"] == 0
    assert sim.sent() == {("S-1", "friendly", "email")}
    [message] = sim.outbox()
    assert message["to"] == "ap@acme.example"
    assert "S-1" in message["text"]
    assert "/pay/" in message["text"]
