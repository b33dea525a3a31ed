from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from chalicelib.bootstrap import get_services
from chalicelib.domain.records import Role
from tests.conftest import ROOT, Stack


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture
def tokens(stack: Stack) -> dict[Role, str]:
    service = get_services().tokens
    return {role: service.issue(role, f"test {role}").secret for role in Role}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
