"""Service: GDPR access (export everything about a customer) and erasure (pseudonymise).

Erasure keeps the accounting facts (invoice numbers, amounts, dates, payments, statuses), so
totals and aging still add up, and removes what identifies the person: the customer record is
pseudonymised, archived message contents are deleted, free text in timeline events, tasks and
approvals is redacted, and stored files are purged or redacted (docs/gdpr.md explains each
choice). The steps are idempotent and the customer record is erased last: a run interrupted
half-way is completed by calling it again, while the personal values needed to find the rest
are still known. The customer is paused first so the engine sends nothing meanwhile.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.errors import ConcurrentUpdateError, CustomerNotFoundError
from chalicelib.domain.gdpr import (
    PersonalData,
    erase_customer,
    erased_event,
    personal_data_of,
    pseudonym,
    redact,
    scrub_event,
)
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Approval, Task
from chalicelib.services.admin_queries import imported_events
from chalicelib.services.invoice_intake import REJECTED_PREFIX
from chalicelib.services.ports import (
    ArchivedMessage,
    Clock,
    CustomerRepository,
    CustomerWork,
    DocumentEraser,
    InvoiceRepository,
    MessageArchive,
    Timeline,
    TimelineEditor,
)

log = logging.getLogger(__name__)

PAGE = 200
MAX_ATTEMPTS = 3
# Redacted copies of shared uploads live outside inbox/, so that writing them imports nothing.
REDACTED_PREFIX = "redacted/"
# Formats whose one file holds many customers' invoices (exports); the others hold one invoice.
MULTI_RECORD_FORMATS = ("csv", "json")
PAYMENT_EVENTS = frozenset({EventType.PAYMENT, EventType.REFUND, EventType.CHARGEBACK})
_CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json", ".xml": "application/xml"}


@dataclass(frozen=True, slots=True)
class CustomerExport:
    """Everything Relance holds about one customer (GDPR right of access)."""

    exported_at: datetime
    customer: Customer
    invoices: tuple[Invoice, ...]
    events: tuple[TimelineEvent, ...]
    payments: tuple[TimelineEvent, ...]
    messages: tuple[ArchivedMessage, ...]
    tasks: tuple[Task, ...]
    approvals: tuple[Approval, ...]


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure changed."""

    customer_id: str
    pseudonym: str
    erased_at: datetime
    invoices_kept: int
    events_scrubbed: int
    messages_deleted: int
    tasks_scrubbed: int
    approvals_scrubbed: int
    documents_deleted: tuple[str, ...]
    documents_redacted: tuple[str, ...]


def _content_type(key: str) -> str:
    for suffix, content_type in _CONTENT_TYPES.items():
        if key.lower().endswith(suffix):
            return content_type
    return "application/octet-stream"


def _decode(body: bytes) -> tuple[str, str] | None:
    """The text of a file and the codec to write it back with; None for binary files."""
    if body.startswith(b"\xef\xbb\xbf"):
        codecs: tuple[str, ...] = ("utf-8-sig",)
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):
        codecs = ("utf-16",)
    else:
        # The same order as the CSV reader: UTF-8, else Windows-1252.
        codecs = ("utf-8", "cp1252")
    for codec in codecs:
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else (text, codec)
    return None


def redact_file(body: bytes, personal: PersonalData) -> bytes | None:
    """A text file with the customer's values replaced; None if binary or nothing to replace.

    Files may hold other customers too, so only whole values are replaced, never single words
    of a name.
    """
    decoded = _decode(body)
    if decoded is None:
        return None
    text, codec = decoded
    redacted = redact(text, personal, tokens=False)
    if redacted == text:
        return None
    return redacted.encode(codec, errors="replace")


