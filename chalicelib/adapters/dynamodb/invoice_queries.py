"""Adapter: filtered invoice listing and the full-portfolio reads behind the reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.tables import CustomerRecord, InvoiceRecord, TimelineRecord
from chalicelib.adapters.dynamodb.timeline import DynamoTimeline
from chalicelib.domain.invoices import CLOSED_STATUSES, Invoice
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.services.ports import InvoiceFilter, Page


def _due_condition(due_from: date | None, due_to: date | None) -> Any:
    low = due_from.isoformat() if due_from else None
    high = due_to.isoformat() if due_to else None
    if low and high:
        return InvoiceRecord.due_date.between(low, high)
    if low:
        return InvoiceRecord.due_date >= low
    if high:
        return InvoiceRecord.due_date <= high
    return None


def _and(*conditions: Any) -> Any:
    combined = None
    for condition in conditions:
        if condition is None:
            continue
        combined = condition if combined is None else combined & condition
    return combined


class DynamoInvoiceFinder:
    """Picks the index from the filters: customer, else status, else a filtered scan.

    The due date is the sort key of both the customer and the status index, so an overdue
    range on them is a key condition (read in O(matches)); the scan is the fallback when
    neither a customer nor a status is given.
    """

    def find(self, filters: InvoiceFilter, *, limit: int, cursor: str | None) -> Page[Invoice]:
        start = decode_cursor(cursor)
        due = _due_condition(filters.due_from, filters.due_to)
        step = InvoiceRecord.steps_done.contains(filters.step_done) if filters.step_done else None
        still_open = (
            ~InvoiceRecord.status.is_in(*[s.value for s in CLOSED_STATUSES])
            if filters.open_only
            else None
        )
        if filters.customer_id:
            status = InvoiceRecord.status == filters.status if filters.status else None
            result = InvoiceRecord.by_customer.query(
                filters.customer_id,
                range_key_condition=due,
                filter_condition=_and(status, step, still_open),
                limit=limit,
                last_evaluated_key=start,
            )
        elif filters.status:
            result = InvoiceRecord.by_status.query(
                filters.status,
                range_key_condition=due,
                filter_condition=_and(step, still_open),
                limit=limit,
                last_evaluated_key=start,
            )
        else:
            result = InvoiceRecord.scan(
                filter_condition=_and(due, step, still_open),
                limit=limit,
                last_evaluated_key=start,
            )
        items = tuple(DynamoInvoiceRepository.to_domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))


class DynamoPortfolio:
    """Whole-table reads for the reports (one scan per table per report request)."""

    def invoices(self) -> Iterator[Invoice]:
        for record in InvoiceRecord.scan():
            yield DynamoInvoiceRepository.to_domain(record)

    def customer_names(self) -> dict[str, str]:
        return {
            r.customer_id: r.name
            for r in CustomerRecord.scan(attributes_to_get=["customer_id", "name"])
        }

    def events(self, types: frozenset[EventType]) -> Iterator[TimelineEvent]:
        condition = TimelineRecord.type.is_in(*[t.value for t in types])
        for record in TimelineRecord.scan(filter_condition=condition):
            yield DynamoTimeline.to_domain(record)
