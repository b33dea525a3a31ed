"""Service: signed, expiring self-service links scoped to one customer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.domain.errors import AuthenticationError
from chalicelib.services.ports import SecretProvider

PAY_LINK_SECRET = "pay_link_key"
LINK_LIFETIME = timedelta(days=45)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PayLink:
    """A link and when it stops working."""

    token: str
    url: str
    expires_at: datetime


class PayLinks:
    """Issues and verifies `/pay/{token}` tokens: HMAC-SHA256 over (customer, expiry)."""

    def __init__(self, secrets: SecretProvider, base_url: str) -> None:
        self._secrets = secrets
        self._base_url = base_url.rstrip("/")

    def _sign(self, payload: str) -> str:
        key = self._secrets.get(PAY_LINK_SECRET).encode()
        return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())

    def issue(self, customer_id: str, now: datetime) -> PayLink:
        """A link valid for LINK_LIFETIME from `now`."""
        expires = (now + LINK_LIFETIME).astimezone(UTC).replace(microsecond=0)
        payload = _b64(
            json.dumps(
                {"c": customer_id, "e": int(expires.timestamp())}, separators=(",", ":")
            ).encode()
        )
        token = f"{payload}.{self._sign(payload)}"
        return PayLink(token=token, url=f"{self._base_url}/pay/{token}", expires_at=expires)

    def verify(self, token: str, now: datetime) -> str:
        """The customer id a token is for.

        Raises:
            AuthenticationError: altered, malformed or expired token.
        """
        payload, _, signature = token.partition(".")
        if not payload or not signature or not hmac.compare_digest(signature, self._sign(payload)):
            raise AuthenticationError("this link is not valid")
        try:
            data = json.loads(_unb64(payload))
            customer_id, expires = str(data["c"]), int(data["e"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError("this link is not valid") from exc
        if now.timestamp() >= expires:
            raise AuthenticationError("this link has expired")
        return customer_id
