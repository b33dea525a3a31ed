"""Service: read models for the admin API (invoices, timelines, imports)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.errors import InvoiceNotFoundError, ValidationError
from chalicelib.domain.invoices import Invoice
from chalicelib.domain.records import EventType, ImportRecord, TimelineEvent
from chalicelib.services.ports import ImportLog, InvoiceRepository, Page, Timeline

MAX_PAGE = 200


def imported_events(invoices: list[Invoice]) -> tuple[TimelineEvent, ...]:
    """Business rule: an invoice's first event is its import, read from the invoice itself.

    Storing it as a separate item would double the writes of a bulk import for a fact the
    invoice already records (its source file and import time).
    """
    events = []
    for invoice in invoices:
        extra = dict(invoice.extra)
        if "imported_at" not in extra:
            continue
        details = {
            "source_key": invoice.source_key or "",
            "number": invoice.number,
            "amount_due": invoice.amount_due.to_wire(),
            "currency": invoice.currency,
        }
        events.append(
            TimelineEvent(
                event_id=f"import-{invoice.invoice_id}",
                invoice_id=invoice.invoice_id,
                customer_id=invoice.customer_id,
                type=EventType.IMPORTED,
                at=datetime.fromisoformat(extra["imported_at"]),
                actor="intake",
                details=tuple(sorted(details.items())),
            )
        )
    return tuple(events)


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


class AdminQueries:
    """Everything the admin API reads, paged."""

    def __init__(self, invoices: InvoiceRepository, timeline: Timeline, imports: ImportLog) -> None:
        self._invoices = invoices
        self._timeline = timeline
        self._imports = imports

    def invoice(self, invoice_id: str) -> Invoice:
        """One invoice.

        Raises:
            InvoiceNotFoundError: no such invoice.
        """
        invoice = self._invoices.get(invoice_id)
        if invoice is None:
            raise InvoiceNotFoundError(f"no invoice {invoice_id}")
        return invoice

    def invoice_timeline(
        self, invoice_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[TimelineEvent]:
        """An invoice's events, newest first, ending with its import."""
        invoice = self.invoice(invoice_id)
        page = self._timeline.for_invoice(invoice_id, limit=_check_limit(limit), cursor=cursor)
        if page.next_cursor is None:
            page = Page(page.items + imported_events([invoice]), None)
        return page

    def customer_timeline(
        self, customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[TimelineEvent]:
        """A customer's events across invoices, newest first, imports included."""
        page = self._timeline.for_customer(customer_id, limit=_check_limit(limit), cursor=cursor)
        if page.next_cursor is None:
            merged = page.items + imported_events(self._invoices.by_customer(customer_id))
            page = Page(tuple(sorted(merged, key=lambda e: e.at, reverse=True)), None)
        return page

    def imports(self, *, limit: int = 50, cursor: str | None = None) -> Page[ImportRecord]:
        """Ingested files, newest first."""
        return self._imports.list(limit=_check_limit(limit), cursor=cursor)
