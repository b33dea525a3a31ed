"""Channels end to end on the emulator: PDF attachments, and numbers that replied STOP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import BytesIO

import facturx
from pypdf import PdfWriter

from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.domain.invoices import ChannelStatus
from tests.conftest import SAMPLES
from tests.integration.simulation import Simulation, invoice_record

CII = SAMPLES / "einvoice" / "cii" / "akretion-factur-x-en16931.xml"


def _facturx_pdf(due: date) -> bytes:
    """A real Factur-X PDF (the akretion EN16931 XML embedded with the factur-x library),
    with the due date moved so that the chase happens in the simulated window."""
    xml = CII.read_bytes().replace(b"20260302", due.strftime("%Y%m%d").encode())
    blank = BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(blank)
    return facturx.generate_from_binary(
        blank.getvalue(), xml, flavor="factur-x", level="en16931", check_xsd=True
    )


def test_reminder_about_a_pdf_invoice_attaches_the_original(stack, pump, api, admin_headers):
    sim = Simulation(stack, pump, api, admin_headers)
    pdf = _facturx_pdf(date(2027, 2, 26))
    stack.s3.put_object(Bucket=stack.bucket, Key="inbox/F20260023.pdf", Body=pdf)
    pump.drain()

    sim.run(datetime(2027, 3, 1, 9, tzinfo=UTC))

    [message] = sim.outbox()
    assert message["step_id"] == "friendly"
    assert message["attachments"] == ["F20260023.pdf"]


def test_number_that_replied_stop_is_not_texted(stack, pump, api, admin_headers):
    sim = Simulation(stack, pump, api, admin_headers)
    # The emulator treats numbers ending in 99 as opted out, as SNS does after a STOP reply.
    sim.import_records(
        [
            invoice_record(
                "O-1",
                "Stop SARL",
                "ap@stop.example",
                date(2027, 2, 20),
                "300.00",
                phone="+33612345699",
            )
        ],
        "inbox/o.jsonl",
    )
    sim.run(datetime(2027, 3, 1, 9, tzinfo=UTC))  # firm: email and SMS

    assert sim.sent() == {("O-1", "firm", "email")}
    customer_id = sim.invoice("O-1")["customer_id"]
    assert DynamoCustomerRepository().get(customer_id).sms_status == ChannelStatus.OPTED_OUT
