"""SES feedback shaped like the real notifications travels SNS → pump → handler."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.domain.invoices import ChannelStatus
from tests.conftest import SAMPLES
from tests.integration.simulation import Simulation, invoice_record

SES = SAMPLES / "aws" / "ses"


def _publish(stack, sample: str, message_id: str, address: str) -> None:
    record = json.loads((SES / sample).read_text())
    record["mail"]["messageId"] = message_id
    record["mail"]["destination"] = [address]
    for key in ("bounce", "complaint"):
        if key in record:
            recipients = "bouncedRecipients" if key == "bounce" else "complainedRecipients"
            for recipient in record[key][recipients]:
                recipient["emailAddress"] = address
    topic = stack.physical["SesEventsTopic"]
    stack.sns.publish(TopicArn=topic, Message=json.dumps(record))


def _first_reminder(stack, pump, api, admin_headers, phone="+33612345678"):
    sim = Simulation(stack, pump, api, admin_headers)
    sim.import_records(
        [
            invoice_record(
                "B-1", "Bounce SARL", "old@bounce.example", date(2027, 2, 26), "500.00", phone=phone
            )
        ],
        "inbox/b.jsonl",
    )
    sim.run(datetime(2027, 3, 1, 9, tzinfo=UTC))
    [message] = sim.outbox()
    return sim, message


def test_hard_bounce_marks_the_address_and_the_next_step_goes_by_sms(
    stack, pump, api, admin_headers
):
    sim, message = _first_reminder(stack, pump, api, admin_headers)
    _publish(
        stack, "ses-notification-bounce-with-dsn.json", message["message_ref"], "old@bounce.example"
    )
    pump.drain()

    invoice = DynamoInvoiceRepository(16).get(message["invoice_ids"][0])
    customer = DynamoCustomerRepository().get(invoice.customer_id)
    assert customer.email_status == ChannelStatus.BOUNCED
    events = api.http.get(
        f"/admin/invoices/{invoice.invoice_id}/timeline", headers=admin_headers
    ).json_body["items"]
    bounce = next(e for e in events if e["type"] == "bounce")
    assert bounce["details"]["bounce_type"] == "Permanent"

    sim.run(datetime(2027, 3, 8, 9, tzinfo=UTC))  # firm (D+8): email + SMS planned
    assert ("B-1", "firm", "sms") in sim.sent()
    assert ("B-1", "firm", "email") not in sim.sent()


def test_complaint_stops_email_and_unreachable_customer_gets_a_task(
    stack, pump, api, admin_headers
):
    sim, message = _first_reminder(stack, pump, api, admin_headers, phone=None)
    _publish(
        stack,
        "ses-notification-complaint-with-feedback-report.json",
        message["message_ref"],
        "old@bounce.example",
    )
    pump.drain()

    invoice = DynamoInvoiceRepository(16).get(message["invoice_ids"][0])
    customer = DynamoCustomerRepository().get(invoice.customer_id)
    assert customer.email_status == ChannelStatus.COMPLAINED
    assert ("B-1", "unreachable", "") in sim.tasks()


def test_delivery_is_recorded_once_even_if_sns_redelivers(stack, pump, api, admin_headers):
    _, message = _first_reminder(stack, pump, api, admin_headers)
    for _ in range(2):
        _publish(
            stack, "ses-notification-delivery.json", message["message_ref"], "old@bounce.example"
        )
    pump.drain()
    events = api.http.get(
        f"/admin/invoices/{message['invoice_ids'][0]}/timeline", headers=admin_headers
    ).json_body["items"]
    assert [e["type"] for e in events].count("delivery") == 1


def test_event_for_an_unknown_message_changes_nothing(stack, pump, api, admin_headers):
    _, message = _first_reminder(stack, pump, api, admin_headers)
    _publish(stack, "ses-notification-bounce-with-dsn.json", "not-ours", "old@bounce.example")
    pump.drain()
    invoice = DynamoInvoiceRepository(16).get(message["invoice_ids"][0])
    assert DynamoCustomerRepository().get(invoice.customer_id).email_status == ChannelStatus.OK
