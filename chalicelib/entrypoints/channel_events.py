"""Entry point: SES feedback (configuration set → SNS) → ChannelEvents.handle."""

from __future__ import annotations

import json
import logging

from chalice.app import Blueprint, SNSEvent

from chalicelib.bootstrap import get_services
from chalicelib.entrypoints import triggers

bp = Blueprint(__name__)
log = logging.getLogger("chalicelib.channel_events")


@bp.on_sns_message(topic=triggers.SES_EVENTS_TOPIC_NAME)
def handle_ses_event(event: SNSEvent) -> None:
    try:
        record = json.loads(event.message)
    except ValueError:
        log.warning("SNS message is not JSON; dropped", extra={"subject": event.subject})
        return
    outcome = get_services().channel_events.handle(record)
    log.info("SES event handled", extra={"outcome": outcome})
