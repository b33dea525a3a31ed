"""Adapter: DynamoInvoiceRepository, mapping InvoiceRecord <-> domain Invoice."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import InvoiceRecord, map_values
from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.invoices import CLOSED_STATUSES, DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.services.ports import DueEntry, Page


def _iso(value: datetime | date | None) -> str | None:
    # Datetimes are stored in UTC so that the due index sorts lexicographically by time.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def due_shard_for(invoice_id: str, shards: int) -> str:
    """Spread due-index writes over N partitions; stable per invoice."""
    return f"{zlib.crc32(invoice_id.encode()) % shards:03d}"


def is_conditional_failure(exc: PutError | UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


class DynamoInvoiceRepository:
    def __init__(self, shards: int) -> None:
        self._shards = shards

    # -- mapping --

    def to_record(self, invoice: Invoice) -> InvoiceRecord:
        currency = invoice.currency
        has_action = invoice.next_action_at is not None and invoice.status not in CLOSED_STATUSES
        record = InvoiceRecord(
            invoice.invoice_id,
            seller_id=invoice.seller_id,
            number=invoice.number,
            customer_id=invoice.customer_id,
            kind=invoice.kind.value,
            status=invoice.status.value,
            issue_date=invoice.issue_date.isoformat(),
            due_date=invoice.due_date.isoformat(),
            currency=currency,
            total_minor=invoice.amount_total.minor,
            paid_minor=invoice.amount_paid.minor,
            credited_minor=invoice.credited.minor if invoice.credited else 0,
            disputed_minor=invoice.disputed_amount.minor if invoice.disputed_amount else None,
            purchase_order=invoice.purchase_order,
            payment_reference=invoice.payment_reference,
            iban=invoice.iban,
            source_key=invoice.source_key,
            source_format=invoice.source_format,
            next_action_at=_iso(invoice.next_action_at) if has_action else None,
            due_shard=due_shard_for(invoice.invoice_id, self._shards) if has_action else None,
            policy_id=invoice.policy_id,
            policy_version=invoice.policy_version,
            steps_done=list(invoice.steps_done),
            paused_until=_iso(invoice.paused_until),
            paused=invoice.paused,
            promise_date=_iso(invoice.promise_date),
            paid_at=_iso(invoice.paid_at),
            extra=dict(invoice.extra),
        )
        if invoice.version:
            record.version = invoice.version
        return record

    @staticmethod
    def to_domain(record: InvoiceRecord) -> Invoice:
        currency = record.currency
        extra = map_values(record.extra)
        return Invoice(
            invoice_id=record.invoice_id,
            seller_id=record.seller_id,
            number=record.number,
            customer_id=record.customer_id,
            kind=DocumentKind(record.kind),
            status=InvoiceStatus(record.status),
            issue_date=date.fromisoformat(record.issue_date),
            due_date=date.fromisoformat(record.due_date),
            amount_total=Money(int(record.total_minor), currency),
            amount_paid=Money(int(record.paid_minor), currency),
            credited=Money(int(record.credited_minor), currency) if record.credited_minor else None,
            disputed_amount=(
                Money(int(record.disputed_minor), currency)
                if record.disputed_minor is not None
                else None
            ),
            purchase_order=record.purchase_order,
            payment_reference=record.payment_reference,
            iban=record.iban,
            source_key=record.source_key,
            source_format=record.source_format,
            next_action_at=_dt(record.next_action_at),
            policy_id=record.policy_id,
            policy_version=int(record.policy_version)
            if record.policy_version is not None
            else None,
            steps_done=tuple(record.steps_done or ()),
            paused_until=_dt(record.paused_until),
            paused=bool(record.paused),
            promise_date=date.fromisoformat(record.promise_date) if record.promise_date else None,
            paid_at=_dt(record.paid_at),
            version=int(record.version or 0),
            extra=tuple(sorted((str(k), str(v)) for k, v in extra.items())),
        )

    # -- port --

    def get(self, invoice_id: str) -> Invoice | None:
        try:
            return self.to_domain(InvoiceRecord.get(invoice_id, consistent_read=True))
        except InvoiceRecord.DoesNotExist:
            return None

    def get_many(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        unique = list(dict.fromkeys(invoice_ids))
        found = {r.invoice_id: self.to_domain(r) for r in InvoiceRecord.batch_get(unique)}
        return [found[i] for i in unique if i in found]

    def save(self, invoice: Invoice) -> Invoice:
        record = self.to_record(invoice)
        try:
            record.save()
        except PutError as exc:
            if is_conditional_failure(exc):
                raise ConcurrentUpdateError(
                    f"invoice {invoice.invoice_id} changed since version {invoice.version}"
                ) from exc
            raise
        return self.to_domain(record)

    def save_new_batch(self, invoices: Sequence[Invoice]) -> None:
        # BatchWriteItem cannot carry conditions; callers only batch invoices they know are new.
        with InvoiceRecord.batch_write() as batch:
            for invoice in invoices:
                record = self.to_record(invoice)
                record.version = 1
                batch.save(record)

    def by_customer(self, customer_id: str) -> list[Invoice]:
        return [self.to_domain(r) for r in InvoiceRecord.by_customer.query(customer_id)]

    def by_number(self, number: str) -> list[Invoice]:
        ids = [r.invoice_id for r in InvoiceRecord.by_number.query(number)]
        return self.get_many(ids)

    def list(
        self, *, status: str | None, customer_id: str | None, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        start = decode_cursor(cursor)
        if customer_id:
            condition = InvoiceRecord.status == status if status else None
            result = InvoiceRecord.by_customer.query(
                customer_id, filter_condition=condition, limit=limit, last_evaluated_key=start
            )
        elif status:
            result = InvoiceRecord.by_status.query(status, limit=limit, last_evaluated_key=start)
        else:
            result = InvoiceRecord.scan(limit=limit, last_evaluated_key=start)
        items = tuple(self.to_domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))

    def due(self, shard: int, until: datetime) -> Iterator[DueEntry]:
        for record in InvoiceRecord.due.query(
            f"{shard:03d}", InvoiceRecord.next_action_at <= _iso(until)
        ):
            yield DueEntry(
                record.invoice_id,
                record.customer_id,
                datetime.fromisoformat(str(record.next_action_at)),
            )

    def delete(self, invoice_id: str) -> None:
        InvoiceRecord(invoice_id).delete()
