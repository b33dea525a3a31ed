"""The local event pump: what AWS does between the emulator and the Lambda handlers.

moto runs no Lambdas and fires no schedules. The pump polls the same SQS queues that feed the
Lambdas on AWS, invokes the same handlers with the same event shapes, and fires `@schedule`
handlers from their Rate/Cron expressions. A failing handler is logged with its event and its
messages are left on the queue: SQS redelivers them after the visibility timeout and moves them
to the dead-letter queue after maxReceiveCount, exactly as on AWS.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_croniter import AwsCroniter
from chalice.app import Chalice, ScheduledEventConfig, SNSEventConfig, SQSEventConfig

log = logging.getLogger("devstack.pump")

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

Invoke = Callable[[str, dict[str, Any]], Any]


def next_fire(expression: str, after: datetime) -> datetime:
    """The next time an EventBridge schedule expression fires after `after` (UTC)."""
    rate = _RATE.match(expression.strip())
    if rate:
        seconds = int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).rstrip("s")]
        return after + timedelta(seconds=seconds)
    if expression.startswith("cron(") and expression.endswith(")"):
        fire: datetime = AwsCroniter(expression[5:-1]).get_next(after.replace(tzinfo=None), 1)[0]
        return fire.replace(tzinfo=UTC)
    raise ValueError(f"unsupported schedule expression {expression!r}")


def scheduled_event(rule_arn: str, at: datetime, region: str, account: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sns_record(notification: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": notification.get("Type", "Notification"),
            "MessageId": notification.get("MessageId", str(uuid.uuid4())),
            "TopicArn": notification.get("TopicArn", ""),
            "Subject": notification.get("Subject"),
            "Message": notification.get("Message", ""),
            "Timestamp": notification.get("Timestamp", ""),
            "SignatureVersion": notification.get("SignatureVersion", "1"),
            "Signature": notification.get("Signature", ""),
            "SigningCertUrl": notification.get("SigningCertURL", ""),
            "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
            "MessageAttributes": notification.get("MessageAttributes", {}),
        },
    }


@dataclass
class _QueueSource:
    handler: str
    url: str
    arn: str
    batch_size: int
    kind: str  # "sqs" or "sns"


@dataclass
class _Schedule:
    handler: str
    expression: str
    next_at: datetime


class EventPump:
    """Feeds queue messages and schedule ticks to the app's handlers."""

    def __init__(
        self,
        app: Chalice,
        sqs: Any,
        sns: Any,
        invoke: Invoke,
        *,
        region: str,
        account: str,
        stage: str,
        retry_delay_s: int = 5,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self._account = account
        self._retry_delay_s = retry_delay_s
        self._now = now
        self.queues: list[_QueueSource] = []
        self.schedules: list[_Schedule] = []
        self.failures = 0
        self.invocations = 0
        start = now()
        for source in app.event_sources:
            if isinstance(source, SQSEventConfig):
                url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
                self.queues.append(
                    _QueueSource(
                        source.name, url, self._queue_arn(source.queue), source.batch_size, "sqs"
                    )
                )
            elif isinstance(source, SNSEventConfig):
                self.queues.append(self._bridge_topic(sns, source, stage))
            elif isinstance(source, ScheduledEventConfig):
                self.schedules.append(
                    _Schedule(
                        source.name,
                        str(source.schedule_expression),
                        next_fire(str(source.schedule_expression), start),
                    )
                )

    def _queue_arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self._region}:{self._account}:{name}"

    def _bridge_topic(self, sns: Any, source: SNSEventConfig, stage: str) -> _QueueSource:
        # SNS -> Lambda is not emulated; an SQS subscription carries the same notification JSON.
        topic_arn = f"arn:aws:sns:{self._region}:{self._account}:{source.topic}"
        queue_name = f"relance-{stage}-pump-{source.name}"
        url = self._sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        arn = self._queue_arn(queue_name)
        subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        return _QueueSource(source.name, url, subscription["SubscriptionArn"], 1, "sns")

    def _event_for(self, source: _QueueSource, messages: list[dict[str, Any]]) -> dict[str, Any]:
        if source.kind == "sns":
            return {"Records": [sns_record(json.loads(m["Body"]), source.arn) for m in messages]}
        return {"Records": [sqs_record(m, source.arn, self._region) for m in messages]}

    def poll_queue(self, source: _QueueSource, wait_s: int = 0) -> int:
        """Deliver one batch from one queue; returns the number of messages handled."""
        response = self._sqs.receive_message(
            QueueUrl=source.url,
            MaxNumberOfMessages=min(source.batch_size, 10),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = self._event_for(source, messages)
        self.invocations += 1
        try:
            self._invoke(source.handler, event)
        except Exception:
            self.failures += 1
            log.exception(
                "handler %s failed; SQS will redeliver %d message(s)",
                source.handler,
                len(messages),
                extra={
                    "handler": source.handler,
                    "message_ids": [m["MessageId"] for m in messages],
                },
            )
            for message in messages:
                self._sqs.change_message_visibility(
                    QueueUrl=source.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._retry_delay_s,
                )
            return 0
        self._sqs.delete_message_batch(
            QueueUrl=source.url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
        return len(messages)

    def fire_schedules_now(self) -> None:
        """Make every schedule due at once (the demo shows a cycle without waiting 15 min)."""
        for schedule in self.schedules:
            schedule.next_at = self._now()

    def fire_due_schedules(self) -> int:
        """Invoke every schedule whose time has come; returns how many fired."""
        now = self._now()
        fired = 0
        for schedule in self.schedules:
            if schedule.next_at > now:
                continue
            rule_arn = f"arn:aws:events:{self._region}:{self._account}:rule/{schedule.handler}"
            # EventBridge stamps whole seconds; a tick the pump fires late is stamped when fired.
            tick = max(schedule.next_at, now).replace(microsecond=0) + timedelta(seconds=1)
            self.invocations += 1
            try:
                self._invoke(
                    schedule.handler,
                    scheduled_event(rule_arn, tick, self._region, self._account),
                )
            except Exception:
                self.failures += 1
                log.exception("schedule %s failed", schedule.handler)
            schedule.next_at = next_fire(schedule.expression, now)
            fired += 1
        return fired

    def drain(self, max_rounds: int = 100) -> int:
        """Deliver until every queue is empty (tests and demo loading)."""
        total = 0
        for _ in range(max_rounds):
            handled = sum(self.poll_queue(q) for q in self.queues)
            total += handled
            if handled == 0:
                break
        return total

    def run(self, stop: threading.Event, idle_wait_s: float = 0.5) -> None:
        """Poll queues and fire schedules until `stop` is set."""
        while not stop.is_set():
            handled = sum(self.poll_queue(q) for q in self.queues)
            self.fire_due_schedules()
            if handled == 0:
                stop.wait(idle_wait_s)
