"""Adapter: JSON invoice reader (an array of records, one object, or JSON Lines).

Each record is validated by the `InvoiceJson` pydantic model; a record that fails is reported
field by field ("record 3", field "buyer_email") while the others import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from chalicelib.adapters.invoice_readers._common import (
    PARTY_FIELDS,
    InvoiceDraft,
    Outcome,
    PartyDraft,
    build_invoice,
)
from chalicelib.domain.intake import (
    ParsedInvoice,
    ReadResult,
    ReadWarning,
    RejectedRecord,
    UnreadableDocumentError,
)
from chalicelib.domain.invoices import DocumentKind
from chalicelib.schemas.invoice_json import InvoiceJson, PartyJson

_VALUE_PREVIEW = 200


def _loads(text: str | bytes) -> Any:
    # Floats stay floats here so that the schema can refuse them as amounts.
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return "_".join(parts) if parts else "record"


def _reason(error: ErrorDetails) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "record"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"'{path}' is not a known field (see docs/invoice.schema.json)."
    if kind == "missing":
        return f"'{path}' is required."
    if kind == "string_pattern_mismatch" and path.startswith("amount"):
        return f'{path} must be a decimal string such as "1234.56" (JSON numbers are refused).'
    if kind == "string_type" and path.startswith("amount"):
        return f'{path} must be a decimal string such as "1234.56", not a JSON number.'
    return f"{path}: {error['msg']}."


def _preview(error: ErrorDetails) -> str | None:
    if error["type"] == "missing":
        return None
    value = error.get("input")
    if isinstance(value, dict | list):
        return None
    text = str(value)
    return text if len(text) <= _VALUE_PREVIEW else text[:_VALUE_PREVIEW] + "..."


def _party(model: PartyJson | None) -> PartyDraft:
    draft = PartyDraft()
    if model is not None:
        for name in PARTY_FIELDS:
            setattr(draft, name, getattr(model, name))
    return draft


def _draft(record: InvoiceJson, location: str) -> InvoiceDraft:
    def amount(text: str | None) -> Decimal | None:
        return Decimal(text) if text is not None else None

    return InvoiceDraft(
        location=location,
        number=record.number,
        kind=DocumentKind(record.kind),
        issue_date=record.issue_date,
        due_date=record.due_date,
        terms_days=record.payment_terms_days,
        currency=record.currency,
        total=amount(record.amount_total),
        paid=amount(record.amount_paid),
        due=amount(record.amount_due),
        seller=_party(record.seller),
        buyer=_party(record.buyer),
        purchase_order=record.purchase_order,
        payment_reference=record.payment_reference,
        iban=record.iban,
        referenced_invoice=record.referenced_invoice,
    )


def _read_record(item: Any, location: str, default_seller_id: str | None) -> Outcome:
    try:
        # Validating the JSON text (not Python objects) keeps pydantic's strict JSON rules:
        # dates must be ISO strings, amounts strings, counts integers.
        record = InvoiceJson.model_validate_json(json.dumps(item))
    except ValidationError as exc:
        return Outcome(
            None,
            rejected=tuple(
                RejectedRecord(
                    location=location,
                    field=_field_name(error["loc"]),
                    reason=_reason(error),
                    value=_preview(error),
                )
                for error in exc.errors(include_url=False)
            ),
        )
    return build_invoice(_draft(record, location), default_seller_id)


def _records(data: bytes, jsonl_hint: bool) -> tuple[str, Iterator[tuple[str, Any]]]:
    """Decide array / object / JSON Lines and yield (location, parsed item)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    if jsonl_hint:
        return "jsonl", _json_lines(data)
    try:
        document = _loads(data)
    except (ValueError, RecursionError) as whole_error:
        if data.lstrip(b" \t\r\n").startswith(b"["):
            raise UnreadableDocumentError(f"The file is not valid JSON: {whole_error}.") from None
        return "jsonl", _json_lines(data)
    if isinstance(document, list):
        return "json", ((f"record {i}", item) for i, item in enumerate(document, start=1))
    return "json", iter([("record 1", document)])


def _json_lines(data: bytes) -> Iterator[tuple[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocumentError(f"The JSON Lines file is not valid UTF-8: {exc}.") from exc
    seen_valid = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = _loads(line)
        except (ValueError, RecursionError) as exc:
            if not seen_valid:
                raise UnreadableDocumentError(
                    f"The file is neither JSON nor JSON Lines: line {number}: {exc}."
                ) from exc
            yield f"line {number}", _InvalidLine(str(exc))
            continue
        seen_valid = True
        yield f"line {number}", item


class _InvalidLine:
    def __init__(self, message: str) -> None:
        self.message = message


def read_json(data: bytes, default_seller_id: str | None, jsonl_hint: bool = False) -> ReadResult:
    """Read a JSON array of invoice records, a single record, or JSON Lines.

    `jsonl_hint` (from a .jsonl / .ndjson name) reads a one-line file as JSON Lines.
    """
    fmt, records = _records(data, jsonl_hint)
    invoices: list[ParsedInvoice] = []
    rejected: list[RejectedRecord] = []
    warnings: list[ReadWarning] = []
    for location, item in records:
        if isinstance(item, _InvalidLine):
            rejected.append(
                RejectedRecord(location, "record", f"The line is not valid JSON: {item.message}.")
            )
            continue
        outcome = _read_record(item, location, default_seller_id)
        if outcome.invoice is not None:
            invoices.append(outcome.invoice)
        rejected.extend(outcome.rejected)
        warnings.extend(outcome.warnings)
    return ReadResult(
        format=fmt, invoices=tuple(invoices), rejected=tuple(rejected), warnings=tuple(warnings)
    )
