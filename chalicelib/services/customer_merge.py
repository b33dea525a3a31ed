"""Service helper: create or update a customer from the buyer data of an imported file."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.intake import ParsedParty
from chalicelib.domain.invoices import ChannelStatus, Customer, customer_id_for

CONTACT_FIELDS = ("name", "email", "phone", "country", "vat_id", "legal_id", "endpoint_id")

# Where a country's businesses usually are; a collector can change it through the API.
_TIMEZONES = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "CH": "Europe/Zurich",
    "DE": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "NL": "Europe/Amsterdam",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "SE": "Europe/Stockholm",
    "DK": "Europe/Copenhagen",
    "NO": "Europe/Oslo",
    "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw",
    "US": "America/New_York",
    "CA": "America/Toronto",
}


def buyer_key(buyer: ParsedParty) -> str:
    """Business rule: a buyer is identified by VAT id, else legal id, endpoint, email, name."""
    for value in (buyer.vat_id, buyer.legal_id, buyer.endpoint_id, buyer.email, buyer.name):
        if value:
            return value
    return "unknown buyer"


def _file_values(buyer: ParsedParty) -> dict[str, str]:
    values = {name: getattr(buyer, name) for name in CONTACT_FIELDS}
    if buyer.language:
        values["locale"] = buyer.language
    return {k: v for k, v in values.items() if v}


def new_customer(seller_id: str, buyer: ParsedParty) -> Customer:
    """A customer as first seen in a file."""
    values = _file_values(buyer)
    country = (buyer.country or "").upper() or None
    return Customer(
        customer_id=customer_id_for(seller_id, buyer_key(buyer)),
        seller_id=seller_id,
        name=buyer.name or buyer_key(buyer),
        email=buyer.email,
        phone=buyer.phone,
        country=country,
        locale=buyer.language or "fr",
        timezone=_TIMEZONES.get(country or "", "Europe/Paris"),
        vat_id=buyer.vat_id,
        legal_id=buyer.legal_id,
        endpoint_id=buyer.endpoint_id,
        file_values=tuple(sorted(values.items())),
    )


def merge_customer(existing: Customer, buyer: ParsedParty) -> Customer:
    """Business rule: a file updates contacts, except those a person edited through the API.

    An edited field is overwritten only when the file carries a value different from the one
    the previous file carried, i.e. the source system itself changed it since.
    """
    if existing.erased:
        # Erased under GDPR: a later file must not bring the personal data back.
        return existing
    incoming = _file_values(buyer)
    previous = dict(existing.file_values)
    changes: dict[str, object] = {}
    edited = set(existing.edited_fields)
    for name, value in incoming.items():
        current = getattr(existing, name)
        if current == value:
            continue
        if name in edited and previous.get(name) == value:
            continue
        changes[name] = value
        edited.discard(name)
    if "email" in changes:
        changes["email_status"] = ChannelStatus.OK
    if "phone" in changes and existing.sms_status != ChannelStatus.OPTED_OUT:
        changes["sms_status"] = ChannelStatus.OK
    file_values = tuple(sorted({**previous, **incoming}.items()))
    if not changes and file_values == existing.file_values:
        return existing
    merged: Customer = replace(existing, edited_fields=frozenset(edited), file_values=file_values)
    return replace(merged, **changes)  # type: ignore[arg-type]
