"""Adapter helper: the normalisation and cross-field rules shared by every invoice reader.

Each reader turns its syntax into an `InvoiceDraft` (typed values, where each came from and
the parse errors it met); `build_invoice` then applies the same rules to all of them:
required fields, amount consistency, credit-note sign, due-date default, party clean-up.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import phonenumbers

from chalicelib.domain.intake import (
    ParsedInvoice,
    ParsedParty,
    ReadResult,
    ReadWarning,
    RejectedRecord,
    buyer_key,
    default_language_for_country,
    due_date_or_terms,
    normalise_document_sign,
    seller_key,
)
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money, currency_exponent

PARTY_FIELDS = (
    "name",
    "vat_id",
    "legal_id",
    "endpoint_id",
    "email",
    "phone",
    "country",
    "language",
    "street",
    "city",
    "postcode",
)

# UNTDID 1001 document type codes that EN 16931 classes as credit notes.
CREDIT_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

_WHITESPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[A-Za-z0-9-]{2,}$")
_EMAIL_SPLIT = re.compile(r"[;,\s]+")
_VAT_JUNK = re.compile(r"[^A-Za-z0-9]")
_LEGAL_JUNK = re.compile(r"[\s.\-]")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_ALPHA2 = re.compile(r"^[A-Za-z]{2}$")
_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]{2,8})*$")
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")

_COUNTRY_NAMES = {
    "france": "FR",
    "belgique": "BE",
    "belgium": "BE",
    "belgie": "BE",
    "luxembourg": "LU",
    "suisse": "CH",
    "switzerland": "CH",
    "schweiz": "CH",
    "germany": "DE",
    "allemagne": "DE",
    "deutschland": "DE",
    "austria": "AT",
    "autriche": "AT",
    "osterreich": "AT",
    "spain": "ES",
    "espagne": "ES",
    "espana": "ES",
    "italy": "IT",
    "italie": "IT",
    "italia": "IT",
    "netherlands": "NL",
    "pays-bas": "NL",
    "pays bas": "NL",
    "nederland": "NL",
    "portugal": "PT",
    "monaco": "MC",
    "united kingdom": "GB",
    "royaume-uni": "GB",
    "royaume uni": "GB",
    "uk": "GB",
    "great britain": "GB",
    "united states": "US",
    "united states of america": "US",
    "etats-unis": "US",
    "etats unis": "US",
    "usa": "US",
    "canada": "CA",
    "ireland": "IE",
    "irlande": "IE",
    "sweden": "SE",
    "suede": "SE",
    "denmark": "DK",
    "danemark": "DK",
    "poland": "PL",
    "pologne": "PL",
    "fra": "FR",
    "bel": "BE",
    "lux": "LU",
    "che": "CH",
    "deu": "DE",
    "aut": "AT",
    "esp": "ES",
    "ita": "IT",
    "nld": "NL",
    "gbr": "GB",
}

_LANGUAGE_NAMES = {
    "french": "fr",
    "francais": "fr",
    "franzosisch": "fr",
    "english": "en",
    "anglais": "en",
    "englisch": "en",
    "german": "de",
    "allemand": "de",
    "deutsch": "de",
    "spanish": "es",
    "espagnol": "es",
    "italian": "it",
    "italien": "it",
    "dutch": "nl",
    "neerlandais": "nl",
}


def fold(text: str) -> str:
    """Lower-case, accent-free form used to compare labels written by people."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def clean(text: str | None) -> str | None:
    """Trim and collapse whitespace; empty becomes None."""
    if text is None:
        return None
    collapsed = _WHITESPACE.sub(" ", text).strip()
    return collapsed or None


@dataclass(slots=True)
class PartyDraft:
    """A party's raw values as a reader found them."""

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

    def values(self) -> tuple[str | None, ...]:
        """The raw values in PARTY_FIELDS order."""
        return (
            self.name,
            self.vat_id,
            self.legal_id,
            self.endpoint_id,
            self.email,
            self.phone,
            self.country,
            self.language,
            self.street,
            self.city,
            self.postcode,
        )


