"""The French formal notice as a person sees it: rendered by Chromium, saved as a PNG."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.adapters.jinja_templates import DEFAULT_TEMPLATES_DIR, JinjaTemplateRenderer
from chalicelib.adapters.locale_format import BabelLocaleFormatter
from chalicelib.services.outbox import TemplatePreviews
from tests.conftest import ROOT

SCREENSHOTS = ROOT / "out" / "screenshots"


@pytest.mark.browser
def test_french_formal_notice_renders_in_chromium(browser):
    previews = TemplatePreviews(
        JinjaTemplateRenderer(DEFAULT_TEMPLATES_DIR), BabelLocaleFormatter()
    )
    email = previews.preview("formal_notice", "fr", "firm", date(2026, 12, 15))

    page = browser.new_page(viewport={"width": 800, "height": 1000})
    page.set_content(email["html"], wait_until="load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "formal_notice_fr.png"
    page.screenshot(path=str(target), full_page=True)
    text = page.inner_text("body")
    page.close()

    assert "mise en demeure" in text.lower()
    assert "D441-5" in text or "D. 441-5" in text
    assert "80,00\u00a0€" in text or "80,00 €" in text  # the 40 EUR indemnity, two invoices
    assert "/pay/" in email["html"]
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 20_000  # a real page, not a blank one
