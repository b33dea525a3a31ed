"""Domain: what invoice file readers hand to the intake (parsed invoices, rejections, rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from chalicelib.domain.errors import DomainError
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money

DEFAULT_PAYMENT_DAYS = 30
"""French statutory payment period when the parties agreed none (Code de commerce L441-10)."""

DEFAULT_SELLER_ID = "default"


class UnreadableDocumentError(DomainError):
    """A file that cannot be read at all; `reason` says why in one English sentence.

    Examples: malformed XML, a DOCTYPE (XXE / entity expansion attempt), an unknown format,
    a PDF without embedded invoice XML, a file over the size limit, no CSV header row.
    """

    code = "unreadable-document"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedParty:
    """A seller or buyer as found in a file, already normalised.

    Attributes:
        name: Legal or trading name.
        vat_id: VAT identifier without spaces or punctuation ("FR12345678901").
        legal_id: Legal registration id (SIREN, SIRET, company number...).
        endpoint_id: Electronic address, "scheme:value" when a scheme is given ("0088:123").
        email: First valid e-mail address.
        phone: E.164 phone number, or None when missing or not a valid number.
        country: ISO 3166-1 alpha-2 code.
        language: Language to write to this party in ("fr", "en", "de"), None if unknown.
        street: First address line.
        city: City name.
        postcode: Postal code.
    """

    name: str | None = None
    vat_id: str | None = None
    legal_id: str | None = None
    endpoint_id: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    language: str | None = None
    street: str | None = None
    city: str | None = None
    postcode: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    """One invoice or credit note read from a file, normalised and ready for the intake.

    Amounts are always positive: a credit note is `kind=CREDIT_NOTE` with positive amounts.
    `due_date` is always set by the readers (see `due_date_or_terms`); `due_date_derived`
    tells whether it was computed rather than read.

    Attributes:
        number: The invoice number as printed.
        kind: Invoice or credit note.
        issue_date: Date of issue.
        due_date: Payment due date.
        payment_terms_days: Agreed payment period in days, when the file gives one.
        currency: ISO 4217 code of every amount.
        amount_total: Total including tax.
        amount_paid: Already paid (prepaid, deposits, partial payments).
        amount_due: Still to pay.
        seller: The issuer.
        buyer: The customer to chase.
        purchase_order: The buyer's order reference.
        payment_reference: Reference the buyer must quote when paying.
        iban: Payee IBAN (checked with ISO 13616 mod 97), None if missing or invalid.
        referenced_invoice: For credit notes, the number of the invoice they correct.
        source_location: Where in the file ("row 4-6", "record 3", "/Invoice").
        profile: E-invoice profile ("EN16931", "MINIMUM"...), None for CSV/JSON.
        seller_id: The seller identity (`seller_key`) the invoice belongs to.
        due_date_derived: True when `due_date` was computed from terms or the default rule.
    """

    number: str
    kind: DocumentKind
    issue_date: date
    due_date: date | None
    payment_terms_days: int | None
    currency: str
    amount_total: Money
    amount_paid: Money
    amount_due: Money
    seller: ParsedParty
    buyer: ParsedParty
    purchase_order: str | None
    payment_reference: str | None
    iban: str | None
    referenced_invoice: str | None
    source_location: str
    profile: str | None
    seller_id: str = DEFAULT_SELLER_ID
    due_date_derived: bool = False


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """One problem that kept a record (row, JSON record, XML document) from being imported.

    Attributes:
        location: "row 7", "row 4-6", "record 3" or an XPath such as
            "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID".
        field: Canonical field name ("due_date", "amount_total", "buyer_email"...).
        reason: A clear English sentence.
        value: The offending raw value, if there was one.
    """

    location: str
    field: str
    reason: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """Something dropped or doubtful in a record that was still imported.

    Examples: a phone number that is not valid (the phone is dropped, the invoice kept), an
    IBAN failing its checksum, a profile ID that does not match the XML syntax.

    Attributes:
        location: Same forms as `RejectedRecord.location`.
        field: Canonical field name.
        reason: A clear English sentence saying what was done.
        value: The raw value concerned, if any.
    """

    location: str
    field: str
    reason: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class ReadResult:
    """Everything read from one file.

    Attributes:
        format: "csv", "json", "jsonl", "ubl", "cii" or "facturx-pdf".
        invoices: The invoices and credit notes that were read.
        rejected: Every problem that kept a record out, each naming its location and field.
        profile: E-invoice profile of the document, None for CSV/JSON.
        warnings: Problems in records that were still imported.
    """

    format: str
    invoices: tuple[ParsedInvoice, ...]
    rejected: tuple[RejectedRecord, ...]
    profile: str | None = None
    warnings: tuple[ReadWarning, ...] = ()


def due_date_or_terms(
    issue_date: date,
    due_date: date | None,
    terms_days: int | None,
    default_days: int = DEFAULT_PAYMENT_DAYS,
    *,
    end_of_month: bool = False,
) -> date:
    """Business rule: the due date is the agreed one, else issue date + terms, else + 30 days.

    When nothing was agreed, French law (Code de commerce, art. L441-10 I) sets payment at the
    30th day after receipt of the goods or completion of the service. Files rarely carry the
    delivery date, so the issue date stands in for it; that is the date the customer sees.
    Terms written "45 jours fin de mois" / "45 days end of month" run to the last day of the
    month in which issue date + 45 days falls (the usual reading of L441-10 II).

    Args:
        issue_date: Date of issue.
        due_date: Due date written in the document, if any; it always wins.
        terms_days: Agreed payment period in days, if any.
        default_days: Period used when neither is known.
        end_of_month: The agreed terms are "N days end of month".

    Returns:
        The date payment is due.
    """
    if due_date is not None:
        return due_date
    days = terms_days if terms_days is not None else default_days
    result = issue_date + timedelta(days=days)
    if end_of_month and terms_days is not None:
        first_of_next = (result.replace(day=28) + timedelta(days=4)).replace(day=1)
        result = first_of_next - timedelta(days=1)
    return result


def normalise_document_sign(
    kind: DocumentKind, total: Money, paid: Money, due: Money
) -> tuple[DocumentKind, Money, Money, Money]:
    """Business rule: a negative-total document is a credit note with positive amounts.

    This covers the Peppol "negative invoice" correction and the accounting exports that
    list credit notes ("avoirs") with negative amounts, whether or not they also say
    "credit note". Every amount changes sign together so that total - paid = due still holds.

    Returns:
        The kind and the three amounts, the total never negative.
    """
    if total.minor >= 0:
        return kind, total, paid, due
    return DocumentKind.CREDIT_NOTE, -total, -paid, -due


def seller_key(party: ParsedParty, default_seller_id: str | None = None) -> str:
    """Business rule: a seller is known by its VAT id, else legal id, else name, else default.

    Args:
        party: The seller as read from the file.
        default_seller_id: Used when the file names no seller (typical of CSV exports).

    Returns:
        The seller identity used in invoice ids ("default" when nothing is known).
    """
    for candidate in (party.vat_id, party.legal_id, party.name, default_seller_id):
        if candidate and candidate.strip():
            return candidate.strip()
    return DEFAULT_SELLER_ID


def buyer_key(party: ParsedParty) -> str | None:
    """Business rule: a buyer is known by VAT id, legal id, endpoint, e-mail, then name.

    Returns:
        The strongest identifier present, or None when the buyer cannot be identified.
    """
    for candidate in (party.vat_id, party.legal_id, party.endpoint_id, party.email, party.name):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


_FRENCH_SPEAKING = frozenset(
    {
        # France, its overseas departments and territories, and Monaco.
        "FR", "MC", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF",
        # Neighbours where a French seller's customers are usually addressed in French.
        "BE", "LU", "CH",
        # French-speaking Africa and Haiti.
        "SN", "CI", "CM", "BJ", "BF", "ML", "NE", "TG", "GA", "CG", "CD", "MG", "DJ", "HT",
        "MA", "DZ", "TN",
    }
)  # fmt: skip
_GERMAN_SPEAKING = frozenset({"DE", "AT", "LI"})


def default_language_for_country(country: str | None) -> str | None:
    """Business rule: write French to French-speaking countries, German to DE/AT/LI, else English.

    Belgium, Luxembourg and Switzerland are multilingual; a French seller's customers there
    are addressed in French unless the file says otherwise. An unknown country gives None.
    """
    if not country:
        return None
    code = country.upper()
    if code in _FRENCH_SPEAKING:
        return "fr"
    if code in _GERMAN_SPEAKING:
        return "de"
    return "en"
