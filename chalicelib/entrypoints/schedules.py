"""Entry points: the dunning schedule (planner) and the actions-queue worker."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Blueprint, CloudWatchEvent, SQSEvent

from chalicelib.bootstrap import get_services
from chalicelib.entrypoints import triggers
from chalicelib.observability import metrics

bp = Blueprint(__name__)
log = logging.getLogger("chalicelib.schedules")


def _tick_time(event: CloudWatchEvent) -> datetime:
    # EventBridge stamps the scheduled time; a late invocation still plans for its own tick.
    return datetime.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@bp.schedule(triggers.DUNNING_SCHEDULE)
def send_due_reminders(event: CloudWatchEvent) -> dict[str, object]:
    started = get_services().dunning.run_cycle(_tick_time(event), trigger="schedule")
    metrics.add_metric(name="InvoicesDue", unit=MetricUnit.Count, value=started.examined)
    return {"run_id": started.run_id, "examined": started.examined, "enqueued": started.enqueued}


@bp.on_sqs_message(queue=triggers.ACTIONS_QUEUE_NAME, batch_size=10)
def process_due_actions(event: SQSEvent) -> None:
    services = get_services()
    dunning = services.dunning
    for record in event:
        body = json.loads(record.body)
        if body.get("kind") == "receipt":
            services.payments.send_receipt(body["customer_id"], body["invoice_ids"])
            continue
        message_id = record.to_dict().get("messageId", "")
        # Each delivery attempt reports its own counts (a redelivery shows as "already sent").
        batch_id = f"{message_id}#{uuid.uuid4().hex[:8]}"
        counts = dunning.process_batch(body, batch_id=batch_id)
        sent = counts.get("reminders_sent", 0)
        if sent:
            metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=sent)
        failed = sum(v for k, v in counts.items() if k.startswith("failed:"))
        if failed:
            metrics.add_metric(name="RemindersFailed", unit=MetricUnit.Count, value=failed)
