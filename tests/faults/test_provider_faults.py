"""SES and SNS throttling, 5xx and timeouts through the real adapters (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.adapters.send_errors import call_once
from chalicelib.adapters.ses_email import SesEmailSender, TokenBucket
from chalicelib.adapters.sns_sms import SnsSmsSender
from chalicelib.services.ports import DeliveryRejectedError, DeliveryUnknownError, OutgoingEmail

EMAIL = OutgoingEmail(
    to="ap@acme.example",
    subject="Relance",
    html="<p>x</p>",
    text="x",
    reply_to=None,
    tags=(("step", "friendly"),),
)


def _client(name: str):
    return boto3.client(
        name,
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )


def _sender(client, sleeps):
    return SesEmailSender(
        client,
        "relances@relance.example",
        "cs",
        TokenBucket(lambda: 1000.0),
        retry_sleep=sleeps.append,
    )


def test_ses_throttling_is_retried_with_backoff_then_sent_once():
    client, sleeps = _client("sesv2"), []
    with Stubber(client) as stub:
        stub.add_client_error("send_email", "TooManyRequestsException", http_status_code=429)
        stub.add_client_error("send_email", "InternalFailure", http_status_code=500)
        stub.add_response("send_email", {"MessageId": "m-1"})
        assert _sender(client, sleeps).send(EMAIL) == "m-1"
        stub.assert_no_pending_responses()
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] / 2


def test_ses_rejection_is_not_retried():
    client = _client("sesv2")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", "MessageRejected", http_status_code=400)
        with pytest.raises(DeliveryRejectedError, match="MessageRejected"):
            _sender(client, []).send(EMAIL)


def test_sns_throttled_until_the_last_attempt_is_rejected():
    client, slept = _client("sns"), []
    with Stubber(client) as stub:
        for _ in range(5):
            stub.add_client_error("publish", "Throttling", http_status_code=400)
        sender = SnsSmsSender(client, retry_sleep=slept.append)
        with pytest.raises(DeliveryRejectedError):
            sender.send("+33612345678", "Relance", "ATELIER")
    assert len(slept) == 4


def test_read_timeout_means_the_outcome_is_unknown_and_is_not_retried():
    calls = []

    def timing_out():
        calls.append(1)
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    with pytest.raises(DeliveryUnknownError):
        call_once(timing_out, sleep=lambda _: None)
    assert calls == [1]


def test_token_bucket_spaces_sends_to_the_account_rate():
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(lambda: 2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        bucket.take()
    # 2 sends per second: the first two are free, the next four wait half a second each.
    assert sum(slept) == pytest.approx(2.0)
