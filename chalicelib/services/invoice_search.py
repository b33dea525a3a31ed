"""Service: the filtered, cursor-paged invoice list of the admin API.

Filters the store can serve are pushed down: customer or status pick an index, the overdue
range becomes a key condition on the due date, and "step reached" a store-side filter. Segment
(a customer attribute) and next step (which depends on the invoice's policy) are applied to
each page read. A page therefore holds at most `limit` items, and may hold fewer, even none,
while `next` is not null: follow `next` until it is null. The cursor records where in the
store's page the previous answer stopped, so nothing is skipped or repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import Customer, Invoice, InvoiceStatus
from chalicelib.domain.policies import DunningPolicy
from chalicelib.services.ports import (
    Clock,
    CustomerRepository,
    InvoiceFilter,
    InvoiceFinder,
    InvoiceRepository,
    Page,
)

MAX_PAGE = 200
# Store pages read per request at most, so a rare filter value cannot make one call scan all.
MAX_READS = 5
MAX_DAYS = 36_500

PolicyFor = Callable[[Invoice], DunningPolicy]


@dataclass(frozen=True, slots=True)
class InvoiceQuery:
    """Every filter of GET /admin/invoices; None means "any"."""

    number: str | None = None
    customer_id: str | None = None
    status: str | None = None
    segment: str | None = None
    min_days_overdue: int | None = None
    max_days_overdue: int | None = None
    step: str | None = None
    next_step: str | None = None


@dataclass(frozen=True, slots=True)
class _Position:
    store_cursor: str | None
    offset: int
    page_size: int


def _encode(position: _Position) -> str:
    raw = json.dumps(
        {"c": position.store_cursor, "o": position.offset, "l": position.page_size},
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None, limit: int) -> _Position:
    if not cursor:
        return _Position(None, 0, limit)
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        store, offset, size = value["c"], value["o"], value["l"]
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise ValidationError("cursor is not one this API returned", "cursor") from exc
    if not (
        (store is None or isinstance(store, str))
        and isinstance(offset, int)
        and isinstance(size, int)
        and 0 <= offset < size <= MAX_PAGE
    ):
        raise ValidationError("cursor is not one this API returned", "cursor")
    return _Position(store, offset, size)


def next_step_of(invoice: Invoice, policy: DunningPolicy) -> str | None:
    """Business rule: an open invoice's next step is the first policy step not yet done."""
    if invoice.is_closed:
        return None
    done = set(invoice.steps_done)
    return next((s.step_id for s in policy.steps if s.step_id not in done), None)


def _check(query: InvoiceQuery, limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", "limit")
    if query.status is not None and query.status not in {s.value for s in InvoiceStatus}:
        raise ValidationError(f"unknown status {query.status!r}", "status")
    for name in ("min_days_overdue", "max_days_overdue"):
        value = getattr(query, name)
        if value is not None and not -MAX_DAYS <= value <= MAX_DAYS:
            raise ValidationError(f"{name} must be between {-MAX_DAYS} and {MAX_DAYS}", name)
    low, high = query.min_days_overdue, query.max_days_overdue
    if low is not None and high is not None and low > high:
        raise ValidationError("min_days_overdue is more than max_days_overdue", "min_days_overdue")


class InvoiceSearch:
    """Answers GET /admin/invoices with every filter, cursor-paged."""

    def __init__(
        self,
        *,
        finder: InvoiceFinder,
        invoices: InvoiceRepository,
        customers: CustomerRepository,
        policy_for: PolicyFor,
        clock: Clock,
    ) -> None:
        self._finder = finder
        self._invoices = invoices
        self._customers = customers
        self._policy_for = policy_for
        self._clock = clock

    def store_filter(self, query: InvoiceQuery) -> InvoiceFilter:
        """Business rule: days overdue = today - due date, so a range of days is a due-date range.

        An overdue range leaves out closed invoices (paid, cancelled, written off) unless a
        status is asked for: a paid invoice is not overdue, however old.
        """
        today = self._clock.now().date()
        low, high = query.min_days_overdue, query.max_days_overdue
        due_to = today - timedelta(days=low) if low is not None else None
        due_from = today - timedelta(days=high) if high is not None else None
        return InvoiceFilter(
            status=query.status,
            customer_id=query.customer_id,
            due_from=due_from,
            due_to=due_to,
            step_done=query.step,
            open_only=(low is not None or high is not None) and query.status is None,
        )

    def _keep(self, invoice: Invoice, query: InvoiceQuery, segments: dict[str, str]) -> bool:
        if query.segment is not None and segments.get(invoice.customer_id) != query.segment:
            return False
        if query.next_step is not None:
            return next_step_of(invoice, self._policy_for(invoice)) == query.next_step
        return True

    def _segments(self, items: tuple[Invoice, ...], query: InvoiceQuery) -> dict[str, str]:
        if query.segment is None:
            return {}
        customers: list[Customer] = self._customers.get_many([i.customer_id for i in items])
        return {c.customer_id: c.segment for c in customers}

    def _by_number(self, query: InvoiceQuery, flt: InvoiceFilter) -> Page[Invoice]:
        found = [
            i
            for i in self._invoices.by_number(query.number or "")
            if (flt.customer_id is None or i.customer_id == flt.customer_id)
            and (flt.status is None or i.status == flt.status)
            and (not flt.open_only or not i.is_closed)
            and (flt.due_from is None or i.due_date >= flt.due_from)
            and (flt.due_to is None or i.due_date <= flt.due_to)
            and (flt.step_done is None or flt.step_done in i.steps_done)
        ]
        segments = self._segments(tuple(found), query)
        return Page(tuple(i for i in found if self._keep(i, query, segments)), None)

    def invoices(
        self, query: InvoiceQuery, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Invoice]:
        """One page of invoices matching every filter given.

        Raises:
            ValidationError: a bad status, limit, cursor or overdue range (names the field).
        """
        _check(query, limit)
        flt = self.store_filter(query)
        if query.number:
            return self._by_number(query, flt)
        position = _decode(cursor, limit)
        found: list[Invoice] = []
        for _ in range(MAX_READS):
            page = self._finder.find(flt, limit=position.page_size, cursor=position.store_cursor)
            segments = self._segments(page.items, query)
            for index in range(position.offset, len(page.items)):
                invoice = page.items[index]
                if not self._keep(invoice, query, segments):
                    continue
                found.append(invoice)
                if len(found) == limit:
                    return Page(tuple(found), self._after(position, page, index))
            if page.next_cursor is None:
                return Page(tuple(found), None)
            position = _Position(page.next_cursor, 0, position.page_size)
        return Page(tuple(found), _encode(position))

    @staticmethod
    def _after(position: _Position, page: Page[Invoice], index: int) -> str | None:
        if index + 1 < len(page.items):
            return _encode(_Position(position.store_cursor, index + 1, position.page_size))
        if page.next_cursor is None:
            return None
        return _encode(_Position(page.next_cursor, 0, position.page_size))
