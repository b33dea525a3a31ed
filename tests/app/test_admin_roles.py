"""The role table: every registered /admin route refuses without a token (401), refuses roles
below its own (403) and lets its own role and above through."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.domain.records import Role, role_allows
from chalicelib.entrypoints.http import ROUTES
from tests.app.conftest import bearer


def _admin_routes() -> list[tuple[str, str]]:
    from app import app

    return sorted(
        (path, method)
        for path, methods in app.routes.items()
        if path.startswith("/admin")
        for method in methods
    )


ADMIN_ROUTES = _admin_routes()
ROLES = {(spec.path, spec.method): spec.role for spec in ROUTES}


def _call(client, method: str, path: str, headers: dict[str, str]):
    url = re.sub(r"{[^}]+}", "x", path)
    body = None if method in ("GET", "DELETE") else json.dumps({})
    return client.http.request(
        method, url, headers={**headers, "Content-Type": "application/json"}, body=body
    )


def test_every_admin_route_declares_a_role():
    assert len(ADMIN_ROUTES) > 30
    for route in ADMIN_ROUTES:
        assert ROLES.get(route) is not None, f"{route} has no role"


def test_role_table_covers_every_admin_route(client, tokens):
    checked = 0
    for path, method in ADMIN_ROUTES:
        required = ROLES[(path, method)]
        assert required is not None

        anonymous = _call(client, method, path, {})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["Content-Type"] == "application/problem+json"

        for role in Role:
            response = _call(client, method, path, bearer(tokens[role]))
            if role_allows(role, required):
                assert response.status_code not in (401, 403), (method, path, role)
                assert response.status_code < 500, (method, path, role, response.body)
            else:
                assert response.status_code == 403, (method, path, role)
                body = json.loads(response.body)
                assert body["type"] == "urn:relance:problem:forbidden"
        checked += 1
    assert checked == len(ADMIN_ROUTES)


@pytest.mark.parametrize(
    ("path", "method", "role"),
    [
        ("/admin/invoices/{invoice_id}/pause", "POST", Role.COLLECTOR),
        ("/admin/invoices/{invoice_id}/dispute/resolve", "POST", Role.COLLECTOR),
        ("/admin/customers/{customer_id}", "PATCH", Role.COLLECTOR),
        ("/admin/customers/{customer_id}", "DELETE", Role.ADMIN),
        ("/admin/customers/{customer_id}/export", "GET", Role.ADMIN),
        ("/admin/audit", "GET", Role.ADMIN),
        ("/admin/reports/aging", "GET", Role.VIEWER),
        ("/admin/reports/kpis", "GET", Role.VIEWER),
    ],
)
def test_roles_follow_the_design(path, method, role):
    assert ROLES[(path, method)] == role