@dataclass(slots=True)
class InvoiceDraft:
    """What a reader extracted from one record, before the shared rules run.

    `where` maps a canonical field to where its value was read (or expected), `raw` keeps the
    raw text for error reports, and `failed` lists fields whose value could not be parsed
    (they already have an entry in `errors`, so they are not reported again as missing).
    """

    location: str
    number: str | None = None
    kind: DocumentKind = DocumentKind.INVOICE
    issue_date: date | None = None
    due_date: date | None = None
    terms_days: int | None = None
    terms_end_of_month: bool = False
    currency: str | None = None
    total: Decimal | None = None
    paid: Decimal | None = None
    due: Decimal | None = None
    rounding: Decimal = Decimal(0)
    seller: PartyDraft = field(default_factory=PartyDraft)
    buyer: PartyDraft = field(default_factory=PartyDraft)
    purchase_order: str | None = None
    payment_reference: str | None = None
    iban: str | None = None
    referenced_invoice: str | None = None
    profile: str | None = None
    where: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    errors: list[RejectedRecord] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)

    def reject(self, field_name: str, reason: str, value: str | None = None) -> None:
        """Record a problem with one field."""
        self.failed.add(field_name)
        self.errors.append(
            RejectedRecord(
                location=self.where.get(field_name, self.location),
                field=field_name,
                reason=reason,
                value=value if value is not None else self.raw.get(field_name),
            )
        )

    def warn(self, field_name: str, reason: str, value: str | None = None) -> None:
        """Record a problem that does not keep the record out."""
        self.warnings.append(
            ReadWarning(
                location=self.where.get(field_name, self.location),
                field=field_name,
                reason=reason,
                value=value if value is not None else self.raw.get(field_name),
            )
        )


def normalise_vat_id(text: str | None) -> str | None:
    """VAT ids are compared without spaces, dots or dashes, upper-case."""
    value = clean(text)
    if value is None:
        return None
    return _VAT_JUNK.sub("", value).upper() or None


def normalise_legal_id(text: str | None) -> str | None:
    """SIREN/SIRET and similar: digits-only ids lose their grouping, others are trimmed."""
    value = clean(text)
    if value is None:
        return None
    compact = _LEGAL_JUNK.sub("", value)
    return compact if compact.isdigit() else value


def normalise_email(text: str | None) -> str | None:
    """The first plausible address of a list ("a@x.fr; b@y.fr"), without "mailto:"."""
    value = clean(text)
    if value is None:
        return None
    for candidate in _EMAIL_SPLIT.split(value):
        address = candidate.strip("<>\"'")
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:") :]
        if _EMAIL.match(address):
            return address
    return None


@functools.lru_cache(maxsize=8192)
def normalise_phone(text: str | None, region: str | None) -> str | None:
    """E.164 form, or None: a bad phone number loses the phone, never the invoice.

    Cached: a customer's number repeats on every one of their invoices, and parsing it is
    the costliest step of reading a large CSV.
    """
    value = clean(text)
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_country(text: str | None) -> str | None:
    """ISO alpha-2 from a code or a common English/French/German country name."""
    value = clean(text)
    if value is None:
        return None
    if _ALPHA2.match(value):
        code = value.upper()
        # "UK" and "EL" (Greece) are the EU VAT prefixes, not the ISO codes.
        return {"UK": "GB", "EL": "GR"}.get(code, code)
    return _COUNTRY_NAMES.get(fold(value))


def normalise_language(text: str | None) -> str | None:
    """Two-letter language from a tag ("fr-FR"), a code or a language name ("Français")."""
    value = clean(text)
    if value is None:
        return None
    tag = _LANGUAGE_TAG.match(value)
    if tag:
        return tag.group(1).lower()
    return _LANGUAGE_NAMES.get(fold(value))


def normalise_iban(text: str | None) -> str | None:
    """An IBAN that passes the ISO 13616 mod-97 check, else None.

    A reminder must never tell a customer to pay into a mistyped account.
    """
    value = clean(text)
    if value is None:
        return None
    compact = value.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return None
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return compact if int(digits) % 97 == 1 else None


