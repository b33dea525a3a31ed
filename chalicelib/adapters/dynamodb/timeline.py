"""Adapter: DynamoTimeline, the append-only history per invoice and per customer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import TimelineRecord, map_values
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.services.ports import Page


def _pk(event: TimelineEvent) -> str:
    return event.invoice_id or f"customer#{event.customer_id}"


class DynamoTimeline:
    @staticmethod
    def to_record(event: TimelineEvent) -> TimelineRecord:
        at = event.at.astimezone(UTC).isoformat()
        return TimelineRecord(
            _pk(event),
            f"{at}#{event.event_id}",
            customer_id=event.customer_id,
            invoice_id=event.invoice_id,
            event_id=event.event_id,
            type=event.type.value,
            at=at,
            actor=event.actor,
            details=dict(event.details),
        )

    @staticmethod
    def to_domain(record: TimelineRecord) -> TimelineEvent:
        details = map_values(record.details)
        return TimelineEvent(
            event_id=record.event_id,
            invoice_id=record.invoice_id,
            customer_id=record.customer_id,
            type=EventType(record.type),
            at=datetime.fromisoformat(record.at),
            actor=record.actor,
            details=tuple((str(k), str(v)) for k, v in details.items()),
        )

    def append(self, events: Iterable[TimelineEvent]) -> None:
        records = [self.to_record(e) for e in events]
        if len(records) == 1:
            records[0].save()
            return
        with TimelineRecord.batch_write() as batch:
            for record in records:
                batch.save(record)

    def for_invoice(
        self, invoice_id: str, *, limit: int, cursor: str | None
    ) -> Page[TimelineEvent]:
        result = TimelineRecord.query(
            invoice_id,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = tuple(self.to_domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))

    def for_customer(
        self, customer_id: str, *, limit: int, cursor: str | None
    ) -> Page[TimelineEvent]:
        result = TimelineRecord.by_customer.query(
            customer_id,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = tuple(self.to_domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))
