"""Adapter: what GDPR access and erasure need from DynamoDB (messages, work, event rewrites)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.adapters.dynamodb.tables import GenericRecord, TimelineRecord, map_values
from chalicelib.adapters.dynamodb.timeline import DynamoTimeline
from chalicelib.adapters.dynamodb.work import DynamoApprovalStore, DynamoTaskStore
from chalicelib.domain.records import TimelineEvent
from chalicelib.domain.work import Approval, ApprovalStatus, Task, TaskStatus
from chalicelib.services.ports import ArchivedMessage


class DynamoMessageArchive:
    """Archived messages: pk `message#<ref>`, grouped by `messages#<customer id>`."""

    def for_customer(self, customer_id: str) -> list[ArchivedMessage]:
        messages = []
        for record in GenericRecord.by_group.query(f"messages#{customer_id}"):
            d = map_values(record.data)
            messages.append(
                ArchivedMessage(
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
            )
        return messages

    def delete(self, message_ref: str) -> None:
        # Erasure wins over whatever version the item is at.
        GenericRecord(f"message#{message_ref}", "message").delete(add_version_condition=False)


class DynamoCustomerWork:
    """A customer's tasks and approvals, read through the status groups with a filter.

    Only GDPR requests need this, rare enough not to deserve an index of their own.
    """

    def tasks_for(self, customer_id: str) -> list[Task]:
        found: list[Task] = []
        for status in TaskStatus:
            for record in GenericRecord.by_group.query(
                f"tasks#{status.value}",
                filter_condition=GenericRecord.data["customer_id"] == customer_id,
            ):
                found.append(DynamoTaskStore._domain(record))
        return found

    def approvals_for(self, customer_id: str) -> list[Approval]:
        found: list[Approval] = []
        for status in ApprovalStatus:
            for record in GenericRecord.by_group.query(
                f"approvals#{status.value}",
                filter_condition=GenericRecord.data["customer_id"] == customer_id,
            ):
                found.append(DynamoApprovalStore._domain(record))
        return found

    def rewrite_task(self, task: Task) -> None:
        DynamoTaskStore().save(task)

    def rewrite_approval(self, approval: Approval) -> None:
        record = DynamoApprovalStore._record(approval)
        try:
            current = GenericRecord.get(record.pk, record.sk, consistent_read=True)
        except GenericRecord.DoesNotExist:
            return
        record.version = current.version
        record.save()


class DynamoTimelineEditor:
    """Events keep their key (entity, time, id), so writing one again replaces it."""

    def replace(self, events: Sequence[TimelineEvent]) -> None:
        with TimelineRecord.batch_write() as batch:
            for event in events:
                batch.save(DynamoTimeline.to_record(event))
