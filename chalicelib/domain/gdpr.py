"""Domain: GDPR erasure rules (pseudonym, what is personal, redaction of free text).

Erasure keeps the accounting facts (invoice numbers, amounts, dates, payments) and removes
what identifies the person: the customer's name becomes a pseudonym derived from its id,
contacts and identifiers are cleared, and every free text Relance holds about the customer
(message subjects, collectors' comments, error reports) is redacted. See docs/gdpr.md.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.invoices import ChannelStatus, Customer
from chalicelib.domain.records import EventType, TimelineEvent

ERASED_PREFIX = "erased-"
REDACTED = "[erased]"

# Detail keys whose whole value is a contact or a name, whatever it looks like.
PERSONAL_DETAIL_KEYS = frozenset(
    {"to", "recipient", "email", "phone", "name", "customer_name", "address", "payer_email"}
)
# Parts of a company name too generic to identify anyone on their own.
_GENERIC_TOKENS = frozenset(
    {"sarl", "sas", "sasu", "eurl", "sci", "gmbh", "ltd", "limited", "inc", "llc", "bv", "nv"}
)
_MIN_TOKEN = 4
_MIN_PHONE_DIGITS = 8
_SUBSCRIBER_DIGITS = 9
_PHONE_LIKE = re.compile(r"\+?\(?\d[\d\s.\-()/]{5,}\d")


def pseudonym(customer_id: str) -> str:
    """Business rule: an erased customer's name is ``erased-`` + a hash of its id.

    Derived from the id only, so erasing twice gives the same name and the pseudonym carries
    nothing the id does not already carry.
    """
    return ERASED_PREFIX + hashlib.sha256(customer_id.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class PersonalData:
    """The values that identify one customer, as they may appear in free text.

    Attributes:
        values: Whole values (names, emails, identifiers), longest first.
        tokens: Distinctive words of the names, for texts about this customer only.
        phone_digits: Phone numbers as digits only, matched however they are written.
    """

    values: tuple[str, ...]
    tokens: tuple[str, ...] = ()
    phone_digits: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when there is nothing left to look for."""
        return not self.values and not self.tokens and not self.phone_digits


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _longest_first(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values, key=lambda v: (-len(v), v)))


def personal_data_of(customer: Customer) -> PersonalData:
    """Business rule: the customer's name, contacts and identifiers, as stored and as imported.

    A name's distinctive words are kept apart (a subject may say "Dupont" without "Atelier"):
    they are redacted in texts about this customer, never in files shared with others. Values
    too short to be distinctive are left out, so redaction never blanks unrelated text.
    """
    file_values = dict(customer.file_values)
    keys = ("name", "email", "vat_id", "legal_id", "endpoint_id")
    raw = [getattr(customer, k) for k in keys] + [file_values.get(k) for k in keys]
    names = [customer.name, file_values.get("name")]
    phones = [p for p in (customer.phone, file_values.get("phone")) if p]
    values = {
        v.strip() for v in raw if v and not v.startswith(ERASED_PREFIX) and len(v.strip()) >= 3
    }
    values |= {p.strip() for p in phones if len(_digits(p)) >= _MIN_PHONE_DIGITS}
    tokens = {
        token
        for name in names
        if name and not name.startswith(ERASED_PREFIX)
        for token in re.split(r"[\s,.;:()'\"/&-]+", name)
        if len(token) >= _MIN_TOKEN and token.casefold() not in _GENERIC_TOKENS
    }
    digits = {_digits(p) for p in phones if len(_digits(p)) >= _MIN_PHONE_DIGITS}
    return PersonalData(
        _longest_first(values), _longest_first(tokens - values), tuple(sorted(digits))
    )


def _variants(value: str) -> set[str]:
    """The forms a value takes once escaped for XML/HTML or JSON."""
    return {value, html.escape(value, quote=False), json.dumps(value)[1:-1]}


def _same_phone(candidate: str, known: tuple[str, ...]) -> bool:
    digits = _digits(candidate)
    if len(digits) < _MIN_PHONE_DIGITS:
        return False
    # "+33 6 12 34 56 78", "+33 (0)6...", "0612345678" are one number: the country code and
    # trunk prefix vary, the last nine digits (the subscriber number) do not.
    tail = _SUBSCRIBER_DIGITS
    return any(k[-tail:] == digits[-tail:] for k in known if len(k) >= tail) or digits in known


def _replace_whole(text: str, value: str, replacement: str) -> str:
    # Whole words only: erasing "Marc" must not touch "Marcel" in someone else's row.
    pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
    return re.sub(pattern, lambda _: replacement, text, flags=re.IGNORECASE)


def redact(
    text: str, personal: PersonalData, replacement: str = REDACTED, *, tokens: bool = True
) -> str:
    """Business rule: replace every occurrence of the customer's personal values in a text.

    Matching ignores case, works on whole words, also finds the XML/HTML- and JSON-escaped
    forms of each value, and finds phone numbers whatever their spacing or prefix. With
    ``tokens=False`` (files that also hold other customers) single name words are left alone.
    """
    if not text or personal.is_empty:
        return text
    result = text
    wanted = personal.values + (personal.tokens if tokens else ())
    for value in wanted:
        for form in sorted(_variants(value), key=len, reverse=True):
            result = _replace_whole(result, form, replacement)
    if personal.phone_digits:
        result = _PHONE_LIKE.sub(
            lambda m: replacement if _same_phone(m.group(0), personal.phone_digits) else m.group(0),
            result,
        )
    return result


def scrub_event(event: TimelineEvent, personal: PersonalData) -> TimelineEvent:
    """Business rule: an event keeps its facts (type, time, amounts, ids) but no personal text.

    Details that are contacts or names are replaced outright; every other detail is redacted.
    """
    details = tuple(
        (key, REDACTED if key in PERSONAL_DETAIL_KEYS and value else redact(value, personal))
        for key, value in event.details
    )
    return event if details == event.details else replace(event, details=details)


def erase_customer(customer: Customer) -> Customer:
    """Business rule: the erased customer keeps its id, seller, country and settings only.

    Name becomes the pseudonym; email, phone and every identifier (VAT, registration,
    electronic address) are cleared, since a sole trader's registration number identifies a
    person; the values last imported from files are forgotten. `erased` stops the engine.
    """
    return replace(
        customer,
        name=pseudonym(customer.customer_id),
        email=None,
        phone=None,
        vat_id=None,
        legal_id=None,
        endpoint_id=None,
        email_status=ChannelStatus.OK,
        sms_status=ChannelStatus.OK,
        file_values=(),
        edited_fields=frozenset(),
        erased=True,
    )


def erased_event(customer_id: str, at: datetime, by: str, event_id: str) -> TimelineEvent:
    """The customer-level record that an erasure took place (no personal data in it)."""
    return TimelineEvent(
        event_id=event_id,
        invoice_id=None,
        customer_id=customer_id,
        type=EventType.ERASED,
        at=at,
        actor=by,
        details=(("scope", "customer"),),
    )
