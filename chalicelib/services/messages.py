"""Service: what a reminder says, as data, and the ports that format and render it.

The dunning service turns domain objects into a `MessageView` (formatted strings only) with
`build_message_view`, then asks a `TemplateRenderer` for the email, SMS, collector task note
or self-service page. Templates never see a domain object, a `Money` or a `date`: formatting
happens once, here, through the `LocaleFormatter` port.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from chalicelib.domain.errors import DomainError, ValidationError
from chalicelib.domain.invoices import Customer, DocumentKind, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.sms import sms_encoding, sms_segments

TONES = ("friendly", "standard", "firm")
"""Tones a message can take (the values of `chalicelib.domain.risk.Tone`)."""

SUPPORTED_LOCALES = ("fr", "en")
"""Languages the templates are written in."""

DEFAULT_LOCALE = "en"
"""Language used for a customer whose language has no templates."""

CHANNELS = ("email", "sms", "task", "call", "letter")
"""Channels a renderer can be asked about through `TemplateRenderer.available`.

"call" (the policy channel) and "task" both mean the collector's task note.
"""

PROMISE_CONFIRMATION_STEP = "promise_confirmation"

_URL_RE = re.compile(r"^https?://[^\s\"'<>]+$")
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*$")
# A statutory rate is the ECB rate plus 8 or 10 points; 100 % or more means a unit bug.
_MAX_RATE_PERCENT = Decimal(100)


class MessageTemplateNotFoundError(DomainError):
    """No template exists for the requested step, channel or page."""

    code = "message-template-not-found"


def template_locale(locale: str) -> str:
    """Business rule: the template language for a customer locale.

    "fr", "fr_FR", "fr-BE" and "FR" all read French templates; any language without
    templates falls back to English.

    Args:
        locale: A BCP 47 or POSIX-style tag ("fr_BE", "en-GB", "de").

    Returns:
        One of `SUPPORTED_LOCALES`.
    """
    language = locale.strip().replace("-", "_").split("_", 1)[0].casefold()
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def formatting_locale(locale: str) -> str:
    """Business rule: the locale amounts and dates are formatted in.

    The region is kept when the language has templates ("fr_BE" dates read "15/12/26" in
    short form), but a language without templates formats as English too, so an English
    message never carries German number formatting.

    Args:
        locale: A BCP 47 or POSIX-style tag.

    Returns:
        "language" or "language_REGION" (POSIX form, as Babel expects).
    """
    cleaned = locale.strip().replace("-", "_")
    if not _LOCALE_RE.match(cleaned):
        return DEFAULT_LOCALE
    language, _, rest = cleaned.partition("_")
    language = language.casefold()
    if language not in SUPPORTED_LOCALES:
        return DEFAULT_LOCALE
    region = rest.split("_", 1)[0]
    if len(region) == 2 and region.isalpha():
        return f"{language}_{region.upper()}"
    return language


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice as a message shows it; every field is already formatted.

    Attributes:
        number: The invoice number the customer knows.
        issue_date: Formatted issue date.
        due_date: Formatted due date.
        amount_due: Formatted amount still chased (the undisputed part of what is owed).
        days_overdue: Whole days past the due date; negative before it, 0 on the day.
        amount_total: Formatted invoice total (shown by the receipt); None when unknown.
    """

    number: str
    issue_date: str
    due_date: str
    amount_due: str
    days_overdue: int
    amount_total: str | None = None


@dataclass(frozen=True, slots=True)
class StatutoryView:
    """What French law adds to a late B2B invoice (art. L441-10 and D441-5 Code de commerce).

    Attributes:
        interest: Formatted late-payment interest accrued up to `MessageView.today`.
        indemnity: Formatted fixed compensation for recovery costs (40 EUR per late invoice);
            None when it cannot be expressed in the invoices' currency.
        rate: Formatted annual interest rate ("12,15 %").
        days_late: Days the oldest invoice of the message is late.
        total_claim: Formatted principal + interest + indemnity.
    """

    interest: str
    indemnity: str | None
    rate: str
    days_late: int
    total_claim: str


