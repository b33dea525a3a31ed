"""Entry point: uploads under inbox/ (S3 → EventBridge → SQS) → InvoiceIntake.ingest."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote_plus

from chalice.app import Blueprint, SQSEvent

from chalicelib.bootstrap import get_services
from chalicelib.entrypoints import triggers

bp = Blueprint(__name__)
log = logging.getLogger("chalicelib.uploads")


def object_keys(body: dict[str, Any], bucket: str) -> list[str]:
    """The uploaded keys in one SQS message, whichever way S3 announced them.

    EventBridge "Object Created" events carry the key as is; classic S3 notifications carry it
    URL-encoded; S3's TestEvent carries none.
    """
    if body.get("detail-type") == "Object Created":
        detail = body.get("detail", {})
        if detail.get("bucket", {}).get("name") != bucket:
            return []
        return [str(detail["object"]["key"])]
    keys = []
    for record in body.get("Records", []):
        s3 = record.get("s3", {})
        if (
            str(record.get("eventName", "")).startswith("ObjectCreated")
            and s3.get("bucket", {}).get("name") == bucket
        ):
            keys.append(unquote_plus(str(s3["object"]["key"])))
    return keys


@bp.on_sqs_message(queue=triggers.INGEST_QUEUE_NAME, batch_size=1)
def ingest_uploaded_invoice(event: SQSEvent) -> None:
    services = get_services()
    bucket = services.settings.invoice_bucket_name
    for record in event:
        body = json.loads(record.body)
        keys = object_keys(body, bucket)
        if not keys:
            log.info(
                "message without an upload ignored",
                extra={"message_id": record.to_dict().get("messageId")},
            )
        for key in keys:
            services.intake.ingest(key)
