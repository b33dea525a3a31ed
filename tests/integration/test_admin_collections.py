"""Collector actions, customers, invoice filters and the audit log, through the HTTP API on moto."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.work import DynamoTaskStore
from chalicelib.bootstrap import get_services
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.records import Role
from chalicelib.domain.work import Task, TaskStatus


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


@pytest.fixture
def today(stack) -> date:
    return get_services().clock.now().date()


@pytest.fixture
def seeded(stack, today):
    """Two customers, five invoices due at various distances from today."""
    services = get_services()
    DynamoCustomerRepository().save_new_batch(
        [
            Customer(customer_id="cus_a", seller_id="s", name="Alpha SA", segment="strategic"),
            Customer(customer_id="cus_b", seller_id="s", name="Beta SARL"),
        ]
    )
    base = Invoice(
        invoice_id="",
        seller_id="s",
        number="",
        customer_id="cus_a",
        issue_date=today - timedelta(days=150),
        due_date=today,
        amount_total=eur("1000.00"),
        amount_paid=eur("0"),
        policy_id="default-fr-b2b",
        policy_version=1,
    )
    rows = [
        ("inv_1", "cus_a", 5, ("courtesy", "friendly")),
        ("inv_2", "cus_a", 45, ("courtesy", "friendly", "firm", "call")),
        ("inv_3", "cus_b", 100, ("courtesy", "friendly", "firm", "call", "formal_notice")),
        ("inv_4", "cus_b", -10, ()),
        ("inv_5", "cus_b", 40, ("courtesy", "friendly", "firm")),
    ]
    invoices = [
        replace(
            base,
            invoice_id=invoice_id,
            number=f"F-{invoice_id}",
            customer_id=customer,
            due_date=today - timedelta(days=overdue),
            steps_done=steps,
        )
        for invoice_id, customer, overdue, steps in rows
    ]
    repository = DynamoInvoiceRepository(shards=services.settings.due_index_shards)
    repository.save_new_batch(invoices)
    return {i.invoice_id: i for i in invoices}


def post(api, headers, path, body=None):
    return api.http.post(path, headers=headers, body=json.dumps(body or {}))


def problem(response) -> dict:
    assert response.headers["Content-Type"] == "application/problem+json"
    return json.loads(response.body)


def timeline(api, headers, invoice_id):
    response = api.http.get(f"/admin/invoices/{invoice_id}/timeline", headers=headers)
    return response.json_body["items"]


def test_pause_and_resume_through_the_api_with_timeline_and_audit(
    api, admin_headers, seeded, today
):
    paused = post(api, admin_headers, "/admin/invoices/inv_1/pause", {"comment": "holiday"})

    assert paused.status_code == 200, paused.body
    assert paused.json_body["paused"] is True
    assert paused.json_body["next_action_at"] is None
    [event] = [e for e in timeline(api, admin_headers, "inv_1") if e["type"] == "paused"]
    assert event["actor"] == "integration admin"
    assert event["details"]["comment"] == "holiday"

    resumed = post(api, admin_headers, "/admin/invoices/inv_1/resume", {})
    assert resumed.status_code == 200
    assert resumed.json_body["next_action_at"] is not None

    audit = api.http.get("/admin/audit", headers=admin_headers).json_body["items"]
    assert [a["action"] for a in audit[:2]] == [
        "POST /admin/invoices/{invoice_id}/resume",
        "POST /admin/invoices/{invoice_id}/pause",
    ]
    assert audit[1]["target"] == {"invoice_id": "inv_1"}
    assert audit[1]["fields"] == ["comment"]
    assert audit[1]["actor_label"] == "integration admin"
    assert "holiday" not in json.dumps(audit)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "2020-01-01T00:00:00Z"}, "until"),
        ({"until": "2030-01-01T00:00:00"}, "until"),
        ({"until": "tomorrow"}, "until"),
        ({"version": -1}, "version"),
        ({"reason": "x"}, "reason"),
    ],
)
def test_bad_pause_requests_name_the_field(api, admin_headers, seeded, body, field):
    response = post(api, admin_headers, "/admin/invoices/inv_1/pause", body)

    assert response.status_code == 422
    assert problem(response)["field"] == field


def test_stale_version_is_a_conflict_and_unknown_invoice_a_404(api, admin_headers, seeded):
    stale = post(api, admin_headers, "/admin/invoices/inv_1/pause", {"version": 0})
    missing = post(api, admin_headers, "/admin/invoices/inv_missing/pause", {})

    assert stale.status_code == 409
    assert problem(stale)["type"] == "urn:relance:problem:concurrent-update"
    assert missing.status_code == 404
    assert problem(missing)["type"] == "urn:relance:problem:invoice-not-found"


def test_dispute_lifecycle_partial_comment_and_credit_note(api, admin_headers, seeded):
    opened = post(
        api,
        admin_headers,
        "/admin/invoices/inv_2/dispute",
        {"reason": "quality", "amount": "400.00", "comment": "damaged goods"},
    )
    assert opened.status_code == 200, opened.body
    assert opened.json_body["status"] == "open"
    assert opened.json_body["disputed_amount"] == "400.00"
    assert opened.json_body["next_action_at"] is not None  # 600.00 is still chased

    again = post(api, admin_headers, "/admin/invoices/inv_2/dispute", {"reason": "other"})
    assert again.status_code == 409

    comment = post(
        api, admin_headers, "/admin/invoices/inv_2/dispute/comment", {"comment": "photos in"}
    )
    assert comment.status_code == 201
    assert comment.json_body["type"] == "dispute_comment"

    resolved = post(
        api,
        admin_headers,
        "/admin/invoices/inv_2/dispute/resolve",
        {"outcome": "accepted", "credit_amount": "150.00", "credit_note_number": "AV-7"},
    )
    assert resolved.status_code == 200, resolved.body
    assert resolved.json_body["amount_due"] == "850.00"
    assert resolved.json_body["disputed_amount"] is None
    types = [e["type"] for e in timeline(api, admin_headers, "inv_2")]
    assert types[:3] == ["dispute_resolved", "dispute_comment", "dispute_opened"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "quality", "amount": "12,50"}, "amount"),
        ({"reason": "quality", "amount": "5000.00"}, "amount"),
        ({"reason": "quality", "amount": "0.00"}, "amount"),
        ({"reason": "because"}, "reason"),
        ({"amount": "10.00"}, "reason"),
    ],
)
def test_bad_disputes_name_the_field(api, admin_headers, seeded, body, field):
    response = post(api, admin_headers, "/admin/invoices/inv_2/dispute", body)

    assert response.status_code == 422
    assert problem(response)["field"] == field


def test_resolving_without_a_dispute_is_a_conflict(api, admin_headers, seeded):
    response = post(
        api, admin_headers, "/admin/invoices/inv_1/dispute/resolve", {"outcome": "rejected"}
    )

    assert response.status_code == 409


def test_promise_is_bounded_by_the_policy(api, admin_headers, seeded, today):
    too_far = (today + timedelta(days=31)).isoformat()
    rejected = post(api, admin_headers, "/admin/invoices/inv_5/promise", {"promise_date": too_far})
    assert rejected.status_code == 422
    assert problem(rejected)["field"] == "promise_date"

    promised_on = (today + timedelta(days=7)).isoformat()
    accepted = post(
        api, admin_headers, "/admin/invoices/inv_5/promise", {"promise_date": promised_on}
    )

    assert accepted.status_code == 200, accepted.body
    assert accepted.json_body["promise_date"] == promised_on
    [event] = [e for e in timeline(api, admin_headers, "inv_5") if e["type"] == "promise"]
    assert event["details"]["promise_date"] == promised_on


def test_customer_pause_stops_every_open_invoice_until_resumed(api, admin_headers, seeded):
    paused = post(api, admin_headers, "/admin/customers/cus_b/pause", {"comment": "audit"})
    assert paused.status_code == 200, paused.body
    assert paused.json_body["paused"] is True
    invoices = api.http.get("/admin/invoices?customer_id=cus_b", headers=admin_headers)
    assert {i["next_action_at"] for i in invoices.json_body["items"]} == {None}

    assert post(api, admin_headers, "/admin/customers/cus_b/pause", {}).status_code == 409
    resumed = post(api, admin_headers, "/admin/customers/cus_b/resume", {})
    assert resumed.status_code == 200
    invoices = api.http.get("/admin/invoices?customer_id=cus_b", headers=admin_headers)
    assert None not in {i["next_action_at"] for i in invoices.json_body["items"]}


def test_task_outcome_records_the_promise(api, admin_headers, seeded, today):
    now = get_services().clock.now()
    DynamoTaskStore().create(
        Task(
            task_id="task_call",
            kind="call",
            status=TaskStatus.OPEN,
            customer_id="cus_a",
            invoice_ids=("inv_2",),
            step_id="call",
            note="call",
            created_at=now,
            due_date=today,
        )
    )
    promised_on = (today + timedelta(days=3)).isoformat()

    mismatch = post(
        api,
        admin_headers,
        "/admin/tasks/task_call/done",
        {"outcome": "reached", "promise_date": promised_on},
    )
    done = post(
        api,
        admin_headers,
        "/admin/tasks/task_call/done",
        {"outcome": "promise", "promise_date": promised_on, "comment": "pays by transfer"},
    )

    assert mismatch.status_code == 422
    assert problem(mismatch)["field"] == "promise_date"
    assert done.status_code == 200, done.body
    assert done.json_body["outcome"] == "promise"
    invoice = api.http.get("/admin/invoices/inv_2", headers=admin_headers).json_body
    assert invoice["promise_date"] == promised_on


def test_customers_are_listed_read_and_edited(api, admin_headers, seeded):
    listed = api.http.get("/admin/customers?limit=1", headers=admin_headers).json_body
    assert len(listed["items"]) == 1
    rest = api.http.get(f"/admin/customers?cursor={listed['next']}", headers=admin_headers)
    assert {c["customer_id"] for c in listed["items"] + rest.json_body["items"]} == {
        "cus_a",
        "cus_b",
    }

    patched = api.http.patch(
        "/admin/customers/cus_a",
        headers=admin_headers,
        body=json.dumps(
            {"email": "ap@alpha.example", "timezone": "Europe/Brussels", "risk_override": "high"}
        ),
    )

    assert patched.status_code == 200, patched.body
    assert patched.json_body["edited_fields"] == ["email", "risk_override", "timezone"]
    assert patched.json_body["timezone"] == "Europe/Brussels"
    got = api.http.get("/admin/customers/cus_a", headers=admin_headers).json_body
    assert got["email"] == "ap@alpha.example"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"phone": "0612345678"}, "phone"),
        ({"risk_override": "extreme"}, "risk_override"),
        ({"erased": False}, "erased"),
        ({"name": None}, "name"),
    ],
)
def test_bad_customer_edits_name_the_field(api, admin_headers, seeded, body, field):
    response = api.http.patch(
        "/admin/customers/cus_a", headers=admin_headers, body=json.dumps(body)
    )

    assert response.status_code == 422
    assert problem(response)["field"] == field


def _ids(api, headers, query: str, limit: int = 50) -> list[str]:
    found: list[str] = []
    cursor = ""
    for _ in range(50):
        url = f"/admin/invoices?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api.http.get(url, headers=headers)
        assert response.status_code == 200, response.body
        found += [i["invoice_id"] for i in response.json_body["items"]]
        cursor = response.json_body["next"]
        if not cursor:
            return found
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("min_days_overdue=30", {"inv_2", "inv_3", "inv_5"}),
        ("min_days_overdue=30&max_days_overdue=60", {"inv_2", "inv_5"}),
        ("max_days_overdue=0", {"inv_4"}),
        ("customer_id=cus_b&min_days_overdue=1", {"inv_3", "inv_5"}),
        ("status=open&max_days_overdue=10", {"inv_1", "inv_4"}),
        ("segment=strategic", {"inv_1", "inv_2"}),
        ("step=call", {"inv_2", "inv_3"}),
        ("next_step=formal_notice", {"inv_2"}),
        ("next_step=call&segment=standard", {"inv_5"}),
        ("number=F-inv_3", {"inv_3"}),
    ],
)
def test_invoice_filters(api, admin_headers, seeded, query, expected):
    assert set(_ids(api, admin_headers, query)) == expected


def test_filtered_pagination_returns_each_invoice_once(api, admin_headers, seeded):
    for limit in (1, 2, 3):
        ids = _ids(api, admin_headers, "min_days_overdue=1", limit)
        assert sorted(ids) == ["inv_1", "inv_2", "inv_3", "inv_5"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_days_overdue=abc", "min_days_overdue"),
        ("min_days_overdue=60&max_days_overdue=30", "min_days_overdue"),
        ("cursor=zzz", "cursor"),
        ("limit=0", "limit"),
    ],
)
def test_bad_invoice_filters_name_the_field(api, admin_headers, seeded, query, field):
    response = api.http.get(f"/admin/invoices?{query}", headers=admin_headers)

    assert response.status_code == 422
    assert problem(response)["field"] == field


def test_viewer_may_read_but_not_act(api, seeded):
    viewer = get_services().tokens.issue(Role.VIEWER, "viewer").secret
    headers = {"Authorization": f"Bearer {viewer}", "Content-Type": "application/json"}

    assert api.http.get("/admin/customers/cus_a", headers=headers).status_code == 200
    assert post(api, headers, "/admin/invoices/inv_1/pause", {}).status_code == 403
    assert api.http.get("/admin/audit", headers=headers).status_code == 403
