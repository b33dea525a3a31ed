"""Policies chosen by rules and overrides, kept by version, moved by an admin."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from tests.integration.simulation import Simulation, invoice_record

GENTLE = {
    "name": "Gentle",
    "steps": [
        {"step_id": "friendly", "offset_days": 5, "channels": ["email"]},
    ],
}


def _setup(stack, pump, api, admin_headers):
    sim = Simulation(stack, pump, api, admin_headers)
    assert (
        api.http.put(
            "/admin/policies/gentle", headers=admin_headers, body=json.dumps(GENTLE)
        ).status_code
        == 200
    )
    sim.import_records(
        [invoice_record("V-1", "Vip SA", "ap@vip.example", date(2027, 2, 26), "800.00")],
        "inbox/v.jsonl",
    )
    return sim


def test_assignment_rule_puts_a_segment_on_its_policy(stack, pump, api, admin_headers):
    sim = _setup(stack, pump, api, admin_headers)
    rules = {"rules": [{"policy_id": "gentle", "segment": "vip", "priority": 10}]}
    saved = api.http.put("/admin/policy-rules", headers=admin_headers, body=json.dumps(rules))
    assert saved.status_code == 200, saved.body
    customer_id = sim.invoice("V-1")["customer_id"]
    patched = api.http.patch(
        f"/admin/customers/{customer_id}",
        headers=admin_headers,
        body=json.dumps({"segment": "vip"}),
    )
    assert patched.status_code == 200, patched.body

    sim.run(datetime(2027, 3, 1, 9, tzinfo=UTC))  # the default policy would send `friendly`
    assert sim.sent() == set()
    invoice = sim.invoice("V-1")
    assert (invoice["policy_id"], invoice["policy_version"]) == ("gentle", 1)

    sim.run(datetime(2027, 3, 3, 9, tzinfo=UTC))  # gentle: friendly at D+5
    assert sim.sent() == {("V-1", "friendly", "email")}


def test_invoice_keeps_its_version_until_an_admin_moves_it(stack, pump, api, admin_headers):
    sim = _setup(stack, pump, api, admin_headers)
    invoice_id = sim.invoice("V-1")["invoice_id"]
    moved = api.http.put(
        f"/admin/invoices/{invoice_id}/policy",
        headers=admin_headers,
        body=json.dumps({"policy_id": "gentle"}),
    )
    assert moved.status_code == 200, moved.body
    assert (
        api.http.put(
            "/admin/policies/gentle",
            headers=admin_headers,
            body=json.dumps(
                {
                    **GENTLE,
                    "steps": [{"step_id": "friendly", "offset_days": 1, "channels": ["email"]}],
                }
            ),
        ).json_body["version"]
        == 2
    )

    sim.run(datetime(2027, 3, 1, 9, tzinfo=UTC))  # version 1 (D+5) still applies
    assert sim.sent() == set()

    moved = api.http.put(
        f"/admin/invoices/{invoice_id}/policy",
        headers=admin_headers,
        body=json.dumps({"policy_id": "gentle", "version": 2}),
    )
    assert moved.json_body["policy_version"] == 2
    sim.run(datetime(2027, 3, 1, 10, tzinfo=UTC))
    assert sim.sent() == {("V-1", "friendly", "email")}


def test_rule_naming_an_unknown_policy_is_refused_with_the_field(stack, api, admin_headers):
    response = api.http.put(
        "/admin/policy-rules",
        headers=admin_headers,
        body=json.dumps({"rules": [{"policy_id": "nope"}]}),
    )
    assert response.status_code == 422
    assert response.json_body["field"] == "rules[0].policy_id"