def normalise_currency(text: str | None) -> str | None:
    """Upper-case ISO 4217 code; the euro sign and friends are accepted."""
    value = clean(text)
    if value is None:
        return None
    symbol = CURRENCY_SYMBOLS.get(value)
    if symbol:
        return symbol
    return value.upper()


CURRENCY_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "$": "USD",
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "¥": "JPY",
    "Fr.": "CHF",
    "CHF": "CHF",
}


def _dropped(draft: InvoiceDraft, name: str, raw: str | None, kept: str | None, what: str) -> None:
    if kept is None and clean(raw) is not None:
        draft.warn(name, f"'{clean(raw)}' is not {what}; it was left out.", clean(raw))


_NO_PARTY = ParsedParty()
_Dropped = tuple[tuple[str, str, str], ...]


@functools.lru_cache(maxsize=8192)
def _normalised_party(
    raw: tuple[str | None, ...], fallback_region: str | None
) -> tuple[ParsedParty, _Dropped]:
    """Normalise a party once per distinct spelling: customers repeat on many invoices.

    Returns:
        The party and, for each value dropped, (field, reason, raw value).
    """
    fields = dict(zip(PARTY_FIELDS, raw, strict=True))
    country = normalise_country(fields["country"])
    language = normalise_language(fields["language"])
    email = normalise_email(fields["email"])
    region = country or fallback_region
    phone = normalise_phone(fields["phone"], region)
    where = f" for {region}" if region else " (no country to read it in)"
    dropped = tuple(
        (
            name,
            f"'{clean(fields[name])}' is not {what}; it was left out.",
            clean(fields[name]) or "",
        )
        for name, kept, what in (
            ("country", country, "an ISO country code or name"),
            ("language", language, "a language code or name"),
            ("email", email, "a valid e-mail address"),
            ("phone", phone, f"a valid phone number{where}"),
        )
        if kept is None and clean(fields[name]) is not None
    )
    party = ParsedParty(
        name=clean(fields["name"]),
        vat_id=normalise_vat_id(fields["vat_id"]),
        legal_id=normalise_legal_id(fields["legal_id"]),
        endpoint_id=clean(fields["endpoint_id"]),
        email=email,
        phone=phone,
        country=country,
        language=language or default_language_for_country(country),
        street=clean(fields["street"]),
        city=clean(fields["city"]),
        postcode=clean(fields["postcode"]),
    )
    return party, dropped


def _party(draft: InvoiceDraft, role: str, fallback_region: str | None) -> ParsedParty:
    raw = draft.buyer if role == "buyer" else draft.seller
    values = raw.values()
    if not any(values):
        return _NO_PARTY
    party, dropped = _normalised_party(values, fallback_region)
    for name, reason, value in dropped:
        draft.warn(f"{role}_{name}", reason, value)
    return party


def _money(draft: InvoiceDraft, name: str, value: Decimal, currency: str) -> Money | None:
    scaled = value.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        draft.reject(
            name,
            f"{name} {value} has more decimal places than {currency} allows "
            f"({currency_exponent(currency)}).",
            str(value),
        )
        return None
    return Money(int(scaled), currency)


def _require(draft: InvoiceDraft) -> None:
    missing = []
    if not (draft.number and draft.number.strip()):
        missing.append(("number", "The invoice number is missing."))
    if draft.issue_date is None:
        missing.append(("issue_date", "The issue date is missing."))
    if draft.currency is None:
        missing.append(("currency", "The currency is missing."))
    if draft.total is None and draft.due is None:
        missing.append(("amount_total", "The invoice total is missing."))
    for name, reason in missing:
        if name not in draft.failed:
            draft.reject(name, reason)


def _amounts(draft: InvoiceDraft, currency: str) -> tuple[Money, Money, Money] | None:
    """Fill the missing one of total/paid/due and check that total - paid + rounding = due."""
    total, paid, due, rounding = draft.total, draft.paid, draft.due, draft.rounding
    if total is None and due is not None:
        total = due + (paid or Decimal(0)) - rounding
    if total is None:
        return None
    if paid is None:
        paid = total + rounding - due if due is not None else Decimal(0)
    if due is None:
        due = total - paid + rounding
    if total - paid + rounding != due:
        plus_rounding = f" plus rounding {rounding}" if rounding else ""
        draft.reject(
            "amount_due",
            f"The amount due {due} does not equal the total {total} minus the amount paid "
            f"{paid}{plus_rounding}.",
            str(due),
        )
        return None
    total_m = _money(draft, "amount_total", total, currency)
    paid_m = _money(draft, "amount_paid", paid, currency)
    due_m = _money(draft, "amount_due", due, currency)
    if total_m is None or paid_m is None or due_m is None:
        return None
    return total_m, paid_m, due_m


