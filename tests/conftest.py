"""Test configuration: fake AWS credentials and a moto server on 127.0.0.1, set before `app`."""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Everything below runs at import, before any test module imports `app` (HOUSE_STYLE §10).
MOTO_PORT = _free_port()
MOTO_URL = f"http://127.0.0.1:{MOTO_PORT}"
REGION = "eu-west-1"
_CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
os.environ.update(_CONFIG["stages"]["test"]["environment_variables"])
os.environ.update(
    {
        "AWS_ENDPOINT_URL": MOTO_URL,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "INVOICES_TABLE_NAME": "relance-test-invoices",
        "CUSTOMERS_TABLE_NAME": "relance-test-customers",
        "TIMELINE_TABLE_NAME": "relance-test-timeline",
        "RECORDS_TABLE_NAME": "relance-test-records",
        "INVOICE_BUCKET_NAME": f"relance-test-invoices-123456789012-{REGION}",
        "ACTIONS_QUEUE_URL": f"{MOTO_URL}/123456789012/relance-test-actions",
        "SES_CONFIGURATION_SET": "relance-test",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        # Small, so the size-limit test does not upload 50 MB to the emulator.
        "MAX_UPLOAD_BYTES": "2000000",
        "RELANCE_SECRET_PAY_LINK_KEY": "test-pay-link-key-0123456789abcdef",
        "RELANCE_SECRET_WEBHOOK_STRIPE": "whsec_test_secret",
        "RELANCE_SECRET_WEBHOOK_GOCARDLESS": "gc_test_secret",
        "RELANCE_SECRET_WEBHOOK_GENERIC": "generic_test_secret",
        "RELANCE_SECRET_STRIPE_API_KEY": "sk_test_local",
        "POWERTOOLS_METRICS_NAMESPACE": "Relance",
        "POWERTOOLS_DEV": "false",
    }
)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=MOTO_PORT, verbose=False)
    server.start()
    yield MOTO_URL
    server.stop()


@dataclass
class Stack:
    """A freshly provisioned emulator: physical names and raw clients for assertions."""

    endpoint: str
    physical: dict[str, str]
    environment: dict[str, str]
    s3: Any
    sqs: Any
    dynamodb: Any
    ses: Any
    sns: Any

    @property
    def bucket(self) -> str:
        return self.physical["InvoiceBucket"]

    def moto_data(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json") as response:
            data: dict[str, Any] = json.loads(response.read())
        return data


def _client(name: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=MOTO_URL,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def provisioned(moto_server: str) -> Any:
    """Every resource from infra/resources.yaml, created once (stage `test`)."""
    from devstack.provision import provision

    result = provision(moto_server, REGION, stage="test")
    for key, value in result.environment.items():
        assert os.environ[key] == value, f"conftest and infra disagree on {key}"
    _client("ses").verify_domain_identity(Domain="relance.example")
    return result


def _wipe(physical: dict[str, str]) -> None:
    """Empty every table, queue and the bucket: much faster than re-creating them."""
    dynamodb, sqs, s3 = _client("dynamodb"), _client("sqs"), _client("s3")
    for logical, name in physical.items():
        if logical.endswith("Table"):
            keys = [
                k["AttributeName"]
                for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]
            ]
            for page in dynamodb.get_paginator("scan").paginate(
                TableName=name,
                ProjectionExpression=", ".join(f"#{i}" for i in range(len(keys))),
                ExpressionAttributeNames={f"#{i}": k for i, k in enumerate(keys)},
            ):
                items = page.get("Items", [])
                for start in range(0, len(items), 25):
                    dynamodb.batch_write_item(
                        RequestItems={
                            name: [
                                {"DeleteRequest": {"Key": item}}
                                for item in items[start : start + 25]
                            ]
                        }
                    )
        elif logical.endswith("Queue"):
            # PurgeQueue is rate-limited to once a minute; re-creating the queue is not.
            attributes = sqs.get_queue_attributes(QueueUrl=name, AttributeNames=["All"])[
                "Attributes"
            ]
            kept = {
                k: v
                for k, v in attributes.items()
                if k
                in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy", "DelaySeconds")
            }
            sqs.delete_queue(QueueUrl=name)
            sqs.create_queue(QueueName=name.rsplit("/", 1)[-1], Attributes=kept)
    bucket = physical["InvoiceBucket"]
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})


@pytest.fixture
def stack(provisioned: Any, moto_server: str) -> Iterator[Stack]:
    """An empty, fully provisioned emulator; the app's services talk to it."""
    from chalicelib import bootstrap

    _wipe(provisioned.physical)
    bootstrap.install_services_for_tests(None)
    yield Stack(
        moto_server,
        provisioned.physical,
        provisioned.environment,
        _client("s3"),
        _client("sqs"),
        _client("dynamodb"),
        _client("ses"),
        _client("sns"),
    )
    bootstrap.install_services_for_tests(None)


@pytest.fixture
def pump(stack: Stack) -> Any:
    """The local event pump over the test stack: the same path uploads take on AWS."""
    from devstack.local_setup import build_pump

    return build_pump(MOTO_URL, REGION, "test")


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    """The app through chalice.test.Client (routes and Lambda handlers), on the emulator."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        yield client


@pytest.fixture
def admin_headers(stack: Stack) -> dict[str, str]:
    from chalicelib.bootstrap import get_services
    from chalicelib.domain.records import Role

    secret = get_services().tokens.issue(Role.ADMIN, "integration admin").secret
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
