"""Service: InvoiceIntake.ingest, from an uploaded file to invoices, customers and a report."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from posixpath import basename, dirname

from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.intake import (
    ParsedInvoice,
    ReadWarning,
    RejectedRecord,
    UnreadableDocumentError,
)
from chalicelib.domain.invoices import (
    Customer,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    document_id_for,
    invoice_id_for,
)
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType, ImportRecord, TimelineEvent
from chalicelib.services.customer_merge import buyer_key, merge_customer, new_customer
from chalicelib.services.ports import (
    Clock,
    CustomerRepository,
    DocumentStore,
    ImportLog,
    InvoiceFileReader,
    InvoiceRepository,
    Timeline,
)

log = logging.getLogger(__name__)

INBOX_PREFIX = "inbox/"
REJECTED_PREFIX = "rejected/"
MAPPING_FILE = "_mapping.json"
BATCH_SIZE = 100
_COMPARED_FIELDS = (
    "issue_date",
    "due_date",
    "amount_total",
    "purchase_order",
    "payment_reference",
    "iban",
    "customer_id",
)

InitialActionAt = Callable[[Invoice, Customer], datetime | None]


@dataclass
class _Counts:
    accepted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)
    # Customers already read or written for this file: later batches need not read them again.
    customers: dict[str, Customer] = field(default_factory=dict)


def report_key(key: str) -> str:
    """Where the error report of an upload goes (DESIGN.md §6)."""
    return f"{REJECTED_PREFIX}{key}.errors.json"


class InvoiceIntake:
    """Imports uploaded invoice files: idempotent per (key, ETag), nothing lost."""

    def __init__(
        self,
        *,
        documents: DocumentStore,
        reader: InvoiceFileReader,
        invoices: InvoiceRepository,
        customers: CustomerRepository,
        timeline: Timeline,
        imports: ImportLog,
        clock: Clock,
        initial_action_at: InitialActionAt,
        max_upload_bytes: int,
    ) -> None:
        self._documents = documents
        self._reader = reader
        self._invoices = invoices
        self._customers = customers
        self._timeline = timeline
        self._imports = imports
        self._clock = clock
        self._initial_action_at = initial_action_at
        self._max_bytes = max_upload_bytes

    def ingest(self, key: str) -> ImportRecord | None:
        """Import one uploaded file; returns its import record, or None when there is nothing to do.

        Re-delivering the same upload (same key and ETag) changes nothing. A file that cannot be
        read is copied to `rejected/` with a report; bad rows are reported while good ones import.
        """
        if not key.startswith(INBOX_PREFIX) or basename(key) == MAPPING_FILE:
            return None
        stored = self._documents.head(key)
        if stored is None:
            log.warning("uploaded object is gone", extra={"key": key})
            return None
        previous = self._imports.get(key, stored.etag)
        if previous is not None:
            log.info("upload already imported", extra={"key": key, "etag": stored.etag})
            return previous
        received_at = self._clock.now()
        try:
            if stored.size > self._max_bytes:
                raise UnreadableDocumentError(
                    f"the file is {stored.size} bytes, over the {self._max_bytes}-byte limit"
                )
            mapping = self._column_mapping(key)
            stream = self._reader.read(
                self._documents.open(key),
                basename(key),
                column_mapping=mapping,
                max_bytes=self._max_bytes,
            )
            counts = self._import_stream(stream.items, key, stream.format)
        except UnreadableDocumentError as exc:
            return self._record_unreadable(key, stored.etag, received_at, exc.reason)
        status = (
            "imported" if not counts.rejected else ("partial" if counts.accepted else "rejected")
        )
        has_report = counts.rejected or counts.warnings
        error_key = self._write_report(key, stream.format, counts) if has_report else None
        record = ImportRecord(
            key=key,
            etag=stored.etag,
            format=stream.format,
            status=status,
            accepted=counts.accepted,
            rejected=len(counts.rejected),
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            error_report_key=error_key,
            received_at=received_at,
        )
        self._imports.put(record)
        log.info(
            "upload imported",
            extra={
                "key": key,
                "format": stream.format,
                "status": status,
                "accepted": counts.accepted,
                "rejected": len(counts.rejected),
            },
        )
        return record

    # -- reading --

    def _column_mapping(self, key: str) -> dict[str, str] | None:
        raw = self._documents.get_bytes(f"{dirname(key)}/{MAPPING_FILE}")
        if raw is None:
            return None
        try:
            mapping = json.loads(raw)
        except ValueError as exc:
            raise UnreadableDocumentError(f"{MAPPING_FILE} beside the file is not JSON") from exc
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise UnreadableDocumentError(
                f'{MAPPING_FILE} must be an object {{"File header": "canonical_field"}}'
            )
        return mapping

    def _import_stream(
        self, items: Iterable[ParsedInvoice | RejectedRecord | ReadWarning], key: str, fmt: str
    ) -> _Counts:
        counts = _Counts()
        batch: list[ParsedInvoice] = []
        try:
            for item in items:
                if isinstance(item, RejectedRecord):
                    counts.rejected.append(item)
                    continue
                if isinstance(item, ReadWarning):
                    counts.warnings.append(item)
                    continue
                batch.append(item)
                if len(batch) >= BATCH_SIZE:
                    self._import_batch(batch, key, fmt, counts)
                    batch = []
        except UnreadableDocumentError as exc:
            # A stream can break after good invoices (truncated file, size limit): keep what
            # was read, and report the rest as one rejection so the file is not "imported".
            if not counts.accepted and not batch:
                raise
            counts.rejected.append(RejectedRecord("file", "file", exc.reason))
        if batch:
            self._import_batch(batch, key, fmt, counts)
        return counts

    # -- writing --

    def _import_batch(
        self, parsed: Sequence[ParsedInvoice], key: str, fmt: str, counts: _Counts
    ) -> None:
        now = self._clock.now()
        customers = self._upsert_customers(parsed, counts.customers)
        documents = [p for p in parsed if p.kind == DocumentKind.INVOICE]
        credits = [p for p in parsed if p.kind == DocumentKind.CREDIT_NOTE]
        events: list[TimelineEvent] = []
        for group in (documents, credits):
            existing = {
                i.invoice_id: i
                for i in self._invoices.get_many(
                    [document_id_for(p.seller_id, p.number, p.kind) for p in group]
                )
            }
            new: list[Invoice] = []
            for item in group:
                customer = customers[_customer_key(item)]
                invoice_id = document_id_for(item.seller_id, item.number, item.kind)
                current = existing.get(invoice_id)
                if current is None:
                    invoice = self._new_invoice(item, customer, key, fmt, now)
                    new.append(invoice)
                    existing[invoice_id] = invoice
                    counts.created += 1
                    counts.accepted += 1
                    continue
                outcome = self._update_invoice(current, item, customer, key, fmt, now, events)
                if isinstance(outcome, RejectedRecord):
                    counts.rejected.append(outcome)
                    continue
                counts.accepted += 1
                if outcome is current:
                    counts.unchanged += 1
                else:
                    existing[invoice_id] = outcome
                    counts.updated += 1
            if new:
                self._invoices.save_new_batch(new)
            if group is credits:
                for credit in new:
                    events.extend(self._apply_credit_note(credit, now))
        if events:
            self._timeline.append(events)

    def _upsert_customers(
        self, parsed: Sequence[ParsedInvoice], known: dict[str, Customer]
    ) -> dict[tuple[str, str], Customer]:
        wanted = {_customer_key(p): new_customer(p.seller_id, p.buyer) for p in parsed}
        buyers = {_customer_key(p): p.buyer for p in parsed}
        unknown = [c.customer_id for c in wanted.values() if c.customer_id not in known]
        stored = {c.customer_id: c for c in self._customers.get_many(unknown)} if unknown else {}
        stored.update({i: known[i] for c in wanted.values() if (i := c.customer_id) in known})
        result: dict[tuple[str, str], Customer] = {}
        fresh: list[Customer] = []
        for ckey, candidate in wanted.items():
            current = stored.get(candidate.customer_id)
            if current is None:
                fresh.append(candidate)
                result[ckey] = candidate
                continue
            merged = merge_customer(current, buyers[ckey])
            result[ckey] = merged if merged is current else self._customers.save(merged)
        if fresh:
            self._customers.save_new_batch(fresh)
            saved = {c.customer_id for c in fresh}
            # A batch write stores version 1: a later update in this file must expect it.
            result = {
                k: replace(c, version=1) if c.customer_id in saved else c for k, c in result.items()
            }
        known.update((c.customer_id, c) for c in result.values())
        return result

    def _new_invoice(
        self, item: ParsedInvoice, customer: Customer, key: str, fmt: str, now: datetime
    ) -> Invoice:
        invoice = Invoice(
            invoice_id=document_id_for(item.seller_id, item.number, item.kind),
            seller_id=item.seller_id,
            number=item.number,
            customer_id=customer.customer_id,
            issue_date=item.issue_date,
            due_date=item.due_date or item.issue_date,
            amount_total=item.amount_total,
            amount_paid=item.amount_total - item.amount_due
            if item.amount_due <= item.amount_total
            else item.amount_paid,
            kind=item.kind,
            purchase_order=item.purchase_order,
            payment_reference=item.payment_reference,
            iban=item.iban,
            source_key=key,
            source_format=fmt,
            extra=_extra(item, now),
        )
        if item.kind == DocumentKind.CREDIT_NOTE:
            # A credit note is never chased; what it does is reduce other invoices.
            return replace(
                invoice, amount_paid=invoice.amount_total, status=InvoiceStatus.PAID, paid_at=now
            )
        invoice = invoice.with_settled_status(now)
        if invoice.is_closed:
            return invoice
        return replace(invoice, next_action_at=self._initial_action_at(invoice, customer))

    def _update_invoice(
        self,
        current: Invoice,
        item: ParsedInvoice,
        customer: Customer,
        key: str,
        fmt: str,
        now: datetime,
        events: list[TimelineEvent],
    ) -> Invoice | RejectedRecord:
        if item.currency != current.currency:
            return RejectedRecord(
                item.source_location,
                "currency",
                f"invoice {item.number} is in {current.currency}; "
                f"a corrected file cannot change its currency",
                item.currency,
            )
        if item.kind == DocumentKind.CREDIT_NOTE:
            return current
        candidate = self._new_invoice(item, customer, key, fmt, now)
        changed = [
            name for name in _COMPARED_FIELDS if getattr(candidate, name) != getattr(current, name)
        ]
        # Payments recorded by Relance stay applied; a file can only report more paid.
        paid = max(current.amount_paid, candidate.amount_paid, key=lambda m: m.minor)
        if paid != current.amount_paid:
            changed.append("amount_paid")
        if not changed:
            return current
        updated = replace(
            current,
            **{name: getattr(candidate, name) for name in _COMPARED_FIELDS},
            amount_paid=paid,
            source_key=key,
        ).with_settled_status(now)
        if "due_date" in changed and not updated.is_closed and not updated.steps_done:
            updated = replace(updated, next_action_at=self._initial_action_at(updated, customer))
        try:
            saved = self._invoices.save(updated)
        except ConcurrentUpdateError:
            fresh = self._invoices.get(current.invoice_id)
            if fresh is None:
                raise
            return self._update_invoice(fresh, item, customer, key, fmt, now, events)
        events.append(
            _event(saved, EventType.UPDATED, now, changed=",".join(changed), source_key=key)
        )
        return saved

    def _apply_credit_note(self, credit: Invoice, now: datetime) -> list[TimelineEvent]:
        """Business rule: a credit note reduces the invoice it references, else the oldest open."""
        remaining = credit.amount_total
        referenced = dict(credit.extra).get("referenced_invoice")
        targets: list[Invoice] = []
        if referenced:
            target = self._invoices.get(invoice_id_for(credit.seller_id, referenced))
            if target is not None:
                targets.append(target)
        customer_invoices = self._invoices.by_customer(credit.customer_id)
        mark = f"credit_note:{credit.number}"
        granted = next((i for i in (*targets, *customer_invoices) if mark in dict(i.extra)), None)
        if granted is not None:
            # Already granted when a collector resolved a dispute with this credit note.
            return [
                _event(
                    granted,
                    EventType.CREDIT_NOTE,
                    now,
                    credit_note=credit.number,
                    already_applied="true",
                )
            ]
        targets += [
            i
            for i in customer_invoices
            if i.kind == DocumentKind.INVOICE
            and not i.is_closed
            and i.currency == credit.currency
            and all(t.invoice_id != i.invoice_id for t in targets)
        ]
        events: list[TimelineEvent] = []
        for target in targets:
            if remaining.is_zero or target.is_closed or target.currency != credit.currency:
                continue
            applied = min(remaining, target.amount_due, key=lambda m: m.minor)
            if applied.is_zero:
                continue
            credited = (target.credited or Money.zero(target.currency)) + applied
            saved = self._invoices.save(replace(target, credited=credited).with_settled_status(now))
            remaining = remaining - applied
            events.append(
                _event(
                    saved,
                    EventType.CREDIT_NOTE,
                    now,
                    credit_note=credit.number,
                    amount=applied.to_wire(),
                    amount_due=saved.amount_due.to_wire(),
                )
            )
        if not remaining.is_zero:
            events.append(_event(credit, EventType.CREDIT_NOTE, now, unapplied=remaining.to_wire()))
        return events

    # -- reports --

    def _write_report(self, key: str, file_format: str, counts: _Counts) -> str:
        target = report_key(key)
        report = {
            "source_key": key,
            "format": file_format,
            "generated_at": self._clock.now().isoformat(),
            "accepted": counts.accepted,
            "rejected": len(counts.rejected),
            "errors": [
                {"location": r.location, "field": r.field, "reason": r.reason, "value": r.value}
                for r in counts.rejected
            ],
            "warnings": [
                {"location": w.location, "field": w.field, "reason": w.reason, "value": w.value}
                for w in counts.warnings
            ],
        }
        self._documents.put(
            target, json.dumps(report, indent=2, ensure_ascii=False).encode(), "application/json"
        )
        return target

    def _record_unreadable(
        self, key: str, etag: str, received_at: datetime, reason: str
    ) -> ImportRecord:
        self._documents.copy(key, f"{REJECTED_PREFIX}{key}")
        target = report_key(key)
        report = {
            "source_key": key,
            "kept_at": f"{REJECTED_PREFIX}{key}",
            "generated_at": self._clock.now().isoformat(),
            "accepted": 0,
            "errors": [{"location": "file", "field": "file", "reason": reason, "value": None}],
        }
        self._documents.put(
            target, json.dumps(report, indent=2, ensure_ascii=False).encode(), "application/json"
        )
        record = ImportRecord(
            key=key,
            etag=etag,
            format="unknown",
            status="unreadable",
            accepted=0,
            rejected=1,
            created=0,
            updated=0,
            unchanged=0,
            error_report_key=target,
            received_at=received_at,
            message=reason,
        )
        self._imports.put(record)
        log.warning("upload unreadable", extra={"key": key, "reason": reason})
        return record


def _customer_key(item: ParsedInvoice) -> tuple[str, str]:
    return item.seller_id, buyer_key(item.buyer)


def _extra(item: ParsedInvoice, now: datetime) -> tuple[tuple[str, str], ...]:
    values = {"imported_at": now.isoformat(), "source_location": item.source_location}
    if item.referenced_invoice:
        values["referenced_invoice"] = item.referenced_invoice
    if item.profile:
        values["profile"] = item.profile
    if item.due_date_derived:
        values["due_date_derived"] = "true"
    return tuple(sorted(values.items()))


def _event(invoice: Invoice, kind: EventType, at: datetime, **details: str) -> TimelineEvent:
    return TimelineEvent(
        event_id=uuid.uuid4().hex,
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        type=kind,
        at=at,
        actor="intake",
        details=tuple(sorted(details.items())),
    )
