"""Field-level problems in UBL and CII documents are reported at their XPath."""

from __future__ import annotations

from pathlib import Path

from chalicelib.adapters.invoice_readers import read_invoice_file
from chalicelib.domain.intake import ReadResult
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


CII_MINIMUM = "einvoice/cii/akretion-factur-x-minimum.xml"
UBL_PEPPOL = "einvoice/ubl/peppol-base-example.xml"
CII_SUMMATION = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
    "/ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
)


def read_edited(relative: str, *edits: tuple[str, str]) -> ReadResult:
    text = (samples_dir() / relative).read_text(encoding="utf-8-sig")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return read_invoice_file(text.encode(), "edited.xml")


def test_unparsable_cii_amount_is_rejected_at_its_xpath() -> None:
    result = read_edited(
        CII_MINIMUM,
        ("<ram:DuePayableAmount>104.90", "<ram:DuePayableAmount>104,90"),
    )

    assert result.invoices == ()
    (rejected,) = result.rejected
    assert rejected.location == f"{CII_SUMMATION}/ram:DuePayableAmount"
    assert (rejected.field, rejected.value) == ("amount_due", "104,90")


def test_cii_amounts_that_do_not_add_up_are_rejected() -> None:
    result = read_edited(
        "einvoice/cii/akretion-factur-x-basic.xml",
        ("<ram:DuePayableAmount>104.90", "<ram:DuePayableAmount>14.90"),
    )

    (rejected,) = result.rejected
    assert rejected.field == "amount_due"
    assert rejected.location == f"{CII_SUMMATION}/ram:DuePayableAmount"
    assert rejected.reason == (
        "The amount due 14.90 does not equal the total 104.90 minus the amount paid 0.00."
    )


def test_cii_minimum_without_prepaid_amount_infers_what_was_paid() -> None:
    (invoice,) = read_edited(
        CII_MINIMUM,
        ("<ram:DuePayableAmount>104.90", "<ram:DuePayableAmount>14.90"),
    ).invoices

    assert invoice.amount_paid == Money.parse("90.00", "EUR")


def test_missing_cii_issue_date_is_reported_where_it_was_expected() -> None:
    result = read_edited(
        CII_MINIMUM,
        (
            '<udt:DateTimeString format="102">20260131</udt:DateTimeString>',
            "",
        ),
    )

    (rejected,) = result.rejected
    assert rejected.field == "issue_date"
    assert rejected.location == (
        "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"
    )


def test_impossible_cii_date_is_rejected() -> None:
    result = read_edited(CII_MINIMUM, ("20260131", "20260231"))

    (rejected,) = result.rejected
    assert (rejected.field, rejected.value) == ("issue_date", "20260231")
    assert "YYYYMMDD" in rejected.reason


def test_cii_type_code_381_is_a_credit_note() -> None:
    result = read_edited(CII_MINIMUM, ("<ram:TypeCode>380", "<ram:TypeCode>381"))

    (credit,) = result.invoices
    assert credit.kind == DocumentKind.CREDIT_NOTE
    assert credit.amount_total == Money.parse("104.90", "EUR")


def test_ubl_invoice_type_code_381_is_a_credit_note() -> None:
    result = read_edited(UBL_PEPPOL, ("<cbc:InvoiceTypeCode>380", "<cbc:InvoiceTypeCode>381"))

    assert result.invoices[0].kind == DocumentKind.CREDIT_NOTE


def test_ubl_amount_in_another_currency_is_rejected() -> None:
    result = read_edited(
        UBL_PEPPOL,
        (
            '<cbc:PayableAmount currencyID="EUR">',
            '<cbc:PayableAmount currencyID="SEK">',
        ),
    )

    (rejected,) = result.rejected
    assert rejected.location == "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"
    assert rejected.reason == "The amount is in SEK but the invoice currency is EUR."


def test_ubl_without_invoice_number_is_rejected_naming_the_expected_path() -> None:
    result = read_edited(UBL_PEPPOL, ("<cbc:ID>Snippet1</cbc:ID>", ""))

    assert ("/Invoice/cbc:ID", "number") in {(r.location, r.field) for r in result.rejected}


def test_ubl_payment_due_date_in_payment_means_is_read() -> None:
    result = read_edited(
        UBL_PEPPOL,
        ("<cbc:DueDate>2017-12-01</cbc:DueDate>", ""),
        (
            "<cbc:PaymentMeansCode",
            "<cbc:PaymentDueDate>2017-12-24</cbc:PaymentDueDate><cbc:PaymentMeansCode",
        ),
    )

    assert str(result.invoices[0].due_date) == "2017-12-24"


def test_unknown_cii_profile_is_a_warning_not_a_rejection() -> None:
    result = read_edited(
        CII_MINIMUM,
        ("urn:factur-x.eu:1p0:minimum", "urn:example:my-own-profile"),
    )

    assert [i.number for i in result.invoices] == ["F20260023"]
    assert result.profile == "urn:example:my-own-profile"
    (warning,) = [w for w in result.warnings if w.field == "profile"]
    assert "not a known" in warning.reason
