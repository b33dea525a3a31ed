"""Adapter: reads what the AWS emulator "sent" (SES raw emails, SNS SMS), for stage local."""

from __future__ import annotations

import email
import json
import urllib.request
from email.message import Message
from typing import Any

from chalicelib.services.ports import OutboxItem


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    return str(email.header.make_header(email.header.decode_header(str(value))))


class MotoOutbox:
    """Messages the emulator accepted, from `/moto-api/data.json`.

    The emulator keeps no send time; Relance's archive supplies it by message id.
    """

    def __init__(self, endpoint_url: str) -> None:
        self._url = endpoint_url.rstrip("/") + "/moto-api/data.json"

    def _data(self) -> dict[str, Any]:
        with urllib.request.urlopen(self._url, timeout=10) as response:  # noqa: S310 - local only
            data: dict[str, Any] = json.loads(response.read())
        return data

    def items(self) -> list[OutboxItem]:
        data = self._data()
        found: list[OutboxItem] = []
        for raw in data.get("ses", {}).get("RawMessage", []):
            message = email.message_from_string(raw.get("raw_data", ""))
            found.append(
                OutboxItem(
                    channel="email",
                    message_ref=str(raw.get("id", "")),
                    to=_header(message, "To"),
                    subject=_header(message, "Subject"),
                    text=_text_part(message),
                    attachments=tuple(
                        p.get_filename() or "" for p in message.walk() if p.get_filename()
                    ),
                )
            )
        for sms in data.get("sns", {}).get("SMS", []):
            found.append(
                OutboxItem(
                    channel="sms",
                    message_ref=str(sms.get("message_id", "")),
                    to=str(sms.get("phone_number", "")),
                    subject=None,
                    text=str(sms.get("message", "")),
                    attachments=(),
                )
            )
        return found
