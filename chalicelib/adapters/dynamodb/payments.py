"""Adapter: webhook event ids, payment ledgers, payment heads, unallocated money and credits.

Everything lives in the generic records table (`GenericRecord`):

| item | pk | sk |
|---|---|---|
| webhook event (TTL 30 days) | `webhook#<provider>#<event id>` | `event` |
| rejected signed body (TTL 30 days) | `webhook_rejected#<provider>#<sha256>` | `body` |
| ledger entry | `ledger#<invoice id>` | `<provider>#<payment id or ->#<event id>` |
| payment head | `payment#<provider>:<payment id>` | `head` |
| unallocated money (gsi1pk `payments#<status>`) | `unallocated#<payment ref>` | `payment` |
| customer credit | `credit#<customer id>` | `<provider>#<event id>` |
| directory entry | `directory#<key>` | `<target id>` |

`DynamoPaymentStore.commit` writes one event's effects in a single TransactWriteItems call:
invoices conditional on their version, the payment head conditional on its version, the
webhook record conditional on still being "processing", and idempotent upserts for the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.tables import (
    GenericRecord,
    InvoiceRecord,
    map_values,
)
from chalicelib.adapters.dynamodb.timeline import DynamoTimeline
from chalicelib.domain.errors import ConcurrentUpdateError, ValidationError
from chalicelib.domain.invoices import Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentEvent, PaymentEventKind, PaymentLedgerEntry
from chalicelib.domain.records import TimelineEvent
from chalicelib.services.ports import (
    CustomerCredit,
    Page,
    PaymentCommit,
    PaymentHead,
    UnallocatedPayment,
    UnallocatedStatus,
    WebhookClaim,
)

MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit on the items of one TransactWriteItems call."""

_RETRYABLE_CANCELLATIONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_MAX_KEPT_BODY = 300_000  # bytes; a DynamoDB item holds at most 400 KB


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _get(pk: str, sk: str) -> GenericRecord | None:
    try:
        return GenericRecord.get(pk, sk, consistent_read=True)
    except GenericRecord.DoesNotExist:
        return None


# --- mapping -------------------------------------------------------------------------------------


def _money_data(amount: Money | None) -> dict[str, Any]:
    if amount is None:
        return {"amount_minor": None, "currency": None}
    return {"amount_minor": amount.minor, "currency": amount.currency}


def _money(data: dict[str, Any]) -> Money | None:
    if data.get("amount_minor") is None:
        return None
    return Money(int(data["amount_minor"]), str(data["currency"]))


def event_to_data(event: PaymentEvent) -> dict[str, Any]:
    """A payment event as a plain map (stored with unallocated money and orphans)."""
    return {
        "provider": event.provider,
        "event_id": event.event_id,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at.isoformat(),
        **_money_data(event.amount),
        "invoice_refs": list(event.invoice_refs),
        "remittance_text": event.remittance_text,
        "customer_email": event.customer_email,
        "provider_payment_id": event.provider_payment_id,
        "raw_type": event.raw_type,
    }


