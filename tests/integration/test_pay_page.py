"""The customer's self-service page through the HTTP API against the emulator."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from chalicelib.bootstrap import get_services
from chalicelib.domain.collections import DisputeReason
from chalicelib.domain.payments import is_valid_rf, rf_reference_for
from chalicelib.services.collections import DisputeRequest
from tests.integration.simulation import Simulation, invoice_record

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PARIS = ZoneInfo("Europe/Paris")
IBAN = "FR7630006000011234567890189"


def paris_today() -> date:
    return datetime.now(PARIS).date()


@pytest.fixture
def sim(stack, pump, api, admin_headers) -> Simulation:
    simulation = Simulation(stack, pump, api, admin_headers)
    due = date.today() - timedelta(days=3)
    records = [
        invoice_record("PAY-1", "Acme SARL", "ap@acme.example", due, "1200.00"),
        invoice_record("PAY-2", "Acme SARL", "ap@acme.example", due + timedelta(days=20), "80.00"),
        invoice_record("OTHER-9", "Beta SAS", "ap@beta.example", due, "999.00"),
    ]
    simulation.import_records([{**r, "iban": IBAN} for r in records], "inbox/pay.jsonl")
    return simulation


def link_for(sim: Simulation, number: str, now: datetime | None = None) -> str:
    customer_id = sim.invoice(number)["customer_id"]
    return get_services().pay_links.issue(customer_id, now or datetime.now(UTC)).token


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def get_page(api: Any, token: str, **headers: str) -> Any:
    return api.http.get(f"/pay/{token}", headers=headers)


def post_form(api: Any, path: str, fields: dict[str, str], **headers: str) -> Any:
    return api.http.post(path, headers={**FORM, **headers}, body=urlencode(fields))


def admin_invoice(sim: Simulation, number: str) -> dict[str, Any]:
    invoice_id = sim.invoice(number)["invoice_id"]
    return sim.api.http.get(f"/admin/invoices/{invoice_id}", headers=sim.headers).json_body


def test_page_shows_that_customers_open_invoices_and_nothing_else(sim, api):
    token = link_for(sim, "PAY-1")

    response = get_page(api, token)

    assert response.status_code == 200
    html = response.body.decode()
    assert "PAY-1" in html
    assert "PAY-2" in html
    assert "Acme SARL" in html
    assert "OTHER-9" not in html
    assert "Beta SAS" not in html
    # Bank details with the RF creditor references to quote (one per invoice, oldest first).
    assert "FR76 3000 6000 0112 3456 7890 189" in html
    assert f"{rf_reference_for('PAY-1')} {rf_reference_for('PAY-2')}" in html
    assert is_valid_rf(rf_reference_for("PAY-1"))
    headers = response.headers
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_promise_to_pay_pauses_the_invoices_until_the_promised_date(sim, api):
    token = link_for(sim, "PAY-1")
    csrf = csrf_of(get_page(api, token).body.decode())
    promised = paris_today() + timedelta(days=7)

    response = post_form(
        api, f"/pay/{token}/promise", {"csrf_token": csrf, "promise_date": promised.isoformat()}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"../{token}?flash=promise_recorded"
    invoice = admin_invoice(sim, "PAY-1")
    assert invoice["promise_date"] == promised.isoformat()
    # The chase holds until the promise deadline (promised date + grace) has passed.
    assert datetime.fromisoformat(invoice["next_action_at"]).date() > promised
    assert admin_invoice(sim, "PAY-2")["promise_date"] == promised.isoformat()
    events = api.http.get(
        f"/admin/invoices/{invoice['invoice_id']}/timeline", headers=sim.headers
    ).json_body["items"]
    [promise] = [e for e in events if e["type"] == "promise"]
    assert (promise["actor"], promise["details"]["promise_date"]) == (
        "customer",
        promised.isoformat(),
    )
    [confirmation] = [m for m in sim.outbox() if m["step_id"] == "promise_confirmation"]
    assert confirmation["to"] == "ap@acme.example"
    shown = get_page(api, token).body.decode()
    assert 'class="flash' not in shown
    announced = api.http.get(f"/pay/{token}?flash=promise_recorded").body.decode()
    assert 'class="flash flash-success"' in announced
    assert 'class="flash' not in api.http.get(f"/pay/{token}?flash=made_up").body.decode()


def test_page_form_target_carries_the_intent(sim, api):
    token = link_for(sim, "PAY-1")
    csrf = csrf_of(get_page(api, token).body.decode())
    promised = paris_today() + timedelta(days=2)

    response = post_form(
        api,
        f"/pay/{token}",
        {"csrf_token": csrf, "intent": "promise", "promise_date": promised.isoformat()},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"{token}?flash=promise_recorded"
    assert admin_invoice(sim, "PAY-1")["promise_date"] == promised.isoformat()


@pytest.mark.parametrize("days", [-1, 31, None])
def test_promise_outside_the_policy_bounds_is_refused(sim, api, days):
    token = link_for(sim, "PAY-1")
    csrf = csrf_of(get_page(api, token).body.decode())
    value = "not-a-date" if days is None else (paris_today() + timedelta(days=days)).isoformat()

    response = post_form(api, f"/pay/{token}/promise", {"csrf_token": csrf, "promise_date": value})

    assert response.status_code == 422
    assert 'class="flash flash-error"' in response.body.decode()
    assert admin_invoice(sim, "PAY-1")["promise_date"] is None


def test_dispute_stops_the_chase_and_gives_a_collector_a_task(sim, api):
    token = link_for(sim, "PAY-1")
    csrf = csrf_of(get_page(api, token).body.decode())

    response = post_form(
        api,
        f"/pay/{token}/dispute",
        {
            "csrf_token": csrf,
            "invoice_number": "PAY-2",
            "reason": "wrong_amount",
            "message": "The unit price is 8.00, not 80.00.",
        },
    )

    assert response.status_code == 303
    invoice = admin_invoice(sim, "PAY-2")
    assert (invoice["status"], invoice["next_action_at"]) == ("disputed", None)
    assert invoice["disputed_amount"] == "80.00"
    tasks = api.http.get("/admin/tasks", headers=sim.headers).json_body["items"]
    [task] = [t for t in tasks if t["kind"] == "dispute"]
    assert task["invoice_ids"] == [invoice["invoice_id"]]
    assert "8.00, not 80.00" in task["note"]
    events = api.http.get(
        f"/admin/invoices/{invoice['invoice_id']}/timeline", headers=sim.headers
    ).json_body["items"]
    assert events[0]["type"] == "dispute_opened"
    assert admin_invoice(sim, "PAY-1")["status"] == "open"


@pytest.mark.parametrize(
    "fields",
    [
        {"invoice_number": "OTHER-9", "reason": "quality"},  # another customer's invoice
        {"invoice_number": "PAY-1", "reason": "because"},
        {"invoice_number": "", "reason": "quality"},
    ],
)
def test_dispute_of_an_unknown_invoice_or_reason_is_refused(sim, api, fields):
    token = link_for(sim, "PAY-1")
    csrf = csrf_of(get_page(api, token).body.decode())

    response = post_form(api, f"/pay/{token}/dispute", {"csrf_token": csrf, **fields})

    assert response.status_code == 422
    assert admin_invoice(sim, "OTHER-9")["status"] == "open"
    assert admin_invoice(sim, "PAY-1")["status"] == "open"


@pytest.mark.parametrize("csrf", [None, "", "123.abc", "9999999999.forged"])
def test_post_without_a_valid_csrf_token_is_refused(sim, api, csrf):
    token = link_for(sim, "PAY-1")
    fields = {"promise_date": (paris_today() + timedelta(days=3)).isoformat()}
    if csrf is not None:
        fields["csrf_token"] = csrf

    response = post_form(api, f"/pay/{token}/promise", fields)

    assert response.status_code == 403
    assert admin_invoice(sim, "PAY-1")["promise_date"] is None


def test_csrf_token_of_another_customer_is_refused(sim, api):
    token = link_for(sim, "PAY-1")
    other_csrf = csrf_of(get_page(api, link_for(sim, "OTHER-9")).body.decode())

    response = post_form(
        api,
        f"/pay/{token}/promise",
        {"csrf_token": other_csrf, "promise_date": paris_today().isoformat()},
    )

    assert response.status_code == 403


def test_post_from_another_site_is_refused(sim, api):
    token = link_for(sim, "PAY-1")
    csrf = csrf_of(get_page(api, token).body.decode())
    fields = {"csrf_token": csrf, "promise_date": (paris_today() + timedelta(days=3)).isoformat()}

    response = post_form(api, f"/pay/{token}/promise", fields, Origin="https://evil.example")

    assert response.status_code == 403
    assert "Acme" not in response.body.decode()
    assert admin_invoice(sim, "PAY-1")["promise_date"] is None


def test_expired_link_gets_a_clear_page_without_customer_data(sim, api):
    token = link_for(sim, "PAY-1", datetime.now(UTC) - timedelta(days=60))

    response = get_page(api, token, **{"Accept-Language": "en-GB,en;q=0.8"})

    assert response.status_code == 410
    html = response.body.decode()
    assert "expired" in html
    for private in ("Acme", "PAY-1", "1200", "ap@acme.example"):
        assert private not in html
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("change", ["flip", "truncate", "garbage"])
def test_altered_link_gets_a_clear_page_without_customer_data(sim, api, change):
    token = link_for(sim, "PAY-1")
    altered = {
        "flip": token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1],
        "truncate": token[: len(token) // 2],
        "garbage": "not-a-token",
    }[change]

    response = get_page(api, altered)

    assert response.status_code == 403
    html = response.body.decode()
    for private in ("Acme", "PAY-1", "1200"):
        assert private not in html


def test_posting_with_an_expired_link_changes_nothing(sim, api):
    token = link_for(sim, "PAY-1", datetime.now(UTC) - timedelta(days=60))

    response = post_form(api, f"/pay/{token}/promise", {"promise_date": paris_today().isoformat()})

    assert response.status_code == 410
    assert admin_invoice(sim, "PAY-1")["promise_date"] is None


def test_customer_with_nothing_left_to_pay_is_told_so(sim, api):
    token = link_for(sim, "OTHER-9")
    invoice = sim.invoice("OTHER-9")
    get_services().collections.open_dispute(
        invoice["invoice_id"], DisputeRequest(DisputeReason.QUALITY), by="test"
    )

    response = get_page(api, token)

    assert response.status_code == 200
    assert "Aucune facture en attente" in response.body.decode()
    assert "OTHER-9" not in response.body.decode()
