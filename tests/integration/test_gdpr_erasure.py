"""GDPR on the full stack: after DELETE /admin/customers/{id} no personal data of the customer
is left in any table, bucket object (every version) or log line, and the books still balance."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.bootstrap import get_services
from chalicelib.domain.gdpr import pseudonym
from tests.integration.conftest import upload

# A Tuesday, 10:00 in Paris: inside the send window, whatever day the tests run on.
AS_OF = datetime(2030, 1, 8, 9, 0, tzinfo=UTC)
NAME = "Boulangerie Martin"
EMAIL = "paul.martin@boulangerie.example"
PHONE_FILE = "+33 6 98 76 54 32"
PERSONAL = (NAME, EMAIL, "+33698765432", PHONE_FILE, "06 98 76 54 32", "98 76 54 32")
OTHER_NAME, OTHER_EMAIL = "Cafe Lumiere", "hello@lumiere.example"


def _day(days_before: int) -> str:
    return (AS_OF.date() - timedelta(days=days_before)).isoformat()


EXPORT = (
    "invoice number,customer,email,phone,country,invoice date,due date,currency,total\n"
    f"E-1,{NAME},{EMAIL},{PHONE_FILE},FR,{_day(40)},{_day(3)},EUR,1200.00\n"
    f"E-2,{NAME},{EMAIL},{PHONE_FILE},FR,{_day(30)},{_day(10)},EUR,300.00\n"
    f"E-3,{OTHER_NAME},{OTHER_EMAIL},,FR,{_day(35)},{_day(3)},EUR,500.00\n"
    f"E-4,{NAME},{EMAIL},{PHONE_FILE},FR,not a date,{_day(3)},EUR,10.00\n"
    # The number typed into the country cell: the error report quotes it back.
    f"E-5,{NAME},{EMAIL},{PHONE_FILE},06 98 76 54 32,{_day(20)},{_day(5)},EUR,20.00\n"
)


def _leftovers(text: str) -> list[str]:
    lowered = text.lower()
    return [value for value in PERSONAL if value.lower() in lowered]


def _scan_tables(stack) -> str:
    dumped = []
    for logical, table in stack.physical.items():
        if not logical.endswith("Table"):
            continue
        paginator = stack.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=table):
            dumped.append(json.dumps(page["Items"], ensure_ascii=False))
    return "\n".join(dumped)


def _bucket(stack) -> dict[str, str]:
    """Every version of every object, decoded as text."""
    contents = {}
    paginator = stack.s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=stack.bucket):
        for version in page.get("Versions", []):
            body = stack.s3.get_object(
                Bucket=stack.bucket, Key=version["Key"], VersionId=version["VersionId"]
            )["Body"].read()
            name = f"{version['Key']}@{version['VersionId']}"
            contents[name] = body.decode("utf-8", "replace") + body.decode("cp1252", "replace")
    return contents


def _aging(api, headers) -> dict:
    response = api.http.get(
        f"/admin/reports/aging?as_of={AS_OF.date().isoformat()}", headers=headers
    )
    assert response.status_code == 200, response.body
    return response.json_body


def _post(api, headers, path, body):
    response = api.http.post(path, headers=headers, body=json.dumps(body))
    assert response.status_code < 300, (path, response.body)
    return response.json_body


def chase(stack, pump, api, admin_headers) -> str:
    """The customer imported from an export, reminded by email and SMS, with a dispute note."""
    upload(stack, "inbox/erp/export.csv", EXPORT.encode())
    pump.drain()
    invoices = api.http.get("/admin/invoices?number=E-1", headers=admin_headers).json_body
    customer_id = invoices["items"][0]["customer_id"]
    _post(api, admin_headers, "/admin/runs", {"as_of": AS_OF.isoformat()})
    pump.drain()
    invoice_2 = api.http.get("/admin/invoices?number=E-2", headers=admin_headers).json_body
    invoice_id = invoice_2["items"][0]["invoice_id"]
    _post(
        api,
        admin_headers,
        f"/admin/invoices/{invoice_id}/dispute",
        {"reason": "quality", "amount": "100.00", "comment": f"{NAME}: stale bread"},
    )
    _post(
        api,
        admin_headers,
        f"/admin/invoices/{invoice_id}/dispute/comment",
        {"comment": f"Martin asks to be called on {PHONE_FILE}"},
    )
    return str(customer_id)


@pytest.fixture
def chased(stack, pump, api, admin_headers) -> str:
    return chase(stack, pump, api, admin_headers)


def test_the_stack_holds_personal_data_before_erasure(stack, api, admin_headers, chased):
    """Guard for the test below: the places it inspects really held the data."""
    export = api.http.get(f"/admin/customers/{chased}/export", headers=admin_headers)

    assert export.status_code == 200
    body = export.json_body
    assert body["customer"]["email"] == EMAIL
    assert {m["channel"] for m in body["messages"]} >= {"email"}
    assert any(NAME in (m["text"] or "") for m in body["messages"])
    assert {e["type"] for e in body["events"]} >= {"imported", "reminder_sent", "dispute_comment"}
    audit = api.http.get("/admin/audit", headers=admin_headers).json_body["items"]
    assert audit[0]["action"] == "GET /admin/customers/{customer_id}/export"
    assert audit[0]["target"] == {"customer_id": chased}
    assert _leftovers(_scan_tables(stack))
    assert any(
        _leftovers(text) for key, text in _bucket(stack).items() if key.startswith("rejected/")
    )
    assert any(_leftovers(text) for key, text in _bucket(stack).items() if key.startswith("inbox/"))


def test_erasure_removes_every_trace_and_keeps_the_books(
    stack, pump, api, admin_headers, caplog, capsys
):
    # Everything the app logs from the upload on is captured: a log line cannot be erased.
    caplog.set_level(logging.INFO)
    chased = chase(stack, pump, api, admin_headers)
    assert _leftovers(_scan_tables(stack))
    before = _aging(api, admin_headers)

    erased = api.http.delete(f"/admin/customers/{chased}", headers=admin_headers)

    assert erased.status_code == 200, erased.body
    report = erased.json_body
    assert report["pseudonym"] == pseudonym(chased)
    assert report["invoices_kept"] == 3
    assert report["messages_deleted"] >= 1
    assert "inbox/erp/export.csv" in report["documents_deleted"]
    assert "redacted/inbox/erp/export.csv" in report["documents_redacted"]

    # Nothing personal left in any table, object version or log line.
    assert _leftovers(_scan_tables(stack)) == []
    leftovers = {key: _leftovers(text) for key, text in _bucket(stack).items()}
    assert {key: found for key, found in leftovers.items() if found} == {}
    bucket = _bucket(stack)
    assert any(OTHER_EMAIL in text for key, text in bucket.items() if key.startswith("redacted/"))
    # The engine leaves the customer alone from now on.
    _post(api, admin_headers, "/admin/runs", {"as_of": (AS_OF + timedelta(days=20)).isoformat()})
    pump.drain()
    assert _leftovers(_scan_tables(stack)) == []
    captured = capsys.readouterr()
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "upload imported" in logged + captured.out  # the check below saw the app's logs
    assert "customer erased" in logged + captured.out
    assert _leftovers(logged + captured.out + captured.err) == []

    # The accounting facts are kept: same amounts, same totals, the name is a pseudonym.
    after = _aging(api, admin_headers)
    assert after["total"] == before["total"]
    assert sorted(c["amounts"]["total"] for c in after["customers"]) == sorted(
        c["amounts"]["total"] for c in before["customers"]
    )
    names = {c["customer_id"]: c["customer_name"] for c in after["customers"]}
    assert names[chased] == pseudonym(chased)
    customer = api.http.get(f"/admin/customers/{chased}", headers=admin_headers).json_body
    assert customer["erased"] is True
    assert (customer["email"], customer["phone"], customer["vat_id"]) == (None, None, None)
    invoices = api.http.get(f"/admin/invoices?customer_id={chased}", headers=admin_headers)
    numbers = {i["number"]: i["amount_total"] for i in invoices.json_body["items"]}
    assert numbers == {"E-1": "1200.00", "E-2": "300.00", "E-5": "20.00"}
    audit = api.http.get(f"/admin/audit?month={date.today():%Y-%m}", headers=admin_headers)
    actions = [a["action"] for a in audit.json_body["items"]]
    assert "DELETE /admin/customers/{customer_id}" in actions


def test_erasure_is_refused_to_collectors_and_unknown_customers(api, admin_headers, stack):
    from chalicelib.domain.records import Role

    collector = get_services().tokens.issue(Role.COLLECTOR, "collector").secret
    headers = {"Authorization": f"Bearer {collector}"}

    assert api.http.delete("/admin/customers/cus_x", headers=headers).status_code == 403
    assert api.http.delete("/admin/customers/cus_x", headers=admin_headers).status_code == 404
    assert api.http.get("/admin/customers/cus_x/export", headers=headers).status_code == 403


def test_an_erased_customer_cannot_be_given_personal_data_again(api, admin_headers, chased):
    api.http.delete(f"/admin/customers/{chased}", headers=admin_headers)

    response = api.http.patch(
        f"/admin/customers/{chased}", headers=admin_headers, body=json.dumps({"email": EMAIL})
    )

    assert response.status_code == 409
