"""CSV exports: the three real samples, encodings, layouts, number/date spellings, bad rows."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from chalicelib.adapters.invoice_readers import (
    CANONICAL_FIELDS,
    iter_csv_invoices,
    load_column_mapping,
    read_invoice_file,
)
from chalicelib.adapters.invoice_readers.csv_reader import ALIASES, header_key
from chalicelib.domain.intake import (
    ParsedInvoice,
    ReadResult,
    RejectedRecord,
    UnreadableDocumentError,
)
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def read_csv(
    text: str,
    encoding: str = "utf-8",
    *,
    column_mapping: dict[str, str] | None = None,
    default_currency: str = "EUR",
    default_seller_id: str | None = None,
) -> ReadResult:
    return read_invoice_file(
        text.encode(encoding),
        "export.csv",
        column_mapping=column_mapping,
        default_currency=default_currency,
        default_seller_id=default_seller_id,
    )


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


# ---- the real exports ------------------------------------------------------------------------


def test_freshbooks_line_items_are_summed_into_one_invoice() -> None:
    path = samples_dir() / "csv/invoiceninja-freshbooks_invoices.csv"

    result = read_invoice_file(path.read_bytes(), path.name)

    assert result.rejected == ()
    (invoice,) = result.invoices
    assert invoice.number == "0000001"
    assert invoice.source_location == "row 2-4"
    assert invoice.buyer.name == "X-Men"
    assert invoice.issue_date == date(2021, 1, 28)
    # No due date in the export: issue date + 30 days.
    assert (invoice.due_date, invoice.due_date_derived) == (date(2021, 2, 27), True)
    assert invoice.amount_total == usd("7890.00")  # 650 + 490 + 6750
    assert invoice.amount_due == usd("7890.00")
    assert invoice.seller_id == "default"


def test_invoice_ninja_export_skips_its_preamble_and_reads_dollar_amounts() -> None:
    path = samples_dir() / "csv/invoiceninja-recurring_invoice.csv"

    result = read_invoice_file(path.read_bytes(), path.name, default_seller_id="acme")

    assert result.rejected == ()
    assert len(result.invoices) == 400
    first, second = result.invoices[:2]
    assert first.number == "1"
    assert first.source_location == "row 5"
    assert first.buyer.name == "Ludwig Krajcik DVM"
    assert first.buyer.email == "brook59@example.org"
    assert (first.amount_total, first.amount_paid, first.amount_due) == (
        usd("13.50"),
        usd("5.01"),
        usd("8.49"),
    )
    assert (first.issue_date, first.due_date) == (date(2019, 11, 25), date(2019, 10, 20))
    assert first.seller_id == "acme"
    # Invoice 2 has two line-item rows repeating the invoice columns.
    assert second.number == "2"
    assert second.source_location == "row 6-7"
    assert second.amount_due == usd("19.73")
    paid = next(i for i in result.invoices if i.number == "780")
    assert paid.amount_due == usd("0.00")


def test_invoice_ninja_due_dates_before_issue_dates_are_kept_and_reported() -> None:
    path = samples_dir() / "csv/invoiceninja-recurring_invoice.csv"

    result = read_invoice_file(path.read_bytes(), path.name)

    early = {
        i.source_location
        for i in result.invoices
        if i.due_date is not None and i.due_date < i.issue_date
    }
    assert early
    assert {w.location for w in result.warnings} == early
    assert {w.field for w in result.warnings} == {"due_date"}


def test_wave_ledger_export_counts_only_receivable_postings() -> None:
    path = samples_dir() / "csv/invoiceninja-wave_invoices.csv"

    result = read_invoice_file(path.read_bytes(), path.name, default_currency="USD")

    assert result.rejected == ()
    summary = [
        (i.number, i.buyer.name, i.amount_total, i.amount_paid, i.amount_due, i.source_location)
        for i in result.invoices
    ]
    assert summary == [
        ("2", "Mark Walberg", usd("4974.00"), usd("0.00"), usd("4974.00"), "row 6"),
        ("3", "Lucas Cage", usd("590.50"), usd("590.50"), usd("0.00"), "row 11-12"),
        ("4", "Jessica Jones", usd("3500.41"), usd("0.00"), usd("3500.41"), "row 16"),
    ]
    assert all(i.issue_date == date(2021, 1, 28) for i in result.invoices)


def test_currency_defaults_to_the_upload_default_when_the_file_names_none() -> None:
    path = samples_dir() / "csv/invoiceninja-wave_invoices.csv"

    result = read_invoice_file(path.read_bytes(), path.name)

    assert {i.currency for i in result.invoices} == {"EUR"}


# ---- encodings and layouts -------------------------------------------------------------------

FRENCH = (
    "N° facture;Date de facture;Échéance;Client;E-mail;Téléphone;Pays;Montant TTC;Montant payé\n"
    "F-001;23/11/2026;23/12/2026;Société Générale;compta@sg.fr;06 12 34 56 78;France;1 234,56;"
    "234,56\n"
)


def test_utf8_with_bom_is_read() -> None:
    result = read_csv("\ufeff" + FRENCH)

    (invoice,) = result.invoices
    assert invoice.number == "F-001"
    assert invoice.buyer.name == "Société Générale"


def test_windows_1252_accents_are_read() -> None:
    (invoice,) = read_csv(FRENCH, encoding="cp1252").invoices

    assert invoice.buyer.name == "Société Générale"
    assert invoice.due_date == date(2026, 12, 23)


def test_windows_1252_is_recognised_even_when_the_first_accent_is_far_down() -> None:
    filler = "".join(f"F-{n:05d};01/02/2026;;Client {n};10,00;0\n" for n in range(3000))
    text = "N° facture;Date;Échéance;Client;Montant TTC;Payé\n".replace("°", "o").replace("É", "E")
    text += filler + "F-99999;01/02/2026;;Crème brûlée SARL;10,00;0\n"

    result = read_csv(text, encoding="cp1252")

    assert result.invoices[-1].buyer.name == "Crème brûlée SARL"
    assert len(result.invoices) == 3001


def test_utf16_tab_separated_excel_export_is_read() -> None:
    text = (
        "Invoice Number\tInvoice Date\tCustomer\tTotal\tCurrency\r\n"
        "A-1\t2026-11-23\tAcme\t99.90\tGBP\r\n"
    )

    (invoice,) = read_invoice_file(text.encode("utf-16"), "export.txt").invoices

    assert invoice.amount_total == Money.parse("99.90", "GBP")


def test_french_export_is_fully_normalised() -> None:
    (invoice,) = read_csv(FRENCH).invoices

    assert invoice.issue_date == date(2026, 11, 23)
    assert invoice.amount_total == eur("1234.56")
    assert invoice.amount_paid == eur("234.56")
    assert invoice.amount_due == eur("1000.00")
    assert invoice.buyer.email == "compta@sg.fr"
    assert invoice.buyer.phone == "+33612345678"
    assert (invoice.buyer.country, invoice.buyer.language) == ("FR", "fr")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234,56 €", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234,5", "1234.50"),
        ("EUR 1234", "1234.00"),
        ("1,234", "1.23"),  # semicolon file: a lone comma is the decimal separator...
    ],
)
def test_semicolon_files_read_decimal_commas(cell: str, expected: str) -> None:
    text = f"Facture;Date;Client;Montant\nF1;01/02/2026;Bob;{cell}\n"

    result = read_csv(text)

    if expected == "1.23":
        # ...and 1,234 has more decimals than EUR allows: rejected, never rounded away.
        assert result.rejected[0].field == "amount_total"
        assert "more decimal places" in result.rejected[0].reason
    else:
        assert result.invoices[0].amount_total == eur(expected)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('"1,234.56"', "1234.56"),
        ('"$1,234.56"', "1234.56"),
        ("1234.5", "1234.50"),
        ('"1,234"', "1234.00"),
        ("(12.00)", "12.00"),
    ],
)
def test_comma_files_read_thousands_separators(cell: str, expected: str) -> None:
    text = f"Invoice #,Date,Customer,Amount\nA1,2026-02-01,Bob,{cell}\n"

    (invoice,) = read_csv(text, default_currency="USD").invoices

    assert invoice.amount_total == usd(expected)


def test_preamble_lines_before_the_header_are_skipped() -> None:
    text = "Export généré le 23/11/2026\n\nFACTURES\n" + FRENCH

    result = read_csv(text)

    assert [i.number for i in result.invoices] == ["F-001"]
    assert result.invoices[0].source_location == "row 5"


def test_bare_cr_and_crlf_line_endings_are_read() -> None:
    for newline in ("\r", "\r\n"):
        text = FRENCH.replace("\n", newline)

        assert [i.number for i in read_csv(text).invoices] == ["F-001"]


def test_quoted_newlines_keep_physical_row_numbers() -> None:
    text = (
        "Invoice #,Date,Customer,Amount\n"
        'A1,2026-02-01,"Bob\nand sons",10.00\n'
        "A2,not a date,Alice,5.00\n"
    )

    result = read_csv(text)

    assert result.invoices[0].buyer.name == "Bob and sons"
    (rejected,) = result.rejected
    assert rejected.location == "row 4"


# ---- grouping --------------------------------------------------------------------------------

LINES = (
    "Invoice Number,Invoice Date,Customer,Line Total,Currency\n"
    "A1,2026-03-01,Acme,100.00,EUR\n"
    "A1,2026-03-01,Acme,20.50,EUR\n"
    "A2,2026-03-02,Beta,7.00,EUR\n"
)


def test_rows_of_the_same_invoice_are_grouped_and_line_amounts_summed() -> None:
    result = read_csv(LINES)

    assert [(i.number, i.amount_total, i.source_location) for i in result.invoices] == [
        ("A1", eur("120.50"), "row 2-3"),
        ("A2", eur("7.00"), "row 4"),
    ]


def test_invoice_number_coming_back_later_is_rejected_as_a_duplicate() -> None:
    text = LINES + "A1,2026-03-01,Acme,1.00,EUR\n"

    result = read_csv(text)

    assert [i.number for i in result.invoices] == ["A1", "A2"]
    (duplicate,) = result.rejected
    assert duplicate.location == "row 5"
    assert duplicate.field == "number"
    assert "first at row 2-3" in duplicate.reason


def test_rows_of_one_invoice_that_disagree_are_rejected() -> None:
    text = "Invoice #,Date,Customer,Amount\nA1,2026-03-01,Acme,10\nA1,2026-03-01,Acme,11\n"

    (conflict,) = read_csv(text).rejected

    assert (conflict.location, conflict.field, conflict.value) == ("row 3", "amount_total", "11")


def test_bad_date_row_is_rejected_with_its_row_number_and_others_import() -> None:
    text = (
        "Invoice #,Invoice Date,Customer,Amount\n"
        "A1,2026-03-01,Acme,10\n"
        "A2,31/02/2026,Beta,20\n"
        "A3,2026-03-03,Gamma,30\n"
    )

    result = read_csv(text)

    assert [i.number for i in result.invoices] == ["A1", "A3"]
    (bad,) = result.rejected
    assert bad == RejectedRecord(
        "row 3", "issue_date", "'31/02/2026' is not a valid calendar date.", "31/02/2026"
    )


def test_row_without_invoice_number_is_rejected_and_blank_rows_are_ignored() -> None:
    text = "Invoice #,Date,Customer,Amount\n,2026-03-01,Acme,10\n,,,\n\nA2,2026-03-01,B,1\n"

    result = read_csv(text)

    assert [i.number for i in result.invoices] == ["A2"]
    assert [(r.location, r.field) for r in result.rejected] == [("row 2", "number")]


# ---- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-11-23", date(2026, 11, 23)),
        ("2026-11-23 00:00:00", date(2026, 11, 23)),
        ("23/11/2026", date(2026, 11, 23)),
        ("04/03/2026", date(2026, 3, 4)),  # ambiguous: day first (French)
        ("11/23/2026", date(2026, 11, 23)),  # only possible as month first
        ("23.11.2026", date(2026, 11, 23)),
        ('"Nov 23, 2026"', date(2026, 11, 23)),
        ("23 novembre 2026", date(2026, 11, 23)),
        ("23-Nov-2026", date(2026, 11, 23)),
        ("46349", date(2026, 11, 23)),  # Excel serial
    ],
)
def test_date_spellings(cell: str, expected: date) -> None:
    text = f"Invoice #,Date,Customer,Amount\nA1,{cell},Acme,10\n"

    (invoice,) = read_csv(text).invoices

    assert invoice.issue_date == expected


def test_header_saying_mm_dd_reads_ambiguous_dates_month_first() -> None:
    text = "Invoice #,Date (MM/DD/YYYY),Customer,Amount\nA1,04/03/2026,Acme,10\n"

    (invoice,) = read_csv(text).invoices

    assert invoice.issue_date == date(2026, 4, 3)


def test_a_file_whose_dates_prove_month_first_reads_them_all_month_first() -> None:
    text = "Invoice #,Date,Customer,Amount\nA1,04/03/2026,Acme,10\nA2,12/31/2026,Acme,10\n"

    first, _ = read_csv(text).invoices

    assert first.issue_date == date(2026, 4, 3)


def test_credit_notes_from_a_type_column_or_a_negative_amount() -> None:
    text = (
        "Invoice #,Date,Customer,Amount,Type\n"
        "C1,2026-03-01,Acme,10.00,Avoir\n"
        "C2,2026-03-01,Acme,-10.00,Facture\n"
        "C3,2026-03-01,Acme,-10.00,Credit note\n"
        "C4,2026-03-01,Acme,10.00,Proforma\n"
    )

    result = read_csv(text)

    assert [(i.number, i.kind, i.amount_total) for i in result.invoices] == [
        ("C1", DocumentKind.CREDIT_NOTE, eur("10.00")),
        ("C2", DocumentKind.CREDIT_NOTE, eur("10.00")),
        ("C3", DocumentKind.CREDIT_NOTE, eur("10.00")),
    ]
    assert [(r.location, r.field) for r in result.rejected] == [("row 5", "kind")]


def test_payment_terms_set_the_due_date_when_none_is_given() -> None:
    text = (
        "Invoice #,Date,Customer,Amount,Payment terms\n"
        "T1,2026-01-31,Acme,10,Net 45\n"
        "T2,2026-01-31,Acme,10,45 jours fin de mois\n"
        "T3,2026-01-31,Acme,10,à réception\n"
    )

    result = read_csv(text)

    assert [(i.payment_terms_days, i.due_date) for i in result.invoices] == [
        (45, date(2026, 3, 17)),
        (45, date(2026, 3, 31)),
        (0, date(2026, 1, 31)),
    ]


def test_statuses_paid_draft_and_cancelled() -> None:
    text = (
        "Invoice #,Date,Customer,Amount,Status\n"
        "S1,2026-01-31,Acme,10,Payée\n"
        "S2,2026-01-31,Acme,10,Draft\n"
        "S3,2026-01-31,Acme,10,Annulée\n"
        "S4,2026-01-31,Acme,10,Sent\n"
    )

    result = read_csv(text)

    assert [(i.number, i.amount_due) for i in result.invoices] == [
        ("S1", eur("0.00")),
        ("S4", eur("10.00")),
    ]
    assert [(r.location, r.field) for r in result.rejected] == [
        ("row 3", "status"),
        ("row 4", "status"),
    ]


def test_amount_in_another_currency_than_the_currency_column_is_rejected() -> None:
    text = "Invoice #,Date,Customer,Amount,Currency\nA1,2026-01-31,Acme,$10.00,EUR\n"

    (rejected,) = read_csv(text).rejected

    assert rejected.field == "currency"
    assert "USD" in rejected.reason


def test_inconsistent_total_paid_and_balance_are_rejected() -> None:
    text = "Invoice #,Date,Customer,Total,Paid,Balance\nA1,2026-01-31,Acme,100,10,80\n"

    (rejected,) = read_csv(text).rejected

    assert rejected.field == "amount_due"
    assert "does not equal" in rejected.reason


def test_row_without_any_customer_identity_is_rejected() -> None:
    text = "Invoice #,Date,Customer,Amount\nA1,2026-01-31,,10\n"

    (rejected,) = read_csv(text).rejected

    assert rejected.field == "buyer_name"


def test_seller_columns_give_the_seller_identity() -> None:
    text = (
        "Invoice #,Date,Customer,Amount,Seller,TVA vendeur\n"
        "A1,2026-01-31,Acme,10,Moi SAS,FR 12 345678901\n"
    )

    (invoice,) = read_csv(text, default_seller_id="ignored").invoices

    assert invoice.seller_id == "FR12345678901"
    assert invoice.seller.name == "Moi SAS"


def test_value_with_undecodable_bytes_is_rejected_in_a_utf8_file() -> None:
    data = (
        "Invoice #,Date,Customer,Amount\nA1,2026-01-31,Café,10\n".encode()
        + b"A2,2026-01-31,Bad \xff name,10\n"
    )

    result = read_invoice_file(data, "x.csv")

    assert [i.number for i in result.invoices] == ["A1"]
    (rejected,) = result.rejected
    assert (rejected.location, rejected.field) == ("row 3", "buyer_name")


# ---- column mapping --------------------------------------------------------------------------


def test_column_mapping_wins_over_the_aliases() -> None:
    text = "Ref;Quand;Qui;Amount\nX1;01/02/2026;Bob;12,5\n"
    mapping = {"Ref": "number", "Quand": "issue_date", "Qui": "buyer.name", "Amount": "amount_due"}

    (invoice,) = read_csv(text, column_mapping=mapping).invoices

    assert invoice.number == "X1"
    assert invoice.buyer.name == "Bob"
    assert invoice.amount_due == eur("12.50")


def test_column_mapping_can_ignore_a_column() -> None:
    text = "Invoice #,Date,Customer,Amount,Reference\nA1,2026-01-31,Acme,10,not-a-ref\n"

    (invoice,) = read_csv(text, column_mapping={"Reference": "ignore"}).invoices

    assert invoice.payment_reference is None


def test_column_mapping_to_an_unknown_field_is_refused() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_csv(FRENCH, column_mapping={"Client": "customer"})

    assert "'customer', which is not a field name" in raised.value.reason


# ---- unreadable files ------------------------------------------------------------------------


def test_file_without_a_header_row_is_unreadable() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_csv("hello,world\n1,2\n")

    assert raised.value.reason.startswith("No header row found")


def test_header_missing_a_required_column_is_unreadable_and_lists_the_columns_found() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_csv("Invoice Number,Amount,Customer\n1,2,3\n")

    assert "no issue date column" in raised.value.reason
    assert "'Invoice Number', 'Amount', 'Customer'" in raised.value.reason


# ---- streaming -------------------------------------------------------------------------------


def chunked(data: bytes, size: int, consumed: list[int]) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        consumed.append(start)
        yield data[start : start + size]


def test_streaming_in_tiny_chunks_gives_the_same_result() -> None:
    data = FRENCH.encode("cp1252") + "F-002;24/11/2026;;Crème;;;;10,00;0\n".encode("cp1252")

    items = list(iter_csv_invoices(chunked(data, 7, [])))

    assert [i.number for i in items if isinstance(i, ParsedInvoice)] == ["F-001", "F-002"]
    assert items[0].buyer.name == "Société Générale"  # type: ignore[union-attr]


def test_streaming_yields_the_first_invoice_long_before_the_end_of_a_big_file() -> None:
    rows = "".join(f"N{n},2026-01-31,Client {n},10.00\n" for n in range(20_000))
    data = ("Invoice #,Date,Customer,Amount\n" + rows).encode()
    consumed: list[int] = []

    stream = iter_csv_invoices(chunked(data, 4096, consumed))
    first = next(stream)

    assert isinstance(first, ParsedInvoice)
    assert len(consumed) * 4096 < len(data) / 4


def test_streaming_a_file_object_stops_at_the_size_limit() -> None:
    data = ("Invoice #,Date,Customer,Amount\n" + "N1,2026-01-31,C,1\n" * 10_000).encode()

    with pytest.raises(UnreadableDocumentError) as raised:
        list(iter_csv_invoices(io.BytesIO(data), max_bytes=50_000))

    assert "larger than the limit of 50000 bytes" in raised.value.reason


# ---- mapping file ----------------------------------------------------------------------------


def test_mapping_file_is_loaded_and_checked() -> None:
    data = '{"N° pièce": "number", "Qui": "buyer.name", "Notes": "ignore"}'.encode()

    assert load_column_mapping(data) == {
        "N° pièce": "number",
        "Qui": "buyer_name",
        "Notes": "ignore",
    }


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[1]", "must be a JSON object"),
        (b"{oops", "not valid JSON"),
        (b'{"A": 1}', "must map header text to field names"),
        (b'{"A": "amount"}', "'amount', which is not a field name"),
    ],
)
def test_bad_mapping_file_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        load_column_mapping(data)

    assert reason in raised.value.reason


def test_currency_written_in_the_amount_header_is_used() -> None:
    text = "Invoice #;Date;Customer;Montant (CHF)\nA1;2026-01-31;Acme;1'234.50\n"

    (invoice,) = read_csv(text).invoices

    assert invoice.amount_total == Money.parse("1234.50", "CHF")


def test_each_alias_names_one_field_only() -> None:
    spellings = [alias for aliases in ALIASES.values() for alias in aliases]

    assert len(spellings) == len(set(spellings))
    assert all(header_key(alias) == alias for alias in spellings)


def test_every_canonical_field_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "formats.md").read_text(encoding="utf-8")
    documented = {field for field in CANONICAL_FIELDS if f"`{field}`" in doc}
    party_fields = {f for f in CANONICAL_FIELDS if f.startswith(("buyer_", "seller_"))}

    # Party fields are documented once per attribute ("every seller field also exists as...").
    assert CANONICAL_FIELDS - documented <= party_fields
    assert all(f"`{f}`" in doc for f in ("buyer_name", "buyer_email", "seller_name"))
