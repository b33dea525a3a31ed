"""Entry point helper: the OpenAPI 3.1 document, generated from the declared routes and models."""

from __future__ import annotations

import re
from typing import Any

import pydantic
from pydantic.json_schema import models_json_schema

from chalicelib.entrypoints.http import ROUTES, RouteSpec
from chalicelib.schemas.admin import Problem

_PATH_PARAM = re.compile(r"{([^}]+)}")
_REF = "#/components/schemas/{model}"


def _slug(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", path).strip("_")


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


def _operation(spec: RouteSpec) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": q.required,
            "description": q.description,
            "schema": q.schema,
        }
        for q in spec.query
    ]
    success: dict[str, Any] = {"description": spec.summary}
    if spec.response is not None:
        success["content"] = {
            spec.content_type: {"schema": {"$ref": _REF.format(model=spec.response.__name__)}}
        }
    elif spec.content_type != "application/json":
        success["content"] = {spec.content_type: {"schema": {"type": "string"}}}
    for alternate in spec.alternate_content_types:
        success.setdefault("content", {})[alternate] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {str(spec.status): success}
    if spec.role is not None:
        responses["401"] = _problem_response("Missing, unknown, expired or revoked token")
        responses["403"] = _problem_response(f"The token's role is below {spec.role}")
    if params or spec.body is not None:
        responses["422"] = _problem_response("A parameter or the body is invalid")
    if "{" in spec.path:
        responses["404"] = _problem_response("Not found")
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{spec.method.lower()}_{_slug(spec.path)}",
        "parameters": params,
        "responses": responses,
    }
    if spec.role is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-required-role"] = spec.role.value
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=spec.body.__name__)}}
            },
        }
    return operation


def build_openapi(title: str = "Relance API", version: str = "1.0.0") -> dict[str, Any]:
    """Every route registered through `api_route`, with its models' JSON Schemas."""
    models: dict[str, type[pydantic.BaseModel]] = {"Problem": Problem}
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        for model in (spec.body, spec.response):
            if model is not None:
                models[model.__name__] = model
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    _, schemas = models_json_schema(
        [(m, "serialization") for m in models.values()], ref_template=_REF
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Automated, human-supervised payment collection.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
