"""Service ports: the Protocols adapters implement and fakes imitate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import BinaryIO, Generic, Protocol, TypeVar

from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.intake import ParsedInvoice, ReadWarning, RejectedRecord
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.policies import DunningPolicy, PolicyAssignmentRule
from chalicelib.domain.records import ApiToken, EventType, ImportRecord, TimelineEvent
from chalicelib.domain.work import Approval, RunReport, Task

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the opaque cursor for the next one."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DueEntry:
    """One entry of the sparse due index."""

    invoice_id: str
    customer_id: str
    next_action_at: datetime


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    """The content of a sent message, kept for the retention period only."""

    message_ref: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    channel: str
    step_id: str
    to: str
    subject: str | None
    text: str
    sent_at: datetime
    expires_at: datetime


class Clock(Protocol):
    """Where services get "now" from (tests inject a fixed clock)."""

    def now(self) -> datetime: ...  # pragma: no cover


class InvoiceRepository(Protocol):
    """Invoices by id, number, customer, and the sharded due index."""

    def get(self, invoice_id: str) -> Invoice | None: ...  # pragma: no cover

    def get_many(self, invoice_ids: Sequence[str]) -> list[Invoice]: ...  # pragma: no cover

    def save(self, invoice: Invoice) -> Invoice:
        """Create (version 0) or update conditionally on the stored version; returns version+1.

        Raises ConcurrentUpdateError when the stored version moved on.
        """
        ...  # pragma: no cover

    def save_new_batch(self, invoices: Sequence[Invoice]) -> None: ...  # pragma: no cover

    def by_customer(self, customer_id: str) -> list[Invoice]: ...  # pragma: no cover

    def by_number(self, number: str) -> list[Invoice]: ...  # pragma: no cover

    def list(
        self, *, status: str | None, customer_id: str | None, limit: int, cursor: str | None
    ) -> Page[Invoice]: ...  # pragma: no cover

    def due(self, shard: int, until: datetime) -> Iterator[DueEntry]:
        """Invoices whose next action is at or before `until` in one shard of the due index."""
        ...  # pragma: no cover

    def delete(self, invoice_id: str) -> None: ...  # pragma: no cover


class CustomerRepository(Protocol):
    """Customers by id."""

    def get(self, customer_id: str) -> Customer | None: ...  # pragma: no cover

    def get_many(self, customer_ids: Sequence[str]) -> list[Customer]: ...  # pragma: no cover

    def save(self, customer: Customer) -> Customer: ...  # pragma: no cover

    def save_new_batch(self, customers: Sequence[Customer]) -> None: ...  # pragma: no cover

    def list(self, *, limit: int, cursor: str | None) -> Page[Customer]: ...  # pragma: no cover


class Timeline(Protocol):
    """Append-only history per invoice and per customer, newest first."""

    def append(self, events: Iterable[TimelineEvent]) -> None: ...  # pragma: no cover

    def for_invoice(
        self, invoice_id: str, *, limit: int, cursor: str | None
    ) -> Page[TimelineEvent]: ...  # pragma: no cover

    def for_customer(
        self, customer_id: str, *, limit: int, cursor: str | None
    ) -> Page[TimelineEvent]: ...  # pragma: no cover

    # Distinct messages (a consolidated message is one event per invoice it lists).
    def count_since(
        self, customer_id: str, types: frozenset[EventType], since: datetime
    ) -> int: ...  # pragma: no cover

    def archive_message(self, message: ArchivedMessage) -> None: ...  # pragma: no cover

    def get_message(self, message_ref: str) -> ArchivedMessage | None: ...  # pragma: no cover


class TaskStore(Protocol):
    """Tasks for people, created at most once per id."""

    def create(self, task: Task) -> bool:
        """Store a new task; False when one with that id exists already."""
        ...  # pragma: no cover

    def get(self, task_id: str) -> Task | None: ...  # pragma: no cover

    def save(self, task: Task) -> None: ...  # pragma: no cover

    def list(
        self, *, status: str, limit: int, cursor: str | None
    ) -> Page[Task]: ...  # pragma: no cover


class ApprovalStore(Protocol):
    """Approvals, created at most once per id."""

    def create(self, approval: Approval) -> bool: ...  # pragma: no cover

    def get(self, approval_id: str) -> Approval | None: ...  # pragma: no cover

    def decide(self, approval: Approval) -> bool:
        """Store a decision only if the approval is still pending (False otherwise)."""
        ...  # pragma: no cover

    def list(
        self, *, status: str, limit: int, cursor: str | None
    ) -> Page[Approval]: ...  # pragma: no cover


class RunLog(Protocol):
    """Runs and the counts their workers report."""

    def start(self, report: RunReport) -> bool:
        """Record a run; False when a run with that id was already started."""
        ...  # pragma: no cover

    def add_batch(
        self, run_id: str, batch_id: str, counts: Mapping[str, int]
    ) -> None: ...  # pragma: no cover

    def get(self, run_id: str) -> RunReport | None: ...  # pragma: no cover


class PolicyStore(Protocol):
    """Dunning policies, versioned."""

    def get(
        self, policy_id: str, version: int | None = None
    ) -> DunningPolicy | None: ...  # pragma: no cover

    def put(self, policy: DunningPolicy) -> None: ...  # pragma: no cover

    def list(self) -> list[DunningPolicy]: ...  # pragma: no cover

    def rules(self) -> Sequence[PolicyAssignmentRule]: ...  # pragma: no cover

    def put_rules(self, rules: Sequence[PolicyAssignmentRule]) -> None: ...  # pragma: no cover


class TokenStore(Protocol):
    """API tokens, stored by hash."""

    def get(self, token_hash: str) -> ApiToken | None: ...  # pragma: no cover

    def put(self, token: ApiToken) -> None: ...  # pragma: no cover

    def revoke(self, token_id: str) -> bool: ...  # pragma: no cover

    def list(self) -> list[ApiToken]: ...  # pragma: no cover


class ImportLog(Protocol):
    """One record per ingested (key, etag)."""

    def get(self, key: str, etag: str) -> ImportRecord | None: ...  # pragma: no cover

    def put(self, record: ImportRecord) -> None: ...  # pragma: no cover

    def list(self, *, limit: int, cursor: str | None) -> Page[ImportRecord]: ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class StoredObject:
    """Metadata of one stored file."""

    key: str
    etag: str
    size: int
    content_type: str | None


class DocumentStore(Protocol):
    """Uploaded files and the reports written beside them."""

    def head(self, key: str) -> StoredObject | None: ...  # pragma: no cover

    def open(self, key: str) -> BinaryIO:
        """A streaming, read-only view of the object's body."""
        ...  # pragma: no cover

    def get_bytes(self, key: str) -> bytes | None: ...  # pragma: no cover

    def put(self, key: str, body: bytes, content_type: str) -> None: ...  # pragma: no cover

    def copy(self, source_key: str, target_key: str) -> None: ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class ReadStream:
    """A file being read: its format and the invoices and rejections, lazily."""

    format: str
    profile: str | None
    items: Iterator[ParsedInvoice | RejectedRecord | ReadWarning]


