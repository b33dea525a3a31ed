"""Adapter: UBL 2.1 Invoice and CreditNote (EN 16931, Peppol BIS 3, XRechnung UBL) reader."""

from __future__ import annotations

from lxml import etree

from chalicelib.adapters.invoice_readers._common import (
    CREDIT_TYPE_CODES,
    InvoiceDraft,
    PartyDraft,
    build_invoice,
    normalise_currency,
    single_result,
)
from chalicelib.adapters.invoice_readers._xmldoc import XmlDocument
from chalicelib.domain.intake import ReadResult
from chalicelib.domain.invoices import DocumentKind

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_PREFIXES = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}

_PROFILE_LABELS = (
    ("peppol.eu:2017:poacc:billing", "PEPPOL BIS 3.0"),
    ("xrechnung", "XRECHNUNG"),
    ("factur-x.eu:1p0:extended", "EXTENDED"),
    ("urn:cen.eu:en16931:2017", "EN16931"),
)

_PARTY_PATHS: dict[str, tuple[str, ...]] = {
    "name": ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"),
    "vat_id": (
        "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
        "cac:PartyTaxScheme/cbc:CompanyID",
    ),
    "legal_id": ("cac:PartyLegalEntity/cbc:CompanyID",),
    "email": ("cac:Contact/cbc:ElectronicMail",),
    "phone": ("cac:Contact/cbc:Telephone",),
    "street": ("cac:PostalAddress/cbc:StreetName",),
    "city": ("cac:PostalAddress/cbc:CityName",),
    "postcode": ("cac:PostalAddress/cbc:PostalZone",),
    "country": ("cac:PostalAddress/cac:Country/cbc:IdentificationCode",),
}


_REFERENCES = (
    ("purchase_order", "cac:OrderReference/cbc:ID"),
    ("payment_reference", "cac:PaymentMeans/cbc:PaymentID"),
    ("iban", "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
    ("referenced_invoice", "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
)


def is_ubl(root: etree._Element) -> bool:
    """True for a UBL Invoice or CreditNote root."""
    return etree.QName(root).namespace in (INVOICE_NS, CREDIT_NOTE_NS)


def profile_label(customization_id: str | None) -> str | None:
    """Short name of a UBL CustomizationID ("PEPPOL BIS 3.0", "XRECHNUNG", "EN16931")."""
    if customization_id is None:
        return None
    for marker, label in _PROFILE_LABELS:
        if marker in customization_id:
            return label
    return customization_id


def _party(doc: XmlDocument, draft: InvoiceDraft, role: str, path: str) -> PartyDraft:
    party = doc.first(path)
    result = PartyDraft()
    if party is None:
        draft.where.setdefault(f"{role}_name", doc.expected(path))
        return result
    for name, paths in _PARTY_PATHS.items():
        value, _ = doc.read(draft, f"{role}_{name}", paths, party)
        setattr(result, name, value)
    endpoint = doc.first("cbc:EndpointID", party)
    if endpoint is not None and endpoint.text and endpoint.text.strip():
        scheme = endpoint.get("schemeID")
        value = endpoint.text.strip()
        result.endpoint_id = f"{scheme}:{value}" if scheme else value
        # XRechnung routes by e-mail (scheme EM): that address reaches the buyer too.
        if scheme == "EM" and result.email is None:
            result.email = value
            draft.where[f"{role}_email"] = doc.path_of(endpoint)
    return result


def _kind(doc: XmlDocument, draft: InvoiceDraft, credit_root: bool) -> DocumentKind:
    code, _ = doc.read(draft, "kind", ("cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode"))
    if credit_root or (code is not None and code in CREDIT_TYPE_CODES):
        return DocumentKind.CREDIT_NOTE
    return DocumentKind.INVOICE


def _amounts(doc: XmlDocument, draft: InvoiceDraft) -> None:
    totals = doc.first("cac:LegalMonetaryTotal")
    currency = draft.currency
    base = "cac:LegalMonetaryTotal/"
    if totals is None:
        draft.where["amount_total"] = doc.expected(base + "cbc:TaxInclusiveAmount")
        return
    draft.total = doc.read_amount(draft, "amount_total", "cbc:TaxInclusiveAmount", totals, currency)
    draft.paid = doc.read_amount(draft, "amount_paid", "cbc:PrepaidAmount", totals, currency)
    draft.due = doc.read_amount(draft, "amount_due", "cbc:PayableAmount", totals, currency)
    rounding = doc.read_amount(draft, "rounding", "cbc:PayableRoundingAmount", totals, currency)
    if rounding is not None:
        draft.rounding = rounding


def read_ubl(root: etree._Element, default_seller_id: str | None, fmt: str = "ubl") -> ReadResult:
    """Read one UBL Invoice or CreditNote document."""
    doc = XmlDocument(root, _PREFIXES)
    draft = InvoiceDraft(location=doc.root_path)
    draft.profile = profile_label(doc.text("cbc:CustomizationID"))
    draft.number, _ = doc.read(draft, "number", ("cbc:ID",))
    draft.kind = _kind(doc, draft, etree.QName(root).namespace == CREDIT_NOTE_NS)
    draft.issue_date = doc.read_date(draft, "issue_date", ("cbc:IssueDate",))
    draft.due_date = doc.read_date(
        draft,
        "due_date",
        (
            "cbc:DueDate",
            "cac:PaymentMeans/cbc:PaymentDueDate",
            "cac:PaymentTerms/cbc:PaymentDueDate",
        ),
    )
    currency, _ = doc.read(draft, "currency", ("cbc:DocumentCurrencyCode",))
    draft.currency = normalise_currency(currency)
    draft.seller = _party(doc, draft, "seller", "cac:AccountingSupplierParty/cac:Party")
    draft.buyer = _party(doc, draft, "buyer", "cac:AccountingCustomerParty/cac:Party")
    for name, path in _REFERENCES:
        setattr(draft, name, doc.read(draft, name, (path,))[0])
    _amounts(doc, draft)
    return single_result(fmt, build_invoice(draft, default_seller_id), draft.profile)