class GdprService:
    """Exports and erases a customer's personal data."""

    def __init__(
        self,
        *,
        customers: CustomerRepository,
        invoices: InvoiceRepository,
        timeline: Timeline,
        editor: TimelineEditor,
        messages: MessageArchive,
        work: CustomerWork,
        documents: DocumentEraser,
        clock: Clock,
    ) -> None:
        self._customers = customers
        self._invoices = invoices
        self._timeline = timeline
        self._editor = editor
        self._messages = messages
        self._work = work
        self._documents = documents
        self._clock = clock

    def _customer(self, customer_id: str) -> Customer:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise CustomerNotFoundError(f"no customer {customer_id}")
        return customer

    def _events(self, customer_id: str) -> list[TimelineEvent]:
        events: list[TimelineEvent] = []
        cursor: str | None = None
        while True:
            page = self._timeline.for_customer(customer_id, limit=PAGE, cursor=cursor)
            events.extend(page.items)
            if page.next_cursor is None:
                return events
            cursor = page.next_cursor

    # -- access --

    def export(self, customer_id: str) -> CustomerExport:
        """Everything about one customer, as stored.

        Raises:
            CustomerNotFoundError: no such customer.
        """
        customer = self._customer(customer_id)
        invoices = self._invoices.by_customer(customer_id)
        events = self._events(customer_id) + list(imported_events(invoices))
        events.sort(key=lambda e: e.at, reverse=True)
        return CustomerExport(
            exported_at=self._clock.now(),
            customer=customer,
            invoices=tuple(invoices),
            events=tuple(events),
            payments=tuple(e for e in events if e.type in PAYMENT_EVENTS),
            messages=tuple(self._messages.for_customer(customer_id)),
            tasks=tuple(self._work.tasks_for(customer_id)),
            approvals=tuple(self._work.approvals_for(customer_id)),
        )

    # -- erasure --

    def erase(self, customer_id: str, *, by: str) -> ErasureReport:
        """Pseudonymise a customer and remove its personal data everywhere Relance keeps it.

        Raises:
            CustomerNotFoundError: no such customer.
        """
        customer = self._customer(customer_id)
        personal = personal_data_of(customer)
        if not customer.paused:
            customer = self._customers.save(replace(customer, paused=True))
        invoices = self._invoices.by_customer(customer_id)
        for invoice in invoices:
            self._stop(invoice.invoice_id)
        messages = self._messages.for_customer(customer_id)
        for message in messages:
            self._messages.delete(message.message_ref)
        scrubbed = self._scrub_events(customer_id, personal)
        tasks, approvals = self._scrub_work(customer_id, personal)
        deleted, redacted = self._scrub_documents(invoices, personal)
        self._save_erased(customer_id)
        now = self._clock.now()
        self._timeline.append([erased_event(customer_id, now, by, uuid.uuid4().hex)])
        report = ErasureReport(
            customer_id=customer_id,
            pseudonym=pseudonym(customer_id),
            erased_at=now,
            invoices_kept=len(invoices),
            events_scrubbed=scrubbed,
            messages_deleted=len(messages),
            tasks_scrubbed=tasks,
            approvals_scrubbed=approvals,
            documents_deleted=tuple(sorted(deleted)),
            documents_redacted=tuple(sorted(redacted)),
        )
        log.info(
            "customer erased",
            extra={
                "customer_id": customer_id,
                "events_scrubbed": scrubbed,
                "messages_deleted": len(messages),
                "documents": len(deleted) + len(redacted),
            },
        )
        return report

    def _stop(self, invoice_id: str) -> None:
        """Take the invoice out of the due index (the engine would stop on `erased` anyway)."""
        for _ in range(MAX_ATTEMPTS):
            invoice = self._invoices.get(invoice_id)
            if invoice is None or invoice.next_action_at is None:
                return
            try:
                self._invoices.save(replace(invoice, next_action_at=None))
                return
            except ConcurrentUpdateError:
                continue
        raise ConcurrentUpdateError(f"invoice {invoice_id} kept changing; erase again")

    def _save_erased(self, customer_id: str) -> None:
        for _ in range(MAX_ATTEMPTS):
            current = self._customer(customer_id)
            try:
                self._customers.save(erase_customer(current))
                return
            except ConcurrentUpdateError:
                continue
        raise ConcurrentUpdateError(f"customer {customer_id} kept changing; erase again")

    def _scrub_events(self, customer_id: str, personal: PersonalData) -> int:
        changed = []
        for event in self._events(customer_id):
            scrubbed = scrub_event(event, personal)
            if scrubbed is not event:
                changed.append(scrubbed)
        if changed:
            self._editor.replace(changed)
        return len(changed)

    def _scrub_work(self, customer_id: str, personal: PersonalData) -> tuple[int, int]:
        def clean(text: str | None) -> str | None:
            return redact(text, personal) if text else text

        tasks = 0
        for task in self._work.tasks_for(customer_id):
            new_task = replace(task, note=clean(task.note) or "", comment=clean(task.comment))
            if new_task != task:
                self._work.rewrite_task(new_task)
                tasks += 1
        approvals = 0
        for approval in self._work.approvals_for(customer_id):
            new_approval = replace(
                approval,
                comment=clean(approval.comment),
                subject_override=clean(approval.subject_override),
                text_override=clean(approval.text_override),
            )
            if new_approval != approval:
                self._work.rewrite_approval(new_approval)
                approvals += 1
        return tasks, approvals

    def _scrub_documents(
        self, invoices: list[Invoice], personal: PersonalData
    ) -> tuple[list[str], list[str]]:
        """Business rule: uploads are purged or redacted, and so are Relance's own reports.

        A single-invoice document (UBL, CII, Factur-X) is the customer's alone: every version
        is deleted. An export holding many customers is redacted into ``redacted/<key>`` and
        the original's versions are deleted, so the other customers' rows are kept. Error
        reports and rejected files under ``rejected/`` are redacted in place.
        """
        deleted: list[str] = []
        redacted: list[str] = []
        sources = {(i.source_key, i.source_format or "") for i in invoices if i.source_key}
        for key, fmt in sorted(sources):
            if fmt.startswith(MULTI_RECORD_FORMATS):
                self._scrub_export(key, personal, deleted, redacted)
            elif self._documents.purge(key):
                deleted.append(key)
        for key in self._documents.keys(REJECTED_PREFIX):
            if self._redact_in_place(key, personal):
                redacted.append(key)
        return deleted, redacted

    def _scrub_export(
        self, key: str, personal: PersonalData, deleted: list[str], redacted: list[str]
    ) -> None:
        copy = REDACTED_PREFIX + key
        body = self._documents.get_bytes(key)
        if body is None:
            # Moved by an earlier erasure (of another customer of the same file).
            if self._redact_in_place(copy, personal):
                redacted.append(copy)
            return
        # Even unchanged, the copy leaves inbox/: it holds this customer in ways not recognised.
        self._documents.overwrite(copy, redact_file(body, personal) or body, _content_type(key))
        self._documents.purge(key)
        deleted.append(key)
        redacted.append(copy)

    def _redact_in_place(self, key: str, personal: PersonalData) -> bool:
        body = self._documents.get_bytes(key)
        new = redact_file(body, personal) if body is not None else None
        if new is None:
            return False
        self._documents.overwrite(key, new, _content_type(key))
        return True
