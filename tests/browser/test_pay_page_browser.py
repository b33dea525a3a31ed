"""A customer opens the pay link of a real reminder in Chromium and promises to pay.

The app is served over real HTTP by a tiny adapter in front of `chalice.test.Client` (the
same request path as `chalice local`), against the emulator stack of the test session. The
invoice is imported through S3 → EventBridge → SQS, the reminder comes from a real dunning
run, and the pay link is read from the message the emulator received.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from tests.conftest import ROOT
from tests.integration.simulation import Simulation, invoice_record

SCREENSHOTS = ROOT / "out" / "screenshots"
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class _ChaliceHandler(BaseHTTPRequestHandler):
    """Forwards each HTTP request to the Chalice app, as `chalice local` does."""

    client: Any = None

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.client.http.request(
            self.command, self.path, headers=dict(self.headers.items()), body=body
        )
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _forward
    do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def served_app(stack) -> Iterator[str]:
    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        # One thread: Chalice keeps the current request on the app object.
        handler = type("Handler", (_ChaliceHandler,), {"client": client})
        server = HTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


@pytest.mark.browser
def test_customer_promises_to_pay_from_a_real_reminder(
    browser, stack, pump, api, admin_headers, served_app
):
    sim = Simulation(stack, pump, api, admin_headers)
    sim.import_records(
        [
            {
                **invoice_record(
                    "BR-1", "Acme SARL", "ap@acme.example", date(2027, 2, 26), "1200.00"
                ),
                "iban": "FR7630006000011234567890189",
            }
        ],
        "inbox/browser.jsonl",
    )
    sim.run(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    [reminder] = [m for m in sim.outbox() if m["step_id"] == "friendly"]
    token = re.search(r"/pay/([A-Za-z0-9_\-.]+)", reminder["text"]).group(1)
    invoice_id = reminder["invoice_ids"][0]

    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.goto(f"{served_app}/pay/{token}")

    assert page.locator("h1").inner_text()
    assert "BR-1" in page.inner_text("main")
    promised = datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=10)
    page.fill("#promise_date", promised.isoformat())
    with page.expect_navigation():
        page.click("form:has(input[name=intent][value=promise]) button[type=submit]")

    assert "flash=promise_recorded" in page.url
    assert page.locator(".flash-success").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "pay_page_after_promise.png"), full_page=True)
    page.close()
    assert not [p for p in problems if "Content Security Policy" in p], problems

    invoice = api.http.get(f"/admin/invoices/{invoice_id}", headers=admin_headers).json_body
    assert invoice["promise_date"] == promised.isoformat()
    assert datetime.fromisoformat(invoice["next_action_at"]).date() > promised


@pytest.mark.browser
def test_altered_link_shows_a_clear_page_and_no_data(browser, stack, served_app):
    page = browser.new_page()
    response = page.goto(f"{served_app}/pay/eyJjIjoiY3VzX3giLCJlIjo0MTAyNDQ0ODAwfQ.forged")

    assert response is not None
    assert response.status == 403
    assert page.locator("h1").inner_text()
    page.close()
