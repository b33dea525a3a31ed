"""Adapters: secrets from the environment (stage local) or SSM Parameter Store (AWS)."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class SecretNotFoundError(Exception):
    """A secret the app needs is not configured."""


class EnvSecrets:
    """RELANCE_SECRET_<NAME>; used only by the local stage and the tests."""

    def get(self, name: str) -> str:
        value = os.environ.get(f"RELANCE_SECRET_{name.upper()}")
        if not value:
            raise SecretNotFoundError(f"RELANCE_SECRET_{name.upper()} is not set")
        return value


class SsmSecrets:
    """SecureString parameters under a prefix, cached for `ttl_s` (rotation takes effect then)."""

    def __init__(self, client: SSMClient, prefix: str, ttl_s: float = 300) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/") + "/"
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
            if cached and now - cached[0] < self._ttl:
                return cached[1]
        try:
            response = self._client.get_parameter(Name=self._prefix + name, WithDecryption=True)
        except self._client.exceptions.ParameterNotFound as exc:
            raise SecretNotFoundError(f"parameter {self._prefix}{name} is missing") from exc
        value = response["Parameter"].get("Value", "")
        with self._lock:
            self._cache[name] = (now, value)
        return value
