"""Service: the customer's self-service page behind a signed link (GET/POST /pay/{token}).

The page lists the customer's open invoices with what is still due, the bank details with the
reference to quote (an RF creditor reference, ISO 11649), a card-payment button when a hosted
checkout is configured, and two forms: "I will pay on <date>" (a promise to pay, bounded by
the policy, which holds the chase) and "I dispute this invoice" (reason and message, which
stops the chase for that invoice and gives a collector a task).

Security: the link token is HMAC-signed and expires (`PayLinks`); every form carries a CSRF
token, HMAC-SHA256 of (customer, expiry) with the pay-link key, checked on POST together with
the Origin and Referer headers when a browser sends them. An altered or expired link gets an
error page that shows nothing about any customer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from chalicelib.domain.collections import DisputeReason
from chalicelib.domain.errors import (
    AuthenticationError,
    DomainError,
    InvalidTransitionError,
    ValidationError,
)
from chalicelib.domain.invoices import Customer, DocumentKind, Invoice
from chalicelib.domain.payments import is_valid_rf, rf_reference_for
from chalicelib.domain.policies import Channel, DunningPolicy
from chalicelib.domain.send_window import customer_zone
from chalicelib.domain.work import Task, TaskStatus, stable_id
from chalicelib.services.collections import CollectionsService, DisputeRequest
from chalicelib.services.dispatch import MessageDispatcher, SellerContact
from chalicelib.services.messages import (
    DEFAULT_LOCALE,
    PROMISE_CONFIRMATION_STEP,
    BankView,
    LocaleFormatter,
    MessageView,
    TemplateRenderer,
    build_message_view,
    template_locale,
)
from chalicelib.services.pay_links import PAY_LINK_SECRET, PayLinks
from chalicelib.services.payments import payer_key, reference_key
from chalicelib.services.ports import (
    CardCheckout,
    Clock,
    CustomerRepository,
    InvoiceRepository,
    PaymentDirectory,
    SecretProvider,
    TaskStore,
)

log = logging.getLogger(__name__)

CUSTOMER_ACTOR = "customer"
PAGE_STEP = "pay_page"
CSRF_LIFETIME = timedelta(hours=12)
MAX_FORM_BYTES = 16_000
MAX_MESSAGE = 2000
MAX_REFERENCE_TEXT = 140
"""A SEPA credit transfer carries 140 characters of remittance information."""
TASK_DUE_DAYS = 2

FLASHES = frozenset(
    {
        "promise_recorded",
        "dispute_recorded",
        "payment_started",
        "invalid_promise_date",
        "invalid_dispute",
        "session_expired",
        "card_unavailable",
    }
)
"""Outcomes the pay page knows how to announce (see `JinjaTemplateRenderer.render_page`)."""

DISPUTE_REASONS = {
    "not_received": DisputeReason.DELIVERY,
    "wrong_amount": DisputeReason.PRICE,
    "already_paid": DisputeReason.ALREADY_PAID,
    "quality": DisputeReason.QUALITY,
    "duplicate": DisputeReason.DUPLICATE,
    "other": DisputeReason.OTHER,
}
"""The page's reasons (its select options) and the collector's reason each one records."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PolicyFor = Callable[[Invoice], DunningPolicy]


class PayLinkInvalidError(DomainError):
    """The link was altered, truncated or is for a customer that no longer exists."""

    code = "pay-link-invalid"


class PayLinkExpiredError(DomainError):
    """The link was genuine but its lifetime is over."""

    code = "pay-link-expired"


@dataclass(frozen=True, slots=True)
class PageResponse:
    """What the HTTP layer sends back.

    Attributes:
        status: The HTTP status.
        html: The page, or None for a redirect.
        redirect_flash: Redirect (303) to the page itself, announcing this outcome.
        location: Redirect (303) to this absolute URL (the card payment page).
        card_payment: The page shows the card button (its form may lead to the provider).
    """

    status: int
    html: str | None = None
    redirect_flash: str | None = None
    location: str | None = None
    card_payment: bool = False