class InvoiceFileReader(Protocol):
    """Turns an uploaded file into parsed invoices and rejections.

    Raises UnreadableDocumentError when nothing at all can be read.
    """

    def read(
        self,
        source: BinaryIO,
        filename: str,
        *,
        column_mapping: Mapping[str, str] | None,
        max_bytes: int,
    ) -> ReadStream: ...  # pragma: no cover


class ClaimOutcome(StrEnum):
    """Result of trying to claim an (invoice, step, channel) before sending."""

    WON = "won"
    ALREADY_SENT = "already_sent"
    IN_FLIGHT = "in_flight"
    INVOICE_CHANGED = "invoice_changed"


@dataclass(frozen=True, slots=True)
class Claim:
    """The exactly-once marker of one message: taken before sending, confirmed after."""

    invoice_id: str
    step_id: str
    channel: str
    run_id: str
    claimed_at: datetime
    status: str
    message_ref: str | None = None


class ClaimLog(Protocol):
    """Conditional writes that make each (invoice, step, channel) go out at most once."""

    def claim(
        self,
        invoice_id: str,
        invoice_version: int,
        step_id: str,
        channel: str,
        run_id: str,
        at: datetime,
    ) -> ClaimOutcome:
        """Atomically take the claim if absent AND the invoice is still at `invoice_version`."""
        ...  # pragma: no cover

    def confirm(
        self, invoice_id: str, step_id: str, channel: str, message_ref: str
    ) -> None: ...  # pragma: no cover

    def release(self, invoice_id: str, step_id: str, channel: str) -> None:
        """Give a claim back after a send that certainly failed (so a retry may send)."""
        ...  # pragma: no cover

    def get(
        self, invoice_id: str, step_id: str, channel: str
    ) -> Claim | None: ...  # pragma: no cover


