"""Service: API bearer tokens, created once, stored hashed, checked on every admin call."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.errors import AuthenticationError, PermissionDeniedError, ValidationError
from chalicelib.domain.records import ApiToken, Role, role_allows
from chalicelib.services.ports import Clock, TokenStore

TOKEN_PREFIX = "rl_"


def hash_token(secret: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is enough (no password stretching)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token: the secret is shown once and never stored."""

    secret: str
    token: ApiToken


class TokenService:
    """Authenticates bearer tokens and manages their lifecycle."""

    def __init__(self, store: TokenStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def authenticate(self, authorization: str | None) -> ApiToken:
        """Resolve an `Authorization: Bearer <token>` header to a valid token.

        Raises:
            AuthenticationError: missing header, wrong scheme, unknown, expired or revoked token.
        """
        if not authorization:
            raise AuthenticationError("an Authorization: Bearer <token> header is required")
        scheme, _, secret = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationError("the Authorization header must use the Bearer scheme")
        token = self._store.get(hash_token(secret.strip()))
        if token is None or not token.is_valid(self._clock.now()):
            raise AuthenticationError("the token is unknown, expired or revoked")
        return token

    @staticmethod
    def authorize(token: ApiToken, required: Role) -> None:
        """Business rule: each route names the least role that may call it.

        Raises:
            PermissionDeniedError: the token's role is below the required one.
        """
        if not role_allows(token.role, required):
            raise PermissionDeniedError(f"this action needs the {required} role")

    def issue(self, role: Role, label: str, expires_at: datetime | None = None) -> IssuedToken:
        """Create a token; the returned secret is the only copy."""
        now = self._clock.now()
        if expires_at is not None and expires_at <= now:
            raise ValidationError("expires_at must be in the future", field="expires_at")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            token_hash=hash_token(secret),
            token_id="tok_" + uuid.uuid4().hex[:16],
            role=role,
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
        self._store.put(token)
        return IssuedToken(secret=secret, token=token)

    def install(self, secret: str, role: Role, label: str) -> ApiToken:
        """Store a token whose secret was generated elsewhere (the local stack's admin token)."""
        token = ApiToken(
            token_hash=hash_token(secret),
            token_id="tok_" + hash_token(secret)[:16],
            role=role,
            label=label,
            created_at=self._clock.now(),
        )
        self._store.put(token)
        return token

    def revoke(self, token_id: str) -> bool:
        """Revoke by public id; False when no active token has that id."""
        return self._store.revoke(token_id)

    def list(self) -> list[ApiToken]:
        """Every token's metadata (never a secret)."""
        return self._store.list()
