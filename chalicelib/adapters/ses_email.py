"""Adapter: SesEmailSender, multipart MIME through SES v2 raw content, rate-limited."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING

from chalicelib.adapters.send_errors import call_once
from chalicelib.services.ports import OutgoingEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sesv2.type_defs import MessageTagTypeDef

_TAG_VALUE = re.compile(r"[^A-Za-z0-9_\-.@]")


def account_send_rate(client: SESV2Client) -> Callable[[], float]:
    """The account's MaxSendRate, read once on first send."""

    def rate() -> float:
        quota = client.get_account().get("SendQuota", {})
        return float(quota.get("MaxSendRate", 1.0))

    return rate


class TokenBucket:
    """Keeps sends under the account's SES rate (MaxSendRate per second)."""

    def __init__(
        self,
        rate_per_second: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate_source = rate_per_second
        self._rate: float | None = None
        self._clock = clock
        self._sleep = sleep
        self._tokens = 0.0
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self._rate is None:
                self._rate = max(self._rate_source(), 0.1)
                self._tokens = self._rate
            now = self._clock()
            self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self._rate
                self._sleep(wait)
                self._last = self._clock()
                self._tokens = 1
            self._tokens -= 1


def build_mime(email: OutgoingEmail, sender: str, sender_name: str | None) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender)) if sender_name else sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for filename, content_type, body in email.attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(body, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


class SesEmailSender:
    def __init__(
        self,
        client: SESV2Client,
        from_address: str,
        configuration_set: str,
        bucket: TokenBucket,
        from_name: str | None = None,
        retry_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._retry_sleep = retry_sleep
        self._from = from_address
        self._from_name = from_name
        self._configuration_set = configuration_set
        self._bucket = bucket

    def send(self, email: OutgoingEmail) -> str:
        self._bucket.take()
        raw = build_mime(email, self._from, self._from_name)
        tags: list[MessageTagTypeDef] = [
            {"Name": name, "Value": _TAG_VALUE.sub("_", value)[:256]} for name, value in email.tags
        ]
        response = call_once(
            lambda: self._client.send_email(
                FromEmailAddress=self._from,
                Destination={"ToAddresses": [email.to]},
                Content={"Raw": {"Data": raw}},
                ConfigurationSetName=self._configuration_set,
                EmailTags=tags,
            ),
            sleep=self._retry_sleep,
        )
        return response["MessageId"]
