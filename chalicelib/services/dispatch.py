"""Service: carries one customer message out exactly once per (invoice, step, channel).

The order is fixed and each crash point has a documented outcome (docs/dunning.md):
claim (conditional, atomic with the invoice version) → render → send → confirm the claim →
archive the content and record the timeline. A send that raises releases the claims, so a
retry may send; a crash after the send leaves claims "claimed": they are never re-sent
automatically (at most once), and the stale claim is surfaced as a task.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from chalicelib.domain.errors import DomainError
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.policies import Channel
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.sms import sms_segments
from chalicelib.domain.statutory import Jurisdiction, statutory_claim
from chalicelib.services.messages import (
    LocaleFormatter,
    MessageView,
    TemplateRenderer,
    build_message_view,
)
from chalicelib.services.pay_links import PayLinks
from chalicelib.services.ports import (
    ArchivedMessage,
    ClaimLog,
    ClaimOutcome,
    Clock,
    DeliveryRejectedError,
    DeliveryUnknownError,
    DocumentStore,
    EmailSender,
    OutgoingEmail,
    SmsSender,
    Timeline,
)

log = logging.getLogger(__name__)

# Where carriers do not deliver alphanumeric sender ids (AWS End User Messaging country list).
NO_ALPHANUMERIC_SENDER = frozenset({"US", "CA", "CN", "BR", "AR", "CL", "CO", "PR"})
STATUTORY_STEPS = frozenset({"formal_notice", "legal"})
MAX_SMS_SEGMENTS = 4
# A claim still unconfirmed after this long belongs to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=30)
ATTACHABLE_FORMATS = frozenset({"facturx-pdf"})


class SendFailedError(DomainError):
    """The provider refused or failed a message after retries."""

    code = "send-failed"


class OptedOutError(SendFailedError):
    """The number replied STOP: SNS will not deliver, and we must not try."""

    code = "sms-opted-out"


@dataclass(frozen=True, slots=True)
class SellerContact:
    """Who the customer can answer."""

    name: str
    email: str
    phone: str | None
    sms_sender_id: str | None
    # Per-country sender ids ("FR" -> "ATELIER"); France requires a registered one.
    sms_sender_ids: tuple[tuple[str, str], ...] = ()

    def sender_for(self, country: str | None) -> str | None:
        """Business rule: the country's registered sender id, else the default one.

        None where carriers refuse alphanumeric senders (AWS then uses an origination number).
        """
        code = (country or "").upper()
        if code in NO_ALPHANUMERIC_SENDER:
            return None
        return dict(self.sms_sender_ids).get(code, self.sms_sender_id)


@dataclass
class DispatchResult:
    """What happened to one message."""

    sent_invoice_ids: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    message_ref: str | None = None
    failed: bool = False
    stale_claims: list[str] = field(default_factory=list)
    in_flight_invoice_ids: list[str] = field(default_factory=list)
    opted_out: bool = False
    changed_invoice_ids: list[str] = field(default_factory=list)


class MessageDispatcher:
    """Renders and sends one message about some of a customer's invoices."""

    def __init__(
        self,
        *,
        claims: ClaimLog,
        renderer: TemplateRenderer,
        formatter: LocaleFormatter,
        email: EmailSender,
        sms: SmsSender,
        timeline: Timeline,
        pay_links: PayLinks,
        documents: DocumentStore,
        clock: Clock,
        seller: SellerContact,
        retention: timedelta,
    ) -> None:
        self._claims = claims
        self._renderer = renderer
        self._formatter = formatter
        self._email = email
        self._sms = sms
        self._timeline = timeline
        self._pay_links = pay_links
        self._documents = documents
        self._clock = clock
        self._seller = seller
        self._retention = retention

    def view(
        self,
        customer: Customer,
        invoices: Sequence[Invoice],
        step_id: str,
        tone: str,
        jurisdiction: Jurisdiction = Jurisdiction.FR,
        at: datetime | None = None,
    ) -> MessageView:
        """The template context for a message, as of `at` (default now)."""
        now = at or self._clock.now()
        # The link's lifetime counts from the real send time, even in a simulated run.
        link = self._pay_links.issue(customer.customer_id, self._clock.now())
        interest = indemnity = None
        rate = None
        if step_id in STATUTORY_STEPS:
            claims = [statutory_claim(i, now.date(), jurisdiction) for i in invoices]
            currency = invoices[0].currency
            interest = sum((c.interest for c in claims), Money.zero(currency))
            indemnity = sum(
                (c.indemnity for c in claims if c.indemnity is not None), Money.zero(currency)
            )
            rate = max((c.rate_percent for c in claims), default=None)
        return build_message_view(
            step_id=step_id,
            tone=tone,
            invoices=invoices,
            customer=customer,
            seller_name=self._seller.name,
            seller_email=self._seller.email,
            seller_phone=self._seller.phone,
            pay_url=link.url,
            pay_url_expires=link.expires_at.date(),
            formatter=self._formatter,
            today=now.date(),
            interest=interest,
            indemnity=indemnity,
            interest_rate_percent=rate,
            promise_date=invoices[0].promise_date,
            seller_iban=next((i.iban for i in invoices if i.iban), None),
        )

    def _claim_all(
        self,
        invoices: Sequence[Invoice],
        step_id: str,
        channel: Channel,
        run_id: str,
        result: DispatchResult,
    ) -> list[Invoice]:
        won = []
        now = self._clock.now()
        for invoice in invoices:
            outcome = self._claims.claim(
                invoice.invoice_id, invoice.version, step_id, channel.value, run_id, now
            )
            if outcome == ClaimOutcome.WON:
                won.append(invoice)
                continue
            result.skipped[outcome.value] += 1
            if outcome == ClaimOutcome.INVOICE_CHANGED:
                result.changed_invoice_ids.append(invoice.invoice_id)
            if outcome == ClaimOutcome.IN_FLIGHT:
                self._in_flight(invoice.invoice_id, step_id, channel, now, result)
        return won

    def _in_flight(
        self, invoice_id: str, step_id: str, channel: Channel, now: datetime, result: DispatchResult
    ) -> None:
        """Another worker holds the claim: still at work, or it died somewhere mid-send."""
        claim = self._claims.get(invoice_id, step_id, channel.value)
        if claim is None or now - claim.claimed_at <= STALE_CLAIM:
            result.in_flight_invoice_ids.append(invoice_id)
            return
        # The worker died after claiming. If it recorded the send, the message went out:
        # finish its work. Otherwise nobody can tell, so a person decides (never resent).
        sent = self._recorded_send(invoice_id, step_id, channel)
        if sent is not None:
            self._claims.confirm(invoice_id, step_id, channel.value, sent)
            result.skipped["recovered"] += 1
        else:
            result.stale_claims.append(invoice_id)

    def _recorded_send(self, invoice_id: str, step_id: str, channel: Channel) -> str | None:
        page = self._timeline.for_invoice(invoice_id, limit=100, cursor=None)
        for event in page.items:
            if (
                event.type == EventType.REMINDER_SENT
                and event.detail("step") == step_id
                and event.detail("channel") == channel.value
            ):
                return event.detail("message_ref")
        return None

    def dispatch(
        self,
        customer: Customer,
        invoices: Sequence[Invoice],
        step_id: str,
        channel: Channel,
        tone: str,
        run_id: str,
        *,
        jurisdiction: Jurisdiction = Jurisdiction.FR,
        subject_override: str | None = None,
        text_override: str | None = None,
        at: datetime | None = None,
    ) -> DispatchResult:
        """Claim, render, send and record one message; never raises for a lost claim.

        `at` is the decision time: a run "as of" another time dates its events then.
        """
        result = DispatchResult()
        won = self._claim_all(invoices, step_id, channel, run_id, result)
        if not won:
            return result
        view = self.view(customer, won, step_id, tone, jurisdiction, at)
        subject: str | None
        try:
            if channel == Channel.EMAIL:
                ref, to, subject, text = self._send_email(
                    customer, won, view, step_id, tone, subject_override, text_override
                )
            else:
                ref, to, subject, text = self._send_sms(customer, view, step_id, tone)
        except DeliveryUnknownError as exc:
            # The provider may have the message: keep the claims (never resend automatically).
            result.failed = True
            log.error(
                "send outcome unknown; claims kept",
                extra={
                    "step_id": step_id,
                    "channel": channel.value,
                    "error": str(exc),
                    "invoice_ids": [i.invoice_id for i in won],
                },
            )
            return result
        except (DeliveryRejectedError, DomainError) as exc:
            for invoice in won:
                self._claims.release(invoice.invoice_id, step_id, channel.value)
            if isinstance(exc, OptedOutError):
                result.opted_out = True
                return result
            result.failed = True
            log.warning(
                "send failed; claims released",
                extra={
                    "step_id": step_id,
                    "channel": channel.value,
                    "error": f"{type(exc).__name__}: {exc}",
                    "invoice_ids": [i.invoice_id for i in won],
                },
            )
            return result
        # Record before confirming: a worker that dies in between leaves a stale claim whose
        # recorded send lets the next worker confirm it instead of asking a person.
        self._record(customer, won, step_id, channel, ref, to, subject, text, run_id, at)
        for invoice in won:
            self._claims.confirm(invoice.invoice_id, step_id, channel.value, ref)
        result.sent_invoice_ids = [i.invoice_id for i in won]
        result.message_ref = ref
        return result

    def _send_email(
        self,
        customer: Customer,
        invoices: Sequence[Invoice],
        view: MessageView,
        step_id: str,
        tone: str,
        subject_override: str | None,
        text_override: str | None,
    ) -> tuple[str, str, str, str]:
        rendered = self._renderer.render_email(step_id, tone, view)
        subject = subject_override or rendered.subject
        text = text_override or rendered.text
        html = rendered.html if text_override is None else _plain_html(text)
        to = customer.email or ""
        ref = self._email.send(
            OutgoingEmail(
                to=to,
                subject=subject,
                html=html,
                text=text,
                reply_to=self._seller.email or None,
                tags=(("step", step_id), ("customer", customer.customer_id)),
                attachments=self._attachments(invoices),
            )
        )
        return ref, to, subject, text

    def _send_sms(
        self, customer: Customer, view: MessageView, step_id: str, tone: str
    ) -> tuple[str, str, str | None, str]:
        phone = customer.phone or ""
        if self._sms.is_opted_out(phone):
            raise OptedOutError("the number has opted out of SMS (replied STOP)")
        text = self._renderer.render_sms(step_id, tone, view)
        if sms_segments(text) > MAX_SMS_SEGMENTS:
            raise SendFailedError(f"the {step_id} SMS is over {MAX_SMS_SEGMENTS} segments")
        ref = self._sms.send(phone, text, self._seller.sender_for(customer.country))
        return ref, phone, None, text

    def _attachments(self, invoices: Sequence[Invoice]) -> tuple[tuple[str, str, bytes], ...]:
        # The original PDF goes along only for a single-invoice message: a consolidated
        # reminder with ten attachments is neither readable nor deliverable.
        if len(invoices) != 1:
            return ()
        invoice = invoices[0]
        if invoice.source_format not in ATTACHABLE_FORMATS or not invoice.source_key:
            return ()
        body = self._documents.get_bytes(invoice.source_key)
        if body is None:
            return ()
        return ((f"{invoice.number}.pdf", "application/pdf", body),)

    def _record(
        self,
        customer: Customer,
        invoices: Sequence[Invoice],
        step_id: str,
        channel: Channel,
        ref: str,
        to: str,
        subject: str | None,
        text: str,
        run_id: str,
        at: datetime | None,
    ) -> None:
        now = at or self._clock.now()
        self._timeline.archive_message(
            ArchivedMessage(
                message_ref=ref,
                customer_id=customer.customer_id,
                invoice_ids=tuple(i.invoice_id for i in invoices),
                channel=channel.value,
                step_id=step_id,
                to=to,
                subject=subject,
                text=text,
                sent_at=now,
                expires_at=now + self._retention,
            )
        )
        details = {
            "step": step_id,
            "channel": channel.value,
            "message_ref": ref,
            "run_id": run_id,
            "invoices_in_message": str(len(invoices)),
        }
        if subject:
            details["subject"] = subject
        self._timeline.append(
            TimelineEvent(
                event_id=uuid.uuid4().hex,
                invoice_id=i.invoice_id,
                customer_id=customer.customer_id,
                type=EventType.REMINDER_SENT,
                at=now,
                actor="dunning",
                details=tuple(sorted(details.items())),
            )
            for i in invoices
        )


def _plain_html(text: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))
    return f"<!doctype html><html><body>{paragraphs}</body></html>"
