from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import AuthenticationError, PermissionDeniedError, ValidationError
from chalicelib.domain.records import Role
from chalicelib.services.auth import TokenService, hash_token
from tests.fakes import FixedClock, InMemoryTokenStore


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def tokens(store: InMemoryTokenStore, clock: FixedClock) -> TokenService:
    return TokenService(store, clock)


def test_issued_token_authenticates_and_only_its_hash_is_stored(tokens, store):
    issued = tokens.issue(Role.COLLECTOR, "alice")

    assert tokens.authenticate(f"Bearer {issued.secret}").role == Role.COLLECTOR
    assert list(store.tokens) == [hash_token(issued.secret)]
    assert issued.secret not in repr(store.tokens)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "Bearer nope"])
def test_missing_or_unknown_credentials_are_refused(tokens, header):
    with pytest.raises(AuthenticationError):
        tokens.authenticate(header)


def test_expired_token_is_refused(tokens, clock):
    issued = tokens.issue(Role.VIEWER, "temp", expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=1)
    with pytest.raises(AuthenticationError):
        tokens.authenticate(f"Bearer {issued.secret}")


def test_revoked_token_is_refused_at_once(tokens):
    issued = tokens.issue(Role.ADMIN, "ops")
    assert tokens.revoke(issued.token.token_id)
    with pytest.raises(AuthenticationError):
        tokens.authenticate(f"Bearer {issued.secret}")
    assert not tokens.revoke(issued.token.token_id)


def test_expiry_in_the_past_is_a_validation_error_naming_the_field(tokens, clock):
    with pytest.raises(ValidationError) as info:
        tokens.issue(Role.VIEWER, "x", expires_at=clock.now() - timedelta(seconds=1))
    assert info.value.field == "expires_at"


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.COLLECTOR, False),
        (Role.COLLECTOR, Role.VIEWER, True),
        (Role.COLLECTOR, Role.ADMIN, False),
        (Role.ADMIN, Role.COLLECTOR, True),
    ],
)
def test_roles_are_ordered_viewer_collector_admin(tokens, granted, required, allowed):
    token = tokens.issue(granted, "t").token
    if allowed:
        tokens.authorize(token, required)
    else:
        with pytest.raises(PermissionDeniedError):
            tokens.authorize(token, required)
