"""Service: provider payment notifications applied exactly once, and unallocated money.

`PaymentRecorder.record` handles one webhook delivery (docs/webhooks.md): verify the signature
over the raw body, parse, then for each event:

1. record the provider event id with a conditional write (a duplicate stops here);
2. find the invoices: a payment the ledger already knows goes to the invoices it paid
   (`allocate_by_payment`); anything else is matched (`match_invoices`) against invoices
   found by the ids and numbers in its metadata, the RF references and numbers quoted in its
   remittance text, or the open invoices of the payer's customer;
3. append ledger entries and recompute each invoice from its whole ledger (`reconcile`);
4. commit all of it in one transaction, conditional on each invoice's version, the payment's
   head and the event record; on a concurrent change, read again and recompute;
5. after the commit: a thank-you receipt for each invoice that became paid (sent once per
   invoice through the dispatcher's claims), a collector task for money nobody could place.

A reversed payment (refund, lost chargeback) reopens the invoice and the dunning engine
decides when the chase resumes. Currencies are never mixed: money in another currency than
the invoice stays unallocated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    CurrencyMismatchError,
    DomainError,
    InvalidTransitionError,
    InvoiceNotFoundError,
    NotFoundError,
    ValidationError,
)
from chalicelib.domain.invoices import Customer, DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.payments import (
    INBOUND_KINDS,
    REVERSAL_KINDS,
    Allocation,
    MatchMethod,
    PaymentEvent,
    PaymentEventKind,
    PaymentLedgerEntry,
    UnallocatedReason,
    WebhookPayloadError,
    allocate_by_payment,
    is_valid_rf,
    ledger_entries,
    match_invoices,
    reconcile,
    rf_references_in,
    settle,
)
from chalicelib.domain.policies import Channel
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Task, TaskStatus, stable_id
from chalicelib.services.dispatch import MessageDispatcher
from chalicelib.services.ports import (
    Clock,
    CustomerCredit,
    CustomerRepository,
    InvoiceRepository,
    Page,
    PaymentCommit,
    PaymentDirectory,
    PaymentHead,
    PaymentStore,
    SecretProvider,
    TaskStore,
    UnallocatedPayment,
    UnallocatedStatus,
    WebhookClaim,
    WebhookEventLog,
    WebhookVerifier,
    WorkQueue,
)

log = logging.getLogger(__name__)

RECEIPT_STEP = "receipt"
RECEIPT_TONE = "standard"
SYSTEM_ACTOR = "payments"
MAX_ATTEMPTS = 5
MAX_INVOICES_PER_EVENT = 40
"""One event placed on more invoices than this is left for a collector (transaction size)."""
MAX_NUMBER_LOOKUPS = 8
MAX_PAYER_CUSTOMERS = 3
TASK_DUE_DAYS = 2
REASON_REMAINDER = "remainder"
REASON_TOO_MANY_INVOICES = "too_many_invoices"

_INVOICE_ID = re.compile(r"^inv_[0-9a-f]{24}$")
_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9/._-]*[A-Za-z0-9])?")
_MIN_TOKEN, _MAX_TOKEN = 3, 40
_TIMELINE_TYPE = {
    PaymentEventKind.PAYMENT_SUCCEEDED: EventType.PAYMENT,
    PaymentEventKind.PAID_OUT: EventType.PAYMENT,
    PaymentEventKind.PAYMENT_FAILED: EventType.PAYMENT,
    PaymentEventKind.REFUNDED: EventType.REFUND,
    PaymentEventKind.CHARGEBACK_OPENED: EventType.CHARGEBACK,
    PaymentEventKind.CHARGEBACK_WON: EventType.CHARGEBACK,
    PaymentEventKind.CHARGEBACK_LOST: EventType.CHARGEBACK,
}
_MATCHED_BY_REFERENCE = frozenset(
    {
        MatchMethod.INVOICE_REFERENCE,
        MatchMethod.CREDITOR_REFERENCE,
        MatchMethod.REMITTANCE_NUMBER,
    }
)

NextActionAt = Callable[[Invoice, Customer], datetime | None]


class EventOutcome(StrEnum):
    """What one provider event did."""

    APPLIED = "applied"
    UNALLOCATED = "unallocated"
    IGNORED = "ignored"
    NOT_APPLICABLE = "not_applicable"
    DUPLICATE = "duplicate"
    IN_FLIGHT = "in_flight"


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """The outcome of each event of one delivery, in order."""

    events: tuple[tuple[str, EventOutcome], ...]

    @property
    def in_flight(self) -> bool:
        """True when another delivery is still processing one of the events."""
        return any(outcome == EventOutcome.IN_FLIGHT for _, outcome in self.events)


@dataclass(frozen=True, slots=True)
class WebhookProvider:
    """How one provider signs and shapes its notifications.

    Attributes:
        name: The path segment ("stripe", "gocardless", "generic").
        header: The signature header (case-insensitive).
        secret_name: The `SecretProvider` name of the signing secret(s).
        make_verifier: Builds the verifier from the configured secrets.
        parse: Turns a verified body into payment events (raises `WebhookPayloadError`).
    """

    name: str
    header: str
    secret_name: str
    make_verifier: Callable[[Sequence[str]], WebhookVerifier]
    parse: Callable[[bytes], list[PaymentEvent]]


def secret_values(raw: str) -> tuple[str, ...]:
    """Business rule: a secret may hold several comma-separated values, all accepted.

    That is how a signing secret is rotated without downtime: add the new value, switch the
    provider, remove the old one.

    Raises:
        ValidationError: no value at all.
    """
    values = tuple(value.strip() for value in raw.split(",") if value.strip())
    if not values:
        raise ValidationError("the webhook secret is empty", "secret")
    return values


def payment_ref_for(event: PaymentEvent) -> str:
    """The stable id of an event's unallocated money (one per provider event)."""
    return stable_id("pay", event.provider, event.event_id)