@dataclass(frozen=True, slots=True)
class BankView:
    """Where to send a bank transfer and what to write in its reference field.

    Attributes:
        iban: The seller's IBAN, grouped by four characters for reading.
        reference: The text the customer must put in the transfer so it can be matched.
    """

    iban: str
    reference: str


@dataclass(frozen=True, slots=True)
class MessageView:
    """Everything a template may print, prepared by the service; formatted strings only.

    Lines are ordered oldest due date first, so `lines[0]` is the most overdue invoice.
    """

    locale: str
    tone: str
    step_id: str
    customer_name: str
    seller_name: str
    seller_email: str
    seller_phone: str | None
    lines: tuple[InvoiceLine, ...]
    total_due: str
    currency: str
    pay_url: str
    pay_url_expires: str
    statutory: StatutoryView | None
    bank: BankView | None
    promise_date: str | None
    today: str

    def __post_init__(self) -> None:
        if self.locale not in SUPPORTED_LOCALES:
            raise ValidationError(
                f"message locale must be one of {SUPPORTED_LOCALES}, got {self.locale!r}",
                field="locale",
            )
        if self.tone not in TONES:
            raise ValidationError(f"tone must be one of {TONES}, got {self.tone!r}", field="tone")
        if not _URL_RE.match(self.pay_url):
            raise ValidationError("pay_url must be an http(s) URL", field="pay_url")
        if not self.lines:
            raise ValidationError("a message is about at least one invoice", field="lines")

    @property
    def invoice_count(self) -> int:
        """How many invoices the message covers."""
        return len(self.lines)

    @property
    def max_days_overdue(self) -> int:
        """Days the oldest invoice is overdue (negative when none is due yet)."""
        return max(line.days_overdue for line in self.lines)

    @property
    def earliest_due_date(self) -> str:
        """Formatted due date of the oldest invoice."""
        return self.lines[0].due_date

    @property
    def invoice_numbers(self) -> str:
        """The invoice numbers, comma-separated, oldest first."""
        return ", ".join(line.number for line in self.lines)


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """An email ready to send: one-line subject, HTML part and plain-text part."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class RenderedSms:
    """An SMS ready to send, with what it will cost.

    Attributes:
        text: The message body.
        encoding: "GSM-7" or "UCS-2" (from `chalicelib.domain.sms.sms_encoding`).
        segments: Billable segments (from `chalicelib.domain.sms.sms_segments`).
    """

    text: str
    encoding: str
    segments: int

    @classmethod
    def of(cls, text: str) -> RenderedSms:
        """Measure a rendered SMS with the GSM 03.38 rules of `chalicelib.domain.sms`."""
        return cls(text=text, encoding=str(sms_encoding(text)), segments=sms_segments(text))


class LocaleFormatter(Protocol):
    """Formats amounts, dates and percentages the way a locale writes them."""

    def money(self, amount: Money, locale: str) -> str:
        """Format an amount with its currency ("1 234,56 €" in fr, "€1,234.56" in en)."""
        ...  # pragma: no cover

    def date(self, d: date, locale: str, format: str = "long") -> str:
        """Format a date; `format` is short, medium, long or full ("15 décembre 2026")."""
        ...  # pragma: no cover

    def percent(self, value: Decimal, locale: str) -> str:
        """Format a fraction as a percentage (Decimal("0.1215") -> "12,15 %" in fr)."""
        ...  # pragma: no cover


class TemplateRenderer(Protocol):
    """Turns a `MessageView` into the text each channel sends."""

    def render_email(self, step_id: str, tone: str, view: MessageView) -> RenderedMessage:
        """Render the subject, HTML and text parts of a step's email.

        Raises:
            MessageTemplateNotFoundError: the step has no email template.
        """
        ...  # pragma: no cover

    def render_sms(self, step_id: str, tone: str, view: MessageView) -> str:
        """Render a step's SMS body.

        Raises:
            MessageTemplateNotFoundError: the step has no SMS template.
        """
        ...  # pragma: no cover

    def render_task_note(self, step_id: str, view: MessageView) -> str:
        """Render the note a collector reads on a manual task (call script, legal hand-off).

        Raises:
            MessageTemplateNotFoundError: the step has no task template.
        """
        ...  # pragma: no cover

    def render_page(self, name: str, context: Mapping[str, object]) -> str:
        """Render a customer self-service page ("pay", "error").

        Raises:
            MessageTemplateNotFoundError: no such page.
        """
        ...  # pragma: no cover

    def available(self, step_id: str, channel: str) -> bool:
        """Whether the step has templates for the channel in every supported locale."""
        ...  # pragma: no cover


class LetterRenderer(Protocol):
    """Renders a printable letter (HTML, A4) for steps that also go by post."""

    def render_letter(self, step_id: str, tone: str, view: MessageView) -> str:
        """Render the letter body; the print provider adds the address sheet.

        Raises:
            MessageTemplateNotFoundError: the step has no letter template.
        """
        ...  # pragma: no cover


def build_message_view(
    *,
    step_id: str,
    tone: str,
    invoices: Sequence[Invoice],
    customer: Customer,
    seller_name: str,
    seller_email: str,
    seller_phone: str | None,
    pay_url: str,
    pay_url_expires: date,
    formatter: LocaleFormatter,
    today: date,
    interest: Money | None = None,
    indemnity: Money | None = None,
    interest_rate_percent: Decimal | None = None,
    promise_date: date | None = None,
    seller_iban: str | None = None,
) -> MessageView:
    """Prepare one consolidated message about a customer's invoices.

    Several invoices become several lines (oldest due date first) and one total. Amounts are
    the chaseable amounts: a disputed part is never asked for.

    Args:
        step_id: The dunning step ("friendly", "formal_notice", "receipt", ...).
        tone: "friendly", "standard" or "firm".
        invoices: The invoices the message is about, all of `customer`, same currency.
        customer: Who receives it; its locale picks the language and formatting.
        seller_name: The seller as the customer knows it.
        seller_email: Where the customer can write back.
        seller_phone: Where the customer can call, if the seller takes calls.
        pay_url: The customer's self-service link (pay, promise to pay, dispute).
        pay_url_expires: When that link stops working.
        formatter: Formats amounts, dates and percentages.
        today: The date the message is written ("as of"); days overdue count from it.
        interest: Late-payment interest claimed (formal notice, legal steps); None claims
            nothing beyond the principal.
        indemnity: Fixed compensation for recovery costs claimed (40 EUR per late invoice);
            None when it cannot be claimed in the invoices' currency.
        interest_rate_percent: The annual statutory rate in percent, as
            `StatutoryClaim.rate_percent` gives it (Decimal("12.15")); required with interest.
        promise_date: The date the customer promised to pay; required by the
            promise_confirmation step.
        seller_iban: The IBAN to show when the invoices carry none.

    Returns:
        The view the templates render.

    Raises:
        ValidationError: the inputs cannot make a truthful message (no invoice, another
            customer's invoice, a credit note, mixed currencies, an erased customer, an
            unknown tone, a partial statutory claim, a missing promise date, a bad link).
    """
    _check_recipients(invoices, customer)
    if tone not in TONES:
        raise ValidationError(f"tone must be one of {TONES}, got {tone!r}", field="tone")
    if step_id == PROMISE_CONFIRMATION_STEP and promise_date is None:
        raise ValidationError("a promise confirmation needs the promised date", "promise_date")
    fmt_locale = formatting_locale(customer.locale)
    ordered = sorted(invoices, key=lambda inv: (inv.due_date, inv.number))
    currency = ordered[0].currency
    total = Money.zero(currency)
    for invoice in ordered:
        total = total + invoice.chaseable_amount
    statutory = _statutory_view(
        total=total,
        interest=interest,
        indemnity=indemnity,
        rate_percent=interest_rate_percent,
        days_late=ordered[0].days_overdue(today),
        formatter=formatter,
        locale=fmt_locale,
    )
    return MessageView(
        locale=template_locale(customer.locale),
        tone=tone,
        step_id=step_id,
        customer_name=customer.name,
        seller_name=seller_name,
        seller_email=seller_email,
        seller_phone=seller_phone or None,
        lines=tuple(_line(inv, formatter, fmt_locale, today) for inv in ordered),
        total_due=formatter.money(total, fmt_locale),
        currency=currency,
        pay_url=pay_url,
        pay_url_expires=formatter.date(pay_url_expires, fmt_locale),
        statutory=statutory,
        bank=_bank_view(ordered, seller_iban),
        promise_date=None if promise_date is None else formatter.date(promise_date, fmt_locale),
        today=formatter.date(today, fmt_locale),
    )


def _check_recipients(invoices: Sequence[Invoice], customer: Customer) -> None:
    if not invoices:
        raise ValidationError("a message needs at least one invoice", field="invoices")
    if customer.erased:
        raise ValidationError("the customer's data was erased; nothing may be sent", "customer")
    currencies = {inv.currency for inv in invoices}
    if len(currencies) > 1:
        raise ValidationError(
            f"one message cannot mix currencies: {sorted(currencies)}", field="invoices"
        )
    for invoice in invoices:
        if invoice.customer_id != customer.customer_id:
            raise ValidationError(
                f"invoice {invoice.number} belongs to another customer", field="invoices"
            )
        if invoice.kind is DocumentKind.CREDIT_NOTE:
            raise ValidationError(
                f"{invoice.number} is a credit note; credit notes are not chased",
                field="invoices",
            )


def _line(invoice: Invoice, formatter: LocaleFormatter, locale: str, today: date) -> InvoiceLine:
    return InvoiceLine(
        number=invoice.number,
        issue_date=formatter.date(invoice.issue_date, locale),
        due_date=formatter.date(invoice.due_date, locale),
        amount_due=formatter.money(invoice.chaseable_amount, locale),
        days_overdue=invoice.days_overdue(today),
        amount_total=formatter.money(invoice.amount_total, locale),
    )


def _statutory_view(
    *,
    total: Money,
    interest: Money | None,
    indemnity: Money | None,
    rate_percent: Decimal | None,
    days_late: int,
    formatter: LocaleFormatter,
    locale: str,
) -> StatutoryView | None:
    if interest is None:
        if indemnity is not None or rate_percent is not None:
            raise ValidationError(
                "a statutory claim needs the interest (zero if none) with its rate",
                field="interest",
            )
        return None
    if rate_percent is None:
        raise ValidationError("a statutory claim needs its interest rate", "interest_rate_percent")
    if not Decimal(0) <= rate_percent < _MAX_RATE_PERCENT:
        raise ValidationError(
            "interest_rate_percent is in percent (Decimal('12.15') for 12.15 %)",
            field="interest_rate_percent",
        )
    claimed = (interest,) if indemnity is None else (interest, indemnity)
    if any(part.currency != total.currency for part in claimed):
        raise ValidationError(
            f"the statutory claim must be in the invoices' currency ({total.currency})",
            field="statutory",
        )
    if any(part.minor < 0 for part in claimed):
        raise ValidationError("interest and indemnity cannot be negative", field="statutory")
    claim = total
    for part in claimed:
        claim = claim + part
    return StatutoryView(
        interest=formatter.money(interest, locale),
        indemnity=None if indemnity is None else formatter.money(indemnity, locale),
        rate=formatter.percent(rate_percent / 100, locale),
        days_late=days_late,
        total_claim=formatter.money(claim, locale),
    )


def _bank_view(invoices: Sequence[Invoice], seller_iban: str | None) -> BankView | None:
    iban = next((inv.iban for inv in invoices if inv.iban), None) or seller_iban
    if not iban:
        return None
    references = [inv.payment_reference or inv.number for inv in invoices]
    # Several invoices sharing one structured reference (RF…) keep it; otherwise the numbers
    # let the seller's bank matching find every invoice the transfer settles.
    reference = references[0] if len(set(references)) == 1 else " ".join(references)
    return BankView(iban=_group_iban(iban), reference=reference)


def _group_iban(iban: str) -> str:
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
