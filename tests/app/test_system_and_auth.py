from __future__ import annotations

import json

import pytest

from chalicelib.domain.records import Role
from tests.app.conftest import bearer


def test_health_needs_no_token(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


def test_openapi_describes_every_route_with_its_role(client):
    from app import app

    document = client.http.get("/openapi.json").json_body
    assert document["openapi"] == "3.1.0"
    for path, methods in app.routes.items():
        for method in methods:
            assert method.lower() in document["paths"][path], f"{method} {path} undocumented"
    operation = document["paths"]["/admin/invoices"]["get"]
    assert operation["x-required-role"] == "viewer"
    assert operation["security"] == [{"bearer": []}]
    assert "InvoiceOut" in document["components"]["schemas"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer rl_not_a_token"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
def test_admin_route_without_valid_token_is_401_problem_json(client, headers):
    response = client.http.get("/admin/invoices", headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = json.loads(response.body)
    assert body["type"] == "urn:relance:problem:unauthenticated"
    assert body["status"] == 401


def test_wrong_role_is_403_problem_json(client, tokens):
    response = client.http.post(
        "/admin/tokens",
        headers={**bearer(tokens[Role.COLLECTOR]), "Content-Type": "application/json"},
        body=json.dumps({"role": "viewer", "label": "x"}),
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(response.body)["type"] == "urn:relance:problem:forbidden"


def test_admin_creates_lists_and_revokes_tokens_and_secret_is_shown_once(client, tokens):
    admin = {**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"}
    created = client.http.post(
        "/admin/tokens", headers=admin, body=json.dumps({"role": "viewer", "label": "dashboard"})
    )
    assert created.status_code == 201
    secret = created.json_body["token"]
    token_id = created.json_body["token_id"]

    listed = client.http.get("/admin/tokens", headers=admin).json_body["items"]
    assert token_id in {t["token_id"] for t in listed}
    assert secret not in json.dumps(listed)
    assert client.http.get("/admin/invoices", headers=bearer(secret)).status_code == 200

    assert client.http.delete(f"/admin/tokens/{token_id}", headers=admin).status_code == 204
    assert client.http.get("/admin/invoices", headers=bearer(secret)).status_code == 401
    assert client.http.delete(f"/admin/tokens/{token_id}", headers=admin).status_code == 404


def test_invalid_body_names_the_field(client, tokens):
    admin = {**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"}
    response = client.http.post(
        "/admin/tokens", headers=admin, body=json.dumps({"role": "superuser", "label": "x"})
    )
    assert response.status_code == 422
    body = json.loads(response.body)
    assert body["field"] == "role"
    assert response.headers["Content-Type"] == "application/problem+json"


def test_bad_query_parameter_names_the_field(client, tokens):
    response = client.http.get("/admin/invoices?status=lost", headers=bearer(tokens[Role.VIEWER]))
    assert response.status_code == 422
    assert json.loads(response.body)["field"] == "status"
    response = client.http.get("/admin/invoices?limit=abc", headers=bearer(tokens[Role.VIEWER]))
    assert json.loads(response.body)["field"] == "limit"


def test_unknown_invoice_is_404_problem_json(client, tokens):
    response = client.http.get("/admin/invoices/inv_missing", headers=bearer(tokens[Role.VIEWER]))
    assert response.status_code == 404
    assert json.loads(response.body)["type"] == "urn:relance:problem:invoice-not-found"