def reference_key(reference: str) -> str:
    """Directory key of a payment reference (an RF creditor reference, compact form)."""
    return "rf:" + "".join(reference.split()).upper()


def payer_key(email: str) -> str:
    """Directory key of a payer's email; only a digest is stored, never the address."""
    digest = hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:32]
    return f"email:{digest}"


def number_tokens(text: str) -> list[str]:
    """Words of free text that may be invoice numbers: 3-40 characters with a digit.

    "Invoices F-2026-0042/F-2026-0043" yields the whole token and both halves, so numbers
    quoted together are all looked up.
    """
    found: dict[str, None] = {}
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        for candidate in (token, *token.split("/")):
            candidate = candidate.strip("._-")
            long_enough = _MIN_TOKEN <= len(candidate) <= _MAX_TOKEN
            if long_enough and any(c.isdigit() for c in candidate) and not is_valid_rf(candidate):
                found.setdefault(candidate, None)
    return list(found)


def paid_outside_ledger(
    invoice: Invoice, stored: Sequence[PaymentLedgerEntry]
) -> PaymentLedgerEntry | None:
    """Business rule: money an invoice records without any ledger entry stays paid.

    An accounting export may say an invoice is partly paid before any provider notified
    Relance (D8: a later file never lowers what is known to be paid). `reconcile` recomputes
    the amount paid from the ledger alone, so that money is presented to it as one more
    payment of its own; it is never stored.

    Returns:
        The entry standing for that money, or None when the ledger explains everything.
    """
    outside = invoice.amount_paid - settle(invoice.amount_total, stored)
    if not outside.is_positive:
        return None
    return PaymentLedgerEntry(
        event_id=f"recorded:{invoice.invoice_id}",
        provider_payment_id="recorded-on-invoice",
        kind=PaymentEventKind.PAYMENT_SUCCEEDED,
        amount=outside,
        occurred_at=datetime.combine(invoice.issue_date, time(0), UTC),
        provider="invoice",
    )


def _paid_by(entries: Iterable[PaymentLedgerEntry], ledger_key: str, currency: str) -> Money:
    """What one payment put on an invoice: its largest success notification (see `settle`)."""
    amounts = [
        e.amount
        for e in entries
        if e.key == ledger_key and e.kind in INBOUND_KINDS and e.amount is not None
    ]
    return max(amounts, key=lambda m: m.minor, default=Money.zero(currency))


def _reopened(before: Invoice, after: Invoice) -> bool:
    return before.status in (InvoiceStatus.PAID, InvoiceStatus.DISPUTED) and after.status in (
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
    )