class WorkQueue(Protocol):
    """The actions queue between the planner and the workers."""

    def send_batch(self, bodies: Sequence[str]) -> None: ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A rendered email ready for the wire."""

    to: str
    subject: str
    html: str
    text: str
    reply_to: str | None
    tags: tuple[tuple[str, str], ...]
    attachments: tuple[tuple[str, str, bytes], ...] = ()


class EmailSender(Protocol):
    """Sends one email; returns the provider's message id."""

    def send(self, email: OutgoingEmail) -> str: ...  # pragma: no cover


class SmsSender(Protocol):
    """Sends one SMS; returns the provider's message id."""

    def is_opted_out(self, phone: str) -> bool: ...  # pragma: no cover

    def send(self, phone: str, text: str, sender_id: str | None) -> str: ...  # pragma: no cover


class SecretProvider(Protocol):
    """Secrets by name (webhook signing keys, the pay-link key), cached by the adapter."""

    def get(self, name: str) -> str: ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message the local emulator accepted (stage local only)."""

    channel: str
    message_ref: str
    to: str
    subject: str | None
    text: str
    attachments: tuple[str, ...]


class Outbox(Protocol):
    """What was sent, as the emulator recorded it."""

    def items(self) -> list[OutboxItem]: ...  # pragma: no cover


# -- collections, reports and GDPR (issue 7) --


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    """What an invoice listing narrows by, in terms a store can index or filter on."""

    status: str | None = None
    customer_id: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    step_done: str | None = None
    open_only: bool = False


class InvoiceFinder(Protocol):
    """Invoices narrowed by index keys and store-side filters, paged."""

    def find(
        self, filters: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]: ...  # pragma: no cover


class Portfolio(Protocol):
    """What the reports read: every invoice, the customers' names and the history events."""

    def invoices(self) -> Iterator[Invoice]: ...  # pragma: no cover

    def customer_names(self) -> dict[str, str]: ...  # pragma: no cover

    def events(
        self, types: frozenset[EventType]
    ) -> Iterator[TimelineEvent]: ...  # pragma: no cover


class TimelineEditor(Protocol):
    """Rewrites stored events in place; only erasure does, the timeline is otherwise append-only."""

    def replace(self, events: Sequence[TimelineEvent]) -> None: ...  # pragma: no cover


class MessageArchive(Protocol):
    """Archived message contents by customer, for GDPR access and erasure."""

    def for_customer(self, customer_id: str) -> list[ArchivedMessage]: ...  # pragma: no cover

    def delete(self, message_ref: str) -> None: ...  # pragma: no cover


class CustomerWork(Protocol):
    """A customer's tasks and approvals, read and rewritten for GDPR."""

    def tasks_for(self, customer_id: str) -> list[Task]: ...  # pragma: no cover

    def approvals_for(self, customer_id: str) -> list[Approval]: ...  # pragma: no cover

    def rewrite_task(self, task: Task) -> None: ...  # pragma: no cover

    def rewrite_approval(self, approval: Approval) -> None: ...  # pragma: no cover


