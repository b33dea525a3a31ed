"""An in-process emulator for the bench: moto server, the real template, metered services.

Everything the app builds goes through the composition root (`bootstrap.build_services`) with
a hooked botocore session, so the counts are those of the production wiring. The environment
is restored on exit, so `main()` can run inside another process (the smoke test uses a
subprocess anyway, because moto's backends are process-wide).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.meter import AwsMeter, hooked_botocore_session, metered_pynamodb

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
STAGE_RESOURCES = "bench"
"""Resource names are `relance-bench-*`: never the names of a test or local stack."""

SECRETS = {
    "RELANCE_SECRET_PAY_LINK_KEY": "bench-pay-link-key-0123456789abcdef",
    "RELANCE_SECRET_WEBHOOK_STRIPE": "whsec_bench_secret",
    "RELANCE_SECRET_WEBHOOK_GOCARDLESS": "gc_bench_secret",
    "RELANCE_SECRET_WEBHOOK_GENERIC": "generic_bench_secret",
}


class BenchClock:
    """The services' clock: set by the bench so that imports and runs happen when it says."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stage_environment(stage: str = "test") -> dict[str, str]:
    """The stage's variables from .chalice/config.json (what Chalice sets before import)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {str(k): str(v) for k, v in config["stages"][stage]["environment_variables"].items()}


DUMMY_RESOURCES = {
    "INVOICES_TABLE_NAME": "relance-cold-invoices",
    "CUSTOMERS_TABLE_NAME": "relance-cold-customers",
    "TIMELINE_TABLE_NAME": "relance-cold-timeline",
    "RECORDS_TABLE_NAME": "relance-cold-records",
    "INVOICE_BUCKET_NAME": "relance-cold-invoices-123456789012-eu-west-1",
    "ACTIONS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/relance-cold-actions",
    "SES_CONFIGURATION_SET": "relance-cold",
}


def import_environment() -> dict[str, str]:
    """A Lambda-like environment for a fresh interpreter importing the app.

    The `test` stage's variables, dummy resource names, fake credentials, no endpoint.
    """
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(stage_environment("test"))
    env.update(DUMMY_RESOURCES)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Emulator:
    """A provisioned emulator with metered services installed as the app's services."""

    endpoint: str
    physical: dict[str, str]
    meter: AwsMeter
    clock: BenchClock
    services: Any
    boto_session: boto3.session.Session
    s3: Any
    sqs: Any
    dynamodb: Any

    @property
    def bucket(self) -> str:
        return self.physical["InvoiceBucket"]

    @property
    def actions_queue_url(self) -> str:
        return self.physical["ActionsQueue"]


def _raw_client(name: str, endpoint: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        name,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@contextmanager
def emulator(start: datetime | None = None) -> Iterator[Emulator]:
    """Start moto on 127.0.0.1, create the template's resources and wire metered services."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with ExitStack() as stack:
        stack.enter_context(
            patched_environ(
                {
                    **stage_environment("test"),
                    **SECRETS,
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": REGION,
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
                    "POWERTOOLS_METRICS_NAMESPACE": "Relance",
                    "POWERTOOLS_DEV": "false",
                    "LOG_LEVEL": "WARNING",
                }
            )
        )
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        stack.callback(server.stop)

        from devstack.provision import provision

        provisioned = provision(endpoint, REGION, stage=STAGE_RESOURCES)
        os.environ.update(provisioned.environment)
        _raw_client("ses", endpoint).verify_domain_identity(Domain="relance.example")

        from chalicelib import bootstrap
        from chalicelib.settings import get_settings, reset_settings_cache

        dynamodb = _raw_client("dynamodb", endpoint)
        meter = AwsMeter(dynamodb)
        stack.enter_context(metered_pynamodb(meter))
        clock = BenchClock(start or datetime.now(UTC))
        reset_settings_cache()
        boto_session = boto3.session.Session(botocore_session=hooked_botocore_session(meter))
        services = bootstrap.build_services(
            get_settings(), bootstrap.build_clients(boto_session), clock
        )
        bootstrap.install_services_for_tests(services)

        def _unwire() -> None:
            bootstrap.install_services_for_tests(None)
            bootstrap.reset_for_tests()
            reset_settings_cache()

        stack.callback(_unwire)
        yield Emulator(
            endpoint=endpoint,
            physical=provisioned.physical,
            meter=meter,
            clock=clock,
            services=services,
            boto_session=boto_session,
            s3=_raw_client("s3", endpoint),
            sqs=_raw_client("sqs", endpoint),
            dynamodb=dynamodb,
        )
