"""Every step x tone x locale x channel renders, matches its reviewed golden file, and is safe."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from jinja2.exceptions import UndefinedError

from chalicelib.adapters.jinja_templates import DEFAULT_TEMPLATES_DIR, JinjaTemplateRenderer
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY
from chalicelib.services.messages import (
    SUPPORTED_LOCALES,
    TONES,
    MessageTemplateNotFoundError,
    MessageView,
)
from tests.templates.builders import (
    EMAIL_STEPS,
    LETTER_STEPS,
    PAY_URL,
    SELLER,
    SMS_STEPS,
    TASK_STEPS,
    a_customer,
    a_message_view,
)
from tests.templates.golden import GOLDEN_DIR, assert_matches_golden, updating
from tests.templates.html_check import check_html

PAGE_CASES = ("pay", "pay-no-card", "error")


@pytest.fixture(scope="module")
def renderer() -> JinjaTemplateRenderer:
    return JinjaTemplateRenderer(DEFAULT_TEMPLATES_DIR)


def _cases(steps: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [
        (locale, step, tone) for locale in SUPPORTED_LOCALES for step in steps for tone in TONES
    ]


def _page_context(case: str, locale: str) -> dict[str, object]:
    if case == "error":
        return {
            "locale": locale,
            "error_code": "link_expired",
            "seller_name": SELLER["seller_name"],
            "seller_email": SELLER["seller_email"],
            "seller_phone": SELLER["seller_phone"],
        }
    return {
        "locale": locale,
        "view": a_message_view("friendly", "standard", locale),
        "form_action": "/pay/q3Jt9XbV2mLpZ8wKc4RyHn7TfQa1sDgE5uIoP6vB0xC",
        "csrf_token": "csrf-5f2c1e",
        "card_payment_enabled": case == "pay",
        "promise_min": "2026-11-12",
        "promise_max": "2026-12-11",
        "flash": "promise_recorded" if case == "pay" else None,
    }


def _expected_golden_files() -> set[str]:
    names = set()
    for locale, step, tone in _cases(EMAIL_STEPS):
        names |= {f"email/{locale}/{step}.{tone}.{part}" for part in ("subject.txt", "html", "txt")}
    names |= {f"sms/{locale}/{step}.{tone}.txt" for locale, step, tone in _cases(SMS_STEPS)}
    names |= {f"tasks/{locale}/{step}.{tone}.txt" for locale, step, tone in _cases(TASK_STEPS)}
    names |= {f"letters/{locale}/{step}.{tone}.html" for locale, step, tone in _cases(LETTER_STEPS)}
    names |= {f"pages/{locale}/{case}.html" for locale in SUPPORTED_LOCALES for case in PAGE_CASES}
    return names


# --- golden output -----------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(EMAIL_STEPS))
def test_email_matches_reviewed_golden_files(renderer, locale, step, tone):
    message = renderer.render_email(step, tone, a_message_view(step, tone, locale))

    assert_matches_golden(f"email/{locale}/{step}.{tone}.subject.txt", message.subject + "\n")
    assert_matches_golden(f"email/{locale}/{step}.{tone}.html", message.html)
    assert_matches_golden(f"email/{locale}/{step}.{tone}.txt", message.text)


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(SMS_STEPS))
def test_sms_matches_reviewed_golden_file(renderer, locale, step, tone):
    text = renderer.render_sms(step, tone, a_message_view(step, tone, locale))

    assert_matches_golden(f"sms/{locale}/{step}.{tone}.txt", text + "\n")


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(TASK_STEPS))
def test_task_note_matches_reviewed_golden_file(renderer, locale, step, tone):
    note = renderer.render_task_note(step, a_message_view(step, tone, locale))

    assert_matches_golden(f"tasks/{locale}/{step}.{tone}.txt", note)


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(LETTER_STEPS))
def test_letter_matches_reviewed_golden_file(renderer, locale, step, tone):
    letter = renderer.render_letter(step, tone, a_message_view(step, tone, locale))

    assert_matches_golden(f"letters/{locale}/{step}.{tone}.html", letter)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("case", PAGE_CASES)
def test_page_matches_reviewed_golden_file(renderer, locale, case):
    page = renderer.render_page(case.split("-")[0], _page_context(case, locale))

    assert_matches_golden(f"pages/{locale}/{case}.html", page)


def test_every_golden_file_belongs_to_a_rendered_case():
    if updating():
        pytest.skip("golden files are being rewritten")
    on_disk = {
        path.relative_to(GOLDEN_DIR).as_posix() for path in GOLDEN_DIR.rglob("*") if path.is_file()
    }

    assert on_disk - _expected_golden_files() == set(), "stale golden files: delete them"


# --- what every customer message must carry ------------------------------------------------


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(EMAIL_STEPS))
def test_email_html_is_well_formed_with_language_and_pay_link(renderer, locale, step, tone):
    message = renderer.render_email(step, tone, a_message_view(step, tone, locale))

    report = check_html(message.html)
    assert report.errors == []
    assert report.lang == locale
    assert PAY_URL in report.links
    assert f"mailto:{SELLER['seller_email']}" in report.links


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(EMAIL_STEPS))
def test_email_text_part_carries_link_contact_amount_and_every_invoice(
    renderer, locale, step, tone
):
    view = a_message_view(step, tone, locale)

    message = renderer.render_email(step, tone, view)

    for part in (message.text, message.html):
        assert PAY_URL in part
        assert SELLER["seller_email"] in part
        assert SELLER["seller_name"] in part
        for line in view.lines:
            assert line.number in part
    if step != "receipt":
        assert view.total_due in message.text
    assert "\n" not in message.subject
    assert message.subject.strip() == message.subject != ""


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(SMS_STEPS))
def test_sms_names_the_seller_and_carries_the_pay_link(renderer, locale, step, tone):
    text = renderer.render_sms(step, tone, a_message_view(step, tone, locale))

    assert text.startswith(SELLER["seller_name"])
    assert PAY_URL in text


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(LETTER_STEPS))
def test_letter_is_well_formed_and_says_what_the_email_says(renderer, locale, step, tone):
    view = a_message_view(step, tone, locale)

    letter = renderer.render_letter(step, tone, view)
    email = renderer.render_email(step, tone, view)

    report = check_html(letter)
    assert report.errors == []
    assert report.lang == locale
    assert email.subject in letter
    assert view.statutory is not None
    assert view.statutory.total_claim in letter


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("render", ["email_text", "email_html", "letter"])
def test_french_formal_notice_carries_statutory_claim_and_legal_wording(renderer, tone, render):
    view = a_message_view("formal_notice", tone, "fr")
    output = _render_formal_notice(renderer, view, tone, render)

    assert view.statutory is not None
    for expected in (
        "mise en demeure",
        "L441-10",
        "D441-5",
        "article 1344 du Code civil",
        "40 € par facture",
        "pénalités de retard",
        "indemnité forfaitaire pour frais de recouvrement",
        view.statutory.interest,
        view.statutory.indemnity,
        view.statutory.rate,
        view.statutory.total_claim,
    ):
        assert expected in output


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("render", ["email_text", "email_html", "letter"])
def test_english_formal_notice_cites_the_late_payment_directive(renderer, tone, render):
    view = a_message_view("formal_notice", tone, "en")
    output = _render_formal_notice(renderer, view, tone, render)

    assert view.statutory is not None
    for expected in (
        "formal notice to pay",
        "Directive 2011/7/EU",
        "EUR 40 per invoice",
        "terms of sale",
        "late-payment interest",
        view.statutory.interest,
        view.statutory.total_claim,
    ):
        assert expected in output


def _render_formal_notice(renderer, view, tone, render):
    if render == "letter":
        return renderer.render_letter("formal_notice", tone, view)
    message = renderer.render_email("formal_notice", tone, view)
    return message.text if render == "email_text" else message.html


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_formal_notice_without_statutory_claim_reserves_the_right_to_claim(renderer, locale):
    view = dataclasses.replace(a_message_view("formal_notice", "standard", locale), statutory=None)

    text = renderer.render_email("formal_notice", "standard", view).text

    assert view.total_due in text
    assert ("Nous nous réservons le droit" if locale == "fr" else "We reserve the right") in text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_claim_without_indemnity_leaves_the_indemnity_line_out(renderer, locale):
    view = a_message_view("formal_notice", "standard", locale, indemnity=None)

    text = renderer.render_email("formal_notice", "standard", view).text

    assert view.statutory is not None
    assert view.statutory.interest in text
    assert ("Indemnité forfaitaire" if locale == "fr" else "Fixed compensation") not in text


# --- tone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "step"), [(lo, s) for lo in SUPPORTED_LOCALES for s in EMAIL_STEPS]
)
def test_each_tone_writes_its_own_email(renderer, locale, step):
    rendered = [
        renderer.render_email(step, tone, a_message_view(step, tone, locale)) for tone in TONES
    ]

    assert len({message.text for message in rendered}) == len(TONES)
    assert len({message.subject for message in rendered}) == len(TONES)


@pytest.mark.parametrize(
    ("locale", "step"), [(lo, s) for lo in SUPPORTED_LOCALES for s in SMS_STEPS]
)
def test_friendly_and_firm_sms_differ(renderer, locale, step):
    friendly = renderer.render_sms(step, "friendly", a_message_view(step, "friendly", locale))
    firm = renderer.render_sms(step, "firm", a_message_view(step, "firm", locale))

    assert friendly != firm


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_call_script_adds_the_formal_notice_warning_only_in_firm_tone(renderer, locale):
    firm = renderer.render_task_note("call", a_message_view("call", "firm", locale))
    friendly = renderer.render_task_note("call", a_message_view("call", "friendly", locale))

    warning = "mise en demeure" if locale == "fr" else "formal notice"
    assert warning in firm
    assert warning not in friendly


def test_unknown_tone_is_refused(renderer):
    with pytest.raises(ValidationError) as caught:
        renderer.render_email("friendly", "threatening", a_message_view())

    assert caught.value.field == "tone"


# --- escaping and missing data -------------------------------------------------------------

HOSTILE_NAME = '<script>alert("x")</script> & Fils'


def test_customer_name_is_escaped_in_html_and_intact_in_text(renderer):
    view = a_message_view(customer=a_customer(name=HOSTILE_NAME))

    message = renderer.render_email("friendly", "standard", view)

    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Fils" in message.html
    assert HOSTILE_NAME in message.text


def test_customer_name_is_escaped_on_the_pay_page(renderer):
    context = _page_context("pay", "fr")
    context["view"] = a_message_view(customer=a_customer(name=HOSTILE_NAME))

    page = renderer.render_page("pay", context)

    assert "<script>" not in page
    assert check_html(page).errors == []


def test_autoescape_is_on_for_html_templates_only(renderer):
    autoescape = renderer.environment.autoescape

    assert callable(autoescape)
    assert autoescape("email/fr/friendly.html.j2") is True
    assert autoescape("pages/en/pay.html.j2") is True
    assert autoescape("email/fr/friendly.txt.j2") is False
    assert autoescape("email/fr/friendly.subject.j2") is False
    assert autoescape("sms/fr/firm.txt.j2") is False


def test_template_missing_a_view_field_raises_instead_of_printing_blank(renderer):
    view = a_message_view()
    context = {f.name: getattr(view, f.name) for f in dataclasses.fields(MessageView)}
    context.update(
        tone="standard",
        subject="s",
        base_template="email/base.html.j2",
        invoice_count=2,
        max_days_overdue=10,
        earliest_due_date="x",
        invoice_numbers="x",
    )
    del context["pay_url"]
    template = renderer.environment.get_template("email/fr/friendly.html.j2")

    with pytest.raises(UndefinedError, match="pay_url"):
        template.render(context)


def test_string_template_with_unknown_variable_raises(renderer):
    with pytest.raises(UndefinedError):
        renderer.environment.from_string("Montant : {{ total_due }}").render()


def test_printing_none_raises(renderer):
    with pytest.raises(UndefinedError, match="None"):
        renderer.environment.from_string("Tél. {{ seller_phone }}").render(seller_phone=None)


def test_page_missing_its_csrf_token_raises(renderer):
    context = _page_context("pay", "en")
    del context["csrf_token"]

    with pytest.raises(UndefinedError, match="csrf_token"):
        renderer.render_page("pay", context)


def test_page_without_locale_raises(renderer):
    context = _page_context("error", "en")
    del context["locale"]

    with pytest.raises(UndefinedError, match="locale"):
        renderer.render_page("error", context)


@pytest.mark.parametrize(
    ("locale", "step"), [(lo, s) for lo in SUPPORTED_LOCALES for s in EMAIL_STEPS]
)
def test_optional_fields_left_empty_still_render(renderer, locale, step):
    view = dataclasses.replace(
        a_message_view(step, "standard", locale), seller_phone=None, bank=None
    )

    message = renderer.render_email(step, "standard", view)

    assert "None" not in message.text
    assert "IBAN" not in message.text
    assert check_html(message.html).errors == []
    if step in SMS_STEPS:
        assert "None" not in renderer.render_sms(step, "standard", view)


# --- SMS typography ------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "step", "tone"), _cases(SMS_STEPS))
def test_sms_drops_typography_that_would_force_ucs2(renderer, locale, step, tone):
    text = renderer.render_sms(step, tone, a_message_view(step, tone, locale))

    for costly in ("\u202f", "\u00a0", "\u2019", "\u2013"):
        assert costly not in text
    assert "€" in text


# --- lookup, availability and fallbacks ----------------------------------------------------


@pytest.mark.parametrize(
    ("step", "channel"),
    [
        (step.step_id, str(channel))
        for step in DEFAULT_FRENCH_B2B_POLICY.steps
        for channel in step.channels
    ]
    + [("receipt", "email"), ("promise_confirmation", "email"), ("firm", "sms"), ("legal", "task")],
)
def test_every_step_of_the_default_policy_has_its_templates(renderer, step, channel):
    assert renderer.available(step, channel)


@pytest.mark.parametrize(
    ("step", "channel"),
    [
        ("receipt", "sms"),
        ("call", "email"),
        ("unknown", "email"),
        ("firm", "fax"),
        ("../email", "email"),
    ],
)
def test_missing_channels_are_reported_unavailable(renderer, step, channel):
    assert not renderer.available(step, channel)


@pytest.mark.parametrize("step", ["second_reminder", "../../etc/passwd", "Friendly", ""])
def test_rendering_a_step_without_templates_names_the_problem(renderer, step):
    with pytest.raises(MessageTemplateNotFoundError):
        renderer.render_email(step, "standard", a_message_view())


def test_page_without_template_is_reported(renderer):
    with pytest.raises(MessageTemplateNotFoundError):
        renderer.render_page("refund", {"locale": "fr"})


@pytest.mark.parametrize(
    ("locale", "expected"), [("fr_BE", "fr"), ("fr-CA", "fr"), ("de_DE", "en"), ("EN", "en")]
)
def test_pages_follow_the_customer_language_with_english_fallback(renderer, locale, expected):
    context = _page_context("error", locale)

    page = renderer.render_page("error", context)

    assert check_html(page).lang == expected


def test_step_written_only_in_english_reaches_a_french_customer_in_english(tmp_path: Path):
    (tmp_path / "sms" / "en").mkdir(parents=True)
    (tmp_path / "sms" / "en" / "welcome.txt.j2").write_text("Hello {{ customer_name }}")
    renderer = JinjaTemplateRenderer(tmp_path)

    text = renderer.render_sms("welcome", "friendly", a_message_view(locale="fr"))

    assert text == "Hello Boulangerie Martin SAS"
    assert not renderer.available("welcome", "sms")


def test_subject_is_flattened_to_one_line(tmp_path: Path):
    folder = tmp_path / "email" / "en"
    folder.mkdir(parents=True)
    (folder / "note.subject.j2").write_text("Invoice\r\n  {{ invoice_numbers }}\n")
    (folder / "note.html.j2").write_text("<p>{{ subject }}</p>")
    (folder / "note.txt.j2").write_text("{{ subject }}\n\n\n\nbye   \n")
    renderer = JinjaTemplateRenderer(tmp_path)

    message = renderer.render_email("note", "standard", a_message_view(locale="en"))

    assert message.subject == "Invoice FAC-2026-0142, FAC-2026-0157"
    assert message.text == "Invoice FAC-2026-0142, FAC-2026-0157\n\nbye\n"


def test_renderer_refuses_a_missing_templates_directory(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        JinjaTemplateRenderer(tmp_path / "nowhere")


# --- self-service pages --------------------------------------------------------------------


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("card", [True, False])
def test_pay_page_forms_post_with_csrf_and_every_control_is_labelled(renderer, locale, card):
    context = _page_context("pay", locale)
    context["card_payment_enabled"] = card

    report = check_html(renderer.render_page("pay", context))

    assert report.errors == []
    assert report.lang == locale
    intents = [form.hidden.get("intent") for form in report.forms]
    assert intents == (["card"] if card else []) + ["promise", "dispute"]
    for form in report.forms:
        assert form.action == context["form_action"]
        assert form.method == "post"
        assert form.hidden["csrf_token"] == "csrf-5f2c1e"
    for tag, control_id in report.controls:
        assert control_id in report.label_targets, f"<{tag} id={control_id}> has no label"
    assert len(report.ids) == len(set(report.ids)), "duplicate id attributes"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_pay_page_offers_each_open_invoice_bounded_promise_and_bank_reference(renderer, locale):
    context = _page_context("pay", locale)
    view = context["view"]
    assert isinstance(view, MessageView)
    assert view.bank is not None

    page = renderer.render_page("pay", context)

    for line in view.lines:
        assert f'<option value="{line.number}">' in page
    assert 'min="2026-11-12" max="2026-12-11" required' in page
    assert view.bank.reference in page
    assert view.bank.iban in page


@pytest.mark.parametrize(
    ("flash", "role"),
    [
        ("promise_recorded", "status"),
        ("invalid_promise_date", "alert"),
        ("something_new", "status"),
    ],
)
def test_pay_page_flash_messages_are_announced(renderer, flash, role):
    context = _page_context("pay", "en")
    context["flash"] = flash

    page = renderer.render_page("pay", context)

    assert f'role="{role}"' in page


def test_pay_page_without_flash_shows_no_message_area(renderer):
    page = renderer.render_page("pay", _page_context("pay-no-card", "fr"))

    assert 'class="flash' not in page


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(
    "code", ["link_expired", "link_invalid", "nothing_due", "server_error", "teapot"]
)
def test_error_page_explains_each_code_and_renders_without_seller(renderer, locale, code):
    context = {
        "locale": locale,
        "error_code": code,
        "seller_name": None,
        "seller_email": None,
        "seller_phone": None,
    }

    page = renderer.render_page("error", context)

    report = check_html(page)
    assert report.errors == []
    assert report.lang == locale
    assert "mailto:" not in page
