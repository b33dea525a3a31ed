"""Service: customers as collectors see and correct them (contacts, locale, zone, segment, risk).

An edit through the API marks the field in `edited_fields`, so a later upload of an older
export does not undo it (see `customer_merge.merge_customer`: a file overwrites an edited
field only with a value its source system itself changed since).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import replace

from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    CustomerNotFoundError,
    InvalidTransitionError,
    ValidationError,
)
from chalicelib.domain.invoices import ChannelStatus, Customer, RiskClass
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.send_window import customer_zone
from chalicelib.services.ports import Clock, CustomerRepository, Page, Timeline

MAX_PAGE = 200
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "email",
        "phone",
        "country",
        "locale",
        "timezone",
        "segment",
        "risk_override",
        "policy_id",
    }
)
# Fields that may be cleared (set to null); the others always need a value.
NULLABLE_FIELDS = frozenset({"email", "phone", "country", "risk_override", "policy_id"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _check_value(name: str, value: str | None) -> object:
    """Business rule: what each editable field accepts; returns the value to store."""
    if value is None:
        if name not in NULLABLE_FIELDS:
            raise ValidationError(f"{name} cannot be empty", name)
        return None
    text = value.strip()
    checks: dict[str, tuple[re.Pattern[str] | None, str]] = {
        "email": (_EMAIL, "an email address"),
        "phone": (_E164, "an E.164 phone number such as +33612345678"),
        "country": (_COUNTRY, "an ISO 3166 alpha-2 code such as FR"),
        "locale": (_LOCALE, "a language code such as fr or en"),
        "segment": (_SEGMENT, "lower-case letters, digits, _ or -"),
        "policy_id": (_SEGMENT, "a policy id: lower-case letters, digits, _ or -"),
    }
    if name == "country":
        text = text.upper()
    if name == "name" and not text:
        raise ValidationError("name cannot be empty", name)
    if name == "timezone":
        customer_zone(text)
    if name == "risk_override":
        if text not in {r.value for r in RiskClass}:
            raise ValidationError("risk_override must be low, medium or high", name)
        return RiskClass(text)
    pattern, expected = checks.get(name, (None, ""))
    if pattern is not None and not pattern.match(text):
        raise ValidationError(f"{name} must be {expected}", name)
    return text


class CustomerAdmin:
    """Lists, reads and edits customers."""

    def __init__(self, customers: CustomerRepository, timeline: Timeline, clock: Clock) -> None:
        self._customers = customers
        self._timeline = timeline
        self._clock = clock

    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page[Customer]:
        """Customers, a page at a time.

        Raises:
            ValidationError: a bad limit or cursor.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", "limit")
        return self._customers.list(limit=limit, cursor=cursor)

    def get(self, customer_id: str) -> Customer:
        """One customer.

        Raises:
            CustomerNotFoundError: no such customer.
        """
        customer = self._customers.get(customer_id)
        if customer is None:
            raise CustomerNotFoundError(f"no customer {customer_id}")
        return customer

    def update(
        self,
        customer_id: str,
        changes: Mapping[str, str | None],
        *,
        by: str,
        version: int | None = None,
    ) -> Customer:
        """Change some fields; each one changed is marked as edited by a person.

        A new email or phone number is assumed reachable again (its bounce or opt-out status
        belonged to the old one). The timeline names the fields changed, never their values.

        Raises:
            CustomerNotFoundError: no such customer.
            InvalidTransitionError: the customer was erased (GDPR): no personal data comes back.
            ValidationError: an unknown field, or a value the field does not accept.
            ConcurrentUpdateError: `version` is not the customer's.
        """
        unknown = sorted(set(changes) - EDITABLE_FIELDS)
        if unknown:
            raise ValidationError(f"{unknown[0]} cannot be edited", unknown[0])
        values = {name: _check_value(name, value) for name, value in changes.items()}
        customer = self.get(customer_id)
        if customer.erased:
            raise InvalidTransitionError(f"customer {customer_id} was erased")
        if version is not None and customer.version != version:
            raise ConcurrentUpdateError(
                f"customer {customer_id} is at version {customer.version}, not {version}"
            )
        changed = sorted(n for n, v in values.items() if getattr(customer, n) != v)
        if not changed:
            return customer
        extra: dict[str, object] = {}
        if "email" in changed:
            extra["email_status"] = ChannelStatus.OK
        if "phone" in changed:
            extra["sms_status"] = ChannelStatus.OK
        updated = replace(
            customer,
            edited_fields=customer.edited_fields | frozenset(changed),
        )
        updated = replace(updated, **{n: values[n] for n in changed}, **extra)  # type: ignore[arg-type]
        saved = self._customers.save(updated)
        self._timeline.append(
            [
                TimelineEvent(
                    event_id=uuid.uuid4().hex,
                    invoice_id=None,
                    customer_id=customer_id,
                    type=EventType.UPDATED,
                    at=self._clock.now(),
                    actor=by,
                    details=(("changed", ",".join(changed)), ("scope", "customer")),
                )
            ]
        )
        return saved
