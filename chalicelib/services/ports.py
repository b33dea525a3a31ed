"""Service ports: the Protocols adapters implement and fakes imitate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.records import ApiToken, ImportRecord, TimelineEvent

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the opaque cursor for the next one."""

    items: tuple[T, ...]
    next_cursor: str | None


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

    def due_ids(self, shard: int, until: datetime) -> Iterator[tuple[str, datetime]]:
        """Invoice ids whose next action is at or before `until` in one shard of the due index."""
        ...  # pragma: no cover

    def delete(self, invoice_id: str) -> None: ...  # pragma: no cover


class CustomerRepository(Protocol):
    """Customers by id."""

    def get(self, customer_id: str) -> Customer | None: ...  # pragma: no cover

    def get_many(self, customer_ids: Sequence[str]) -> list[Customer]: ...  # pragma: no cover

    def save(self, customer: Customer) -> Customer: ...  # pragma: no cover

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