@dataclass(frozen=True, slots=True)
class _Visitor:
    customer: Customer
    token: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def accepted_locale(accept_language: str | None) -> str:
    """The page language from an Accept-Language header (first language we have)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip()
        if tag and tag != "*" and template_locale(tag) == tag.split("-")[0].lower():
            return template_locale(tag)
    return DEFAULT_LOCALE


def payment_reference_for(invoice: Invoice) -> str:
    """Business rule: the reference a transfer must quote to be matched to this invoice.

    The invoice's own RF reference when its document carries one, else an RF creditor
    reference built from its number (ISO 11649, checked with mod 97 when a payment arrives),
    else the number itself when it is too long for an RF reference.
    """
    own = invoice.payment_reference
    if own and is_valid_rf(own):
        return "".join(own.split()).upper()
    try:
        return rf_reference_for(invoice.number)
    except ValidationError:
        return invoice.number


class SelfService:
    """Renders the pay page and carries out what the customer submits on it."""

    def __init__(
        self,
        *,
        pay_links: PayLinks,
        secrets: SecretProvider,
        invoices: InvoiceRepository,
        customers: CustomerRepository,
        collections: CollectionsService,
        tasks: TaskStore,
        directory: PaymentDirectory,
        dispatcher: MessageDispatcher,
        renderer: TemplateRenderer,
        formatter: LocaleFormatter,
        seller: SellerContact,
        seller_iban: str | None,
        policy_for: PolicyFor,
        public_base_url: str,
        checkout: CardCheckout | None,
        clock: Clock,
    ) -> None:
        self._pay_links = pay_links
        self._secrets = secrets
        self._invoices = invoices
        self._customers = customers
        self._collections = collections
        self._tasks = tasks
        self._directory = directory
        self._dispatcher = dispatcher
        self._renderer = renderer
        self._formatter = formatter
        self._seller = seller
        self._seller_iban = seller_iban or None
        self._policy_for = policy_for
        self._base_url = public_base_url.rstrip("/")
        self._checkout = checkout
        self._clock = clock

    # -- public --

    def page(
        self, token: str, *, flash: str | None = None, accept_language: str | None = None
    ) -> PageResponse:
        """The pay page for a link, or an error page without any customer data."""
        try:
            visitor = self._visitor(token)
        except (PayLinkInvalidError, PayLinkExpiredError) as exc:
            return self._link_error(exc, accept_language)
        return self._pay_page(visitor, flash if flash in FLASHES else None, 200)

    def submit(
        self,
        token: str,
        intent: str | None,
        form: Mapping[str, str],
        *,
        origin: str | None = None,
        referer: str | None = None,
        host: str | None = None,
        accept_language: str | None = None,
    ) -> PageResponse:
        """Carry out a form of the pay page: "promise", "dispute" or "card".

        The intent comes from the route or, for the page's single form target, from the form.
        """
        try:
            visitor = self._visitor(token)
        except (PayLinkInvalidError, PayLinkExpiredError) as exc:
            return self._link_error(exc, accept_language)
        locale = visitor.customer.locale
        if not self._same_origin(origin, referer, host):
            log.warning("pay page post from another origin refused")
            return self._error_page("request_refused", locale, 403)
        if not self._csrf_valid(visitor.customer.customer_id, form.get("csrf_token")):
            return self._pay_page(visitor, "session_expired", 403)
        intent = intent or form.get("intent")
        if intent == "promise":
            return self._promise(visitor, form.get("promise_date", ""))
        if intent == "dispute":
            return self._dispute(visitor, form)
        if intent == "card" and self._checkout is not None:
            return self._card(visitor)
        return self._pay_page(visitor, None, 400)

    def csrf_token(self, customer_id: str) -> str:
        """A form token for this customer, valid for CSRF_LIFETIME."""
        expires = int((self._clock.now() + CSRF_LIFETIME).timestamp())
        return f"{expires}.{self._csrf_signature(customer_id, expires)}"

    # -- the link --

    def _visitor(self, token: str) -> _Visitor:
        now = self._clock.now()
        try:
            customer_id = self._pay_links.verify(token, now)
        except AuthenticationError:
            # A signature that holds at the epoch but not now is genuine and expired.
            try:
                self._pay_links.verify(token, _EPOCH)
            except AuthenticationError:
                raise PayLinkInvalidError("this link is not valid") from None
            raise PayLinkExpiredError("this link has expired") from None
        customer = self._customers.get(customer_id)
        if customer is None or customer.erased:
            raise PayLinkInvalidError("this link is not valid")
        return _Visitor(customer, token, _expiry(token))

    def _csrf_signature(self, customer_id: str, expires: int) -> str:
        key = self._secrets.get(PAY_LINK_SECRET).encode()
        # Domain-separated from the link signature, so one can never stand for the other.
        message = f"csrf|{customer_id}|{expires}".encode()
        return _b64(hmac.new(key, message, hashlib.sha256).digest())

    def _csrf_valid(self, customer_id: str, token: str | None) -> bool:
        expires_text, _, signature = (token or "").partition(".")
        if not expires_text.isdigit() or not signature:
            return False
        expected = self._csrf_signature(customer_id, int(expires_text))
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return False
        return self._clock.now().timestamp() < int(expires_text)

    def _same_origin(self, origin: str | None, referer: str | None, host: str | None) -> bool:
        allowed = {o for o in (_origin(self._base_url),) if o}
        if host:
            allowed |= {f"https://{host}".lower(), f"http://{host}".lower()}
        # Our pages say Referrer-Policy: no-referrer, so browsers send "Origin: null" on our
        # own form posts; the CSRF token is what protects those.
        if origin and origin != "null" and origin.lower() not in allowed:
            return False
        if referer:
            referer_origin = _origin(referer)
            if referer_origin is None or referer_origin not in allowed:
                return False
        return True

    # -- pages --

    def _open_invoices(self, customer: Customer) -> list[Invoice]:
        candidates = [
            i
            for i in self._invoices.by_customer(customer.customer_id)
            if i.kind == DocumentKind.INVOICE and not i.is_closed and i.chaseable_amount.is_positive
        ]
        if not candidates:
            return []
        # One page shows one currency: that of the oldest invoice still owed.
        oldest = min(candidates, key=lambda i: (i.due_date, i.number))
        return sorted(
            (i for i in candidates if i.currency == oldest.currency),
            key=lambda i: (i.due_date, i.number),
        )

    def _today(self, customer: Customer) -> date:
        now = self._clock.now()
        try:
            return now.astimezone(customer_zone(customer.timezone)).date()
        except ValidationError:
            return now.date()

    def _view(self, visitor: _Visitor, invoices: Sequence[Invoice], today: date) -> MessageView:
        customer = visitor.customer
        promised = [i.promise_date for i in invoices if i.promise_date is not None]
        view = build_message_view(
            step_id=PAGE_STEP,
            tone="standard",
            invoices=invoices,
            customer=customer,
            seller_name=self._seller.name,
            seller_email=self._seller.email,
            seller_phone=self._seller.phone,
            pay_url=f"{self._base_url}/pay/{visitor.token}",
            pay_url_expires=visitor.expires_at.date(),
            formatter=self._formatter,
            today=today,
            promise_date=max(promised) if promised else None,
            seller_iban=self._seller_iban,
        )
        if view.bank is None:
            return view
        references = [payment_reference_for(i) for i in invoices]
        text = " ".join(dict.fromkeys(references))
        if len(text) > MAX_REFERENCE_TEXT:
            # Too many invoices for one transfer's remittance field: the oldest ones first.
            text = text[:MAX_REFERENCE_TEXT].rsplit(" ", 1)[0]
        return replace(view, bank=BankView(iban=view.bank.iban, reference=text))

    def _pay_page(self, visitor: _Visitor, flash: str | None, status: int) -> PageResponse:
        customer = visitor.customer
        invoices = self._open_invoices(customer)
        if not invoices:
            return self._error_page("nothing_due", customer.locale, 200 if status < 400 else status)
        today = self._today(customer)
        view = self._view(visitor, invoices, today)
        self._remember_clues(customer, invoices)
        max_days = min(self._policy_for(i).max_promise_days for i in invoices)
        html = self._renderer.render_page(
            "pay",
            {
                "locale": view.locale,
                "view": view,
                "form_action": visitor.token,
                "csrf_token": self.csrf_token(customer.customer_id),
                "card_payment_enabled": self._checkout is not None,
                "promise_min": today.isoformat(),
                "promise_max": (today + timedelta(days=max_days)).isoformat(),
                "flash": flash,
            },
        )
        return PageResponse(status, html, card_payment=self._checkout is not None)

    def _remember_clues(self, customer: Customer, invoices: Sequence[Invoice]) -> None:
        # The page tells the customer which references to quote; remember which invoice each
        # one stands for, and that this customer's email pays these invoices.
        pairs = [
            (reference_key(reference), invoice.invoice_id)
            for invoice in invoices
            if is_valid_rf(reference := payment_reference_for(invoice))
        ]
        if customer.email:
            pairs.append((payer_key(customer.email), customer.customer_id))
        self._directory.register(pairs)

    def _error_page(self, code: str, locale: str, status: int) -> PageResponse:
        html = self._renderer.render_page(
            "error",
            {
                "locale": locale,
                "error_code": code,
                "seller_name": self._seller.name,
                "seller_email": self._seller.email or None,
                "seller_phone": self._seller.phone or None,
            },
        )
        return PageResponse(status, html)

    def _link_error(self, error: DomainError, accept_language: str | None) -> PageResponse:
        locale = accepted_locale(accept_language)
        if isinstance(error, PayLinkExpiredError):
            return self._error_page("link_expired", locale, 410)
        return self._error_page("link_invalid", locale, 403)

    # -- forms --

    def _promise(self, visitor: _Visitor, raw_date: str) -> PageResponse:
        invoices = self._open_invoices(visitor.customer)
        if not invoices:
            return self._error_page("nothing_due", visitor.customer.locale, 200)
        try:
            promised = date.fromisoformat(raw_date.strip())
        except ValueError:
            return self._pay_page(visitor, "invalid_promise_date", 422)
        saved: list[Invoice] = []
        try:
            for invoice in invoices:
                saved.append(
                    self._collections.promise(
                        invoice.invoice_id,
                        promised,
                        comment=None,
                        by=CUSTOMER_ACTOR,
                        source="pay_page",
                    )
                )
        except ValidationError:
            # The date is the same for every invoice: the first refusal comes before any change,
            # unless the invoices run on policies with different limits.
            return self._pay_page(visitor, "invalid_promise_date", 422)
        except InvalidTransitionError:
            # An invoice was settled or disputed meanwhile: show where things stand now.
            return self._pay_page(visitor, None, 409)
        self._confirm_promise(visitor.customer, saved)
        return PageResponse(303, redirect_flash="promise_recorded")

    def _confirm_promise(self, customer: Customer, invoices: Sequence[Invoice]) -> None:
        if not invoices or not customer.can_email:
            return
        run_id = "promise_" + stable_id("prm", *(i.invoice_id for i in invoices))
        try:
            self._dispatcher.dispatch(
                customer, invoices, PROMISE_CONFIRMATION_STEP, Channel.EMAIL, "standard", run_id
            )
        except DomainError as exc:
            log.warning("promise confirmation not sent", extra={"code": exc.code})

    def _dispute(self, visitor: _Visitor, form: Mapping[str, str]) -> PageResponse:
        number = form.get("invoice_number", "").strip()
        reason = DISPUTE_REASONS.get(form.get("reason", "").strip())
        message = form.get("message", "").strip()[:MAX_MESSAGE]
        invoice = next(
            (i for i in self._open_invoices(visitor.customer) if i.number == number), None
        )
        if invoice is None or reason is None:
            return self._pay_page(visitor, "invalid_dispute", 422)
        request = DisputeRequest(reason=reason, amount=None, comment=message or None)
        try:
            disputed = self._collections.open_dispute(
                invoice.invoice_id, request, by=CUSTOMER_ACTOR
            )
        except InvalidTransitionError:
            # Disputed already (for part of it): the customer's words join the open dispute.
            if message:
                self._collections.comment_dispute(invoice.invoice_id, message, by=CUSTOMER_ACTOR)
            disputed = invoice
        self._dispute_task(visitor.customer, disputed, form.get("reason", ""), message)
        return PageResponse(303, redirect_flash="dispute_recorded")

    def _dispute_task(
        self, customer: Customer, invoice: Invoice, reason: str, message: str
    ) -> None:
        now = self._clock.now()
        note = f"The customer disputes invoice {invoice.number} on the payment page ({reason})."
        if message:
            note += f" Their message: {message}"
        self._tasks.create(
            Task(
                task_id=stable_id("task", "customer_dispute", invoice.invoice_id),
                kind="dispute",
                status=TaskStatus.OPEN,
                customer_id=customer.customer_id,
                invoice_ids=(invoice.invoice_id,),
                step_id=None,
                note=note,
                created_at=now,
                due_date=(now + timedelta(days=TASK_DUE_DAYS)).date(),
            )
        )

    def _card(self, visitor: _Visitor) -> PageResponse:
        invoices = self._open_invoices(visitor.customer)
        if self._checkout is None or not invoices:
            return self._pay_page(visitor, None, 400)
        page_url = f"{self._base_url}/pay/{visitor.token}"
        try:
            url = self._checkout.start(
                customer_id=visitor.customer.customer_id,
                customer_email=visitor.customer.email,
                invoices=invoices,
                locale=template_locale(visitor.customer.locale),
                success_url=f"{page_url}?flash=payment_started",
                cancel_url=page_url,
            )
        except DomainError:
            # The provider is down or refused: the page still offers the bank transfer.
            return self._pay_page(visitor, "card_unavailable", 503)
        return PageResponse(303, location=url)


def _expiry(token: str) -> datetime:
    """The expiry a verified link carries (its payload is `{"c": customer, "e": unix}`)."""
    payload = token.partition(".")[0]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(data["e"]), UTC)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PayLinkInvalidError("this link is not valid") from exc