class DocumentEraser(Protocol):
    """Stored files, every version of them (the bucket is versioned)."""

    def keys(self, prefix: str) -> Iterator[str]: ...  # pragma: no cover

    def get_bytes(self, key: str) -> bytes | None: ...  # pragma: no cover

    def overwrite(self, key: str, body: bytes, content_type: str) -> None:
        """Store the new content, then delete every earlier version of the key."""
        ...  # pragma: no cover

    def purge(self, key: str) -> int:
        """Delete every version of the key; returns how many versions were deleted."""
        ...  # pragma: no cover


class AuditLog(Protocol):
    """Admin actions, by month, newest first."""

    def record(self, entry: AuditEntry) -> None: ...  # pragma: no cover

    def list(
        self, month: str, *, limit: int, cursor: str | None
    ) -> Page[AuditEntry]: ...  # pragma: no cover


# --- Payments: webhook events, payment ledger, unallocated money (docs/webhooks.md) ---
# Imported here rather than at the top so this section stays an append-only addition.

from chalicelib.domain.money import Money  # noqa: E402
from chalicelib.domain.payments import PaymentEvent, PaymentLedgerEntry  # noqa: E402


class WebhookVerifier(Protocol):
    """Checks one provider's signature over the raw body exactly as received."""

    def verify(self, raw_body: bytes, header: str | None, now: int) -> None:
        """Raise `SignatureError` unless `header` signs `raw_body` (`now` in unix seconds)."""
        ...  # pragma: no cover


class WebhookClaim(StrEnum):
    """What recording a provider event id found."""

    NEW = "new"
    DONE = "done"
    IN_FLIGHT = "in_flight"


class WebhookEventLog(Protocol):
    """Provider event ids, recorded with a conditional write before anything else happens."""

    def begin(
        self, provider: str, event_id: str, now: datetime, *, done_as: str | None = None
    ) -> WebhookClaim:
        """Record the event as being processed (or as done with outcome `done_as`).

        Returns NEW when this call recorded it (a processing record abandoned for longer than
        the adapter's stale window is taken over), DONE when it was processed already and
        IN_FLIGHT when another delivery is processing it right now.
        """
        ...  # pragma: no cover

    def is_done(self, provider: str, event_id: str) -> bool: ...  # pragma: no cover

    def keep_rejected(
        self, provider: str, raw_body: bytes, field: str | None, message: str, now: datetime
    ) -> None:
        """Keep a signed body that could not be used (it is evidence) with the reason."""
        ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class PaymentHead:
    """What the ledger knows about one provider payment (`PaymentEvent.ledger_key`).

    Attributes:
        ledger_key: `<provider>:<provider payment id>`.
        invoice_ids: The invoices this payment put money on.
        orphans: Refunds or chargebacks that arrived before the payment and matched nothing;
            they are applied as soon as the payment is placed.
        version: 0 until stored; writes are conditional on it.
    """

    ledger_key: str
    invoice_ids: tuple[str, ...] = ()
    orphans: tuple[PaymentEvent, ...] = ()
    version: int = 0


class UnallocatedStatus(StrEnum):
    """Money a collector must place, and money already placed by hand or later evidence."""

    UNALLOCATED = "unallocated"
    ALLOCATED = "allocated"


