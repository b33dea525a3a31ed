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