@dataclass
class _Changes:
    """Everything one event (and the orphans it resolves) is about to change."""

    invoices: dict[str, Invoice] = field(default_factory=dict)
    ledgers: dict[str, list[PaymentLedgerEntry]] = field(default_factory=dict)
    entries: list[tuple[str, PaymentLedgerEntry]] = field(default_factory=list)
    placed: list[tuple[PaymentEvent, Allocation, str]] = field(default_factory=list)
    unallocated: list[UnallocatedPayment] = field(default_factory=list)
    credits: list[CustomerCredit] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    customer_events: list[TimelineEvent] = field(default_factory=list)

    def read(
        self, invoices: Iterable[Invoice], ledgers: Mapping[str, list[PaymentLedgerEntry]]
    ) -> None:
        for invoice in invoices:
            self.invoices.setdefault(invoice.invoice_id, invoice)
            self.ledgers.setdefault(invoice.invoice_id, list(ledgers.get(invoice.invoice_id, ())))

    def entries_for(self, invoice_id: str) -> list[PaymentLedgerEntry]:
        added = [entry for target, entry in self.entries if target == invoice_id]
        return self.ledgers.get(invoice_id, []) + added


@dataclass(frozen=True, slots=True)
class _Plan:
    commit: PaymentCommit
    before: Mapping[str, Invoice]
    outcome: EventOutcome
    new_unallocated: tuple[UnallocatedPayment, ...]


