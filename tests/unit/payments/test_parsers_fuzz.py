"""Fuzzing: whatever a (correctly signed) body holds, parsers fail only with WebhookPayloadError."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.payments import PaymentEvent, WebhookPayloadError
from chalicelib.schemas.webhooks import (
    generic_to_events,
    gocardless_to_events,
    parse_generic_webhook,
    parse_gocardless_webhook,
    parse_stripe_webhook,
    stripe_to_events,
)

BYTE_PARSERS = [parse_stripe_webhook, parse_gocardless_webhook, parse_generic_webhook]
OBJECT_PARSERS = [stripe_to_events, gocardless_to_events, generic_to_events]


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def seeds() -> list[tuple[Callable[[Any], list[PaymentEvent]], dict[str, Any]]]:
    stripe_dir = samples_dir() / "webhooks" / "stripe"
    gocardless = json.loads(
        (samples_dir() / "webhooks/gocardless/gocardless-events.json").read_text()
    )
    charge = json.loads((stripe_dir / "pay-charge.refunded.json").read_text())
    payment_event = dict(
        gocardless["list"]["body"]["events"][0], resource_type="payments", action="confirmed"
    )
    generic = {
        "event_id": "e1", "type": "refunded", "occurred_at": "2026-01-31T10:15:00Z",
        "amount": "12.50", "currency": "EUR", "payment_id": "p1", "invoice_ids": ["a", "b"],
    }  # fmt: skip
    return [
        (stripe_to_events, load(stripe_dir / "srm-invoice.payment_succeeded.json")),
        (stripe_to_events, load(stripe_dir / "srm-checkout.session.completed.payment_mode.json")),
        (
            stripe_to_events,
            {"id": "evt_1", "type": "charge.refunded", "created": 1, "data": charge},
        ),
        (gocardless_to_events, {"events": [payment_event]}),
        (generic_to_events, generic),
    ]


SEEDS = seeds()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(paths(child, (*prefix, index)))
    return found


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(document)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


def removed(document: Any, path: tuple[Any, ...]) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return copied


def parse_quietly(parser: Callable[[Any], list[PaymentEvent]], payload: Any) -> None:
    try:
        events = parser(payload)
    except WebhookPayloadError:
        return
    assert all(isinstance(event, PaymentEvent) for event in events)


@pytest.mark.parametrize("parser", BYTE_PARSERS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_random_bytes_raise_only_payload_errors(
    parser: Callable[[bytes], list[PaymentEvent]], raw: bytes
) -> None:
    parse_quietly(parser, raw)


@pytest.mark.parametrize("parser", BYTE_PARSERS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_random_json_documents_raise_only_payload_errors(
    parser: Callable[[bytes], list[PaymentEvent]], value: Any
) -> None:
    parse_quietly(parser, json.dumps(value).encode())


@pytest.mark.parametrize("parser", OBJECT_PARSERS)
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_random_decoded_values_raise_only_payload_errors(
    parser: Callable[[Any], list[PaymentEvent]], value: Any
) -> None:
    parse_quietly(parser, value)


@settings(max_examples=400)
@given(data=st.data())
def test_real_payloads_with_one_member_replaced_raise_only_payload_errors(
    data: st.DataObject,
) -> None:
    parser, seed = data.draw(st.sampled_from(SEEDS))
    path = data.draw(st.sampled_from(paths(seed)))
    mutated = replaced(seed, path, data.draw(json_values))

    parse_quietly(parser, mutated)


@settings(max_examples=200)
@given(data=st.data())
def test_real_payloads_with_one_member_removed_raise_only_payload_errors(
    data: st.DataObject,
) -> None:
    parser, seed = data.draw(st.sampled_from(SEEDS))
    path = data.draw(st.sampled_from([p for p in paths(seed) if p]))

    parse_quietly(parser, removed(seed, path))


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        b'{"id": "' + b"x" * 1_000_000 + b'"}',
        b"1" * 5_000,
        b'\xef\xbb\xbf{"id": 1}',
        b'{"id": Infinity}',
    ],
)
@pytest.mark.parametrize("parser", BYTE_PARSERS)
def test_pathological_bodies_raise_only_payload_errors(
    parser: Callable[[bytes], list[PaymentEvent]], raw: bytes
) -> None:
    parse_quietly(parser, raw)
