"""Adapter: Jinja2 implementation of the TemplateRenderer and LetterRenderer ports.

Layout under the templates directory (one template per locale, step and part; tone is a
variable the templates branch on, so the friendly and firm wording of a step sit side by side):

    email/base.html.j2, email/base.txt.j2           shared structure (inline CSS, invoice table)
    email/<locale>/layout.html.j2, layout.txt.j2    the locale's labels, greeting, footer
    email/<locale>/<step>.subject.j2 | .html.j2 | .txt.j2
    sms/<locale>/<step>.txt.j2
    tasks/<locale>/<step>.txt.j2                    collector notes (call script, legal hand-off)
    letters/<locale>/<step>.html.j2                 printable letters (formal and legal notices)
    pages/<locale>/<name>.html.j2                   customer self-service pages

Autoescaping is on for `*.html.j2` only: text parts, subjects and SMS print a customer name
as written. A missing variable raises (StrictUndefined), and so does printing None, because a
blank or "None" in a payment demand is worse than a failed send that gets retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.exceptions import UndefinedError

from chalicelib.domain.errors import ValidationError
from chalicelib.services.messages import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    TONES,
    MessageTemplateNotFoundError,
    MessageView,
    RenderedMessage,
    template_locale,
)

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_EMAIL_BASE = "email/base.html.j2"
_LETTER_BASE = "letters/base.html.j2"
# Same slug rule as policy step ids (domain/policies.py); it also keeps names inside the folder.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# What each channel needs, as (folder, suffix) pairs under "<folder>/<locale>/<step><suffix>".
_Files = tuple[tuple[str, str], ...]
_EMAIL_FILES: _Files = (("email", ".subject.j2"), ("email", ".html.j2"), ("email", ".txt.j2"))
_SMS_FILES: _Files = (("sms", ".txt.j2"),)
_TASK_FILES: _Files = (("tasks", ".txt.j2"),)
# A letter wraps the step's HTML email in the letter layout and uses the email subject.
_LETTER_FILES: _Files = (("letters", ".html.j2"), *_EMAIL_FILES[:2])
_PAGE_FILES: _Files = (("pages", ".html.j2"),)
_CHANNEL_FILES: dict[str, _Files] = {
    "email": _EMAIL_FILES,
    "sms": _SMS_FILES,
    "task": _TASK_FILES,
    # A policy's "call" channel is a collector task whose note is the call script.
    "call": _TASK_FILES,
    "letter": _LETTER_FILES,
}
# Typography that costs nothing in an email but switches a whole SMS to UCS-2 (70 characters
# a segment instead of 160): CLDR's no-break spaces in "1 234,56 €" and curly quotes.
_SMS_REPLACEMENTS = str.maketrans(
    {
        "\u202f": " ",
        "\u00a0": " ",
        "\u2009": " ",
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2013": "-",
        "\u2014": "-",
    }
)
_SPACES_RE = re.compile(r"[ \t]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def _refuse_none(value: object) -> object:
    if value is None:
        raise UndefinedError("a template printed None; guard optional fields with {% if field %}")
    return value


class JinjaTemplateRenderer:
    """Renders messages and pages from Jinja2 templates; build once per container."""

    def __init__(self, templates_dir: Path) -> None:
        if not templates_dir.is_dir():
            raise FileNotFoundError(f"templates directory not found: {templates_dir}")
        self._env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(
                enabled_extensions=("html", "html.j2"),
                disabled_extensions=(),
                default_for_string=True,
                default=False,
            ),
            finalize=_refuse_none,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._names = frozenset(self._env.list_templates())

    @property
    def environment(self) -> Environment:
        """The configured environment (tests render strings through the same rules)."""
        return self._env

    def render_email(self, step_id: str, tone: str, view: MessageView) -> RenderedMessage:
        """Render a step's email; `step_id` and `tone` override the view's own.

        Besides every `MessageView` field, templates see `invoice_count`,
        `max_days_overdue`, `earliest_due_date`, `invoice_numbers` and, in the HTML and text
        parts, the rendered `subject`.
        """
        locale = self._locale_with(step_id, view.locale, _EMAIL_FILES)
        context = _view_context(view, step_id, tone)
        subject = _one_line(self._render(f"email/{locale}/{step_id}.subject.j2", context))
        context["subject"] = subject
        context["base_template"] = _EMAIL_BASE
        html = self._render(f"email/{locale}/{step_id}.html.j2", context).strip() + "\n"
        text = _tidy_text(self._render(f"email/{locale}/{step_id}.txt.j2", context))
        return RenderedMessage(subject=subject, html=html, text=text)

    def render_sms(self, step_id: str, tone: str, view: MessageView) -> str:
        """Render a step's SMS, with typography reduced to what GSM-7 can carry."""
        locale = self._locale_with(step_id, view.locale, _SMS_FILES)
        raw = self._render(f"sms/{locale}/{step_id}.txt.j2", _view_context(view, step_id, tone))
        lines = (
            _SPACES_RE.sub(" ", line).strip()
            for line in raw.translate(_SMS_REPLACEMENTS).splitlines()
        )
        return "\n".join(line for line in lines if line)

    def render_task_note(self, step_id: str, view: MessageView) -> str:
        """Render a collector's task note in the customer's language (it holds a call script)."""
        locale = self._locale_with(step_id, view.locale, _TASK_FILES)
        context = _view_context(view, step_id, view.tone)
        return _tidy_text(self._render(f"tasks/{locale}/{step_id}.txt.j2", context))

    def render_letter(self, step_id: str, tone: str, view: MessageView) -> str:
        """Render a printable A4 letter (HTML) for a step that also goes by post.

        The letter reuses the step's email wording inside the letter layout, so the two
        cannot drift apart; its subject line is the email subject.
        """
        locale = self._locale_with(step_id, view.locale, _LETTER_FILES)
        context = _view_context(view, step_id, tone)
        context["subject"] = _one_line(
            self._render(f"email/{locale}/{step_id}.subject.j2", context)
        )
        context["base_template"] = _LETTER_BASE
        return self._render(f"letters/{locale}/{step_id}.html.j2", context).strip() + "\n"

    def render_page(self, name: str, context: Mapping[str, object]) -> str:
        """Render a customer self-service page.

        Every page needs `locale` (any tag; "fr_BE" reads the French page).

        `pay` (GET /pay/{token}) also needs:
            view (MessageView): the customer's open invoices, totals, seller contact, bank
                details and any promise already made (`view.promise_date`);
            form_action (str): the URL every form on the page posts to; each form sends an
                `intent` field: "card", "promise" or "dispute";
            csrf_token (str): echoed in a hidden `csrf_token` input of every form;
            card_payment_enabled (bool): shows the card-payment button;
            promise_min, promise_max (str): ISO dates (YYYY-MM-DD) bounding the promise date;
            flash (str | None): outcome of the last post, one of "promise_recorded",
                "dispute_recorded", "payment_started", "invalid_promise_date",
                "invalid_dispute", "session_expired"; None shows nothing.
        The promise form posts `promise_date`; the dispute form posts `invoice_number`,
        `reason` ("not_received", "wrong_amount", "already_paid", "quality", "duplicate",
        "other") and `message`.

        `error` needs:
            error_code (str): "link_expired", "link_invalid", "nothing_due" or
                "server_error"; any other code shows a generic message;
            seller_name, seller_email, seller_phone (str | None): who to contact, when the
                link identified the seller.

        Raises:
            MessageTemplateNotFoundError: no such page.
            UndefinedError: the context lacks a variable the page prints.
        """
        if "locale" not in context:
            raise UndefinedError("render_page needs 'locale' in its context")
        locale = self._locale_with(name, str(context["locale"]), _PAGE_FILES)
        page_context = dict(context)
        page_context["locale"] = locale
        return self._render(f"pages/{locale}/{name}.html.j2", page_context).strip() + "\n"

    def available(self, step_id: str, channel: str) -> bool:
        """Whether every supported locale has the channel's templates for the step."""
        files = _CHANNEL_FILES.get(channel)
        if files is None or not _NAME_RE.match(step_id):
            return False
        return all(self._has(locale, step_id, files) for locale in SUPPORTED_LOCALES)

    def _has(self, locale: str, name: str, files: _Files) -> bool:
        return all(f"{folder}/{locale}/{name}{suffix}" in self._names for folder, suffix in files)

    def _locale_with(self, name: str, locale: str, files: _Files) -> str:
        """The template language: the customer's, else the default one.

        A step written only in English still reaches a French customer rather than failing.
        """
        if not _NAME_RE.match(name):
            raise MessageTemplateNotFoundError(f"not a template name: {name!r}")
        for candidate in (template_locale(locale), DEFAULT_LOCALE):
            if self._has(candidate, name, files):
                return candidate
        raise MessageTemplateNotFoundError(f"no {files[0][0]} template for {name!r}")

    def _render(self, template_name: str, context: Mapping[str, object]) -> str:
        return self._env.get_template(template_name).render(context)


def _view_context(view: MessageView, step_id: str, tone: str) -> dict[str, object]:
    if tone not in TONES:
        raise ValidationError(f"tone must be one of {TONES}, got {tone!r}", field="tone")
    context: dict[str, object] = {f.name: getattr(view, f.name) for f in fields(view)}
    context.update(
        step_id=step_id,
        tone=tone,
        invoice_count=view.invoice_count,
        max_days_overdue=view.max_days_overdue,
        earliest_due_date=view.earliest_due_date,
        invoice_numbers=view.invoice_numbers,
    )
    return context


def _one_line(text: str) -> str:
    """A subject is one line: a stray newline would break the mail header."""
    return " ".join(text.split())


def _tidy_text(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip() + "\n"
