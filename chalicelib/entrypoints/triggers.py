"""Entry point settings needed at decorator time: the only module reading os.environ on import.

Chalice applies the stage's environment variables before importing the app, and the infra
template names these resources `relance-<stage>-<suffix>`, so the names agree by construction.
"""

from __future__ import annotations

import os

STAGE = os.environ["STAGE"]
INGEST_QUEUE_NAME = os.environ["INGEST_QUEUE_NAME"]
ACTIONS_QUEUE_NAME = os.environ["ACTIONS_QUEUE_NAME"]
SES_EVENTS_TOPIC_NAME = os.environ["SES_EVENTS_TOPIC_NAME"]
DUNNING_SCHEDULE = os.environ.get("DUNNING_SCHEDULE", "rate(15 minutes)")