def _signed(
    draft: InvoiceDraft, amounts: tuple[Money, Money, Money]
) -> tuple[DocumentKind, Money, Money, Money] | None:
    kind, total, paid, due = normalise_document_sign(draft.kind, *amounts)
    if paid.minor < 0:
        draft.reject("amount_paid", f"The amount paid {paid.to_wire()} is negative.")
        return None
    if due.minor < 0:
        draft.reject(
            "amount_due",
            f"The amount due {due.to_wire()} is negative: more was paid than the total "
            f"{total.to_wire()}.",
        )
        return None
    return kind, total, paid, due


def _currency(draft: InvoiceDraft) -> str | None:
    code = draft.currency
    if code is None:
        return None
    if not _ISO_CURRENCY.match(code):
        draft.reject("currency", f"'{code}' is not an ISO 4217 currency code such as EUR.", code)
        return None
    return code


@dataclass(frozen=True, slots=True)
class Outcome:
    """One record's result: the invoice and its warnings, or the reasons it was rejected."""

    invoice: ParsedInvoice | None
    rejected: tuple[RejectedRecord, ...] = ()
    warnings: tuple[ReadWarning, ...] = ()


def build_invoice(draft: InvoiceDraft, default_seller_id: str | None) -> Outcome:
    """Apply the rules every format shares; return the invoice or every problem found."""
    _require(draft)
    currency = _currency(draft)
    amounts = _amounts(draft, currency) if currency else None
    signed = _signed(draft, amounts) if amounts else None
    seller = _party(draft, "seller", None)
    buyer = _party(draft, "buyer", seller.country)
    if buyer_key(buyer) is None and "buyer_name" not in draft.failed:
        draft.reject(
            "buyer_name",
            "The customer is not identified: give at least a name, VAT id, legal id or e-mail.",
        )
    iban = normalise_iban(draft.iban)
    _dropped(draft, "iban", draft.iban, iban, "an IBAN with a valid checksum")
    if draft.errors or signed is None or draft.issue_date is None or draft.number is None:
        return Outcome(None, rejected=tuple(draft.errors))
    kind, total, paid, due = signed
    if draft.due_date is not None and draft.due_date < draft.issue_date:
        draft.warn(
            "due_date",
            f"The due date {draft.due_date} is before the issue date {draft.issue_date}; "
            "it was kept, so the invoice is overdue from the start.",
            str(draft.due_date),
        )
    invoice = ParsedInvoice(
        number=draft.number.strip(),
        kind=kind,
        issue_date=draft.issue_date,
        due_date=due_date_or_terms(
            draft.issue_date,
            draft.due_date,
            draft.terms_days,
            end_of_month=draft.terms_end_of_month,
        ),
        payment_terms_days=draft.terms_days,
        currency=total.currency,
        amount_total=total,
        amount_paid=paid,
        amount_due=due,
        seller=seller,
        buyer=buyer,
        purchase_order=clean(draft.purchase_order),
        payment_reference=clean(draft.payment_reference),
        iban=iban,
        referenced_invoice=clean(draft.referenced_invoice),
        source_location=draft.location,
        profile=draft.profile,
        seller_id=seller_key(seller, default_seller_id),
        due_date_derived=draft.due_date is None,
    )
    return Outcome(invoice, warnings=tuple(draft.warnings))


def single_result(fmt: str, outcome: Outcome, profile: str | None) -> ReadResult:
    """The ReadResult of a one-invoice document (UBL, CII)."""
    return ReadResult(
        format=fmt,
        invoices=(outcome.invoice,) if outcome.invoice else (),
        rejected=outcome.rejected,
        profile=profile,
        warnings=outcome.warnings,
    )
