"""Adapter: read an uploaded invoice file (CSV, JSON, UBL, CII, Factur-X PDF) into domain data.

The format is detected from the content, not trusted from the file name:
- "%PDF-" first: Factur-X / ZUGFeRD PDF (the embedded XML is read);
- "<" first: XML, dispatched on the root element's namespace (UBL Invoice / CreditNote,
  CII CrossIndustryInvoice, ZUGFeRD 1.0 CrossIndustryDocument);
- "[" or "{" first: a JSON array / object, or JSON Lines;
- anything else: CSV.
Archives and spreadsheets (ZIP/XLSX, XLS, gzip) are refused with a reason that says so.
Nothing here touches AWS: bytes in, `ReadResult` out, `UnreadableDocumentError` for a file that
cannot be read at all.
"""

from __future__ import annotations

from io import BytesIO

from chalicelib.adapters.invoice_readers import cii, json_reader, ubl
from chalicelib.adapters.invoice_readers.csv_reader import (
    CANONICAL_FIELDS,
    CsvItem,
    iter_csv_invoices,
    load_column_mapping,
    validate_mapping,
)
from chalicelib.adapters.invoice_readers.facturx_pdf import read_facturx_pdf
from chalicelib.adapters.invoice_readers.xml_safety import parse_xml
from chalicelib.domain.intake import (
    ParsedInvoice,
    ReadResult,
    ReadWarning,
    RejectedRecord,
    UnreadableDocumentError,
)

__all__ = [
    "CANONICAL_FIELDS",
    "CsvItem",
    "DEFAULT_MAX_BYTES",
    "detect_format",
    "iter_csv_invoices",
    "load_column_mapping",
    "read_invoice_file",
    "validate_mapping",
]

DEFAULT_MAX_BYTES = 50_000_000

_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?); export the sheet as CSV"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office file (Excel .xls?); export the sheet as CSV"),
    (b"\x1f\x8b", "gzip-compressed; upload the uncompressed file"),
    (b"\x89PNG", "a PNG image, not an invoice file"),
    (b"\xff\xd8\xff", "a JPEG image, not an invoice file"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _first_text(data: bytes) -> str:
    """The first meaningful character, whatever the Unicode encoding of the start."""
    head = data[:512]
    if head.startswith(_UTF16_BOMS):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    return text.lstrip("\ufeff \t\r\n")[:1]


def detect_format(data: bytes) -> str:
    """Name the reader for these bytes: "pdf", "xml", "json" or "csv".

    Raises:
        UnreadableDocumentError: the file is empty or a known non-invoice binary format.
    """
    if not data.strip():
        raise UnreadableDocumentError("The file is empty.")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-"):
        return "pdf"
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnreadableDocumentError(f"The file is {what}.")
    first = _first_text(data)
    if first == "<":
        return "xml"
    if first in ("[", "{"):
        return "json"
    return "csv"


def _read_xml(data: bytes, default_seller_id: str | None) -> ReadResult:
    root = parse_xml(data)
    if ubl.is_ubl(root):
        return ubl.read_ubl(root, default_seller_id)
    if cii.is_cii(root):
        return cii.read_cii(root, default_seller_id)
    raise UnreadableDocumentError(
        f"The XML root element {root.tag} is not a UBL Invoice or CreditNote, a CII "
        "CrossIndustryInvoice or a ZUGFeRD 1.0 CrossIndustryDocument."
    )


def _read_csv(
    data: bytes,
    column_mapping: dict[str, str] | None,
    default_seller_id: str | None,
    default_currency: str,
) -> ReadResult:
    invoices: list[ParsedInvoice] = []
    rejected: list[RejectedRecord] = []
    warnings: list[ReadWarning] = []
    for item in iter_csv_invoices(
        BytesIO(data),
        column_mapping=column_mapping,
        default_seller_id=default_seller_id,
        default_currency=default_currency,
    ):
        if isinstance(item, ParsedInvoice):
            invoices.append(item)
        elif isinstance(item, RejectedRecord):
            rejected.append(item)
        else:
            warnings.append(item)
    return ReadResult(
        format="csv",
        invoices=tuple(invoices),
        rejected=tuple(rejected),
        warnings=tuple(warnings),
    )


def read_invoice_file(
    data: bytes,
    filename: str,
    *,
    column_mapping: dict[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_seller_id: str | None = None,
    default_currency: str = "EUR",
) -> ReadResult:
    """Read every invoice in one uploaded file.

    Args:
        data: The file's bytes.
        filename: The object key or name; only ".jsonl"/".ndjson" changes anything (a one-line
            file is then read as JSON Lines). The content decides the format.
        column_mapping: CSV only: {"File Header": "canonical_field"}, wins over aliases.
        max_bytes: Larger files are refused (also applied to XML embedded in a PDF).
        default_seller_id: Seller identity when the file does not name the seller.
        default_currency: CSV only: currency when there is no currency column or symbol.

    Returns:
        The invoices read and, for every record that could not be, where and why.

    Raises:
        UnreadableDocumentError: the file cannot be read at all.
    """
    if len(data) > max_bytes:
        raise UnreadableDocumentError(
            f"The file is {len(data)} bytes; the limit is {max_bytes} bytes."
        )
    kind = detect_format(data)
    if kind == "pdf":
        return read_facturx_pdf(data, default_seller_id, max_bytes)
    if kind == "xml":
        return _read_xml(data, default_seller_id)
    if kind == "json":
        jsonl = filename.lower().endswith((".jsonl", ".ndjson"))
        return json_reader.read_json(data, default_seller_id, jsonl_hint=jsonl)
    return _read_csv(data, column_mapping, default_seller_id, default_currency)
