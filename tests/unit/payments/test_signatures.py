"""Webhook signature checks against real provider payloads, signed the way each provider signs."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from chalicelib.adapters.webhook_signatures import (
    GenericSignatureVerifier,
    GoCardlessSignatureVerifier,
    StripeSignatureVerifier,
    sign_generic,
    sign_gocardless,
    sign_stripe,
)
from chalicelib.domain.errors import DomainError
from chalicelib.domain.payments import SignatureError, SignatureFailure

STRIPE_SECRET = "whsec_test_6f1c0e0a4b7d4e5f9a8b7c6d5e4f3a2b"
OLD_STRIPE_SECRET = "whsec_test_old_0000000000000000000000000000"
GOCARDLESS_SECRET = "gc_webhook_secret_ElC4yJ2aGcW7"
GENERIC_SECRET = "relance_generic_secret_2b7e151628aed2a6"
T = 1_767_225_600  # 2026-01-01T00:00:00Z


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def stripe_full_event_body() -> bytes:
    # A full Event envelope, sent byte for byte as stored.
    return (samples_dir() / "webhooks/stripe/srm-invoice.payment_succeeded.json").read_bytes()


def stripe_wrapped_body(name: str, event_type: str) -> bytes:
    # pay-*.json hold only the Event's "data" member; Stripe sends the whole envelope.
    data = json.loads((samples_dir() / f"webhooks/stripe/{name}").read_text())
    envelope = {
        "id": "evt_1RelanceTest0001",
        "object": "event",
        "api_version": "2024-06-20",
        "created": T,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(envelope, indent=2).encode("utf-8")


def gocardless_body() -> bytes:
    fixture = json.loads((samples_dir() / "webhooks/gocardless/gocardless-events.json").read_text())
    webhook = {"events": fixture["list"]["body"]["events"], "meta": {"webhook_id": "WB00001"}}
    return json.dumps(webhook).encode("utf-8")


def stripe_reference_signature(body: bytes, secret: str, t: int) -> str:
    # stripe-python: signed_payload = "%d.%s" % (timestamp, payload); HMAC-SHA256 hexdigest.
    signed = f"{t}.{body.decode('utf-8')}".encode()
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def reason_of(excinfo: pytest.ExceptionInfo[SignatureError]) -> SignatureFailure:
    return excinfo.value.reason


# --- Stripe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        stripe_full_event_body(),
        stripe_wrapped_body("pay-charge.succeeded.json", "charge.succeeded"),
        stripe_wrapped_body("pay-charge.refunded.json", "charge.refunded"),
        stripe_wrapped_body("pay-checkout.session.completed.json", "checkout.session.completed"),
    ],
    ids=["srm-invoice", "pay-charge-succeeded", "pay-charge-refunded", "pay-checkout"],
)
def test_stripe_signature_over_real_payload_is_accepted(body: bytes) -> None:
    header = sign_stripe(body, STRIPE_SECRET, T)

    StripeSignatureVerifier([STRIPE_SECRET]).verify(body, header, now=T + 10)


def test_stripe_signing_helper_matches_stripe_python_construction() -> None:
    body = stripe_full_event_body()

    header = sign_stripe(body, STRIPE_SECRET, T)

    assert header == f"t={T},v1={stripe_reference_signature(body, STRIPE_SECRET, T)}"


def test_stripe_header_in_stripes_documented_layout_is_accepted() -> None:
    body = stripe_full_event_body()
    v1 = stripe_reference_signature(body, STRIPE_SECRET, T)
    header = f"t={T},v1={v1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"

    StripeSignatureVerifier([STRIPE_SECRET]).verify(body, header, now=T)


def test_stripe_tampered_body_is_a_mismatch() -> None:
    body = stripe_full_event_body()
    header = sign_stripe(body, STRIPE_SECRET, T)
    tampered = body.replace(b'"amount_paid": 2000', b'"amount_paid": 2001')
    assert tampered != body

    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(tampered, header, now=T)

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_stripe_reserialised_json_is_a_mismatch_because_only_raw_bytes_are_signed() -> None:
    body = stripe_full_event_body()
    header = sign_stripe(body, STRIPE_SECRET, T)
    reserialised = json.dumps(json.loads(body)).encode("utf-8")

    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(reserialised, header, now=T)

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_stripe_wrong_secret_is_a_mismatch() -> None:
    body = stripe_full_event_body()
    header = sign_stripe(body, "whsec_someone_else", T)

    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(body, header, now=T)

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_stripe_timestamp_older_than_tolerance_is_refused() -> None:
    body = stripe_full_event_body()
    header = sign_stripe(body, STRIPE_SECRET, T)

    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(body, header, now=T + 301)

    assert reason_of(excinfo) == SignatureFailure.TIMESTAMP_TOO_OLD


def test_stripe_timestamp_exactly_at_tolerance_is_accepted() -> None:
    body = stripe_full_event_body()

    StripeSignatureVerifier([STRIPE_SECRET]).verify(
        body, sign_stripe(body, STRIPE_SECRET, T), T + 300
    )


def test_stripe_timestamp_in_the_future_is_accepted_like_stripe_python() -> None:
    body = stripe_full_event_body()

    StripeSignatureVerifier([STRIPE_SECRET]).verify(
        body, sign_stripe(body, STRIPE_SECRET, T + 3600), now=T
    )


def test_stripe_tolerance_none_disables_the_age_check() -> None:
    body = stripe_full_event_body()

    StripeSignatureVerifier([STRIPE_SECRET], tolerance_s=None).verify(
        body, sign_stripe(body, STRIPE_SECRET, T), now=T + 86_400 * 30
    )


@pytest.mark.parametrize("header", [None, "", "   "])
def test_stripe_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(stripe_full_event_body(), header, now=T)

    assert reason_of(excinfo) == SignatureFailure.MISSING_HEADER


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=,v1=abc",
        "t=abc,v1=abc",
        "t=-5,v1=abc",
        "v1=abc",
        f"t={T},t={T},v1=abc",
        f"t={T},,v1=abc",
        f"t={T},v1=abc,",
        f"t={T};v1=abc",
    ],
)
def test_stripe_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(stripe_full_event_body(), header, now=T)

    assert reason_of(excinfo) == SignatureFailure.MALFORMED_HEADER


def test_stripe_header_without_v1_is_refused() -> None:
    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(stripe_full_event_body(), f"t={T}", now=T)

    assert reason_of(excinfo) == SignatureFailure.NO_V1


def test_stripe_v0_only_is_refused_even_when_its_hmac_is_right() -> None:
    body = stripe_full_event_body()
    v0 = stripe_reference_signature(body, STRIPE_SECRET, T)

    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(body, f"t={T},v0={v0}", now=T)

    assert reason_of(excinfo) == SignatureFailure.NO_V1


def test_stripe_rolling_secret_header_with_two_v1_is_accepted_by_either_secret() -> None:
    body = stripe_full_event_body()
    old = stripe_reference_signature(body, OLD_STRIPE_SECRET, T)
    new = stripe_reference_signature(body, STRIPE_SECRET, T)
    header = f"t={T},v1={old},v1={new}"

    StripeSignatureVerifier([STRIPE_SECRET]).verify(body, header, now=T)
    StripeSignatureVerifier([OLD_STRIPE_SECRET]).verify(body, header, now=T)


def test_stripe_verifier_with_two_configured_secrets_accepts_the_older_one() -> None:
    body = stripe_full_event_body()

    StripeSignatureVerifier([STRIPE_SECRET, OLD_STRIPE_SECRET]).verify(
        body, sign_stripe(body, OLD_STRIPE_SECRET, T), now=T
    )


def test_stripe_signature_for_another_timestamp_is_a_mismatch() -> None:
    body = stripe_full_event_body()
    v1 = stripe_reference_signature(body, STRIPE_SECRET, T)

    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(body, f"t={T + 1},v1={v1}", now=T)

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_stripe_non_ascii_signature_value_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(SignatureError) as excinfo:
        StripeSignatureVerifier([STRIPE_SECRET]).verify(
            stripe_full_event_body(), f"t={T},v1=é\udc80", now=T
        )

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


@pytest.mark.parametrize("secrets", [[], [""]])
def test_verifier_needs_at_least_one_secret(secrets: list[str]) -> None:
    with pytest.raises(ValueError, match="secret"):
        StripeSignatureVerifier(secrets)


def test_verifier_refuses_a_bare_string_as_secrets() -> None:
    with pytest.raises(TypeError):
        StripeSignatureVerifier(STRIPE_SECRET)


def test_signature_error_is_a_domain_error_with_stable_code() -> None:
    error = SignatureError(SignatureFailure.MISMATCH)

    assert isinstance(error, DomainError)
    assert error.code == "invalid-signature"
    assert error.reason == "mismatch"


# --- GoCardless -------------------------------------------------------------------------------


def gocardless_reference_signature(body: bytes, secret: str) -> str:
    # gocardless_pro/webhooks.py: hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_gocardless_signature_over_real_events_is_accepted() -> None:
    body = gocardless_body()
    header = sign_gocardless(body, GOCARDLESS_SECRET)

    assert header == gocardless_reference_signature(body, GOCARDLESS_SECRET)
    GoCardlessSignatureVerifier([GOCARDLESS_SECRET]).verify(body, header)


def test_gocardless_upper_case_hex_is_accepted() -> None:
    body = gocardless_body()

    GoCardlessSignatureVerifier([GOCARDLESS_SECRET]).verify(
        body, sign_gocardless(body, GOCARDLESS_SECRET).upper()
    )


def test_gocardless_tampered_body_is_a_mismatch() -> None:
    body = gocardless_body()
    header = sign_gocardless(body, GOCARDLESS_SECRET)

    with pytest.raises(SignatureError) as excinfo:
        GoCardlessSignatureVerifier([GOCARDLESS_SECRET]).verify(
            body.replace(b"cancelled", b"confirmed"), header
        )

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_gocardless_wrong_secret_is_a_mismatch() -> None:
    body = gocardless_body()

    with pytest.raises(SignatureError) as excinfo:
        GoCardlessSignatureVerifier([GOCARDLESS_SECRET]).verify(
            body, sign_gocardless(body, "another-secret")
        )

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


@pytest.mark.parametrize("header", [None, "", " "])
def test_gocardless_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureError) as excinfo:
        GoCardlessSignatureVerifier([GOCARDLESS_SECRET]).verify(gocardless_body(), header)

    assert reason_of(excinfo) == SignatureFailure.MISSING_HEADER


@pytest.mark.parametrize("header", ["abc", "z" * 64, "0" * 63, "0" * 65, f"t={T},v1={'0' * 64}"])
def test_gocardless_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError) as excinfo:
        GoCardlessSignatureVerifier([GOCARDLESS_SECRET]).verify(gocardless_body(), header)

    assert reason_of(excinfo) == SignatureFailure.MALFORMED_HEADER


def test_gocardless_rotation_accepts_either_configured_secret() -> None:
    body = gocardless_body()
    verifier = GoCardlessSignatureVerifier(["new-secret", GOCARDLESS_SECRET])

    verifier.verify(body, sign_gocardless(body, GOCARDLESS_SECRET))
    verifier.verify(body, sign_gocardless(body, "new-secret"))


# --- Generic ----------------------------------------------------------------------------------

GENERIC_BODY = (
    b'{"event_id":"pay_000123","type":"payment_succeeded","occurred_at":"2026-01-01T00:00:00Z",'
    b'"amount":"1234.56","currency":"EUR","invoice_number":"F-2026-0042"}'
)


def test_generic_signature_is_accepted() -> None:
    header = sign_generic(GENERIC_BODY, GENERIC_SECRET, T)

    assert header == f"t={T},v1={stripe_reference_signature(GENERIC_BODY, GENERIC_SECRET, T)}"
    GenericSignatureVerifier([GENERIC_SECRET]).verify(GENERIC_BODY, header, now=T + 299)


def test_generic_tampered_body_is_a_mismatch() -> None:
    header = sign_generic(GENERIC_BODY, GENERIC_SECRET, T)

    with pytest.raises(SignatureError) as excinfo:
        GenericSignatureVerifier([GENERIC_SECRET]).verify(
            GENERIC_BODY.replace(b"1234.56", b"9234.56"), header, now=T
        )

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_generic_wrong_secret_is_a_mismatch() -> None:
    with pytest.raises(SignatureError) as excinfo:
        GenericSignatureVerifier([GENERIC_SECRET]).verify(
            GENERIC_BODY, sign_generic(GENERIC_BODY, "not-it", T), now=T
        )

    assert reason_of(excinfo) == SignatureFailure.MISMATCH


def test_generic_old_timestamp_is_refused() -> None:
    with pytest.raises(SignatureError) as excinfo:
        GenericSignatureVerifier([GENERIC_SECRET]).verify(
            GENERIC_BODY, sign_generic(GENERIC_BODY, GENERIC_SECRET, T), now=T + 301
        )

    assert reason_of(excinfo) == SignatureFailure.TIMESTAMP_TOO_OLD


def test_generic_timestamp_far_in_the_future_is_refused() -> None:
    with pytest.raises(SignatureError) as excinfo:
        GenericSignatureVerifier([GENERIC_SECRET]).verify(
            GENERIC_BODY, sign_generic(GENERIC_BODY, GENERIC_SECRET, T + 301), now=T
        )

    assert reason_of(excinfo) == SignatureFailure.TIMESTAMP_IN_FUTURE


def test_generic_small_clock_skew_ahead_is_accepted() -> None:
    GenericSignatureVerifier([GENERIC_SECRET]).verify(
        GENERIC_BODY, sign_generic(GENERIC_BODY, GENERIC_SECRET, T + 300), now=T
    )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, SignatureFailure.MISSING_HEADER),
        ("", SignatureFailure.MISSING_HEADER),
        ("sha256=abc", SignatureFailure.MALFORMED_HEADER),
        (f"t={T}", SignatureFailure.NO_V1),
        (f"t={T},v0={'0' * 64}", SignatureFailure.NO_V1),
    ],
)
def test_generic_bad_headers_are_refused_with_reason(
    header: str | None, reason: SignatureFailure
) -> None:
    with pytest.raises(SignatureError) as excinfo:
        GenericSignatureVerifier([GENERIC_SECRET]).verify(GENERIC_BODY, header, now=T)

    assert reason_of(excinfo) == reason


def test_generic_two_v1_values_support_sender_key_rotation() -> None:
    old = sign_generic(GENERIC_BODY, "old-secret", T).split(",")[1]
    new = sign_generic(GENERIC_BODY, GENERIC_SECRET, T).split(",")[1]

    GenericSignatureVerifier([GENERIC_SECRET]).verify(GENERIC_BODY, f"t={T},{old},{new}", now=T)


def test_generic_verifier_always_checks_the_timestamp() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        GenericSignatureVerifier([GENERIC_SECRET], tolerance_s=0)
