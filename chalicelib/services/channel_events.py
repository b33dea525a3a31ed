"""Service: what SES tells us after sending (bounces, complaints, deliveries, opens, clicks).

Both SES formats arrive through the configuration set's SNS topic: event publishing records
(`eventType`) and identity notifications (`notificationType`). A hard bounce marks the address
invalid so later steps use the next reachable channel; a complaint stops email to the address;
the rest is recorded on the timeline. A customer left with no channel gets a task.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.invoices import ChannelStatus, Customer
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Task, TaskStatus, stable_id
from chalicelib.services.ports import Clock, CustomerRepository, TaskStore, Timeline

log = logging.getLogger(__name__)

_KINDS = {
    "bounce": EventType.BOUNCE,
    "complaint": EventType.COMPLAINT,
    "delivery": EventType.DELIVERY,
    "open": EventType.OPEN,
    "click": EventType.CLICK,
}


def _kind(record: Mapping[str, Any]) -> str:
    return str(record.get("eventType") or record.get("notificationType") or "").lower()


def _recipients(record: Mapping[str, Any], kind: str) -> list[str]:
    body = record.get(kind) or {}
    key = {"bounce": "bouncedRecipients", "complaint": "complainedRecipients"}.get(kind)
    if key:
        return [str(r.get("emailAddress", "")).lower() for r in body.get(key, [])]
    return [str(r).lower() for r in (record.get("mail") or {}).get("destination", [])]


class ChannelEvents:
    """Applies SES feedback to customers and timelines; safe to receive twice."""

    def __init__(
        self, *, customers: CustomerRepository, timeline: Timeline, tasks: TaskStore, clock: Clock
    ) -> None:
        self._customers = customers
        self._timeline = timeline
        self._tasks = tasks
        self._clock = clock

    def handle(self, record: Mapping[str, Any]) -> str:
        """Apply one SES event; returns what was done (for logs and tests)."""
        kind = _kind(record)
        event_type = _KINDS.get(kind)
        message_id = str((record.get("mail") or {}).get("messageId", ""))
        if event_type is None or not message_id:
            return f"ignored:{kind or 'unknown'}"
        archived = self._timeline.get_message(message_id)
        if archived is None:
            # Not one of our reminders (or its content already expired): nothing to attach to.
            log.info("SES event for an unknown message", extra={"kind": kind})
            return "ignored:unknown_message"
        at = _timestamp(record, kind) or self._clock.now()
        details = {"message_ref": message_id, "step": archived.step_id}
        if kind == "bounce":
            bounce = record.get("bounce") or {}
            details["bounce_type"] = str(bounce.get("bounceType", ""))
            details["bounce_subtype"] = str(bounce.get("bounceSubType", ""))
        if kind == "click":
            details["link"] = str((record.get("click") or {}).get("link", ""))[:500]
        # The SES event id makes the timeline write idempotent under SNS redelivery.
        seed = f"{message_id}|{kind}|{at.isoformat()}"
        self._timeline.append(
            TimelineEvent(
                event_id=hashlib.sha256(f"{seed}|{i}".encode()).hexdigest()[:24],
                invoice_id=i,
                customer_id=archived.customer_id,
                type=event_type,
                at=at,
                actor="ses",
                details=tuple(sorted(details.items())),
            )
            for i in archived.invoice_ids
        )
        if kind == "bounce" and details["bounce_type"] == "Permanent":
            self._mark(
                archived.customer_id,
                _recipients(record, kind),
                ChannelStatus.BOUNCED,
                archived.invoice_ids,
            )
        elif kind == "complaint":
            self._mark(
                archived.customer_id,
                _recipients(record, kind),
                ChannelStatus.COMPLAINED,
                archived.invoice_ids,
            )
        return f"recorded:{kind}"

    def _mark(
        self,
        customer_id: str,
        addresses: list[str],
        status: ChannelStatus,
        invoice_ids: tuple[str, ...],
    ) -> None:
        for _ in range(3):
            customer = self._customers.get(customer_id)
            if customer is None or not customer.email:
                return
            if customer.email.lower() not in addresses or customer.email_status == status:
                return
            try:
                saved = self._customers.save(replace(customer, email_status=status))
            except ConcurrentUpdateError:
                continue
            if not saved.can_email and not saved.can_text:
                self._unreachable_task(saved, invoice_ids)
            return

    def _unreachable_task(self, customer: Customer, invoice_ids: tuple[str, ...]) -> None:
        now = self._clock.now()
        self._tasks.create(
            Task(
                task_id=stable_id(
                    "task", "unreachable", customer.customer_id, customer.email or ""
                ),
                kind="unreachable",
                status=TaskStatus.OPEN,
                customer_id=customer.customer_id,
                invoice_ids=invoice_ids,
                step_id=None,
                note="Email bounced or was refused and no SMS number works: find a new contact.",
                created_at=now,
                due_date=(now + timedelta(days=1)).date(),
            )
        )


def _timestamp(record: Mapping[str, Any], kind: str) -> datetime | None:
    raw = (record.get(kind) or {}).get("timestamp") or (record.get("mail") or {}).get("timestamp")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
