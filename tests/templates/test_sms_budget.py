"""SMS cost: English within 2 GSM-7 segments, French within 3 even when it must go as UCS-2."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.adapters.jinja_templates import DEFAULT_TEMPLATES_DIR, JinjaTemplateRenderer
from chalicelib.domain.invoices import Invoice
from chalicelib.domain.sms import sms_encoding, sms_segments
from chalicelib.services.messages import TONES, RenderedSms
from tests.templates.builders import SMS_STEPS, a_message_view, an_invoice

BUDGET = {"en": 2, "fr": 3}


@pytest.fixture(scope="module")
def renderer() -> JinjaTemplateRenderer:
    return JinjaTemplateRenderer(DEFAULT_TEMPLATES_DIR)


def _august_invoices() -> list[Invoice]:
    # "août" carries a û, which GSM-7 lacks: the French text is then billed as UCS-2.
    return [
        an_invoice("FAC-2026-0811", issued=date(2026, 7, 4), due=date(2026, 8, 3), total="9876.54"),
        an_invoice("FAC-2026-0812", issued=date(2026, 7, 9), due=date(2026, 8, 8), total="12.00"),
    ]


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("step", SMS_STEPS)
def test_sms_stays_within_its_segment_budget(renderer, step, tone, locale):
    text = renderer.render_sms(step, tone, a_message_view(step, tone, locale))

    assert sms_segments(text) <= BUDGET[locale], f"{len(text)} characters: {text!r}"


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("step", SMS_STEPS)
def test_english_sms_is_plain_gsm7(renderer, step, tone):
    text = renderer.render_sms(step, tone, a_message_view(step, tone, "en"))

    assert sms_encoding(text) == "GSM-7"


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("step", SMS_STEPS)
def test_french_sms_forced_to_ucs2_still_fits_three_segments(renderer, step, tone):
    view = a_message_view(step, tone, "fr", invoices=_august_invoices(), today=date(2026, 9, 15))

    text = renderer.render_sms(step, tone, view)

    assert sms_encoding(text) == "UCS-2" or "août" not in text
    assert sms_segments(text) <= 3, f"{len(text)} characters: {text!r}"
    assert len(text) <= 3 * 67


def test_rendered_sms_reports_encoding_and_segments():
    gsm = RenderedSms.of("Atelier Dupont: €12.00 due. https://pay.example/p/x")
    french = RenderedSms.of("Atelier Dupont : 12,00 € à régler le 3 août. " + "x" * 30)

    assert (gsm.encoding, gsm.segments) == ("GSM-7", 1)
    assert (french.encoding, french.segments) == ("UCS-2", 2)
    assert french.text.startswith("Atelier Dupont")
