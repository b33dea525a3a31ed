"""Every UBL, CII and Factur-X sample file imports with the values written in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from chalicelib.adapters.invoice_readers import read_invoice_file
from chalicelib.adapters.invoice_readers.facturx_pdf import NO_XML_REASON
from chalicelib.domain.intake import ReadResult, UnreadableDocumentError
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


@dataclass(frozen=True)
class Expected:
    """The true values, read by hand from each file."""

    path: str
    fmt: str
    profile: str | None
    number: str
    kind: DocumentKind
    issue: date
    due: date
    due_derived: bool
    total: str
    paid: str
    amount_due: str
    buyer_name: str
    buyer_vat: str | None
    buyer_legal: str | None
    buyer_email: str | None
    buyer_country: str | None
    seller_id: str


INV, CN = DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE
PEPPOL = "PEPPOL BIS 3.0"
SE_BUYER = ("Buyer Official Name", "SE4598375937", "39937423947")

VALID = [
    # ---- UBL 2.1 -------------------------------------------------------------------------
    Expected("einvoice/ubl/akretion-ubl-21-en16931.xml", "ubl", "EN16931", "F124212", INV,
             date(2026, 6, 17), date(2026, 7, 16), False, "308.03", "100.00", "208.03",
             "Ma jolie boutique SARL", "FR19787878784", "787878784",
             "laetita.durand@jolieboutique.com", "FR", "FR11999999998"),
    Expected("einvoice/ubl/corpus-EN16931_Einfach.ubl.xml", "ubl", PEPPOL, "471102", INV,
             date(2018, 3, 5), date(2018, 4, 4), True, "529.87", "0.00", "529.87",
             "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
    # Type 389 is a self-billed invoice, not a credit note.
    Expected("einvoice/ubl/corpus-EN16931_Gutschrift.ubl.xml", "ubl", PEPPOL, "471102", INV,
             date(2018, 3, 5), date(2018, 4, 4), True, "529.87", "0.00", "529.87",
             "Kunden AG Mitte", "DE136695976", None, None, "DE", "DE123456789"),
    # The buyer's only e-mail is its XRechnung endpoint (scheme EM).
    Expected("einvoice/ubl/corpus-XRECHNUNG_Einfach.ubl.xml", "ubl", "XRECHNUNG", "471102", INV,
             date(2024, 11, 15), date(2024, 12, 15), True, "529.87", "0.00", "529.87",
             "Kunden AG Mitte", None, None, "info@kunde.de", "DE", "DE123456789"),
    Expected("einvoice/ubl/mustang-01.01a-INVOICE.ubl.xml", "ubl", "XRECHNUNG", "123456XX", INV,
             date(2016, 4, 4), date(2016, 5, 4), True, "336.90", "0.00", "336.90",
             "[Buyer name]", None, None, "buyer@info.de", "DE", "DE123456789"),
    Expected("einvoice/ubl/peppol-Vat-category-S.xml", "ubl", PEPPOL, "Snippet1", INV,
             date(2017, 11, 13), date(2017, 12, 1), False, "8550.00", "0.00", "8550.00",
             *SE_BUYER, None, "SE", "GB1232434"),
    Expected("einvoice/ubl/peppol-base-creditnote-correction.xml", "ubl", PEPPOL, "Snippet1", CN,
             date(2017, 11, 13), date(2017, 12, 13), True, "1656.25", "0.00", "1656.25",
             *SE_BUYER, "lj@buyer.se", "SE", "GB1232434"),
    Expected("einvoice/ubl/peppol-base-example.xml", "ubl", PEPPOL, "Snippet1", INV,
             date(2017, 11, 13), date(2017, 12, 1), False, "1656.25", "0.00", "1656.25",
             *SE_BUYER, "lj@buyer.se", "SE", "GB1232434"),
    # A negative Invoice (-1656.25) is a credit note with positive amounts.
    Expected("einvoice/ubl/peppol-base-negative-inv-correction.xml", "ubl", PEPPOL, "Correction1",
             CN, date(2017, 11, 13), date(2017, 12, 1), False, "1656.25", "0.00", "1656.25",
             *SE_BUYER, "lj@buyer.se", "SE", "GB1232434"),
    Expected("einvoice/ubl/peppol-sales-order-example.xml", "ubl", PEPPOL, "Snippet1", INV,
             date(2017, 11, 13), date(2017, 12, 1), False, "1656.25", "0.00", "1656.25",
             *SE_BUYER, "lj@buyer.se", "SE", "GB1232434"),
    # ---- CII -----------------------------------------------------------------------------
    Expected("einvoice/cii/akretion-factur-x-basic.xml", "cii", "BASIC", "F20260023", INV,
             date(2026, 1, 31), date(2026, 3, 2), False, "104.90", "0.00", "104.90",
             "LE CLIENT", "FR05987654321", "987654321", "me@buyer.com", "FR", "FR11123456782"),
    Expected("einvoice/cii/akretion-factur-x-en16931.xml", "cii", "EN16931", "F20260023", INV,
             date(2026, 1, 31), date(2026, 3, 2), False, "104.90", "0.00", "104.90",
             "LE CLIENT", "FR05987654321", "987654321", "buyer@buyer.com", "FR",
             "FR11123456782"),
    Expected("einvoice/cii/akretion-factur-x-minimum.xml", "cii", "MINIMUM", "F20260023", INV,
             date(2026, 1, 31), date(2026, 3, 2), True, "104.90", "0.00", "104.90",
             "LE CLIENT", None, "987654321", None, None, "FR11123456782"),
    # ZUGFeRD 1.0: no DuePayableAmount, no due date (the 30-day default applies).
    Expected("einvoice/cii/akretion-zugferd-basic.xml", "cii", "ZUGFERD1 BASIC", "471102", INV,
             date(2013, 3, 5), date(2013, 4, 4), True, "235.62", "0.00", "235.62",
             "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
    Expected("einvoice/cii/corpus-EN16931_Einfach.cii.xml", "cii", "EN16931", "471102", INV,
             date(2018, 3, 5), date(2018, 4, 4), True, "529.87", "0.00", "529.87",
             "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
    Expected("einvoice/cii/corpus-EN16931_Gutschrift.cii.xml", "cii", "EN16931", "471102", INV,
             date(2018, 3, 5), date(2018, 4, 4), True, "529.87", "0.00", "529.87",
             "Kunden AG Mitte", "DE136695976", None, None, "DE", "DE123456789"),
    # Type 384 with a total of -8.79: a credit note of 8.79.
    Expected("einvoice/cii/corpus-EN16931_Rechnungskorrektur.cii.xml", "cii", "EN16931",
             "RK21012345", CN, date(2018, 9, 16), date(2018, 10, 16), True, "8.79", "0.00",
             "8.79", "MUSTER-KUNDE GMBH", None, None, None, "DE", "DE123456789"),
    Expected("einvoice/cii/corpus-EN16931_SEPA_Prenotification.cii.xml", "cii", "EN16931",
             "471102", INV, date(2018, 3, 5), date(2018, 4, 4), True, "529.87", "0.00",
             "529.87", "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
    # The CEN example really says due 2013-05-10, before its issue date (kept, with a warning).
    Expected("einvoice/cii/en16931-CII_business_example_02.xml", "cii", "ZUGFERD1 COMFORT",
             "INV000013", INV, date(2013, 8, 25), date(2013, 5, 10), False, "11.90", "0.00",
             "11.90", "Buyercompany ltd", None, None, None, "DE", "DE1111111"),
    Expected("einvoice/cii/mustang-Factur-X_basic.xml", "cii", "BASIC", "471102", INV,
             date(2024, 11, 15), date(2024, 12, 15), False, "235.62", "0.00", "235.62",
             "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
    # ---- Factur-X / ZUGFeRD PDFs ---------------------------------------------------------
    Expected("facturx-pdf/akretion-invoice_EN16931.pdf", "facturx-pdf", "EN16931", "F20260023",
             INV, date(2026, 1, 31), date(2026, 3, 2), False, "104.90", "0.00", "104.90",
             "LE CLIENT", "FR05987654321", "987654321", "buyer@buyer.com", "FR",
             "FR11123456782"),
    Expected("facturx-pdf/corpus-MustangGnuaccountingBeispielRE-20201121_508.pdf", "facturx-pdf",
             "EN16931", "RE-20201121/508", INV, date(2020, 11, 21), date(2020, 12, 12), False,
             "571.04", "0.00", "571.04", "Theodor Est", None, None, None, "DE", "DE136695976"),
    # MINIMUM gives no prepaid amount: paid = 671.15 - 470.15.
    Expected("facturx-pdf/fnfe-Facture_FR_MINIMUM.pdf", "facturx-pdf", "MINIMUM", "FA-2017-0010",
             INV, date(2017, 11, 13), date(2017, 12, 13), True, "671.15", "201.00", "470.15",
             "Ma jolie boutique", "FR19787878784", "78787878400035", None, "FR", "FR11999999998"),
    Expected("facturx-pdf/fnfe-Facture_UE_BASICWL.pdf", "facturx-pdf", "BASIC WL", "FA-2017-0008",
             INV, date(2017, 11, 3), date(2017, 12, 3), False, "2076.76", "623.00", "1453.76",
             "Me gusta olive", "ESA12345674", None, None, "ES", "FR11999999998"),
    Expected("facturx-pdf/mustang-EN16931_1_Teilrechnung.pdf", "facturx-pdf", "EN16931", "471102",
             INV, date(2018, 6, 5), date(2018, 7, 5), True, "197.65", "50.00", "147.65",
             "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
    # Listed as a negative sample (its XMP metadata is broken) but its ZUGFeRD 1.0 XML is
    # intact, and the XML is all an importer needs.
    Expected("facturx-pdf/mustang-invalidXMP-ParseError.pdf", "facturx-pdf", "ZUGFERD1 EXTENDED",
             "RE-20171118/506", INV, date(2017, 11, 18), date(2017, 12, 9), False, "571.04",
             "0.00", "571.04", "Theodor Est", "DE999999999", None, None, "DE", "DE136695976"),
    # The "invalid profile" sample: a ZUGFeRD 1.0 profile ID on a D16B document. Every value
    # is readable, so it imports, and the mismatch is reported (see the test below).
    Expected("einvoice/invalid/mustang-invalidV2Profile.xml", "cii", "ZUGFERD1 COMFORT", "471102",
             INV, date(2013, 3, 5), date(2013, 4, 4), False, "529.87", "0.00", "529.87",
             "Kunden AG Mitte", None, None, None, "DE", "DE123456789"),
]  # fmt: skip

UNREADABLE = {"facturx-pdf/mustang-blanko-RE-20190610_507.pdf": NO_XML_REASON}


def read_sample(relative: str) -> ReadResult:
    path = samples_dir() / relative
    return read_invoice_file(path.read_bytes(), path.name)


def test_every_einvoice_sample_file_is_in_a_table() -> None:
    root = samples_dir()
    on_disk = {
        str(path.relative_to(root))
        for folder in ("einvoice/ubl", "einvoice/cii", "einvoice/invalid", "facturx-pdf")
        for path in (root / folder).iterdir()
    }
    assert on_disk == {e.path for e in VALID} | set(UNREADABLE)


@pytest.mark.parametrize("expected", VALID, ids=lambda e: Path(e.path).name)
def test_sample_imports_with_the_values_written_in_it(expected: Expected) -> None:
    result = read_sample(expected.path)

    assert result.rejected == ()
    assert (result.format, result.profile) == (expected.fmt, expected.profile)
    (invoice,) = result.invoices
    assert invoice.number == expected.number
    assert invoice.kind == expected.kind
    assert invoice.issue_date == expected.issue
    assert invoice.due_date == expected.due
    assert invoice.due_date_derived is expected.due_derived
    assert invoice.currency == "EUR"
    assert invoice.amount_total == Money.parse(expected.total, "EUR")
    assert invoice.amount_paid == Money.parse(expected.paid, "EUR")
    assert invoice.amount_due == Money.parse(expected.amount_due, "EUR")
    assert invoice.buyer.name == expected.buyer_name
    assert invoice.buyer.vat_id == expected.buyer_vat
    assert invoice.buyer.legal_id == expected.buyer_legal
    assert invoice.buyer.email == expected.buyer_email
    assert invoice.buyer.country == expected.buyer_country
    assert invoice.seller_id == expected.seller_id
    assert invoice.profile == expected.profile


def test_plain_pdf_without_embedded_xml_is_unreadable_with_the_reason() -> None:
    with pytest.raises(UnreadableDocumentError) as raised:
        read_sample("facturx-pdf/mustang-blanko-RE-20190610_507.pdf")

    assert raised.value.reason == NO_XML_REASON
    assert raised.value.code == "unreadable-document"


def test_profile_of_the_other_cii_generation_is_reported_at_its_xpath() -> None:
    result = read_sample("einvoice/invalid/mustang-invalidV2Profile.xml")

    profile_warnings = [w for w in result.warnings if w.field == "profile"]
    assert len(profile_warnings) == 1
    warning = profile_warnings[0]
    assert warning.location == (
        "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
        "/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
    )
    assert warning.value == "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"
    assert "other CII generation" in warning.reason


def test_credit_note_names_the_invoice_it_corrects() -> None:
    (credit,) = read_sample("einvoice/ubl/peppol-base-creditnote-correction.xml").invoices

    assert credit.kind == DocumentKind.CREDIT_NOTE
    assert credit.referenced_invoice == "Snippet1"
    assert credit.source_location == "/CreditNote"


def test_cii_references_payment_details_and_contacts_are_read() -> None:
    (invoice,) = read_sample("einvoice/cii/akretion-factur-x-en16931.xml").invoices

    assert invoice.purchase_order == "PO201925478"
    assert invoice.payment_reference == "F20260023BUYER"
    assert invoice.iban == "FR2012542547256985425874698"
    assert invoice.referenced_invoice == "F20260003"
    assert invoice.buyer.phone == "+33101254587"
    assert invoice.buyer.endpoint_id == "EM:me@buyer.com"
    assert invoice.buyer.language == "fr"
    assert invoice.seller.name == "LE FOURNISSEUR"


def test_ubl_party_contact_is_normalised() -> None:
    (invoice,) = read_sample("einvoice/ubl/akretion-ubl-21-en16931.xml").invoices

    assert invoice.buyer.phone == "+33742124212"
    assert invoice.buyer.endpoint_id == "0225:787878784"
    assert invoice.buyer.postcode == "69001"
    assert invoice.purchase_order == "PO1242"
    assert invoice.referenced_invoice == "F124211"


def test_invalid_iban_is_dropped_and_reported_at_its_xpath() -> None:
    result = read_sample("einvoice/ubl/peppol-base-example.xml")

    assert result.invoices[0].iban is None
    (warning,) = [w for w in result.warnings if w.field == "iban"]
    assert warning.location == "/Invoice/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"
    assert warning.value == "IBAN32423940"


def test_invalid_phone_is_dropped_without_rejecting_the_invoice() -> None:
    result = read_sample("einvoice/ubl/peppol-Vat-category-S.xml")

    assert result.invoices[0].seller.phone is None
    phone = [w for w in result.warnings if w.field == "seller_phone"]
    assert phone[0].value == "9384203984"
    assert "GB" in phone[0].reason


def test_language_follows_the_buyer_country() -> None:
    (swedish,) = read_sample("einvoice/ubl/peppol-base-example.xml").invoices
    (german,) = read_sample("einvoice/cii/corpus-EN16931_Einfach.cii.xml").invoices

    assert swedish.buyer.language == "en"
    assert german.buyer.language == "de"
