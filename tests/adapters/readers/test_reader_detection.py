"""The format comes from the content; whatever the bytes, the only exception is Unreadable."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.invoice_readers import detect_format, read_invoice_file
from chalicelib.domain.intake import ReadResult, UnreadableDocumentError


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


CSV = b"Invoice #,Date,Customer,Amount\nA1,2026-01-31,Acme,10\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "pdf"),
        (b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "xml"),
        ("<?xml version='1.0'?><a/>".encode("utf-16"), "xml"),
        (b"  \n[{}]", "json"),
        (b'{"number": "1"}', "json"),
        (CSV, "csv"),
    ],
)
def test_format_is_detected_from_the_content(data: bytes, expected: str) -> None:
    assert detect_format(data) == expected


def test_the_file_name_does_not_decide_the_format() -> None:
    ubl = (samples_dir() / "einvoice/ubl/peppol-base-example.xml").read_bytes()

    assert read_invoice_file(ubl, "export.csv").format == "ubl"
    assert read_invoice_file(CSV, "invoice.xml").format == "csv"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "The file is empty."),
        (b" \n\t", "The file is empty."),
        (b"PK\x03\x04rest-of-zip", "a ZIP archive (an Excel .xlsx workbook?)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file"),
        (b"\x1f\x8b\x08\x00", "gzip-compressed"),
    ],
)
def test_empty_and_binary_files_are_unreadable_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(data, "upload.csv")

    assert reason in raised.value.reason


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_invoice_file(CSV, "x.csv", max_bytes=10)

    assert raised.value.reason == f"The file is {len(CSV)} bytes; the limit is 10 bytes."


def read_or_error(data: bytes) -> ReadResult | UnreadableDocumentError:
    try:
        return read_invoice_file(data, "fuzz")
    except UnreadableDocumentError as exc:
        return exc


def assert_read_or_unreadable(data: bytes) -> None:
    outcome = read_or_error(data)

    if isinstance(outcome, UnreadableDocumentError):
        assert outcome.reason
    else:
        assert all(r.location and r.field and r.reason for r in outcome.rejected)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_but_unreadable(data: bytes) -> None:
    assert_read_or_unreadable(data)


@FUZZ
@given(
    st.sampled_from([b"", b"<", b"[", b"{", b"%PDF-1.4\n", b"\xef\xbb\xbf", b"\xff\xfe"]),
    st.binary(max_size=300),
)
def test_random_bytes_behind_a_format_signature_never_crash(prefix: bytes, body: bytes) -> None:
    assert_read_or_unreadable(prefix + body)


CELL = st.text(alphabet=st.sampled_from(list('0123456789,;."\n\r -/$€éaAzZ()')), max_size=12)


@FUZZ
@given(st.lists(st.lists(CELL, min_size=1, max_size=6), max_size=8))
def test_random_csv_under_a_known_header_never_crashes(rows: list[list[str]]) -> None:
    header = "N° facture;Date;Client;Montant;Payé;Échéance\n"
    body = "\n".join(";".join(row) for row in rows)

    assert_read_or_unreadable((header + body).encode("utf-8"))
    assert_read_or_unreadable((header + body).encode("cp1252", errors="replace"))
