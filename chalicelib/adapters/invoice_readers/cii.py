"""Adapter: UN/CEFACT CII reader (Factur-X / ZUGFeRD 2.x / XRechnung CII, and ZUGFeRD 1.0).

Two syntaxes share the reader through a table of paths:
- D16B `rsm:CrossIndustryInvoice` (Factur-X and ZUGFeRD 2.x profiles MINIMUM, BASIC WL,
  BASIC, EN16931, EXTENDED, and XRechnung CII);
- legacy ZUGFeRD 1.0 `rsm:CrossIndustryDocument` (BASIC, COMFORT, EXTENDED).
"""

from __future__ import annotations

from dataclasses import dataclass

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

CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD1_NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"


@dataclass(frozen=True, slots=True)
class _Syntax:
    name: str
    prefixes: dict[str, str]
    context: str
    document: str
    transaction: str
    agreement: str
    settlement: str
    summation: str
    order_id: str
    referenced_invoice: str


_D16B = _Syntax(
    name="CrossIndustryInvoice D16B",
    prefixes={
        "rsm": CII_NS,
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
        "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    },
    context="rsm:ExchangedDocumentContext",
    document="rsm:ExchangedDocument",
    transaction="rsm:SupplyChainTradeTransaction",
    agreement="ram:ApplicableHeaderTradeAgreement",
    settlement="ram:ApplicableHeaderTradeSettlement",
    summation="ram:SpecifiedTradeSettlementHeaderMonetarySummation",
    order_id="ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",
    referenced_invoice="ram:InvoiceReferencedDocument/ram:IssuerAssignedID",
)

_ZUGFERD1 = _Syntax(
    name="ZUGFeRD 1.0 CrossIndustryDocument",
    prefixes={
        "rsm": ZUGFERD1_NS,
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
    },
    context="rsm:SpecifiedExchangedDocumentContext",
    document="rsm:HeaderExchangedDocument",
    transaction="rsm:SpecifiedSupplyChainTradeTransaction",
    agreement="ram:ApplicableSupplyChainTradeAgreement",
    settlement="ram:ApplicableSupplyChainTradeSettlement",
    summation="ram:SpecifiedTradeSettlementMonetarySummation",
    order_id="ram:BuyerOrderReferencedDocument/ram:ID",
    referenced_invoice="ram:InvoiceReferencedDocument/ram:ID",
)

_Profiles = tuple[tuple[str, str], ...]

# Guideline IDs (BT-24) by syntax: (prefix, label), first match wins.
_D16B_PROFILES: _Profiles = (
    ("urn:factur-x.eu:1p0:minimum", "MINIMUM"),
    ("urn:zugferd.de:2p0:minimum", "MINIMUM"),
    ("urn:factur-x.eu:1p0:basicwl", "BASIC WL"),
    ("urn:zugferd.de:2p0:basicwl", "BASIC WL"),
    ("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", "BASIC"),
    ("urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic", "BASIC"),
    ("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", "EXTENDED"),
    ("urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended", "EXTENDED"),
    ("urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung", "XRECHNUNG"),
    ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung", "XRECHNUNG"),
    ("urn:cen.eu:en16931:2017", "EN16931"),
)
_ZUGFERD1_PROFILES: _Profiles = (
    ("urn:ferd:CrossIndustryDocument:invoice:1p0:basic", "ZUGFERD1 BASIC"),
    ("urn:ferd:CrossIndustryDocument:invoice:1p0:comfort", "ZUGFERD1 COMFORT"),
    ("urn:ferd:CrossIndustryDocument:invoice:1p0:extended", "ZUGFERD1 EXTENDED"),
    ("urn:ferd:invoice:1.0:basic", "ZUGFERD1 BASIC"),
    ("urn:ferd:invoice:1.0:comfort", "ZUGFERD1 COMFORT"),
    ("urn:ferd:invoice:1.0:extended", "ZUGFERD1 EXTENDED"),
)

_PARTY_PATHS: dict[str, tuple[str, ...]] = {
    "name": ("ram:Name",),
    "vat_id": ("ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",),
    "legal_id": ("ram:SpecifiedLegalOrganization/ram:ID",),
    "email": (
        "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID",
        "ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']",
    ),
    "phone": ("ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber",),
    "street": ("ram:PostalTradeAddress/ram:LineOne",),
    "city": ("ram:PostalTradeAddress/ram:CityName",),
    "postcode": ("ram:PostalTradeAddress/ram:PostcodeCode",),
    "country": ("ram:PostalTradeAddress/ram:CountryID",),
}


_PAYEE_IBAN = (
    "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
)


def is_cii(root: etree._Element) -> bool:
    """True for a CII CrossIndustryInvoice or a ZUGFeRD 1.0 CrossIndustryDocument root."""
    return etree.QName(root).namespace in (CII_NS, ZUGFERD1_NS)


def _label(guideline: str, known: _Profiles) -> str | None:
    return next((label for prefix, label in known if guideline.startswith(prefix)), None)


def _profile(doc: XmlDocument, draft: InvoiceDraft, syntax: _Syntax) -> str | None:
    """The profile label; a missing, unknown or mismatched ID is a warning, not a rejection.

    The amounts, dates and parties a dunning engine needs do not depend on the profile, and
    the EN 16931 reference example 02 itself carries a ZUGFeRD 1.0 ID on a D16B document.
    """
    path = f"{syntax.context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
    guideline, _ = doc.read(draft, "profile", (path,))
    if guideline is None:
        draft.warn(
            "profile",
            "The guideline (profile) ID, mandatory in CII (BT-24), is missing; the invoice "
            "was read by its syntax.",
        )
        return None
    own, other = (_D16B_PROFILES, _ZUGFERD1_PROFILES)
    if syntax is _ZUGFERD1:
        own, other = other, own
    label = _label(guideline, own)
    if label is not None:
        return label
    label = _label(guideline, other)
    if label is not None:
        draft.warn(
            "profile",
            f"The profile '{guideline}' belongs to the other CII generation, not to this "
            f"{syntax.name} document; the invoice was read by its syntax.",
            guideline,
        )
        return label
    draft.warn(
        "profile",
        f"The profile '{guideline}' is not a known Factur-X, ZUGFeRD, XRechnung or EN 16931 "
        "guideline; the invoice was read by its syntax.",
        guideline,
    )
    return guideline


def _party(
    doc: XmlDocument, draft: InvoiceDraft, role: str, agreement: etree._Element | None, tag: str
) -> PartyDraft:
    result = PartyDraft()
    party = doc.first(tag, agreement) if agreement is not None else None
    if party is None:
        draft.where.setdefault(f"{role}_name", doc.expected(tag, agreement))
        return result
    for name, paths in _PARTY_PATHS.items():
        value, _ = doc.read(draft, f"{role}_{name}", paths, party)
        setattr(result, name, value)
    uri = doc.first("ram:URIUniversalCommunication/ram:URIID", party)
    if uri is not None and uri.text and uri.text.strip():
        scheme = uri.get("schemeID")
        result.endpoint_id = f"{scheme}:{uri.text.strip()}" if scheme else uri.text.strip()
    return result


def _settlement(
    doc: XmlDocument, draft: InvoiceDraft, syntax: _Syntax, settlement: etree._Element | None
) -> None:
    if settlement is None:
        base = f"{syntax.transaction}/{syntax.settlement}"
        draft.where["currency"] = doc.expected(f"{base}/ram:InvoiceCurrencyCode")
        draft.where["amount_total"] = doc.expected(
            f"{base}/{syntax.summation}/ram:GrandTotalAmount"
        )
        return
    currency, _ = doc.read(draft, "currency", ("ram:InvoiceCurrencyCode",), settlement)
    draft.currency = normalise_currency(currency)
    references = (
        ("payment_reference", "ram:PaymentReference"),
        ("iban", _PAYEE_IBAN),
        ("referenced_invoice", syntax.referenced_invoice),
    )
    for name, path in references:
        setattr(draft, name, doc.read(draft, name, (path,), settlement)[0])
    draft.due_date = doc.read_date(
        draft,
        "due_date",
        ("ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",),
        settlement,
    )
    summation = doc.first(syntax.summation, settlement)
    if summation is None:
        draft.where["amount_total"] = doc.expected(
            f"{syntax.summation}/ram:GrandTotalAmount", settlement
        )
        return
    cur = draft.currency
    draft.total = doc.read_amount(draft, "amount_total", "ram:GrandTotalAmount", summation, cur)
    draft.paid = doc.read_amount(draft, "amount_paid", "ram:TotalPrepaidAmount", summation, cur)
    draft.due = doc.read_amount(draft, "amount_due", "ram:DuePayableAmount", summation, cur)
    rounding = doc.read_amount(draft, "rounding", "ram:RoundingAmount", summation, cur)
    if rounding is not None:
        draft.rounding = rounding


def read_cii(root: etree._Element, default_seller_id: str | None, fmt: str = "cii") -> ReadResult:
    """Read one CII invoice (D16B CrossIndustryInvoice or ZUGFeRD 1.0 CrossIndustryDocument)."""
    syntax = _ZUGFERD1 if etree.QName(root).namespace == ZUGFERD1_NS else _D16B
    doc = XmlDocument(root, syntax.prefixes)
    draft = InvoiceDraft(location=doc.root_path)
    draft.profile = _profile(doc, draft, syntax)
    draft.number, _ = doc.read(draft, "number", (f"{syntax.document}/ram:ID",))
    code, _ = doc.read(draft, "kind", (f"{syntax.document}/ram:TypeCode",))
    if code in CREDIT_TYPE_CODES:
        draft.kind = DocumentKind.CREDIT_NOTE
    draft.issue_date = doc.read_date(
        draft, "issue_date", (f"{syntax.document}/ram:IssueDateTime/udt:DateTimeString",)
    )
    agreement = doc.first(f"{syntax.transaction}/{syntax.agreement}")
    draft.seller = _party(doc, draft, "seller", agreement, "ram:SellerTradeParty")
    draft.buyer = _party(doc, draft, "buyer", agreement, "ram:BuyerTradeParty")
    # The language the document is written in is the best hint of the buyer's language.
    draft.buyer.language, _ = doc.read(
        draft, "buyer_language", (f"{syntax.document}/ram:LanguageID",)
    )
    if agreement is not None:
        draft.purchase_order, _ = doc.read(draft, "purchase_order", (syntax.order_id,), agreement)
    _settlement(doc, draft, syntax, doc.first(f"{syntax.transaction}/{syntax.settlement}"))
    return single_result(fmt, build_invoice(draft, default_seller_id), draft.profile)
