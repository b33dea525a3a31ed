"""Adapter helper: classify provider failures as "certainly not sent" or "unknown", with retries.

SES and SNS have no idempotency key, so the SDK's own retries are off for them (a retried read
timeout could send twice). Throttling is retried here with exponential backoff: a throttled
request was refused, so retrying it cannot duplicate a message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.services.ports import DeliveryRejectedError, DeliveryUnknownError

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "MaxSendRateExceeded",
        "Throttled",
        "RequestLimitExceeded",
        "SlowDown",
    }
)


def call_once(
    operation: Callable[[], T],
    *,
    attempts: int = 5,
    base_delay_s: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run a send; retry throttling and server errors refused before acceptance.

    Raises:
        DeliveryRejectedError: the provider refused (after retries for throttling).
        DeliveryUnknownError: the outcome cannot be known (the request may have been sent).
    """
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            retryable = error.get("Code") in THROTTLING_CODES or status >= 500
            if not retryable or attempt == attempts:
                raise DeliveryRejectedError(f"{error.get('Code', status)}") from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            # Nothing reached the provider.
            if attempt == attempts:
                raise DeliveryRejectedError(type(exc).__name__) from exc
        except ReadTimeoutError as exc:
            raise DeliveryUnknownError(type(exc).__name__) from exc
        sleep(base_delay_s * 2 ** (attempt - 1) * (1 + random.random()))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover
