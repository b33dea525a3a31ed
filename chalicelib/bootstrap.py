"""Composition root: builds clients, adapters and services once, lazily, on first use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from pynamodb.connection import Connection

from chalicelib.adapters.dynamodb.audit import DynamoAuditLog
from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.adapters.dynamodb.gdpr import (
    DynamoCustomerWork,
    DynamoMessageArchive,
    DynamoTimelineEditor,
)
from chalicelib.adapters.dynamodb.invoice_queries import DynamoInvoiceFinder, DynamoPortfolio
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.payments import (
    DynamoPaymentDirectory,
    DynamoPaymentStore,
    DynamoWebhookEventLog,
)
from chalicelib.adapters.dynamodb.records import DynamoImportLog, DynamoTokenStore
from chalicelib.adapters.dynamodb.tables import bind_tables
from chalicelib.adapters.dynamodb.timeline import DynamoTimeline
from chalicelib.adapters.dynamodb.work import (
    DynamoApprovalStore,
    DynamoClaimLog,
    DynamoPolicyStore,
    DynamoRunLog,
    DynamoTaskStore,
)
from chalicelib.adapters.holidays_calendar import HolidaysCalendar
from chalicelib.adapters.invoice_file_reader import LibraryInvoiceReader
from chalicelib.adapters.jinja_templates import JinjaTemplateRenderer
from chalicelib.adapters.locale_format import BabelLocaleFormatter
from chalicelib.adapters.moto_outbox import MotoOutbox
from chalicelib.adapters.s3_documents import S3DocumentStore
from chalicelib.adapters.s3_erasure import S3DocumentEraser
from chalicelib.adapters.secrets import EnvSecrets, SsmSecrets
from chalicelib.adapters.ses_email import SesEmailSender, TokenBucket, account_send_rate
from chalicelib.adapters.sns_sms import SnsSmsSender
from chalicelib.adapters.sqs_queue import SqsWorkQueue
from chalicelib.adapters.stripe_checkout import StripeCheckout
from chalicelib.adapters.system_clock import SystemClock
from chalicelib.adapters.webhook_signatures import (
    GENERIC_HEADER,
    GOCARDLESS_HEADER,
    STRIPE_HEADER,
    GenericSignatureVerifier,
    GoCardlessSignatureVerifier,
    StripeSignatureVerifier,
)
from chalicelib.schemas.webhooks import (
    parse_generic_webhook,
    parse_gocardless_webhook,
    parse_stripe_webhook,
)
from chalicelib.services.admin_queries import AdminQueries
from chalicelib.services.audit import AuditTrail
from chalicelib.services.auth import TokenService
from chalicelib.services.channel_events import ChannelEvents
from chalicelib.services.collections import CollectionsService
from chalicelib.services.customers_admin import CustomerAdmin
from chalicelib.services.dispatch import MessageDispatcher, SellerContact
from chalicelib.services.dunning import DunningService, PolicyResolver
from chalicelib.services.gdpr import GdprService
from chalicelib.services.invoice_intake import InvoiceIntake
from chalicelib.services.invoice_search import InvoiceSearch
from chalicelib.services.outbox import OutboxQueries, TemplatePreviews
from chalicelib.services.pay_links import PayLinks
from chalicelib.services.payments import PaymentRecorder, WebhookProvider
from chalicelib.services.policy_admin import PolicyAdmin
from chalicelib.services.ports import Clock, SecretProvider
from chalicelib.services.reporting import ReportService
from chalicelib.services.self_service import SelfService
from chalicelib.services.work_queues import WorkQueues
from chalicelib.settings import Settings, get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

# SES and SNS have no idempotency key: the SDK must not retry a send on its own (see
# adapters/send_errors.py, which retries only what was certainly refused).
_SEND_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1},
    connect_timeout=3,
    read_timeout=15,
)
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
    # PynamoDB transactions take a Connection; one per container (its client is built lazily).
    transactions: Connection


@dataclass(frozen=True, slots=True)
class Services:
    """Everything entry points may call."""

    settings: Settings
    clock: Clock
    tokens: TokenService
    queries: AdminQueries
    intake: InvoiceIntake
    dunning: DunningService
    dispatcher: MessageDispatcher
    pay_links: PayLinks
    renderer: JinjaTemplateRenderer
    secrets: SecretProvider
    work: WorkQueues
    channel_events: ChannelEvents
    outbox: OutboxQueries
    previews: TemplatePreviews
    policies: PolicyAdmin
    collections: CollectionsService
    customer_admin: CustomerAdmin
    invoice_search: InvoiceSearch
    reports: ReportService
    gdpr: GdprService
    audit: AuditTrail
    payments: PaymentRecorder
    self_service: SelfService


_override: Services | None = None


def build_clients(session: boto3.session.Session | None = None) -> AwsClients:
    """AWS_ENDPOINT_URL (set by the local stack) redirects every client; nothing is hard-coded."""
    session = session or boto3.session.Session()
    client: Any = functools.partial(session.client, config=_CLIENT_CONFIG)
    return AwsClients(
        s3=client("s3"),
        sqs=client("sqs"),
        sesv2=session.client("sesv2", config=_SEND_CONFIG),
        sns=session.client("sns", config=_SEND_CONFIG),
        ssm=client("ssm"),
        transactions=Connection(region=session.region_name),
    )


def _send_rate(settings: Settings, clients: AwsClients) -> Callable[[], float]:
    # The emulator has no sending quota (nor the GetAccount call): do not throttle it.
    if settings.stage in ("local", "test"):
        return lambda: 1000.0
    return account_send_rate(clients.sesv2)


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
    customers = DynamoCustomerRepository()
    timeline = DynamoTimeline()
    imports = DynamoImportLog()
    documents = S3DocumentStore(clients.s3, settings.invoice_bucket_name)
    secrets: SecretProvider = (
        EnvSecrets()
        if settings.secrets_source == "env"
        else SsmSecrets(clients.ssm, settings.secrets_prefix)
    )
    pay_links = PayLinks(secrets, settings.public_base_url)
    renderer = JinjaTemplateRenderer(TEMPLATES_DIR)
    dispatcher = MessageDispatcher(
        claims=DynamoClaimLog(clients.transactions),
        renderer=renderer,
        formatter=BabelLocaleFormatter(),
        email=SesEmailSender(
            clients.sesv2,
            settings.email_from_address,
            settings.ses_configuration_set,
            TokenBucket(_send_rate(settings, clients)),
            settings.seller_name,
        ),
        sms=SnsSmsSender(clients.sns),
        timeline=timeline,
        pay_links=pay_links,
        documents=documents,
        clock=clock,
        seller=SellerContact(
            settings.seller_name,
            settings.seller_email or settings.email_from_address,
            settings.seller_phone or None,
            settings.sms_sender_id,
        ),
        retention=timedelta(days=settings.message_retention_days),
    )
    tasks, approvals, policy_store = DynamoTaskStore(), DynamoApprovalStore(), DynamoPolicyStore()
    resolver = PolicyResolver(policy_store, clock)
    dunning = DunningService(
        invoices=invoices,
        customers=customers,
        timeline=timeline,
        queue=SqsWorkQueue(clients.sqs, settings.actions_queue_url),
        tasks=tasks,
        approvals=approvals,
        runs=DynamoRunLog(),
        policies=resolver,
        calendar=HolidaysCalendar(),
        dispatcher=dispatcher,
        clock=clock,
        shards=settings.due_index_shards,
    )
    intake = InvoiceIntake(
        documents=documents,
        reader=LibraryInvoiceReader(),
        invoices=invoices,
        customers=customers,
        timeline=timeline,
        imports=imports,
        clock=clock,
        initial_action_at=dunning.next_action_at,
        max_upload_bytes=settings.max_upload_bytes,
    )
    payments, self_service = _payment_services(
        settings,
        clients,
        clock,
        invoices,
        customers,
        timeline,
        tasks,
        approvals,
        secrets,
        pay_links,
        renderer,
        dispatcher,
        dunning,
    )
    return Services(
        settings=settings,
        clock=clock,
        tokens=TokenService(DynamoTokenStore(), clock),
        queries=AdminQueries(invoices, timeline, imports),
        intake=intake,
        dunning=dunning,
        dispatcher=dispatcher,
        pay_links=pay_links,
        renderer=renderer,
        secrets=secrets,
        work=WorkQueues(tasks, approvals, timeline, clock),
        channel_events=ChannelEvents(
            customers=customers, timeline=timeline, tasks=tasks, clock=clock
        ),
        # Only the emulator keeps what it "sent"; on AWS the route answers 404.
        outbox=OutboxQueries(
            MotoOutbox(clients.s3.meta.endpoint_url)
            if settings.stage in ("local", "test")
            else None,
            timeline,
        ),
        previews=TemplatePreviews(renderer, BabelLocaleFormatter()),
        policies=PolicyAdmin(policy_store, resolver.forget_rules),
        collections=CollectionsService(
            invoices=invoices,
            customers=customers,
            timeline=timeline,
            work=WorkQueues(tasks, approvals, timeline, clock),
            next_action_at=dunning.next_action_at,
            policy_for=dunning.policy_for,
            clock=clock,
        ),
        customer_admin=CustomerAdmin(customers, timeline, clock),
        invoice_search=InvoiceSearch(
            finder=DynamoInvoiceFinder(),
            invoices=invoices,
            customers=customers,
            policy_for=dunning.policy_for,
            clock=clock,
        ),
        reports=ReportService(DynamoPortfolio()),
        gdpr=GdprService(
            customers=customers,
            invoices=invoices,
            timeline=timeline,
            editor=DynamoTimelineEditor(),
            messages=DynamoMessageArchive(),
            work=DynamoCustomerWork(),
            documents=S3DocumentEraser(clients.s3, settings.invoice_bucket_name),
            clock=clock,
        ),
        audit=AuditTrail(DynamoAuditLog(), clock),
        payments=payments,
        self_service=self_service,
    )


WEBHOOK_PROVIDERS = (
    WebhookProvider(
        "stripe", STRIPE_HEADER, "webhook_stripe", StripeSignatureVerifier, parse_stripe_webhook
    ),
    WebhookProvider(
        "gocardless",
        GOCARDLESS_HEADER,
        "webhook_gocardless",
        GoCardlessSignatureVerifier,
        parse_gocardless_webhook,
    ),
    WebhookProvider(
        "generic",
        GENERIC_HEADER,
        "webhook_generic",
        GenericSignatureVerifier,
        parse_generic_webhook,
    ),
)


def _payment_services(
    settings: Settings,
    clients: AwsClients,
    clock: Clock,
    invoices: DynamoInvoiceRepository,
    customers: DynamoCustomerRepository,
    timeline: DynamoTimeline,
    tasks: DynamoTaskStore,
    approvals: DynamoApprovalStore,
    secrets: SecretProvider,
    pay_links: PayLinks,
    renderer: JinjaTemplateRenderer,
    dispatcher: MessageDispatcher,
    dunning: DunningService,
) -> tuple[PaymentRecorder, SelfService]:
    """Payment webhooks (issue 6) and the customer's self-service page."""
    directory = DynamoPaymentDirectory()
    payments = PaymentRecorder(
        providers={p.name: p for p in WEBHOOK_PROVIDERS},
        secrets=secrets,
        events=DynamoWebhookEventLog(),
        store=DynamoPaymentStore(invoices, clients.transactions),
        directory=directory,
        invoices=invoices,
        customers=customers,
        tasks=tasks,
        dispatcher=dispatcher,
        next_action_at=dunning.next_action_at,
        clock=clock,
        receipts=SqsWorkQueue(clients.sqs, settings.actions_queue_url),
    )
    self_service = SelfService(
        pay_links=pay_links,
        secrets=secrets,
        invoices=invoices,
        customers=customers,
        collections=CollectionsService(
            invoices=invoices,
            customers=customers,
            timeline=timeline,
            work=WorkQueues(tasks, approvals, timeline, clock),
            next_action_at=dunning.next_action_at,
            policy_for=dunning.policy_for,
            clock=clock,
        ),
        tasks=tasks,
        directory=directory,
        dispatcher=dispatcher,
        renderer=renderer,
        formatter=BabelLocaleFormatter(),
        seller=SellerContact(
            settings.seller_name,
            settings.seller_email or settings.email_from_address,
            settings.seller_phone or None,
            settings.sms_sender_id,
        ),
        seller_iban=settings.seller_iban or None,
        policy_for=dunning.policy_for,
        public_base_url=settings.public_base_url,
        checkout=StripeCheckout(secrets, settings.stripe_api_base)
        if settings.card_payments == "stripe"
        else None,
        clock=clock,
    )
    return payments, self_service


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