class PaymentRecorder:
    """Records provider payment notifications and lets collectors place unallocated money."""

    def __init__(
        self,
        *,
        providers: Mapping[str, WebhookProvider],
        secrets: SecretProvider,
        events: WebhookEventLog,
        store: PaymentStore,
        directory: PaymentDirectory,
        invoices: InvoiceRepository,
        customers: CustomerRepository,
        tasks: TaskStore,
        dispatcher: MessageDispatcher,
        next_action_at: NextActionAt,
        clock: Clock,
        receipts: WorkQueue | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._secrets = secrets
        self._events = events
        self._store = store
        self._directory = directory
        self._invoices = invoices
        self._customers = customers
        self._tasks = tasks
        self._dispatcher = dispatcher
        self._receipts = receipts
        self._next_action_at = next_action_at
        self._clock = clock

    # -- webhooks --

    def record(
        self, provider: str, raw_body: bytes, headers: Mapping[str, str], now: datetime
    ) -> WebhookResult:
        """Verify, parse and apply one webhook delivery.

        Nothing is read from the body or stored before the signature is verified.

        Args:
            provider: "stripe", "gocardless" or "generic".
            raw_body: The request body exactly as received.
            headers: The request headers (names in any case).
            now: The time of receipt (signature age, records).

        Returns:
            Each event's outcome; `in_flight` means another delivery is processing an event.

        Raises:
            NotFoundError: an unknown provider.
            SignatureError: missing, malformed, stale or wrong signature (nothing was stored).
            WebhookPayloadError: a signed body that is not what the provider's schema says
                (the body is kept as evidence).
            ConcurrentUpdateError: an invoice kept changing; the provider should retry.
        """
        config = self._providers.get(provider)
        if config is None:
            raise NotFoundError(f"no webhook provider {provider!r}")
        wanted = config.header.lower()
        header = next((v for k, v in headers.items() if k.lower() == wanted), None)
        verifier = config.make_verifier(secret_values(self._secrets.get(config.secret_name)))
        verifier.verify(raw_body, header, int(now.timestamp()))
        try:
            events = config.parse(raw_body)
        except WebhookPayloadError as exc:
            self._events.keep_rejected(provider, raw_body, exc.field, str(exc), now)
            raise
        return WebhookResult(tuple((e.event_id, self.apply(e, now)) for e in events))

    def apply(self, event: PaymentEvent, now: datetime) -> EventOutcome:
        """Apply one verified, parsed event exactly once (see the module docstring).

        Raises:
            ConcurrentUpdateError: the invoices kept changing (the event stays unprocessed).
        """
        if event.kind == PaymentEventKind.IGNORED:
            claim = self._events.begin(
                event.provider, event.event_id, now, done_as=EventOutcome.IGNORED.value
            )
            return _outcome_of(claim, EventOutcome.IGNORED)
        claim = self._events.begin(event.provider, event.event_id, now)
        if claim != WebhookClaim.NEW:
            return _outcome_of(claim, EventOutcome.APPLIED)
        # Inbound money quoting invoice ids is usually a payment seen for the first time: skip
        # reading its head; the commit creates the head only if none exists, else we read.
        fast = bool(event.invoice_refs) and (
            event.kind in INBOUND_KINDS or event.kind == PaymentEventKind.PAYMENT_FAILED
        )
        for attempt in range(MAX_ATTEMPTS):
            head: PaymentHead | None = None
            if event.provider_payment_id and (attempt > 0 or not fast):
                head = self._store.payment(event.ledger_key) or PaymentHead(event.ledger_key)
            plan = self._plan_event(event, head, now)
            if self._commit(plan, now):
                return plan.outcome
            if self._events.is_done(event.provider, event.event_id):
                return EventOutcome.DUPLICATE
        raise ConcurrentUpdateError(f"event {event.event_id} kept conflicting; retry later")

    # -- collectors --

    def unallocated(
        self, *, status: UnallocatedStatus, limit: int, cursor: str | None
    ) -> Page[UnallocatedPayment]:
        """Money waiting for a collector (or already placed by hand), oldest first.

        Raises:
            ValidationError: a limit outside 1-200.
        """
        if not 1 <= limit <= 200:
            raise ValidationError("limit must be between 1 and 200", "limit")
        return self._store.unallocated(status=status, limit=limit, cursor=cursor)

    def allocate(
        self, payment_ref: str, invoice_id: str, *, by: str, now: datetime
    ) -> UnallocatedPayment:
        """Place unallocated money on an invoice chosen by a collector.

        A payment pays the invoice up to its amount due (the surplus is customer credit); a
        refund or chargeback is taken from it (never more than its total).

        Raises:
            NotFoundError: no such unallocated payment.
            InvoiceNotFoundError: no such invoice.
            InvalidTransitionError: already placed, a closed invoice or a credit note, or the
                event is on that invoice already.
            CurrencyMismatchError: the invoice is in another currency.
            ValidationError: the provider gave no amount and none can be assumed.
            ConcurrentUpdateError: the invoice kept changing.
        """
        for _ in range(MAX_ATTEMPTS):
            item = self._store.get_unallocated(payment_ref)
            if item is None:
                raise NotFoundError(f"no unallocated payment {payment_ref}")
            if item.status != UnallocatedStatus.UNALLOCATED:
                raise InvalidTransitionError(f"payment {payment_ref} was already allocated")
            plan = self._plan_manual(item, invoice_id, by, now)
            if self._commit(plan, now):
                return next(u for u in plan.commit.unallocated if u.payment_ref == payment_ref)
        raise ConcurrentUpdateError(f"invoice {invoice_id} kept changing; try again")

    # -- planning --

    def _plan_event(self, event: PaymentEvent, head: PaymentHead | None, now: datetime) -> _Plan:
        changes = _Changes()
        if head is not None and head.invoice_ids:
            invoices = self._invoices.get_many(head.invoice_ids)
            ledgers = self._ledgers(invoices)
            changes.read(invoices, ledgers)
            paid_by = [
                (i, _paid_by(ledgers[i.invoice_id], event.ledger_key, i.currency)) for i in invoices
            ]
            allocation = allocate_by_payment(event, paid_by)
        else:
            allocation, located = self._match(event)
            changes.read(located, self._ledgers(located))
        allocation = _bounded(event, allocation)
        self._place(changes, event, allocation, SYSTEM_ACTOR, now)
        new_head, unchanged_head = self._next_head(changes, event, allocation, head, now)
        return self._plan(changes, event, now, new_head, unchanged_head, webhook=True)

    def _plan_manual(
        self, item: UnallocatedPayment, invoice_id: str, by: str, now: datetime
    ) -> _Plan:
        invoice = self._invoices.get(invoice_id)
        if invoice is None:
            raise InvoiceNotFoundError(f"no invoice {invoice_id}")
        if invoice.kind != DocumentKind.INVOICE or invoice.is_closed:
            raise InvalidTransitionError(f"invoice {invoice.number} cannot take this payment")
        event = replace(
            item.event,
            amount=item.amount if item.amount is not None else item.event.amount,
            invoice_refs=(invoice.invoice_id,),
            remittance_text=None,
            customer_email=None,
        )
        head = None
        if event.provider_payment_id:
            head = self._store.payment(event.ledger_key) or PaymentHead(event.ledger_key)
        ledger = self._store.ledger(invoice.invoice_id)
        if any(_same_money(e, event) for e in ledger):
            raise InvalidTransitionError(f"this payment is already on invoice {invoice.number}")
        allocation = match_invoices(event, [invoice])
        _require_placed(allocation, invoice)
        changes = _Changes()
        changes.read([invoice], {invoice.invoice_id: ledger})
        self._place(changes, event, allocation, by, now)
        placed = replace(
            item,
            status=UnallocatedStatus.ALLOCATED,
            allocated_to=allocation.invoice_ids,
            allocated_by=by,
            allocated_at=now,
        )
        # The collector's choice supersedes the original record; what the invoice could not
        # take (a refund above its total) becomes a new record of its own.
        rest = [
            replace(u, payment_ref=stable_id("pay", item.payment_ref, invoice.invoice_id))
            for u in changes.unallocated
            if u.payment_ref == item.payment_ref
        ]
        changes.unallocated = [placed, *rest]
        new_head, unchanged_head = self._next_head(changes, event, allocation, head, now)
        current = new_head or unchanged_head
        if current is not None and any(o.event_id == event.event_id for o in current.orphans):
            # Placed by hand: it must not be applied a second time when its payment arrives.
            kept = tuple(o for o in current.orphans if o.event_id != event.event_id)
            new_head, unchanged_head = replace(current, orphans=kept), None
        plan = self._plan(changes, event, now, new_head, unchanged_head, webhook=False)
        commit = replace(plan.commit, expect_unallocated=item.payment_ref)
        return replace(plan, commit=commit, outcome=EventOutcome.APPLIED)

    def _match(self, event: PaymentEvent) -> tuple[Allocation, list[Invoice]]:
        stored, issued, customers = self._candidates(event)
        # An RF reference Relance issued for an invoice (pay page) counts as that invoice's
        # payment reference for matching; the stored invoice is what gets reconciled.
        shown = [
            replace(inv, payment_reference=issued[inv.invoice_id])
            if inv.invoice_id in issued
            else inv
            for inv in stored
        ]
        allocation = match_invoices(event, shown, customers)
        wanted = set(allocation.invoice_ids)
        return allocation, [inv for inv in stored if inv.invoice_id in wanted]

    def _candidates(
        self, event: PaymentEvent
    ) -> tuple[list[Invoice], dict[str, str], list[Customer]]:
        # Matching rules apply in order and the first hit wins, so each rule's lookups run
        # only when the previous rules found nothing to match against.
        found = self._by_refs(event.invoice_refs)
        if found:
            return found, {}, []
        issued: dict[str, str] = {}
        if event.remittance_text:
            found, issued = self._by_text(event.remittance_text)
            if found:
                return found, issued, []
        if event.customer_email and event.amount is not None and event.kind in INBOUND_KINDS:
            ids = list(self._directory.lookup(payer_key(event.customer_email)))
            customers = self._customers.get_many(ids[:MAX_PAYER_CUSTOMERS])
            invoices = [i for c in customers for i in self._invoices.by_customer(c.customer_id)]
            # The directory identified the payer (an accounts-payable address is often not the
            # contact address), so the customer is presented to the matcher under that email.
            payer = event.customer_email
            return _unique(invoices), {}, [replace(c, email=payer) for c in customers]
        return [], {}, []

    def _by_refs(self, refs: Sequence[str]) -> list[Invoice]:
        ids = [r for r in refs if _INVOICE_ID.match(r)]
        numbers = [r for r in refs if not _INVOICE_ID.match(r)]
        found = self._invoices.get_many(ids) if ids else []
        for number in numbers[:MAX_NUMBER_LOOKUPS]:
            found += self._invoices.by_number(number)
        return _unique(found)

    def _by_text(self, text: str) -> tuple[list[Invoice], dict[str, str]]:
        found: list[Invoice] = []
        issued: dict[str, str] = {}
        for reference in sorted(rf_references_in(text)):
            referenced = self._invoices.get_many(self._directory.lookup(reference_key(reference)))
            found += referenced
            issued.update((inv.invoice_id, reference) for inv in referenced)
        if not found:
            for token in number_tokens(text)[:MAX_NUMBER_LOOKUPS]:
                found += self._invoices.by_number(token)
        return _unique(found), issued

    def _ledgers(self, invoices: Sequence[Invoice]) -> dict[str, list[PaymentLedgerEntry]]:
        # Read after the invoices: a commit that lands in between bumps an invoice version we
        # hold, so our own commit fails and retries instead of missing its ledger entry.
        return {i.invoice_id: self._store.ledger(i.invoice_id) for i in invoices}

    def _place(
        self,
        changes: _Changes,
        event: PaymentEvent,
        allocation: Allocation,
        actor: str,
        now: datetime,
    ) -> None:
        changes.entries.extend(ledger_entries(event, allocation))
        if allocation.lines:
            changes.placed.append((event, allocation, actor))
        if allocation.credit is not None and allocation.customer_id:
            changes.credits.append(
                CustomerCredit(
                    customer_id=allocation.customer_id,
                    amount=allocation.credit,
                    provider=event.provider,
                    event_id=event.event_id,
                    invoice_ids=allocation.invoice_ids,
                    created_at=now,
                )
            )
            changes.customer_events.append(_credit_event(event, allocation, allocation.credit))
        learned = allocation.method in _MATCHED_BY_REFERENCE and allocation.customer_id
        if learned and event.customer_email and allocation.customer_id:
            # The payer's email now points at its customer for amount-only matching.
            changes.references.append((payer_key(event.customer_email), allocation.customer_id))
        if _needs_collector(event, allocation):
            remainder = allocation.is_allocated
            changes.unallocated.append(
                UnallocatedPayment(
                    payment_ref=payment_ref_for(event),
                    event=event,
                    amount=allocation.unallocated if remainder else event.amount,
                    reason=_reason(allocation),
                    received_at=now,
                    customer_id=allocation.customer_id,
                )
            )

    def _next_head(
        self,
        changes: _Changes,
        event: PaymentEvent,
        allocation: Allocation,
        head: PaymentHead | None,
        now: datetime,
    ) -> tuple[PaymentHead | None, PaymentHead | None]:
        """The payment head to write, or the one to check unchanged."""
        if not event.provider_payment_id:
            return None, None
        current = head or PaymentHead(event.ledger_key)
        paid = [line for line in allocation.lines if line.amount.is_positive]
        if event.kind in INBOUND_KINDS and paid:
            ids = tuple(dict.fromkeys((*current.invoice_ids, *(line.invoice_id for line in paid))))
            resolved = self._resolve_orphans(changes, current, now)
            return replace(current, invoice_ids=ids, orphans=resolved), None
        orphan = event.kind in REVERSAL_KINDS and not allocation.is_allocated
        if orphan and not current.invoice_ids:
            # A refund or chargeback ahead of its payment: applied when the payment arrives.
            kept = tuple(o for o in current.orphans if o.event_id != event.event_id)
            return replace(current, orphans=(*kept, event)), None
        return None, current

    def _resolve_orphans(
        self,
        changes: _Changes,
        head: PaymentHead,
        now: datetime,
    ) -> tuple[PaymentEvent, ...]:
        if not head.orphans:
            return ()
        paid_by = [
            (
                changes.invoices[invoice_id],
                _paid_by(
                    changes.entries_for(invoice_id),
                    head.ledger_key,
                    changes.invoices[invoice_id].currency,
                ),
            )
            for invoice_id in dict.fromkeys(
                target for target, _ in changes.entries if target in changes.invoices
            )
        ]
        for orphan in head.orphans:
            allocation = allocate_by_payment(orphan, paid_by)
            if not allocation.lines:
                continue
            changes.entries.extend(ledger_entries(orphan, allocation))
            changes.placed.append((orphan, allocation, SYSTEM_ACTOR))
            changes.unallocated.append(
                UnallocatedPayment(
                    payment_ref=payment_ref_for(orphan),
                    event=orphan,
                    amount=orphan.amount,
                    reason=UnallocatedReason.NO_MATCH.value,
                    received_at=now,
                    status=UnallocatedStatus.ALLOCATED,
                    customer_id=allocation.customer_id,
                    allocated_to=allocation.invoice_ids,
                    allocated_by=SYSTEM_ACTOR,
                    allocated_at=now,
                )
            )
        return ()

    def _plan(
        self,
        changes: _Changes,
        event: PaymentEvent,
        now: datetime,
        head: PaymentHead | None,
        unchanged_head: PaymentHead | None,
        *,
        webhook: bool,
    ) -> _Plan:
        saved: list[Invoice] = []
        unchanged: list[Invoice] = []
        after: dict[str, Invoice] = {}
        for invoice_id, before in changes.invoices.items():
            entries = changes.entries_for(invoice_id)
            outside = paid_outside_ledger(before, changes.ledgers.get(invoice_id, []))
            if outside is not None:
                entries.append(outside)
            reconciled = reconcile(before, entries, event.occurred_at)
            if _reopened(before, reconciled):
                reconciled = self._resumed(reconciled)
            after[invoice_id] = reconciled
            (saved if reconciled != before else unchanged).append(reconciled)
        timeline = [
            _timeline_event(placed_event, after[line.invoice_id], line.amount, allocation, actor)
            for placed_event, allocation, actor in changes.placed
            for line in allocation.lines
            if line.invoice_id in after
        ]
        outcome = EventOutcome.NOT_APPLICABLE
        if changes.placed or changes.credits:
            outcome = EventOutcome.APPLIED
        elif changes.unallocated:
            outcome = EventOutcome.UNALLOCATED
        commit = PaymentCommit(
            webhook=(event.provider, event.event_id) if webhook else None,
            outcome=outcome.value,
            ledger=tuple(changes.entries),
            invoices=tuple(saved),
            unchanged=tuple(unchanged),
            payment=head,
            payment_unchanged=unchanged_head,
            unallocated=tuple(changes.unallocated),
            credits=tuple(changes.credits),
            references=tuple(dict.fromkeys(changes.references)),
            timeline=(*timeline, *changes.customer_events),
            at=now,
        )
        fresh = tuple(u for u in changes.unallocated if u.status == UnallocatedStatus.UNALLOCATED)
        return _Plan(commit, dict(changes.invoices), outcome, fresh)

    def _resumed(self, invoice: Invoice) -> Invoice:
        """Business rule: a reopened invoice goes back to the chase where it stopped."""
        customer = self._customers.get(invoice.customer_id)
        if customer is None:
            return invoice
        return replace(invoice, next_action_at=self._next_action_at(invoice, customer))

    # -- carrying out --

    def _commit(self, plan: _Plan, now: datetime) -> bool:
        try:
            stored = self._store.commit(plan.commit)
        except ConcurrentUpdateError:
            log.info("payment commit lost a race; reading again")
            return False
        self._send_receipts(plan, stored)
        for item in plan.new_unallocated:
            self._collector_task(item, now)
        log.info(
            "payment event recorded",
            extra={
                "outcome": plan.outcome.value,
                "invoice_ids": [i.invoice_id for i in stored],
                "unallocated": len(plan.new_unallocated),
            },
        )
        return True

    def _send_receipts(self, plan: _Plan, stored: Sequence[Invoice]) -> None:
        settled: dict[str, list[Invoice]] = defaultdict(list)
        for invoice in stored:
            before = plan.before.get(invoice.invoice_id)
            was_open = before is not None and before.status != InvoiceStatus.PAID
            if was_open and invoice.status == InvoiceStatus.PAID:
                settled[invoice.customer_id].append(invoice)
        for customer_id, invoices in settled.items():
            ids = [i.invoice_id for i in invoices]
            if self._receipts is not None:
                # The webhook answers as soon as the payment is stored; the receipt goes out
                # from the actions worker (claims keep it to one, however often delivered).
                self._receipts.send_batch(
                    [
                        json.dumps(
                            {"kind": "receipt", "customer_id": customer_id, "invoice_ids": ids}
                        )
                    ]
                )
            else:
                self.send_receipt(customer_id, ids)

    def send_receipt(self, customer_id: str, invoice_ids: Sequence[str]) -> list[str]:
        """Thank the customer for the invoices still paid; returns the ids the receipt lists."""
        customer = self._customers.get(customer_id)
        if customer is None or customer.erased or not customer.can_email:
            return []
        invoices = [
            i for i in self._invoices.get_many(invoice_ids) if i.status == InvoiceStatus.PAID
        ]
        if not invoices:
            return []
        run_id = "payment_" + stable_id("rcpt", *(i.invoice_id for i in invoices))
        try:
            result = self._dispatcher.dispatch(
                customer, invoices, RECEIPT_STEP, Channel.EMAIL, RECEIPT_TONE, run_id
            )
        except DomainError as exc:
            # The payment is recorded; a receipt that cannot be rendered must not undo it.
            log.warning("receipt not sent", extra={"code": exc.code})
            return []
        log.info(
            "receipt dispatched",
            extra={"sent": result.sent_invoice_ids, "skipped": dict(result.skipped)},
        )
        return list(result.sent_invoice_ids)

    def _collector_task(self, item: UnallocatedPayment, now: datetime) -> None:
        event = item.event
        amount = f"{item.amount.to_wire()} {item.amount.currency}" if item.amount else "unknown"
        self._tasks.create(
            Task(
                task_id=stable_id("task", "unallocated_payment", item.payment_ref),
                kind="unallocated_payment",
                status=TaskStatus.OPEN,
                customer_id=item.customer_id or "",
                invoice_ids=(),
                step_id=None,
                note=(
                    f"Place a {event.provider} {event.kind.value} of {amount} "
                    f"(reason: {item.reason}; payment {item.payment_ref}) "
                    "with POST /admin/payments/{id}/allocate."
                ),
                created_at=now,
                due_date=(now + timedelta(days=TASK_DUE_DAYS)).date(),
            )
        )


def _unique(invoices: Iterable[Invoice]) -> list[Invoice]:
    return list({invoice.invoice_id: invoice for invoice in invoices}.values())


def _same_money(entry: PaymentLedgerEntry, event: PaymentEvent) -> bool:
    """Whether an invoice's ledger already holds this event, or this payment's money.

    A payment's successes count once per invoice (the largest), so a second part of the same
    payment placed on the same invoice would be lost rather than added.
    """
    if entry.event_id == event.event_id and entry.provider == event.provider:
        return True
    both_in = entry.kind in INBOUND_KINDS and event.kind in INBOUND_KINDS
    return both_in and entry.key == event.ledger_key


def _outcome_of(claim: WebhookClaim, new: EventOutcome) -> EventOutcome:
    if claim == WebhookClaim.DONE:
        return EventOutcome.DUPLICATE
    if claim == WebhookClaim.IN_FLIGHT:
        return EventOutcome.IN_FLIGHT
    return new


def _bounded(event: PaymentEvent, allocation: Allocation) -> Allocation:
    if len(allocation.lines) <= MAX_INVOICES_PER_EVENT:
        return allocation
    return Allocation(
        method=MatchMethod.UNALLOCATED,
        unallocated=event.amount,
        customer_id=allocation.customer_id,
    )


def _needs_collector(event: PaymentEvent, allocation: Allocation) -> bool:
    if event.kind == PaymentEventKind.PAYMENT_FAILED:
        return False
    if allocation.unallocated is not None:
        return True
    return not allocation.is_allocated


def _reason(allocation: Allocation) -> str:
    if allocation.reason is not None:
        return allocation.reason.value
    if allocation.is_allocated:
        return REASON_REMAINDER
    return REASON_TOO_MANY_INVOICES


def _require_placed(allocation: Allocation, invoice: Invoice) -> None:
    if allocation.lines:
        return
    if allocation.reason == UnallocatedReason.CURRENCY_MISMATCH:
        raise CurrencyMismatchError(f"invoice {invoice.number} is in {invoice.currency}")
    if allocation.reason == UnallocatedReason.AMOUNT_UNKNOWN:
        raise ValidationError("the provider gave no amount for this event", "invoice_id")
    raise InvalidTransitionError(f"nothing of this payment can go on invoice {invoice.number}")


def _timeline_event(
    event: PaymentEvent, invoice: Invoice, amount: Money, allocation: Allocation, actor: str
) -> TimelineEvent:
    details = {
        "provider": event.provider,
        "event_id": event.event_id,
        "kind": event.kind.value,
        "raw_type": event.raw_type,
        "amount": amount.to_wire(),
        "currency": amount.currency,
        "method": allocation.method.value,
        "status": invoice.status.value,
        "amount_due": invoice.amount_due.to_wire(),
    }
    if event.provider_payment_id:
        details["payment_id"] = event.provider_payment_id
    if allocation.amount_assumed:
        details["amount_assumed"] = "true"
    return TimelineEvent(
        event_id=stable_id("paytl", event.provider, event.event_id, invoice.invoice_id),
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        type=_TIMELINE_TYPE[event.kind],
        at=event.occurred_at,
        actor=actor,
        details=tuple(sorted(details.items())),
    )


def _credit_event(event: PaymentEvent, allocation: Allocation, credit: Money) -> TimelineEvent:
    details = {
        "provider": event.provider,
        "event_id": event.event_id,
        "credit": credit.to_wire(),
        "currency": credit.currency,
        "invoice_ids": ",".join(allocation.invoice_ids),
    }
    return TimelineEvent(
        event_id=stable_id("paycr", event.provider, event.event_id),
        invoice_id=None,
        customer_id=allocation.customer_id or "",
        type=EventType.PAYMENT,
        at=event.occurred_at,
        actor=SYSTEM_ACTOR,
        details=tuple(sorted(details.items())),
    )
