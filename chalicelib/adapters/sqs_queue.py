"""Adapter: SqsWorkQueue, the actions queue (batches of ten, the SQS maximum)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class QueueSendError(Exception):
    """SQS refused some messages after the SDK's retries."""


class SqsWorkQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send_batch(self, bodies: Sequence[str]) -> None:
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
            )
            failed = response.get("Failed", [])
            if failed:
                raise QueueSendError(f"{len(failed)} message(s) refused: {failed[0].get('Code')}")
