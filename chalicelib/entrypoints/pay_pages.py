"""Entry point: the customer's self-service page (HTML forms behind a signed link).

GET /pay/{token} shows the page; its forms post to POST /pay/{token} with an `intent`
("promise", "dispute", "card"); POST /pay/{token}/promise and /pay/{token}/dispute do the same
with the intent in the path. A successful post redirects (303) back to the page with the
outcome to announce, so reloading the page never submits twice.

Every answer is HTML with a strict Content-Security-Policy (default-src 'self'; the pages'
one inline stylesheet is allowed by its hash), no framing, no referrer, no caching.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, quote

from chalice.app import Blueprint, Request, Response

from chalicelib.bootstrap import get_services
from chalicelib.entrypoints.http import Headers, QueryParam, api_route, query_str
from chalicelib.services.self_service import MAX_FORM_BYTES, PageResponse

bp = Blueprint(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded",)
CARD_PROVIDER_ORIGIN = "https://checkout.stripe.com"
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def _csp(html: str | None, card_payment: bool) -> str:
    styles = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _STYLE.findall(html or "")
    ]
    # A card payment form redirects to the provider; form-action governs that redirect too.
    form_targets = "'self'" + (f" {CARD_PROVIDER_ORIGIN}" if card_payment else "")
    return "; ".join(
        [
            "default-src 'self'",
            "style-src " + (" ".join(styles) if styles else "'none'"),
            f"form-action {form_targets}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def _respond(page: PageResponse, token: str, back: str) -> Response:
    headers: Headers = {
        "Content-Security-Policy": _csp(page.html, page.card_payment),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if page.location is not None:
        return Response("", status_code=303, headers={**headers, "Location": page.location})
    if page.redirect_flash is not None:
        # Relative, so the redirect works behind any stage prefix or host name.
        location = f"{back}{quote(token, safe='')}?flash={page.redirect_flash}"
        return Response("", status_code=303, headers={**headers, "Location": location})
    headers["Content-Type"] = "text/html; charset=utf-8"
    return Response(page.html or "", status_code=page.status, headers=headers)


def raw_body(request: Request) -> bytes:
    """The request body as bytes, whatever Chalice decoded it to."""
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _form(request: Request) -> dict[str, str]:
    raw = raw_body(request)
    if len(raw) > MAX_FORM_BYTES:
        return {}
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0] for name, values in parsed.items() if values}


def _submit(request: Request, token: str, intent: str | None, back: str) -> Response:
    headers = request.headers
    page = get_services().self_service.submit(
        token,
        intent,
        _form(request),
        origin=headers.get("origin"),
        referer=headers.get("referer"),
        host=headers.get("host"),
        accept_language=headers.get("accept-language"),
    )
    return _respond(page, token, back)


@api_route(
    bp,
    "/pay/{token}",
    summary="The customer's self-service page (HTML)",
    role=None,
    query=(QueryParam("flash", "Outcome of the last form to announce"),),
    response_content_type="text/html",
)
def pay_page(token: str, request: Request, **_: Any) -> Response:
    page = get_services().self_service.page(
        token,
        flash=query_str(request, "flash"),
        accept_language=request.headers.get("accept-language"),
    )
    return _respond(page, token, "")


@api_route(
    bp,
    "/pay/{token}",
    summary="Submit a pay-page form (intent: promise, dispute or card)",
    role=None,
    methods=("POST",),
    content_types=FORM_TYPES,
    response_content_type="text/html",
)
def pay_page_form(token: str, request: Request, **_: Any) -> Response:
    return _submit(request, token, None, "")


@api_route(
    bp,
    "/pay/{token}/promise",
    summary="Promise to pay by a date (form: promise_date, csrf_token)",
    role=None,
    methods=("POST",),
    content_types=FORM_TYPES,
    response_content_type="text/html",
)
def pay_page_promise(token: str, request: Request, **_: Any) -> Response:
    return _submit(request, token, "promise", "../")


@api_route(
    bp,
    "/pay/{token}/dispute",
    summary="Dispute an invoice (form: invoice_number, reason, message, csrf_token)",
    role=None,
    methods=("POST",),
    content_types=FORM_TYPES,
    response_content_type="text/html",
)
def pay_page_dispute(token: str, request: Request, **_: Any) -> Response:
    return _submit(request, token, "dispute", "../")
