"""Adapter: HMAC-SHA256 signature checks for payment webhooks (Stripe, GoCardless, generic).

Every verifier works on the raw request body exactly as received (re-serialising the JSON would
change the bytes and break the signature) and takes `now` (unix seconds) from the caller, so
nothing here reads the clock. A failure raises `SignatureError` with a stable reason code; the
route answers with the provider's expected status and no detail (docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.payments import SignatureError, SignatureFailure

STRIPE_HEADER = "Stripe-Signature"
GOCARDLESS_HEADER = "Webhook-Signature"
GENERIC_HEADER = "Relance-Signature"

DEFAULT_TOLERANCE_S = 300
"""Stripe's default (`stripe.Webhook.DEFAULT_TOLERANCE`); we use it for the generic scheme too."""

_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")
_HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _timestamped_message(timestamp: int, raw_body: bytes) -> bytes:
    return str(timestamp).encode("ascii") + b"." + raw_body


def _same(expected_hex: str, received: str) -> bool:
    # compare_digest refuses non-ASCII str; bytes keep it constant-time for any header text.
    return hmac.compare_digest(
        expected_hex.encode("ascii"), received.strip().lower().encode("utf-8", "replace")
    )


def _checked_secrets(secrets: Sequence[str]) -> tuple[str, ...]:
    if isinstance(secrets, str):
        # A bare string is a sequence of one-character "secrets": refuse the easy mistake.
        raise TypeError("secrets must be a sequence of strings, not a string")
    checked = tuple(secrets)
    if not checked or any(not isinstance(s, str) or not s for s in checked):
        raise ValueError("at least one non-empty webhook secret is required")
    return checked


def sign_stripe(body: bytes, secret: str, t: int) -> str:
    """The `Stripe-Signature` value Stripe would send for `body` at unix time `t`."""
    return f"t={t},v1={_hmac_hex(secret, _timestamped_message(t, body))}"


def sign_gocardless(body: bytes, secret: str) -> str:
    """The `Webhook-Signature` value GoCardless would send for `body`."""
    return _hmac_hex(secret, body)


def sign_generic(body: bytes, secret: str, t: int) -> str:
    """The `Relance-Signature` value a sender of the generic format must send."""
    return f"t={t},v1={_hmac_hex(secret, _timestamped_message(t, body))}"


@dataclass(frozen=True, slots=True)
class _TimestampedHeader:
    timestamp: int
    v1: tuple[str, ...]


def _parse_timestamped_header(header: str | None) -> _TimestampedHeader:
    """Parse `t=<unix>,v1=<hex>[,v1=<hex>...][,v0=<hex>]` the way stripe-python does.

    Unknown schemes (v0 is a test-mode fake) are skipped, never used: accepting them would let
    an attacker downgrade to a weaker scheme.
    """
    if header is None or not header.strip():
        raise SignatureError(SignatureFailure.MISSING_HEADER)
    timestamps: list[str] = []
    v1: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError(SignatureFailure.MALFORMED_HEADER)
        if name == "t":
            timestamps.append(value.strip())
        elif name == "v1":
            v1.append(value.strip())
    if len(timestamps) != 1 or not _TIMESTAMP_RE.match(timestamps[0]):
        raise SignatureError(SignatureFailure.MALFORMED_HEADER)
    if not v1:
        raise SignatureError(SignatureFailure.NO_V1)
    return _TimestampedHeader(int(timestamps[0]), tuple(v1))


def _any_v1_matches(secrets: Sequence[str], message: bytes, candidates: Sequence[str]) -> bool:
    matched = False
    for secret in secrets:
        expected = _hmac_hex(secret, message)
        for candidate in candidates:
            # No early exit: the work done does not depend on which (if any) value matched.
            matched = _same(expected, candidate) or matched
    return matched


class StripeSignatureVerifier:
    """Checks `Stripe-Signature` like `stripe.WebhookSignature.verify_header` (stripe-python).

    Accepts when any `v1` matches any configured secret (Stripe sends one `v1` per active
    secret while an endpoint secret is being rolled; several configured secrets cover our own
    rotation). Like stripe-python, only timestamps OLDER than `now - tolerance_s` are refused;
    a timestamp in the future is accepted, because Stripe's clock is the reference and the
    HMAC already proves Stripe produced that timestamp. `tolerance_s=None` disables the check.
    """

    def __init__(self, secrets: Sequence[str], tolerance_s: int | None = DEFAULT_TOLERANCE_S):
        self._secrets = _checked_secrets(secrets)
        self._tolerance_s = tolerance_s

    def verify(self, raw_body: bytes, header: str | None, now: int) -> None:
        """Raise `SignatureError` unless `header` signs `raw_body` at an acceptable time."""
        parsed = _parse_timestamped_header(header)
        if self._tolerance_s is not None and parsed.timestamp < now - self._tolerance_s:
            raise SignatureError(SignatureFailure.TIMESTAMP_TOO_OLD)
        message = _timestamped_message(parsed.timestamp, raw_body)
        if not _any_v1_matches(self._secrets, message, parsed.v1):
            raise SignatureError(SignatureFailure.MISMATCH)


class GoCardlessSignatureVerifier:
    """Checks `Webhook-Signature`: hex HMAC-SHA256 of the raw body with the endpoint secret.

    GoCardless signs no timestamp, so replays within the provider's retry window are caught by
    the event-id deduplication, not here. `now` is accepted for a uniform interface and unused.
    """

    def __init__(self, secrets: Sequence[str]):
        self._secrets = _checked_secrets(secrets)

    def verify(self, raw_body: bytes, header: str | None, now: int | None = None) -> None:
        """Raise `SignatureError` unless `header` is the body's HMAC under a configured secret."""
        if header is None or not header.strip():
            raise SignatureError(SignatureFailure.MISSING_HEADER)
        if not _HEX64_RE.match(header.strip()):
            raise SignatureError(SignatureFailure.MALFORMED_HEADER)
        if not _any_v1_matches(self._secrets, raw_body, (header,)):
            raise SignatureError(SignatureFailure.MISMATCH)


class GenericSignatureVerifier:
    """Checks `Relance-Signature: t=<unix>,v1=<hex>` for the generic format (docs/webhooks.md).

    Same construction as Stripe's (HMAC-SHA256 of "<t>.<raw body>", any `v1` may match), but
    the tolerance applies both ways: this is our scheme, so a sender with a clock far ahead,
    whose signatures would stay replayable until that time, is refused too.
    """

    def __init__(self, secrets: Sequence[str], tolerance_s: int = DEFAULT_TOLERANCE_S):
        self._secrets = _checked_secrets(secrets)
        if tolerance_s <= 0:
            raise ValueError("the generic scheme always checks the timestamp")
        self._tolerance_s = tolerance_s

    def verify(self, raw_body: bytes, header: str | None, now: int) -> None:
        """Raise `SignatureError` unless `header` signs `raw_body` within the tolerance."""
        parsed = _parse_timestamped_header(header)
        if parsed.timestamp < now - self._tolerance_s:
            raise SignatureError(SignatureFailure.TIMESTAMP_TOO_OLD)
        if parsed.timestamp > now + self._tolerance_s:
            raise SignatureError(SignatureFailure.TIMESTAMP_IN_FUTURE)
        message = _timestamped_message(parsed.timestamp, raw_body)
        if not _any_v1_matches(self._secrets, message, parsed.v1):
            raise SignatureError(SignatureFailure.MISMATCH)
