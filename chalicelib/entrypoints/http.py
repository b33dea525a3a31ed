"""Entry point helpers: one way to declare an HTTP route (auth, body, errors, OpenAPI)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
from chalice.app import Blueprint, Request, Response

from chalicelib.bootstrap import get_services
from chalicelib.domain.errors import (
    AuthenticationError,
    ConcurrentUpdateError,
    CurrencyMismatchError,
    DomainError,
    InvalidAmountError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from chalicelib.domain.records import ApiToken, Role

log = logging.getLogger("chalicelib.http")

PROBLEM_TYPE_BASE = "urn:relance:problem:"
Headers = dict[str, str | list[str]]
JSON: Headers = {"Content-Type": "application/json"}
PROBLEM_JSON: Headers = {"Content-Type": "application/problem+json"}

_STATUS_BY_ERROR: tuple[tuple[type[DomainError], int, str], ...] = (
    (AuthenticationError, 401, "Unauthorized"),
    (PermissionDeniedError, 403, "Forbidden"),
    (NotFoundError, 404, "Not Found"),
    (ValidationError, 422, "Unprocessable Content"),
    (InvalidAmountError, 422, "Unprocessable Content"),
    (CurrencyMismatchError, 422, "Unprocessable Content"),
    (InvalidTransitionError, 409, "Conflict"),
    (ConcurrentUpdateError, 409, "Conflict"),
)


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    method: str
    summary: str
    role: Role | None
    body: type[pydantic.BaseModel] | None
    response: type[pydantic.BaseModel] | None
    status: int
    query: tuple[QueryParam, ...]
    content_type: str
    # Other representations of the same response, chosen by a query parameter (e.g. CSV).
    alternate_content_types: tuple[str, ...] = ()


ROUTES: list[RouteSpec] = []


def problem(
    status: int,
    title: str,
    code: str,
    detail: str | None = None,
    field_name: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if field_name:
        body["field"] = field_name
    if errors:
        body["errors"] = errors
    return Response(
        json.dumps(body), status_code=status, headers={**PROBLEM_JSON, **(headers or {})}
    )


def _status_for(error: DomainError) -> tuple[int, str]:
    for error_type, status, title in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status, title
    return 400, "Bad Request"


def problem_for(error: DomainError) -> Response:
    status, title = _status_for(error)
    headers = {"WWW-Authenticate": 'Bearer realm="relance"'} if status == 401 else None
    field_name = error.field if isinstance(error, ValidationError) else None
    return problem(status, title, error.code, str(error), field_name, headers=headers)


def problem_for_validation(error: pydantic.ValidationError, where: str) -> Response:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"]}
        for e in error.errors(include_url=False)
    ]
    first = errors[0]["field"] if errors else where
    return problem(
        422,
        "Unprocessable Content",
        "validation-error",
        f"{where} is not valid: {errors[0]['message'] if errors else ''}".strip(),
        first,
        errors,
    )


def _query(request: Request) -> dict[str, str]:
    params = request.query_params
    return {key: params[key] for key in params} if params else {}


def query_int(request: Request, name: str, default: int) -> int:
    raw = _query(request).get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationError(f"{name} must be an integer", field=name) from exc


def query_str(request: Request, name: str) -> str | None:
    value = _query(request).get(name)
    return value or None


def _authenticate(request: Request, role: Role) -> ApiToken:
    tokens = get_services().tokens
    token = tokens.authenticate(request.headers.get("authorization"))
    tokens.authorize(token, role)
    return token


def _parse_body(request: Request, model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    raw = request.raw_body or b""
    if not raw.strip():
        raw = b"{}"
    return model.model_validate_json(raw)


def _audit(
    auth: ApiToken,
    method: str,
    path: str,
    summary: str,
    target: dict[str, str],
    body: object,
    status: int,
) -> None:
    fields = sorted(body.model_fields_set) if isinstance(body, pydantic.BaseModel) else []
    try:
        get_services().audit.record(auth, f"{method} {path}", summary, target, fields, status)
    except Exception:
        # The action is done and answered; a lost audit line must not turn it into an error.
        log.exception("audit entry not written", extra={"action": f"{method} {path}"})


def _to_response(result: object, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, pydantic.BaseModel):
        return Response(result.model_dump_json(), status_code=status, headers=JSON)
    if result is None:
        return Response("", status_code=204)
    raise TypeError(f"route returned {type(result).__name__}")


def api_route(
    bp: Blueprint,
    path: str,
    *,
    summary: str,
    role: Role | None,
    methods: Sequence[str] = ("GET",),
    body: type[pydantic.BaseModel] | None = None,
    response: type[pydantic.BaseModel] | None = None,
    status: int = 200,
    query: Sequence[QueryParam] = (),
    content_types: Sequence[str] = ("application/json",),
    response_content_type: str = "application/json",
    alternate_content_types: Sequence[str] = (),
    audit: bool | None = None,
) -> Callable[[Callable[..., object]], Callable[..., Response]]:
    """Register a route whose auth, body parsing and error mapping are the same everywhere.

    The view receives path parameters as keyword arguments, plus `request`, `auth` (the
    token, or None on public routes) and `body` (the parsed model) when declared.
    Authenticated changes (every method but GET, or `audit=True`) that succeed are written
    to the audit log: who, which route and ids, which body fields (never their values).
    """

    def decorator(view: Callable[..., object]) -> Callable[..., Response]:
        @functools.wraps(view)
        def handler(**path_params: str) -> Response:
            request = bp.current_request
            try:
                auth = _authenticate(request, role) if role is not None else None
                kwargs: dict[str, Any] = dict(path_params, request=request, auth=auth)
                if body is not None:
                    try:
                        kwargs["body"] = _parse_body(request, body)
                    except pydantic.ValidationError as exc:
                        return problem_for_validation(exc, "body")
                response = _to_response(view(**kwargs), status)
                audited = audit if audit is not None else request.method != "GET"
                if auth is not None and audited and response.status_code < 400:
                    _audit(
                        auth,
                        request.method,
                        path,
                        summary,
                        path_params,
                        kwargs.get("body"),
                        response.status_code,
                    )
                return response
            except DomainError as exc:
                log.info("request refused", extra={"path": path, "code": exc.code})
                return problem_for(exc)

        for method in methods:
            ROUTES.append(
                RouteSpec(
                    path,
                    method.upper(),
                    summary,
                    role,
                    body,
                    response,
                    status,
                    tuple(query),
                    response_content_type,
                    tuple(alternate_content_types),
                )
            )
        bp.route(path, methods=[m.upper() for m in methods], content_types=list(content_types))(
            handler
        )
        return handler

    return decorator
