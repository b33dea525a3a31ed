"""Adapter: SnsSmsSender, transactional SMS through SNS with the opt-out list honoured."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.adapters.send_errors import call_once

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef


class SnsSmsSender:
    def __init__(
        self, client: SNSClient, retry_sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client
        self._retry_sleep = retry_sleep

    def is_opted_out(self, phone: str) -> bool:
        return bool(
            self._client.check_if_phone_number_is_opted_out(phoneNumber=phone)["isOptedOut"]
        )

    def send(self, phone: str, text: str, sender_id: str | None) -> str:
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
        }
        if sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
        response = call_once(
            lambda: self._client.publish(
                PhoneNumber=phone, Message=text, MessageAttributes=attributes
            ),
            sleep=self._retry_sleep,
        )
        return response["MessageId"]
