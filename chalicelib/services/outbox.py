"""Service: the local outbox (what the emulator accepted) and template previews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from chalicelib.domain.errors import NotFoundError, ValidationError
from chalicelib.domain.invoices import Customer, Invoice, invoice_id_for
from chalicelib.domain.money import Money
from chalicelib.services.messages import (
    SUPPORTED_LOCALES,
    TONES,
    LocaleFormatter,
    TemplateRenderer,
    build_message_view,
)
from chalicelib.services.ports import Outbox, Timeline


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A sent message with what Relance knows about it."""

    channel: str
    message_ref: str
    to: str
    subject: str | None
    text: str
    invoice_ids: tuple[str, ...]
    step_id: str | None
    sent_at: datetime | None
    attachments: tuple[str, ...]


class OutboxQueries:
    """Joins the emulator's record of sent messages with Relance's archive."""

    def __init__(self, outbox: Outbox | None, timeline: Timeline) -> None:
        self._outbox = outbox
        self._timeline = timeline

    def entries(self) -> list[OutboxEntry]:
        """Every message the emulator received, newest first.

        Raises:
            NotFoundError: not running on the emulator (stage dev or prod).
        """
        if self._outbox is None:
            raise NotFoundError("the outbox exists only on the local stage")
        found = []
        for item in self._outbox.items():
            archived = self._timeline.get_message(item.message_ref)
            found.append(
                OutboxEntry(
                    channel=item.channel,
                    message_ref=item.message_ref,
                    to=item.to,
                    subject=item.subject,
                    text=item.text,
                    invoice_ids=archived.invoice_ids if archived else (),
                    step_id=archived.step_id if archived else None,
                    sent_at=archived.sent_at if archived else None,
                    attachments=item.attachments,
                )
            )
        # The emulator lists messages in the order it accepted them.
        return list(reversed(found))


class TemplatePreviews:
    """Renders any step with sample data, so wording can be reviewed before it is sent."""

    def __init__(self, renderer: TemplateRenderer, formatter: LocaleFormatter) -> None:
        self._renderer = renderer
        self._formatter = formatter

    def preview(self, step_id: str, locale: str, tone: str, today: date) -> dict[str, str]:
        """Subject, HTML, text and SMS of a step for a sample customer with two invoices.

        Raises:
            ValidationError: unknown locale or tone.
            NotFoundError: the step has no email template.
        """
        if locale not in SUPPORTED_LOCALES:
            raise ValidationError(
                f"locale must be one of {sorted(SUPPORTED_LOCALES)}", field="locale"
            )
        if tone not in TONES:
            raise ValidationError(f"tone must be one of {sorted(TONES)}", field="tone")
        if not self._renderer.available(step_id, "email"):
            raise NotFoundError(f"no email template for step {step_id!r}")
        customer = Customer(
            customer_id="cus_preview",
            seller_id="preview",
            name="Boulangerie Martin SARL",
            email="compta@example.com",
            phone="+33612345678",
            country="FR",
            locale=locale,
        )
        invoices = [
            Invoice(
                invoice_id=invoice_id_for("preview", number),
                seller_id="preview",
                number=number,
                customer_id=customer.customer_id,
                issue_date=today - timedelta(days=60 - shift),
                due_date=today - timedelta(days=30 - shift),
                amount_total=Money(total, "EUR"),
                amount_paid=Money(0, "EUR"),
            )
            for number, total, shift in (("F-2026-0101", 123456, 0), ("F-2026-0117", 48050, 5))
        ]
        statutory = step_id in ("formal_notice", "legal")
        view = build_message_view(
            step_id=step_id,
            tone=tone,
            invoices=invoices,
            customer=customer,
            seller_name="Atelier Démo SAS",
            seller_email="compta@example.com",
            seller_phone="+33 1 23 45 67 89",
            pay_url="https://pay.example.com/pay/preview",
            pay_url_expires=today + timedelta(days=45),
            formatter=self._formatter,
            today=today,
            interest=Money(4321, "EUR") if statutory else None,
            indemnity=Money(8000, "EUR") if statutory else None,
            interest_rate_percent=Decimal("12.15") if statutory else None,
            seller_iban="FR7630006000011234567890189",
            promise_date=today + timedelta(days=7),
        )
        email = self._renderer.render_email(step_id, tone, view)
        result = {"subject": email.subject, "html": email.html, "text": email.text}
        if self._renderer.available(step_id, "sms"):
            result["sms"] = self._renderer.render_sms(step_id, tone, view)
        return result
