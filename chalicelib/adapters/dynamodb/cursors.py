"""Adapter: opaque pagination cursors wrapping DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.domain.errors import ValidationError


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("cursor is not one this API returned", field="cursor") from exc
    if not isinstance(value, dict):
        raise ValidationError("cursor is not one this API returned", field="cursor")
    return value
