"""Composition root: builds clients, adapters and services once, lazily, on first use."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.records import DynamoImportLog, DynamoTokenStore
from chalicelib.adapters.dynamodb.tables import bind_tables
from chalicelib.adapters.dynamodb.timeline import DynamoTimeline
from chalicelib.adapters.system_clock import SystemClock
from chalicelib.services.admin_queries import AdminQueries
from chalicelib.services.auth import TokenService
from chalicelib.services.ports import Clock
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
)


@dataclass(frozen=True, slots=True)
class AwsClients:
    """The boto3 clients, each built once per container."""

    s3: S3Client
    sqs: SQSClient
    sesv2: SESV2Client
    sns: SNSClient
    ssm: SSMClient


@dataclass(frozen=True, slots=True)
class Services:
    """Everything entry points may call."""

    settings: Settings
    clock: Clock
    tokens: TokenService
    queries: AdminQueries


_override: Services | None = None


def build_clients(session: boto3.session.Session | None = None) -> AwsClients:
    """AWS_ENDPOINT_URL (set by the local stack) redirects every client; nothing is hard-coded."""
    session = session or boto3.session.Session()
    client: Any = functools.partial(session.client, config=_CLIENT_CONFIG)
    return AwsClients(
        s3=client("s3"),
        sqs=client("sqs"),
        sesv2=client("sesv2"),
        sns=client("sns"),
        ssm=client("ssm"),
    )


def build_services(settings: Settings, clients: AwsClients, clock: Clock) -> Services:
    """Wire adapters into services for one configuration."""
    bind_tables(
        invoices=settings.invoices_table_name,
        customers=settings.customers_table_name,
        timeline=settings.timeline_table_name,
        records=settings.records_table_name,
        region=clients.s3.meta.region_name,
    )
    invoices = DynamoInvoiceRepository(shards=settings.due_index_shards)
    timeline = DynamoTimeline()
    _ = DynamoCustomerRepository()
    return Services(
        settings=settings,
        clock=clock,
        tokens=TokenService(DynamoTokenStore(), clock),
        queries=AdminQueries(invoices, timeline, DynamoImportLog()),
    )


@functools.cache
def _default_services() -> Services:
    return build_services(get_settings(), build_clients(), SystemClock())


def get_services() -> Services:
    """The services for this container (or the ones a test installed)."""
    if _override is not None:
        return _override
    return _default_services()


def install_services_for_tests(services: Services | None) -> None:
    """Explicit, typed override for tests; pass None to go back to the real wiring."""
    global _override
    _override = services


def reset_for_tests() -> None:
    """Forget the cached wiring (the environment changed)."""
    _default_services.cache_clear()
