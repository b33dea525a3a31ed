"""Local-only set-up that has no CloudFormation equivalent, and the pump's wiring."""

from __future__ import annotations

from typing import Any

import boto3
from chalice.test import Client

from devstack.cfn import ROOT
from devstack.provision import MOTO_ACCOUNT_ID
from devstack.pump import EventPump


def _client(name: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def prepare_local_accounts(endpoint: str, region: str, sender: str) -> None:
    """On AWS the sender domain is verified by DNS once; the emulator needs the same call."""
    _client("ses", endpoint, region).verify_domain_identity(Domain=sender.split("@")[-1])


def build_pump(endpoint: str, region: str, stage: str) -> EventPump:
    """An event pump invoking the app's handlers the way Lambda would."""
    from app import app

    client = Client(app, stage_name=stage, project_dir=str(ROOT))

    def invoke(handler: str, event: dict[str, Any]) -> Any:
        return client.lambda_.invoke(handler, event).payload

    return EventPump(
        app,
        _client("sqs", endpoint, region),
        _client("sns", endpoint, region),
        invoke,
        region=region,
        account=MOTO_ACCOUNT_ID,
        stage=stage,
    )
