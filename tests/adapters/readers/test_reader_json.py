"""JSON invoices: arrays, single objects and JSON Lines, validated field by field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.invoice_readers import read_invoice_file
from chalicelib.domain.intake import UnreadableDocumentError
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money
from chalicelib.schemas.invoice_json import invoice_json_schema

ROOT = Path(__file__).resolve().parents[3]


def a_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "number": "J-1",
        "issue_date": "2026-11-23",
        "currency": "EUR",
        "amount_total": "120.00",
        "buyer": {
            "name": "Acme SARL",
            "email": "ap@acme.fr",
            "phone": "06 12 34 56 78",
            "country": "FR",
        },
    }
    record.update(overrides)
    return record


def as_array(*records: dict[str, Any]) -> bytes:
    return json.dumps(list(records)).encode()


def as_lines(*records: dict[str, Any] | str) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode() + b"\n"


def test_array_of_records_imports_with_defaults_applied() -> None:
    result = read_invoice_file(as_array(a_record()), "invoices.json")

    assert result.format == "json"
    (invoice,) = result.invoices
    assert invoice.number == "J-1"
    assert invoice.source_location == "record 1"
    assert invoice.amount_paid == Money.parse("0", "EUR")
    assert invoice.amount_due == Money.parse("120.00", "EUR")
    assert (invoice.due_date, invoice.due_date_derived) == (date(2026, 12, 23), True)
    assert invoice.buyer.phone == "+33612345678"
    assert invoice.buyer.language == "fr"


def test_every_field_is_carried_over() -> None:
    record = a_record(
        kind="credit_note",
        due_date="2027-01-15",
        payment_terms_days=45,
        amount_paid="20.00",
        amount_due="100.00",
        seller={"name": "Moi SAS", "vat_id": "FR12345678901", "country": "FR"},
        purchase_order="PO-9",
        payment_reference="RF18539007547034",
        iban="FR76 3000 6000 0112 3456 7890 189",
        referenced_invoice="J-0",
    )

    (invoice,) = read_invoice_file(as_array(record), "x.json", default_seller_id="x").invoices

    assert invoice.kind == DocumentKind.CREDIT_NOTE
    assert (invoice.due_date, invoice.payment_terms_days) == (date(2027, 1, 15), 45)
    assert invoice.amount_due == Money.parse("100.00", "EUR")
    assert invoice.seller_id == "FR12345678901"
    assert invoice.purchase_order == "PO-9"
    assert invoice.payment_reference == "RF18539007547034"
    assert invoice.iban == "FR7630006000011234567890189"
    assert invoice.referenced_invoice == "J-0"


def test_single_object_is_one_record() -> None:
    result = read_invoice_file(json.dumps(a_record()).encode(), "one.json")

    assert [i.number for i in result.invoices] == ["J-1"]


def test_json_lines_import_and_a_broken_line_is_reported_by_line_number() -> None:
    data = as_lines(a_record(number="L1"), "{not json", a_record(number="L3"))

    result = read_invoice_file(data, "invoices.jsonl")

    assert result.format == "jsonl"
    assert [(i.number, i.source_location) for i in result.invoices] == [
        ("L1", "line 1"),
        ("L3", "line 3"),
    ]
    (broken,) = result.rejected
    assert (broken.location, broken.field) == ("line 2", "record")


def test_one_line_jsonl_file_is_jsonl_by_its_name() -> None:
    result = read_invoice_file(as_lines(a_record()), "invoices.ndjson")

    assert result.format == "jsonl"


def test_invalid_record_names_each_field_and_its_index_while_others_import() -> None:
    bad = a_record(
        number="J-2",
        issue_date="23/11/2026",
        amount_total=120.5,
        buyer={"name": "X", "emial": "typo@x.fr"},
        colour="blue",
    )

    result = read_invoice_file(as_array(a_record(), bad), "x.json")

    assert [i.number for i in result.invoices] == ["J-1"]
    problems = {(r.location, r.field): r for r in result.rejected}
    assert set(problems) == {
        ("record 2", "issue_date"),
        ("record 2", "amount_total"),
        ("record 2", "buyer_emial"),
        ("record 2", "colour"),
    }
    assert "not a JSON number" in problems["record 2", "amount_total"].reason
    assert problems["record 2", "colour"].reason == (
        "'colour' is not a known field (see docs/invoice.schema.json)."
    )
    assert problems["record 2", "issue_date"].value == "23/11/2026"


def test_missing_required_field_is_named() -> None:
    record = a_record()
    del record["currency"]

    (missing,) = read_invoice_file(as_array(record), "x.json").rejected

    assert (missing.location, missing.field, missing.reason) == (
        "record 1",
        "currency",
        "'currency' is required.",
    )


def test_record_that_is_not_an_object_is_rejected() -> None:
    (rejected,) = read_invoice_file(b"[42]", "x.json").rejected

    assert (rejected.location, rejected.field) == ("record 1", "record")


def test_negative_total_is_a_credit_note_with_positive_amounts() -> None:
    (invoice,) = read_invoice_file(as_array(a_record(amount_total="-120.00")), "x.json").invoices

    assert invoice.kind == DocumentKind.CREDIT_NOTE
    assert invoice.amount_total == Money.parse("120.00", "EUR")


def test_inconsistent_amounts_are_rejected() -> None:
    record = a_record(amount_paid="20.00", amount_due="1.00")

    (rejected,) = read_invoice_file(as_array(record), "x.json").rejected

    assert rejected.field == "amount_due"


@pytest.mark.parametrize("data", [b"[1, 2", b'{"number": ', b"[NaN]"])
def test_broken_json_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableDocumentError):
        read_invoice_file(data, "x.json")


def test_committed_json_schema_is_the_generated_one() -> None:
    committed = json.loads((ROOT / "docs" / "invoice.schema.json").read_text(encoding="utf-8"))

    assert committed == invoice_json_schema()