@dataclass(frozen=True, slots=True)
class UnallocatedPayment:
    """Money (or a reversal) that could not be put on an invoice automatically.

    Attributes:
        payment_ref: Stable id (one per provider event) used by the admin API.
        event: The provider event, as received.
        amount: The part left unallocated (None when the provider gave no amount).
        reason: Why (`UnallocatedReason` values, `remainder` or `too_many_invoices`).
        received_at: When Relance recorded it.
        status: unallocated, or allocated once placed.
        customer_id: The customer it seems to belong to, when known.
        allocated_to: Invoices it was finally placed on.
        allocated_by: Who placed it (a collector's token label, or "payments").
        allocated_at: When.
    """

    payment_ref: str
    event: PaymentEvent
    amount: Money | None
    reason: str
    received_at: datetime
    status: UnallocatedStatus = UnallocatedStatus.UNALLOCATED
    customer_id: str | None = None
    allocated_to: tuple[str, ...] = ()
    allocated_by: str | None = None
    allocated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CustomerCredit:
    """An overpayment kept for the customer (never converted to another currency)."""

    customer_id: str
    amount: Money
    provider: str
    event_id: str
    invoice_ids: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentCommit:
    """Everything one payment event changes, written atomically.

    Attributes:
        webhook: (provider, event_id) of the webhook record to mark done, if any.
        outcome: Stored on the webhook record.
        ledger: (invoice_id, entry) pairs to store (idempotent by invoice and event).
        invoices: Invoices to save, each conditional on its version.
        unchanged: Invoices read for the decision and left as they are; the commit fails
            if any of them changed meanwhile.
        payment: The payment's head to save, conditional on its version (0: must not exist).
        payment_unchanged: A payment head read for the decision and not rewritten; the commit
            fails if it changed (version 0: if it appeared) meanwhile.
        unallocated: Unallocated records to create or update.
        expect_unallocated: A payment_ref that must still be unallocated (manual allocation).
        credits: Customer credits to store.
        references: (key, target id) pairs for the `PaymentDirectory`.
        timeline: Timeline events to append.
        at: When the commit is made (recorded on the webhook record).
    """

    webhook: tuple[str, str] | None = None
    outcome: str = ""
    ledger: tuple[tuple[str, PaymentLedgerEntry], ...] = ()
    invoices: tuple[Invoice, ...] = ()
    unchanged: tuple[Invoice, ...] = ()
    payment: PaymentHead | None = None
    payment_unchanged: PaymentHead | None = None
    unallocated: tuple[UnallocatedPayment, ...] = ()
    expect_unallocated: str | None = None
    credits: tuple[CustomerCredit, ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    timeline: tuple[TimelineEvent, ...] = ()
    at: datetime | None = None


class PaymentStore(Protocol):
    """Payment ledgers per invoice, payment heads, unallocated money and customer credit."""

    def ledger(self, invoice_id: str) -> list[PaymentLedgerEntry]: ...  # pragma: no cover

    def payment(self, ledger_key: str) -> PaymentHead | None: ...  # pragma: no cover

    def commit(self, commit: PaymentCommit) -> list[Invoice]:
        """Write everything or nothing; returns the invoices as stored (new versions).

        Raises:
            ConcurrentUpdateError: an invoice, the payment head, the webhook record or the
                expected unallocated record changed since it was read.
        """
        ...  # pragma: no cover

    def unallocated(
        self, *, status: UnallocatedStatus, limit: int, cursor: str | None
    ) -> Page[UnallocatedPayment]: ...  # pragma: no cover

    def get_unallocated(
        self, payment_ref: str
    ) -> UnallocatedPayment | None: ...  # pragma: no cover

    def credits(self, customer_id: str) -> list[CustomerCredit]: ...  # pragma: no cover


class PaymentDirectory(Protocol):
    """Clues a payer leaves (an RF reference, an email) mapped to invoice or customer ids."""

    def register(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Remember each (key, target id); registering a pair twice changes nothing."""
        ...  # pragma: no cover

    def lookup(self, key: str) -> tuple[str, ...]: ...  # pragma: no cover


class DeliveryRejectedError(Exception):
    """The provider certainly did not accept the message (refused, throttled, unreachable)."""


class DeliveryUnknownError(Exception):
    """The request may or may not have reached the provider (e.g. a read timeout)."""


class CardCheckout(Protocol):
    """A hosted card payment page (Stripe Checkout) for some of a customer's invoices."""

    def start(
        self,
        *,
        customer_id: str,
        customer_email: str | None,
        invoices: Sequence[Invoice],
        locale: str,
        success_url: str,
        cancel_url: str,
    ) -> str:
        """Create the payment session; returns the URL to send the customer to.

        The session carries the invoice ids in its metadata (and its payment's), so the
        provider's webhook names them and the payment is matched on them.
        """
        ...  # pragma: no cover
