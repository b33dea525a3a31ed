"""Fakes for service ports: in-memory stores, recording senders, a fixed clock."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.invoices import CLOSED_STATUSES, Customer, Invoice
from chalicelib.domain.records import ApiToken, ImportRecord, TimelineEvent
from chalicelib.services.ports import DueEntry, Page


@dataclass
class FixedClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


def _page(items: list, limit: int, cursor: str | None) -> Page:
    start = int(cursor or 0)
    chunk = items[start : start + limit]
    nxt = str(start + limit) if start + limit < len(items) else None
    return Page(tuple(chunk), nxt)


class InMemoryTokenStore:
    def __init__(self) -> None:
        self.tokens: dict[str, ApiToken] = {}

    def get(self, token_hash: str) -> ApiToken | None:
        return self.tokens.get(token_hash)

    def put(self, token: ApiToken) -> None:
        self.tokens[token.token_hash] = token

    def revoke(self, token_id: str) -> bool:
        for key, token in self.tokens.items():
            if token.token_id == token_id and not token.revoked:
                self.tokens[key] = replace(token, revoked=True)
                return True
        return False

    def list(self) -> list[ApiToken]:
        return list(self.tokens.values())


class InMemoryInvoiceRepository:
    def __init__(self, shards: int = 4) -> None:
        self.items: dict[str, Invoice] = {}
        self.shards = shards

    def get(self, invoice_id: str) -> Invoice | None:
        return self.items.get(invoice_id)

    def get_many(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        return [self.items[i] for i in dict.fromkeys(invoice_ids) if i in self.items]

    def save(self, invoice: Invoice) -> Invoice:
        stored = self.items.get(invoice.invoice_id)
        if (stored.version if stored else 0) != invoice.version:
            raise ConcurrentUpdateError(invoice.invoice_id)
        saved = replace(invoice, version=invoice.version + 1)
        self.items[invoice.invoice_id] = saved
        return saved

    def save_new_batch(self, invoices: Sequence[Invoice]) -> None:
        for invoice in invoices:
            self.items[invoice.invoice_id] = replace(invoice, version=1)

    def by_customer(self, customer_id: str) -> list[Invoice]:
        return sorted(
            (i for i in self.items.values() if i.customer_id == customer_id),
            key=lambda i: i.due_date,
        )

    def by_number(self, number: str) -> list[Invoice]:
        return [i for i in self.items.values() if i.number == number]

    def list(
        self, *, status: str | None, customer_id: str | None, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        items = [
            i
            for i in self.items.values()
            if (status is None or i.status == status)
            and (customer_id is None or i.customer_id == customer_id)
        ]
        return _page(sorted(items, key=lambda i: i.invoice_id), limit, cursor)

    def due(self, shard: int, until: datetime) -> Iterator[DueEntry]:
        for invoice in sorted(self.items.values(), key=lambda i: i.invoice_id):
            at = invoice.next_action_at
            if at is None or invoice.status in CLOSED_STATUSES or at > until:
                continue
            if zlib.crc32(invoice.invoice_id.encode()) % self.shards == shard:
                yield DueEntry(invoice.invoice_id, invoice.customer_id, at)

    def delete(self, invoice_id: str) -> None:
        self.items.pop(invoice_id, None)


class InMemoryCustomerRepository:
    def __init__(self) -> None:
        self.items: dict[str, Customer] = {}

    def get(self, customer_id: str) -> Customer | None:
        return self.items.get(customer_id)

    def get_many(self, customer_ids: Sequence[str]) -> list[Customer]:
        return [self.items[i] for i in dict.fromkeys(customer_ids) if i in self.items]

    def save(self, customer: Customer) -> Customer:
        stored = self.items.get(customer.customer_id)
        if (stored.version if stored else 0) != customer.version:
            raise ConcurrentUpdateError(customer.customer_id)
        saved = replace(customer, version=customer.version + 1)
        self.items[customer.customer_id] = saved
        return saved

    def save_new_batch(self, customers: Sequence[Customer]) -> None:
        for customer in customers:
            self.items[customer.customer_id] = replace(customer, version=1)

    def list(self, *, limit: int, cursor: str | None) -> Page[Customer]:
        return _page(sorted(self.items.values(), key=lambda c: c.customer_id), limit, cursor)


class InMemoryTimeline:
    def __init__(self) -> None:
        self.events: list[TimelineEvent] = []

    def append(self, events: Iterable[TimelineEvent]) -> None:
        self.events.extend(events)

    def for_invoice(self, invoice_id: str, *, limit: int, cursor: str | None) -> Page:
        found = [e for e in self.events if e.invoice_id == invoice_id]
        return _page(sorted(found, key=lambda e: e.at, reverse=True), limit, cursor)

    def for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page:
        found = [e for e in self.events if e.customer_id == customer_id]
        return _page(sorted(found, key=lambda e: e.at, reverse=True), limit, cursor)


class InMemoryImportLog:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ImportRecord] = {}

    def get(self, key: str, etag: str) -> ImportRecord | None:
        return self.records.get((key, etag))

    def put(self, record: ImportRecord) -> None:
        self.records[(record.key, record.etag)] = record

    def list(self, *, limit: int, cursor: str | None) -> Page[ImportRecord]:
        items = sorted(self.records.values(), key=lambda r: r.received_at, reverse=True)
        return _page(items, limit, cursor)


# --- Payments (issue 6): webhook event log, payment store, directory, message plumbing ---
# Imported here so this section stays an append-only addition to the module.

from collections.abc import Mapping  # noqa: E402
from datetime import date  # noqa: E402
from decimal import Decimal  # noqa: E402

from chalicelib.domain.money import Money  # noqa: E402
from chalicelib.domain.payments import PaymentLedgerEntry  # noqa: E402
from chalicelib.domain.work import Task  # noqa: E402
from chalicelib.services.messages import MessageView, RenderedMessage  # noqa: E402
from chalicelib.services.ports import (  # noqa: E402
    ArchivedMessage,
    Claim,
    ClaimOutcome,
    CustomerCredit,
    OutgoingEmail,
    PaymentCommit,
    PaymentHead,
    StoredObject,
    UnallocatedPayment,
    UnallocatedStatus,
    WebhookClaim,
)


class StaticSecrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def get(self, name: str) -> str:
        return self.values[name]


class InMemoryWebhookEventLog:
    def __init__(self, stale_after: timedelta = timedelta(minutes=5)) -> None:
        self.records: dict[tuple[str, str], dict[str, object]] = {}
        self.rejected: list[tuple[str, bytes, str | None, str]] = []
        self.stale_after = stale_after

    def begin(
        self, provider: str, event_id: str, now: datetime, *, done_as: str | None = None
    ) -> WebhookClaim:
        key = (provider, event_id)
        old = self.records.get(key)
        stale = (
            old is not None
            and old["status"] == "processing"
            and now - old["started_at"] > self.stale_after  # type: ignore[operator]
        )
        if old is not None and not stale:
            return WebhookClaim.DONE if old["status"] == "done" else WebhookClaim.IN_FLIGHT
        status = "done" if done_as else "processing"
        self.records[key] = {"status": status, "outcome": done_as, "started_at": now}
        return WebhookClaim.NEW

    def is_done(self, provider: str, event_id: str) -> bool:
        record = self.records.get((provider, event_id))
        return record is not None and record["status"] == "done"

    def keep_rejected(
        self, provider: str, raw_body: bytes, field: str | None, message: str, now: datetime
    ) -> None:
        self.rejected.append((provider, raw_body, field, message))


class InMemoryPaymentDirectory:
    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def register(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs.update(pairs)

    def lookup(self, key: str) -> tuple[str, ...]:
        return tuple(sorted(target for k, target in self.pairs if k == key))


class InMemoryPaymentStore:
    """Commits atomically: every condition is checked before anything is written."""

    def __init__(
        self,
        invoices: InMemoryInvoiceRepository,
        timeline: InMemoryTimeline,
        events: InMemoryWebhookEventLog,
        directory: InMemoryPaymentDirectory,
    ) -> None:
        self.invoices = invoices
        self.timeline = timeline
        self.events = events
        self.directory = directory
        self.ledgers: dict[str, dict[str, PaymentLedgerEntry]] = {}
        self.heads: dict[str, PaymentHead] = {}
        self.items: dict[str, UnallocatedPayment] = {}
        self.credit_items: dict[tuple[str, str], CustomerCredit] = {}
        self.commits = 0
        # Called before each commit: a test can change the world as a concurrent writer would.
        self.before_commit: list = []

    def ledger(self, invoice_id: str) -> list[PaymentLedgerEntry]:
        return list(self.ledgers.get(invoice_id, {}).values())

    def payment(self, ledger_key: str) -> PaymentHead | None:
        return self.heads.get(ledger_key)

    def _check(self, commit: PaymentCommit) -> None:
        for invoice in (*commit.invoices, *commit.unchanged):
            stored = self.invoices.items.get(invoice.invoice_id)
            if stored is None or stored.version != invoice.version:
                raise ConcurrentUpdateError(invoice.invoice_id)
        for head in (commit.payment, commit.payment_unchanged):
            if head is not None:
                stored_head = self.heads.get(head.ledger_key)
                if (stored_head.version if stored_head else 0) != head.version:
                    raise ConcurrentUpdateError(head.ledger_key)
        if commit.webhook is not None:
            record = self.events.records.get(commit.webhook)
            if record is None or record["status"] != "processing":
                raise ConcurrentUpdateError(str(commit.webhook))
        if commit.expect_unallocated is not None:
            item = self.items.get(commit.expect_unallocated)
            if item is None or item.status != UnallocatedStatus.UNALLOCATED:
                raise ConcurrentUpdateError(commit.expect_unallocated)

    def commit(self, commit: PaymentCommit) -> list[Invoice]:
        hooks, self.before_commit = self.before_commit, []
        for hook in hooks:
            hook()
        self._check(commit)
        self.commits += 1
        saved = [replace(i, version=i.version + 1) for i in commit.invoices]
        for invoice in saved:
            self.invoices.items[invoice.invoice_id] = invoice
        if commit.payment is not None:
            head = commit.payment
            self.heads[head.ledger_key] = replace(head, version=head.version + 1)
        for invoice_id, entry in commit.ledger:
            key = f"{entry.provider}#{entry.provider_payment_id or '-'}#{entry.event_id}"
            self.ledgers.setdefault(invoice_id, {})[key] = entry
        for item in commit.unallocated:
            self.items[item.payment_ref] = item
        for credit in commit.credits:
            self.credit_items[(credit.customer_id, credit.event_id)] = credit
        self.directory.register(commit.references)
        self.timeline.append(commit.timeline)
        if commit.webhook is not None:
            self.events.records[commit.webhook].update(status="done", outcome=commit.outcome)
        return saved + list(commit.unchanged)

    def unallocated(
        self, *, status: UnallocatedStatus, limit: int, cursor: str | None
    ) -> Page[UnallocatedPayment]:
        found = [i for i in self.items.values() if i.status == status]
        return _page(sorted(found, key=lambda i: i.received_at), limit, cursor)

    def get_unallocated(self, payment_ref: str) -> UnallocatedPayment | None:
        return self.items.get(payment_ref)

    def credits(self, customer_id: str) -> list[CustomerCredit]:
        return [c for (cid, _), c in self.credit_items.items() if cid == customer_id]


class InMemoryTaskStore:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}

    def create(self, task: Task) -> bool:
        if task.task_id in self.tasks:
            return False
        self.tasks[task.task_id] = task
        return True

    def get(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def save(self, task: Task) -> None:
        self.tasks[task.task_id] = task

    def list(self, *, status: str, limit: int, cursor: str | None) -> Page[Task]:
        found = [t for t in self.tasks.values() if t.status == status]
        return _page(sorted(found, key=lambda t: t.task_id), limit, cursor)


class InMemoryClaimLog:
    """Claims checked against the invoice version, like the DynamoDB transaction."""

    def __init__(self, invoices: InMemoryInvoiceRepository) -> None:
        self.invoices = invoices
        self.claims: dict[tuple[str, str, str], Claim] = {}

    def claim(
        self,
        invoice_id: str,
        invoice_version: int,
        step_id: str,
        channel: str,
        run_id: str,
        at: datetime,
    ) -> ClaimOutcome:
        key = (invoice_id, step_id, channel)
        if key in self.claims:
            sent = self.claims[key].status == "sent"
            return ClaimOutcome.ALREADY_SENT if sent else ClaimOutcome.IN_FLIGHT
        stored = self.invoices.items.get(invoice_id)
        if stored is None or stored.version != invoice_version:
            return ClaimOutcome.INVOICE_CHANGED
        self.claims[key] = Claim(invoice_id, step_id, channel, run_id, at, "claimed")
        return ClaimOutcome.WON

    def confirm(self, invoice_id: str, step_id: str, channel: str, message_ref: str) -> None:
        key = (invoice_id, step_id, channel)
        self.claims[key] = replace(self.claims[key], status="sent", message_ref=message_ref)

    def release(self, invoice_id: str, step_id: str, channel: str) -> None:
        # As on DynamoDB: only a claim still "claimed" is given back, never a sent one.
        key = (invoice_id, step_id, channel)
        if key in self.claims and self.claims[key].status == "claimed":
            del self.claims[key]

    def get(self, invoice_id: str, step_id: str, channel: str) -> Claim | None:
        return self.claims.get((invoice_id, step_id, channel))


class RecordingEmailSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    def send(self, email: OutgoingEmail) -> str:
        self.sent.append(email)
        return f"email-{len(self.sent)}"


class RecordingSmsSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.opted_out: set[str] = set()  # numbers that replied STOP

    def is_opted_out(self, phone: str) -> bool:
        return phone in self.opted_out

    def send(self, phone: str, text: str, sender_id: str | None) -> str:
        self.sent.append((phone, text))
        return f"sms-{len(self.sent)}"


class PlainFormatter:
    """LocaleFormatter without locale rules: wire amounts and ISO dates."""

    def money(self, amount: Money, locale: str) -> str:
        return f"{amount.to_wire()} {amount.currency}"

    def date(self, d: date, locale: str, format: str = "long") -> str:
        return d.isoformat()

    def percent(self, value: Decimal, locale: str) -> str:
        return f"{value * 100} %"


class EchoRenderer:
    """TemplateRenderer that writes what it was asked to render, in plain words."""

    def render_email(self, step_id: str, tone: str, view: MessageView) -> RenderedMessage:
        text = f"{step_id} ({tone}) for {view.customer_name}: {view.invoice_numbers}"
        return RenderedMessage(subject=f"{step_id}: {view.invoice_numbers}", html=text, text=text)

    def render_sms(self, step_id: str, tone: str, view: MessageView) -> str:
        return f"{step_id}: {view.invoice_numbers}"

    def render_task_note(self, step_id: str, view: MessageView) -> str:
        return f"{step_id}: {view.invoice_numbers}"

    def render_page(self, name: str, context: Mapping[str, object]) -> str:
        return f"{name}: {sorted(context)}"

    def available(self, step_id: str, channel: str) -> bool:
        return True


class NoDocuments:
    def head(self, key: str) -> StoredObject | None:
        return None

    def open(self, key: str):  # pragma: no cover - never opened by these tests
        raise FileNotFoundError(key)

    def get_bytes(self, key: str) -> bytes | None:
        return None

    def put(self, key: str, body: bytes, content_type: str) -> None:
        return None

    def copy(self, source_key: str, target_key: str) -> None:
        return None


class MessageTimeline(InMemoryTimeline):
    """InMemoryTimeline plus the message archive the dispatcher writes."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, ArchivedMessage] = {}

    def count_since(self, customer_id: str, types: frozenset, since: datetime) -> int:
        # One consolidated message is one event per invoice: count messages, not events.
        return len(
            {
                e.detail("message_ref") or e.event_id
                for e in self.events
                if e.customer_id == customer_id and e.type in types and e.at >= since
            }
        )

    def archive_message(self, message: ArchivedMessage) -> None:
        self.messages[message.message_ref] = message

    def get_message(self, message_ref: str) -> ArchivedMessage | None:
        return self.messages.get(message_ref)
