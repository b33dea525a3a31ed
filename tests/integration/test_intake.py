"""Uploads travel S3 → EventBridge → SQS → pump → ingest handler, as on AWS."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLES
from tests.integration.conftest import upload

UBL_INVOICE = SAMPLES / "einvoice" / "ubl" / "peppol-base-example.xml"
UBL_CREDIT = SAMPLES / "einvoice" / "ubl" / "peppol-base-creditnote-correction.xml"
FACTURX = SAMPLES / "facturx-pdf" / "akretion-invoice_EN16931.pdf"


def _invoices(api, headers, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.http.get(f"/admin/invoices?{qs}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _imports(api, headers):
    return api.http.get("/admin/imports", headers=headers).json_body["items"]


def _report(stack, key):
    body = stack.s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    return json.loads(body)


def test_ubl_upload_is_imported_through_the_event_path(stack, pump, api, admin_headers):
    upload(stack, "inbox/peppol/base-example.xml", UBL_INVOICE.read_bytes())

    assert pump.drain() == 1

    [invoice] = _invoices(api, admin_headers, number="Snippet1")
    assert invoice["currency"] == "EUR"
    assert invoice["amount_total"] == "1656.25"
    assert invoice["amount_due"] == "1656.25"
    assert invoice["issue_date"] == "2017-11-13"
    assert invoice["due_date"] == "2017-12-01"
    assert invoice["status"] == "open"
    assert invoice["source_key"] == "inbox/peppol/base-example.xml"
    [record] = _imports(api, admin_headers)
    assert record["format"] == "ubl"
    assert record["created"] == 1
    # The invalid IBAN is reported as a warning beside the file; the invoice still imports.
    report = _report(stack, record["error_report_key"])
    assert report["warnings"][0]["field"] == "iban"
    assert record["status"] == "imported"


def test_same_file_twice_changes_nothing(stack, pump, api, admin_headers):
    upload(stack, "inbox/a/base-example.xml", UBL_INVOICE.read_bytes())
    pump.drain()
    [before] = _invoices(api, admin_headers, number="Snippet1")
    timeline_before = api.http.get(
        f"/admin/invoices/{before['invoice_id']}/timeline", headers=admin_headers
    ).json_body["items"]

    upload(stack, "inbox/a/base-example.xml", UBL_INVOICE.read_bytes())
    upload(stack, "inbox/b/copy-of-base-example.xml", UBL_INVOICE.read_bytes())
    pump.drain()

    [after] = _invoices(api, admin_headers, number="Snippet1")
    assert after == before
    timeline_after = api.http.get(
        f"/admin/invoices/{after['invoice_id']}/timeline", headers=admin_headers
    ).json_body["items"]
    assert timeline_after == timeline_before
    records = _imports(api, admin_headers)
    assert len(records) == 2  # one per (key, ETag): the re-upload of a/ was a no-op
    copy = next(r for r in records if r["key"].startswith("inbox/b/"))
    assert (copy["created"], copy["updated"], copy["unchanged"]) == (0, 0, 1)


def test_corrected_file_updates_the_invoice_and_its_timeline(stack, pump, api, admin_headers):
    original = UBL_INVOICE.read_bytes()
    upload(stack, "inbox/x.xml", original)
    pump.drain()
    corrected = original.replace(
        b"<cbc:DueDate>2017-12-01</cbc:DueDate>", b"<cbc:DueDate>2017-12-15</cbc:DueDate>"
    )
    assert corrected != original
    upload(stack, "inbox/x.xml", corrected)
    pump.drain()

    [invoice] = _invoices(api, admin_headers, number="Snippet1")
    assert invoice["due_date"] == "2017-12-15"
    events = api.http.get(
        f"/admin/invoices/{invoice['invoice_id']}/timeline", headers=admin_headers
    ).json_body["items"]
    assert [e["type"] for e in events] == ["updated", "imported"]
    assert events[0]["details"]["changed"] == "due_date"


def test_credit_note_reduces_the_invoice_it_references(stack, pump, api, admin_headers):
    upload(stack, "inbox/invoice.xml", UBL_INVOICE.read_bytes())
    pump.drain()
    upload(stack, "inbox/credit.xml", UBL_CREDIT.read_bytes())
    pump.drain()

    invoices = _invoices(api, admin_headers, number="Snippet1")
    invoice = next(i for i in invoices if i["kind"] == "invoice")
    credit = next(i for i in invoices if i["kind"] == "credit_note")
    assert invoice["amount_due"] == "0.00"
    assert invoice["status"] == "paid"
    assert invoice["next_action_at"] is None
    assert credit["status"] == "paid"
    events = api.http.get(
        f"/admin/invoices/{invoice['invoice_id']}/timeline", headers=admin_headers
    ).json_body["items"]
    assert events[0]["type"] == "credit_note"
    assert events[0]["details"]["amount"] == "1656.25"


def test_facturx_pdf_is_imported(stack, pump, api, admin_headers):
    upload(stack, "inbox/facture.pdf", FACTURX.read_bytes())
    pump.drain()
    [invoice] = _invoices(api, admin_headers, number="F20260023")
    assert (invoice["amount_due"], invoice["currency"]) == ("104.90", "EUR")
    assert invoice["due_date"] == "2026-03-02"


def test_bad_rows_are_reported_and_good_rows_imported(stack, pump, api, admin_headers):
    csv = (
        b"Invoice Number,Invoice Date,Due Date,Customer,Email,Total,Currency\n"
        b"A-1,2026-10-01,2026-10-31,Acme,ap@acme.example,100.00,EUR\n"
        b"A-2,2026-10-01,not a date,Acme,ap@acme.example,50.00,EUR\n"
        b"A-3,2026-10-02,2026-11-01,Beta,ap@beta.example,75.50,EUR\n"
    )
    upload(stack, "inbox/csv/export.csv", csv)
    pump.drain()

    numbers = {i["number"] for i in _invoices(api, admin_headers)}
    assert numbers == {"A-1", "A-3"}
    [record] = _imports(api, admin_headers)
    assert (record["status"], record["accepted"], record["rejected"]) == ("partial", 2, 1)
    assert record["error_report_key"] == "rejected/inbox/csv/export.csv.errors.json"
    [error] = _report(stack, record["error_report_key"])["errors"]
    assert error["location"] == "row 3"
    assert error["field"] == "due_date"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("garbage.xml", b"<Invoice><unclosed></Invoice>"),
        (
            "xxe.xml",
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<r>&x;</r>",
        ),
        (
            "plain.pdf",
            (SAMPLES / "facturx-pdf" / "mustang-blanko-RE-20190610_507.pdf").read_bytes(),
        ),
    ],
)
def test_unreadable_file_is_kept_and_reported(stack, pump, api, admin_headers, name, body):
    upload(stack, f"inbox/{name}", body)
    pump.drain()

    assert _invoices(api, admin_headers) == []
    [record] = _imports(api, admin_headers)
    assert record["status"] == "unreadable"
    kept = stack.s3.get_object(Bucket=stack.bucket, Key=f"rejected/inbox/{name}")["Body"].read()
    assert kept == body
    report = _report(stack, f"rejected/inbox/{name}.errors.json")
    assert report["errors"][0]["reason"] == record["message"]
    assert record["message"]


def test_mapping_file_beside_the_upload_overrides_headers(stack, pump, api, admin_headers):
    upload(
        stack,
        "inbox/erp/_mapping.json",
        json.dumps(
            {
                "Ref": "number",
                "Emis le": "issue_date",
                "A payer le": "due_date",
                "Societe": "buyer_name",
                "TTC": "amount_total",
            }
        ).encode(),
    )
    upload(
        stack,
        "inbox/erp/export.csv",
        b"Ref;Emis le;A payer le;Societe;TTC\nZ-9;01/10/2026;31/10/2026;Zeta;1 234,56\n",
    )
    pump.drain()
    [invoice] = _invoices(api, admin_headers, number="Z-9")
    assert invoice["amount_total"] == "1234.56"
    assert invoice["due_date"] == "2026-10-31"


def test_credit_note_already_granted_by_a_dispute_is_not_applied_twice(
    stack, pump, api, admin_headers
):
    upload(stack, "inbox/invoice.xml", UBL_INVOICE.read_bytes())
    pump.drain()
    [invoice] = _invoices(api, admin_headers, number="Snippet1")
    path = f"/admin/invoices/{invoice['invoice_id']}"
    opened = api.http.post(
        f"{path}/dispute",
        headers=admin_headers,
        body=json.dumps({"reason": "price", "amount": "600.00"}),
    )
    assert opened.status_code == 200, opened.body
    resolved = api.http.post(
        f"{path}/dispute/resolve",
        headers=admin_headers,
        body=json.dumps(
            {"outcome": "accepted", "credit_amount": "600.00", "credit_note_number": "Snippet1"}
        ),
    )
    assert resolved.status_code == 200, resolved.body
    assert api.http.get(path, headers=admin_headers).json_body["amount_due"] == "1056.25"

    upload(stack, "inbox/credit.xml", UBL_CREDIT.read_bytes())  # the same credit note, later
    pump.drain()

    after = api.http.get(path, headers=admin_headers).json_body
    assert after["amount_due"] == "1056.25"
    events = api.http.get(f"{path}/timeline", headers=admin_headers).json_body["items"]
    assert events[0]["type"] == "credit_note"
    assert events[0]["details"]["already_applied"] == "true"


def test_a_customer_changing_within_one_file_is_read_once_and_updated(
    stack, pump, api, admin_headers
):
    from chalicelib.bootstrap import get_services

    header = "Invoice Number,Invoice Date,Due Date,Customer,Email,VAT,Total,Currency\n"
    rows = [
        f"M-{i},2026-10-01,2026-10-31,Acme,ap@acme.example,FR12345678901,10.00,EUR"
        for i in range(150)
    ]
    rows.append("M-150,2026-10-01,2026-10-31,Acme,billing@acme.example,FR12345678901,10.00,EUR")
    upload(stack, "inbox/many.csv", (header + "\n".join(rows) + "\n").encode())
    pump.drain()

    [record] = _imports(api, admin_headers)
    assert (record["status"], record["created"]) == ("imported", 151)
    [invoice] = _invoices(api, admin_headers, number="M-150")
    customer = get_services().customer_admin.get(invoice["customer_id"])
    assert customer.email == "billing@acme.example"  # the last row carried a new address
