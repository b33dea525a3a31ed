"""Service ports: the Protocols adapters implement and fakes imitate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO, Generic, Protocol, TypeVar

from chalicelib.domain.intake import ParsedInvoice, ReadWarning, RejectedRecord
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.policies import DunningPolicy
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

    def start(self, report: RunReport) -> None: ...  # pragma: no cover

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