def event_from_data(data: dict[str, Any]) -> PaymentEvent:
    """The inverse of `event_to_data`."""
    return PaymentEvent(
        provider=str(data["provider"]),
        event_id=str(data["event_id"]),
        kind=PaymentEventKind(data["kind"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        amount=_money(data),
        invoice_refs=tuple(str(r) for r in data.get("invoice_refs") or ()),
        remittance_text=data.get("remittance_text"),
        customer_email=data.get("customer_email"),
        provider_payment_id=data.get("provider_payment_id"),
        raw_type=str(data["raw_type"]),
    )


def _ledger_key(invoice_id: str, entry: PaymentLedgerEntry) -> tuple[str, str]:
    return f"ledger#{invoice_id}", (
        f"{entry.provider}#{entry.provider_payment_id or '-'}#{entry.event_id}"
    )


def _entry_data(invoice_id: str, entry: PaymentLedgerEntry) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "event_id": entry.event_id,
        "provider": entry.provider,
        "provider_payment_id": entry.provider_payment_id,
        "kind": entry.kind.value,
        **_money_data(entry.amount),
        "occurred_at": entry.occurred_at.isoformat(),
    }


def _entry(data: dict[str, Any]) -> PaymentLedgerEntry:
    return PaymentLedgerEntry(
        event_id=str(data["event_id"]),
        provider_payment_id=data.get("provider_payment_id"),
        kind=PaymentEventKind(data["kind"]),
        amount=_money(data),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        provider=str(data.get("provider") or ""),
    )


def _head_record(head: PaymentHead) -> GenericRecord:
    record = GenericRecord(
        f"payment#{head.ledger_key}",
        "head",
        data={
            "ledger_key": head.ledger_key,
            "invoice_ids": list(head.invoice_ids),
            "orphans": [event_to_data(e) for e in head.orphans],
        },
    )
    if head.version:
        record.version = head.version
    return record


def _unallocated_data(item: UnallocatedPayment) -> dict[str, Any]:
    return {
        "payment_ref": item.payment_ref,
        "event": event_to_data(item.event),
        **_money_data(item.amount),
        "reason": item.reason,
        "received_at": item.received_at.isoformat(),
        "status": item.status.value,
        "customer_id": item.customer_id,
        "allocated_to": list(item.allocated_to),
        "allocated_by": item.allocated_by,
        "allocated_at": item.allocated_at.isoformat() if item.allocated_at else None,
    }


def _unallocated(record: GenericRecord) -> UnallocatedPayment:
    d = map_values(record.data)
    return UnallocatedPayment(
        payment_ref=str(d["payment_ref"]),
        event=event_from_data(map_values(d["event"])),
        amount=_money(d),
        reason=str(d["reason"]),
        received_at=datetime.fromisoformat(d["received_at"]),
        status=UnallocatedStatus(d["status"]),
        customer_id=d.get("customer_id"),
        allocated_to=tuple(str(i) for i in d.get("allocated_to") or ()),
        allocated_by=d.get("allocated_by"),
        allocated_at=datetime.fromisoformat(d["allocated_at"]) if d.get("allocated_at") else None,
    )


def _credit_data(credit: CustomerCredit) -> dict[str, Any]:
    return {
        "customer_id": credit.customer_id,
        **_money_data(credit.amount),
        "provider": credit.provider,
        "event_id": credit.event_id,
        "invoice_ids": list(credit.invoice_ids),
        "created_at": credit.created_at.isoformat(),
    }


# --- webhook event ids ---------------------------------------------------------------------------


class DynamoWebhookEventLog:
    """Conditional puts keyed by provider event id, kept `retention` (providers retry 3 days)."""

    def __init__(
        self,
        retention: timedelta = timedelta(days=30),
        stale_after: timedelta = timedelta(minutes=5),
    ) -> None:
        self._retention = retention
        self._stale_after = stale_after

    @staticmethod
    def _pk(provider: str, event_id: str) -> str:
        return f"webhook#{provider}#{event_id}"

    def begin(
        self, provider: str, event_id: str, now: datetime, *, done_as: str | None = None
    ) -> WebhookClaim:
        record = GenericRecord(
            self._pk(provider, event_id),
            "event",
            expires_at=now + self._retention,
            data={
                "provider": provider,
                "event_id": event_id,
                "status": "done" if done_as else "processing",
                "outcome": done_as,
                "started_at": _iso(now),
                "finished_at": _iso(now) if done_as else None,
            },
        )
        stale = (GenericRecord.data["status"] == "processing") & (
            GenericRecord.data["started_at"] < _iso(now - self._stale_after)
        )
        table = GenericRecord._get_connection()
        args, kwargs = record._get_save_args(
            condition=GenericRecord.pk.does_not_exist() | stale, add_version_condition=False
        )
        # ALL_OLD returns the stored record with the refusal: a duplicate costs one request.
        (hash_key,) = tuple(args)
        operation = table.get_operation_kwargs(
            hash_key,
            range_key=kwargs.get("range_key"),
            key="Item",
            attributes=kwargs["attributes"],
            condition=kwargs["condition"],
            return_values_on_condition_failure="ALL_OLD",
        )
        try:
            table.connection.dispatch("PutItem", operation)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return self._seen(exc, provider, event_id)
        return WebhookClaim.NEW

    def _seen(self, refusal: ClientError, provider: str, event_id: str) -> WebhookClaim:
        # PynamoDB re-raises botocore's error without the returned item; the original is the
        # cause. Without the item (an emulator that ignores ALL_OLD), read the record.
        original = refusal.__cause__ if isinstance(refusal.__cause__, ClientError) else refusal
        raw: dict[str, Any] | None = original.response.get("Item")  # type: ignore[assignment]
        if raw:
            status = map_values(GenericRecord.from_raw_data(raw).data).get("status")
        else:
            record = _get(self._pk(provider, event_id), "event")
            status = map_values(record.data).get("status") if record else None
        return WebhookClaim.DONE if status == "done" else WebhookClaim.IN_FLIGHT

    def is_done(self, provider: str, event_id: str) -> bool:
        record = _get(self._pk(provider, event_id), "event")
        return record is not None and map_values(record.data).get("status") == "done"

    def keep_rejected(
        self, provider: str, raw_body: bytes, field: str | None, message: str, now: datetime
    ) -> None:
        digest = hashlib.sha256(raw_body).hexdigest()
        GenericRecord(
            f"webhook_rejected#{provider}#{digest}",
            "body",
            gsi1pk=f"webhooks_rejected#{provider}",
            gsi1sk=f"{_iso(now)}#{digest}",
            expires_at=now + self._retention,
            data={
                "provider": provider,
                "sha256": digest,
                "field": field,
                "message": message[:1000],
                "received_at": _iso(now),
                "body": raw_body[:_MAX_KEPT_BODY].decode("utf-8", "replace"),
                "truncated": len(raw_body) > _MAX_KEPT_BODY,
            },
        ).save(add_version_condition=False)


# --- ledger, heads, unallocated money, credits ---------------------------------------------------


def _upsert(transaction: TransactWrite, pk: str, sk: str, **attributes: Any) -> None:
    actions: list[Action] = [
        getattr(GenericRecord, name).set(value) for name, value in attributes.items()
    ]
    transaction.update(GenericRecord(pk, sk), actions=actions, add_version_condition=False)


def _write_unallocated(
    transaction: TransactWrite, item: UnallocatedPayment, expected: str | None
) -> None:
    actions: list[Action] = [
        GenericRecord.gsi1pk.set(f"payments#{item.status.value}"),
        GenericRecord.gsi1sk.set(f"{_iso(item.received_at)}#{item.payment_ref}"),
        GenericRecord.data.set(_unallocated_data(item)),
    ]
    # A collector's allocation must find the money still unallocated (two clicks, one effect).
    condition = None
    if expected == item.payment_ref:
        condition = GenericRecord.data["status"] == UnallocatedStatus.UNALLOCATED.value
    transaction.update(
        GenericRecord(f"unallocated#{item.payment_ref}", "payment"),
        actions=actions,
        condition=condition,
        add_version_condition=False,
    )


def _write_head(transaction: TransactWrite, commit: PaymentCommit) -> None:
    if commit.payment is not None:
        transaction.save(_head_record(commit.payment))
    if commit.payment_unchanged is not None:
        head = commit.payment_unchanged
        same = (
            GenericRecord.version == head.version
            if head.version
            else GenericRecord.pk.does_not_exist()
        )
        transaction.condition_check(
            GenericRecord, f"payment#{head.ledger_key}", "head", condition=same
        )


class DynamoPaymentStore:
    """Implements PaymentStore on the records table (plus invoices and timeline in commits)."""

    def __init__(self, invoices: DynamoInvoiceRepository, connection: Connection) -> None:
        self._invoices = invoices
        self._connection = connection

    def ledger(self, invoice_id: str) -> list[PaymentLedgerEntry]:
        return [
            _entry(map_values(r.data))
            for r in GenericRecord.query(f"ledger#{invoice_id}", consistent_read=True)
        ]

    def payment(self, ledger_key: str) -> PaymentHead | None:
        record = _get(f"payment#{ledger_key}", "head")
        if record is None:
            return None
        d = map_values(record.data)
        return PaymentHead(
            ledger_key=str(d["ledger_key"]),
            invoice_ids=tuple(str(i) for i in d.get("invoice_ids") or ()),
            orphans=tuple(event_from_data(map_values(o)) for o in d.get("orphans") or ()),
            version=int(record.version or 0),
        )

    def commit(self, commit: PaymentCommit) -> list[Invoice]:
        records = [self._invoices.to_record(invoice) for invoice in commit.invoices]
        timeline = list(commit.timeline)
        conditional = len(records) + len(commit.unchanged) + 3
        upserts = len(commit.ledger) + len(commit.unallocated) + len(commit.credits)
        upserts += len(commit.references)
        later: list[TimelineEvent] = []
        if conditional + upserts + len(timeline) > MAX_TRANSACTION_ITEMS:
            # Timeline ids are deterministic, so writing them after the commit stays idempotent.
            later, timeline = timeline, []
        if conditional + upserts > MAX_TRANSACTION_ITEMS:
            raise ValidationError("one payment event changes too many invoices at once", "lines")
        try:
            with TransactWrite(connection=self._connection) as transaction:
                self._write(transaction, commit, records, timeline)
        except TransactWriteError as exc:
            codes = {getattr(r, "code", None) for r in exc.cancellation_reasons if r is not None}
            if codes & _RETRYABLE_CANCELLATIONS:
                raise ConcurrentUpdateError("a payment record changed meanwhile; retry") from exc
            raise
        if later:
            DynamoTimeline().append(later)
        return [self._invoices.to_domain(r) for r in records] + list(commit.unchanged)

    @staticmethod
    def _write(
        transaction: TransactWrite,
        commit: PaymentCommit,
        records: Sequence[InvoiceRecord],
        timeline: Sequence[TimelineEvent],
    ) -> None:
        for invoice in commit.unchanged:
            transaction.condition_check(
                InvoiceRecord,
                invoice.invoice_id,
                condition=InvoiceRecord.version == invoice.version,
            )
        for record in records:
            transaction.save(record)
        _write_head(transaction, commit)
        for event in timeline:
            transaction.save(DynamoTimeline.to_record(event))
        if commit.webhook is not None:
            provider, event_id = commit.webhook
            transaction.update(
                GenericRecord(DynamoWebhookEventLog._pk(provider, event_id), "event"),
                actions=[
                    GenericRecord.data["status"].set("done"),
                    GenericRecord.data["outcome"].set(commit.outcome),
                    GenericRecord.data["finished_at"].set(_iso(commit.at) if commit.at else None),
                ],
                condition=GenericRecord.data["status"] == "processing",
                add_version_condition=False,
            )
        for invoice_id, entry in commit.ledger:
            pk, sk = _ledger_key(invoice_id, entry)
            _upsert(transaction, pk, sk, data=_entry_data(invoice_id, entry))
        for item in commit.unallocated:
            _write_unallocated(transaction, item, commit.expect_unallocated)
        for credit in commit.credits:
            _upsert(
                transaction,
                f"credit#{credit.customer_id}",
                f"{credit.provider}#{credit.event_id}",
                data=_credit_data(credit),
            )
        for key, target in commit.references:
            _upsert(transaction, f"directory#{key}", target, data={"target": target})

    def unallocated(
        self, *, status: UnallocatedStatus, limit: int, cursor: str | None
    ) -> Page[UnallocatedPayment]:
        result = GenericRecord.by_group.query(
            f"payments#{status.value}", limit=limit, last_evaluated_key=decode_cursor(cursor)
        )
        items = tuple(_unallocated(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))

    def get_unallocated(self, payment_ref: str) -> UnallocatedPayment | None:
        record = _get(f"unallocated#{payment_ref}", "payment")
        return _unallocated(record) if record else None

    def credits(self, customer_id: str) -> list[CustomerCredit]:
        found = []
        for record in GenericRecord.query(f"credit#{customer_id}", consistent_read=True):
            d = map_values(record.data)
            amount = _money(d)
            if amount is None:
                continue
            found.append(
                CustomerCredit(
                    customer_id=str(d["customer_id"]),
                    amount=amount,
                    provider=str(d["provider"]),
                    event_id=str(d["event_id"]),
                    invoice_ids=tuple(str(i) for i in d.get("invoice_ids") or ()),
                    created_at=datetime.fromisoformat(d["created_at"]),
                )
            )
        return found


# --- directory -----------------------------------------------------------------------------------


class DynamoPaymentDirectory:
    """One item per (key, target): registering is an idempotent put, looking up a query."""

    def register(self, pairs: Sequence[tuple[str, str]]) -> None:
        unique = list(dict.fromkeys(pairs))
        if not unique:
            return
        with GenericRecord.batch_write() as batch:
            for key, target in unique:
                batch.save(GenericRecord(f"directory#{key}", target, data={"target": target}))

    def lookup(self, key: str) -> tuple[str, ...]:
        return tuple(r.sk for r in GenericRecord.query(f"directory#{key}", limit=20))
