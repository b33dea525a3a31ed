"""Adapter: DynamoTimeline, the append-only history per invoice and per customer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import GenericRecord, TimelineRecord, map_values
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.services.ports import ArchivedMessage, Page


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

    def count_since(self, customer_id: str, types: frozenset[EventType], since: datetime) -> int:
        condition = TimelineRecord.type.is_in(*[t.value for t in types])
        messages = {
            map_values(record.details).get("message_ref") or record.event_id
            for record in TimelineRecord.by_customer.query(
                customer_id,
                TimelineRecord.sk >= since.astimezone(UTC).isoformat(),
                filter_condition=condition,
            )
        }
        return len(messages)

    def archive_message(self, message: ArchivedMessage) -> None:
        # Bodies live in the records table, whose TTL drops them after the retention period.
        GenericRecord(
            f"message#{message.message_ref}",
            "message",
            gsi1pk=f"messages#{message.customer_id}",
            gsi1sk=f"{message.sent_at.astimezone(UTC).isoformat()}#{message.message_ref}",
            expires_at=message.expires_at,
            data={
                "message_ref": message.message_ref,
                "customer_id": message.customer_id,
                "invoice_ids": list(message.invoice_ids),
                "channel": message.channel,
                "step_id": message.step_id,
                "to": message.to,
                "subject": message.subject,
                "text": message.text,
                "sent_at": message.sent_at.isoformat(),
                "expires_at": message.expires_at.isoformat(),
            },
        ).save()

    def get_message(self, message_ref: str) -> ArchivedMessage | None:
        try:
            record = GenericRecord.get(f"message#{message_ref}", "message")
        except GenericRecord.DoesNotExist:
            return None
        d = map_values(record.data)
        return ArchivedMessage(
            message_ref=d["message_ref"],
            customer_id=d["customer_id"],
            invoice_ids=tuple(d.get("invoice_ids") or ()),
            channel=d["channel"],
            step_id=d["step_id"],
            to=d["to"],
            subject=d.get("subject"),
            text=d["text"],
            sent_at=datetime.fromisoformat(d["sent_at"]),
            expires_at=datetime.fromisoformat(d["expires_at"]),
        )
