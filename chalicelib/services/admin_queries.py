"""Service: read models for the admin API (invoices, timelines, imports)."""

from __future__ import annotations

from chalicelib.domain.errors import InvoiceNotFoundError, ValidationError
from chalicelib.domain.invoices import Invoice, InvoiceStatus
from chalicelib.domain.records import ImportRecord, TimelineEvent
from chalicelib.services.ports import ImportLog, InvoiceRepository, Page, Timeline

MAX_PAGE = 200


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

    def invoices(
        self,
        *,
        number: str | None = None,
        customer_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Invoice]:
        """List invoices, filtered by number, customer or status.

        Raises:
            ValidationError: an unknown status or a bad limit.
        """
        _check_limit(limit)
        if status is not None and status not in {s.value for s in InvoiceStatus}:
            raise ValidationError(f"unknown status {status!r}", field="status")
        if number:
            found = [
                i
                for i in self._invoices.by_number(number)
                if (customer_id is None or i.customer_id == customer_id)
                and (status is None or i.status == status)
            ]
            return Page(tuple(found), None)
        return self._invoices.list(
            status=status, customer_id=customer_id, limit=limit, cursor=cursor
        )

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
        """An invoice's events, newest first."""
        self.invoice(invoice_id)
        return self._timeline.for_invoice(invoice_id, limit=_check_limit(limit), cursor=cursor)

    def customer_timeline(
        self, customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[TimelineEvent]:
        """A customer's events across invoices, newest first."""
        return self._timeline.for_customer(customer_id, limit=_check_limit(limit), cursor=cursor)

    def imports(self, *, limit: int = 50, cursor: str | None = None) -> Page[ImportRecord]:
        """Ingested files, newest first."""
        return self._imports.list(limit=_check_limit(limit), cursor=cursor)
