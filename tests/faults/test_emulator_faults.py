"""Faults against the emulator: poison messages end in the DLQ, ticks delivered twice send
once, oversized and truncated uploads are kept and reported."""

from __future__ import annotations

import json
from datetime import date

import pytest

from devstack.local_setup import build_pump
from tests.conftest import MOTO_URL, REGION
from tests.integration.simulation import Simulation, invoice_record


def test_a_message_the_worker_cannot_handle_ends_in_the_dead_letter_queue(stack):
    pump = build_pump(MOTO_URL, REGION, "test")
    pump._retry_delay_s = 0  # redeliver at once instead of after the local 5 s
    queue = stack.physical["ActionsQueue"]
    stack.sqs.send_message(QueueUrl=queue, MessageBody='{"run_id": "r", "as_of": "not a date"}')

    for _ in range(8):
        pump.drain()

    dlq = stack.physical["ActionsDeadLetterQueue"]
    messages = stack.sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", [])
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["as_of"] == "not a date"
    assert pump.failures == 5  # maxReceiveCount in infra/resources.yaml
    assert stack.sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def test_a_schedule_tick_delivered_twice_is_one_run_and_one_message(
    stack, pump, api, admin_headers
):
    sim = Simulation(stack, pump, api, admin_headers)
    sim.import_records(
        [invoice_record("T-1", "Twice SA", "ap@twice.example", date(2027, 2, 26), "99.00")],
        "inbox/t.jsonl",
    )
    tick = {
        "version": "0",
        "id": "e1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2027-03-01T09:00:00Z",
        "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:1:rule/x"],
        "detail": {},
    }
    first = api.lambda_.invoke("send_due_reminders", tick).payload
    second = api.lambda_.invoke("send_due_reminders", dict(tick, id="e2")).payload
    pump.drain()

    assert first["run_id"] == second["run_id"]
    assert sim.sent() == {("T-1", "friendly", "email")}
    assert len(sim.outbox()) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
            b'Invoice-2"><cbc:ID',
            "XML",
        ),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "PDF"),
    ],
)
def test_truncated_upload_is_kept_and_reported(stack, pump, api, admin_headers, body, reason):
    stack.s3.put_object(Bucket=stack.bucket, Key="inbox/cut.bin", Body=body)
    pump.drain()
    [record] = api.http.get("/admin/imports", headers=admin_headers).json_body["items"]
    assert record["status"] == "unreadable"
    assert reason.lower() in record["message"].lower()
    kept = stack.s3.get_object(Bucket=stack.bucket, Key="rejected/inbox/cut.bin")["Body"].read()
    assert kept == body


def test_truncated_csv_keeps_the_good_rows_and_reports_the_rest(stack, pump, api, admin_headers):
    csv = (
        b"Invoice Number,Invoice Date,Due Date,Customer,Total,Currency\n"
        b"C-1,2026-10-01,2026-10-31,Acme,100.00,EUR\n"
        b'C-2,2026-10-01,2026-10-31,"Acme, unterminated\n'
    )
    stack.s3.put_object(Bucket=stack.bucket, Key="inbox/cut.csv", Body=csv)
    pump.drain()
    [record] = api.http.get("/admin/imports", headers=admin_headers).json_body["items"]
    assert record["accepted"] == 1
    assert record["rejected"] >= 1
    assert record["status"] == "partial"


def test_upload_over_the_size_limit_is_kept_and_reported(stack, pump, api, admin_headers):
    from chalicelib.bootstrap import get_services

    limit = get_services().settings.max_upload_bytes
    stack.s3.put_object(Bucket=stack.bucket, Key="inbox/huge.csv", Body=b"x" * (limit + 1))
    pump.drain()
    [record] = api.http.get("/admin/imports", headers=admin_headers).json_body["items"]
    assert record["status"] == "unreadable"
    assert f"{limit}-byte limit" in record["message"]
    assert stack.s3.head_object(Bucket=stack.bucket, Key="rejected/inbox/huge.csv")
