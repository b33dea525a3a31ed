"""Entry point: health and the OpenAPI document (no auth)."""

from __future__ import annotations

import functools
import json
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.entrypoints.http import JSON, api_route
from chalicelib.entrypoints.openapi import build_openapi
from chalicelib.schemas.admin import Health

bp = Blueprint(__name__)


@api_route(bp, "/health", summary="Liveness probe", role=None, response=Health)
def health(**_: Any) -> Health:
    return Health(status="ok")


@functools.cache
def _openapi_json() -> str:
    return json.dumps(build_openapi())


@api_route(bp, "/openapi.json", summary="This API's OpenAPI 3.1 document", role=None)
def openapi_document(**_: Any) -> Response:
    return Response(_openapi_json(), status_code=200, headers=JSON)
