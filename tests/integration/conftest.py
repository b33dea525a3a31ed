from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.bootstrap import get_services
from chalicelib.domain.records import Role
from devstack.local_setup import build_pump
from devstack.pump import EventPump
from tests.conftest import MOTO_URL, REGION, ROOT, Stack


@pytest.fixture
def pump(stack: Stack) -> EventPump:
    """The local event pump over the test stack: the same path uploads take on AWS."""
    return build_pump(MOTO_URL, REGION, "test")


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        yield client


@pytest.fixture
def admin_headers(stack: Stack) -> dict[str, str]:
    secret = get_services().tokens.issue(Role.ADMIN, "integration admin").secret
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def upload(stack: Stack, key: str, body: bytes) -> None:
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
