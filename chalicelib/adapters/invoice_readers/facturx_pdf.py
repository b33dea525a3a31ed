"""Adapter: Factur-X / ZUGFeRD / XRechnung PDF reader (PDF/A-3 with an embedded invoice XML).

The `factur-x` library finds the embedded XML (factur-x.xml, zugferd-invoice.xml,
ZUGFeRD-invoice.xml, xrechnung.xml); the XMP metadata is not needed, so a PDF whose XMP is
broken still imports when its XML can be extracted. The XML bytes are then parsed again with
our own safe parser (no DOCTYPE, no entities) and read like a standalone CII or UBL file.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from chalicelib.adapters.invoice_readers import cii, ubl
from chalicelib.adapters.invoice_readers.xml_safety import parse_xml
from chalicelib.domain.intake import ReadResult, UnreadableDocumentError


def _facturx() -> Any:
    # factur-x and pypdf take ~0.3 s to import; every Lambda imports app.py, and only the
    # ingest function ever reads a PDF, so they are imported on first use.
    import facturx

    return facturx


FORMAT = "facturx-pdf"

NO_XML_REASON = (
    "The PDF has no embedded Factur-X, ZUGFeRD or XRechnung XML: a plain PDF invoice cannot be "
    "read automatically; upload the Factur-X version or export the invoice as CSV, UBL or CII."
)


def _explain_missing_xml(data: bytes, max_bytes: int) -> UnreadableDocumentError:
    """Why factur-x found no usable XML: it skips bad attachments silently, we say which."""
    try:
        from pypdf import PdfReader  # imported on first PDF: see _facturx()

        attachments = PdfReader(BytesIO(data)).attachments
        found = [
            (name, contents)
            for name, contents in attachments.items()
            if name.lower().endswith(".xml")
        ]
    except Exception:
        # factur-x read this PDF a moment ago; if pypdf now fails, the generic reason stands.
        return UnreadableDocumentError(NO_XML_REASON)
    for name, contents in found:
        for content in contents:
            if len(content) > max_bytes:
                return UnreadableDocumentError(
                    f"The PDF embeds {name}, which is larger than the limit of {max_bytes} bytes."
                )
            try:
                root = parse_xml(content)
            except UnreadableDocumentError as exc:
                return UnreadableDocumentError(
                    f"The PDF embeds {name}, which cannot be read: {exc.reason}"
                )
            if not (cii.is_cii(root) or ubl.is_ubl(root)):
                return UnreadableDocumentError(
                    f"The PDF embeds {name}, which is not a CII or UBL invoice "
                    f"(root element {root.tag})."
                )
    return UnreadableDocumentError(NO_XML_REASON)


def _extract_xml(data: bytes, max_bytes: int) -> tuple[str, bytes]:
    try:
        filename, xml = _facturx().get_xml_from_pdf(BytesIO(data), check_xsd=False)
    except Exception as exc:
        # pypdf raises many unrelated types on corrupt input (PdfReadError, KeyError,
        # ValueError, RecursionError...); all mean the same thing here.
        raise UnreadableDocumentError(
            f"The PDF cannot be read ({type(exc).__name__}: {exc})."
        ) from exc
    if not filename or not xml:
        raise _explain_missing_xml(data, max_bytes)
    return str(filename), bytes(xml)


def read_facturx_pdf(data: bytes, default_seller_id: str | None, max_bytes: int) -> ReadResult:
    """Read the invoice XML embedded in a Factur-X / ZUGFeRD PDF."""
    filename, xml = _extract_xml(data, max_bytes)
    if len(xml) > max_bytes:
        raise UnreadableDocumentError(
            f"The XML embedded in the PDF ({filename}) is {len(xml)} bytes; the limit is "
            f"{max_bytes}."
        )
    root = parse_xml(xml)
    if cii.is_cii(root):
        return cii.read_cii(root, default_seller_id, fmt=FORMAT)
    if ubl.is_ubl(root):
        return ubl.read_ubl(root, default_seller_id, fmt=FORMAT)
    raise UnreadableDocumentError(
        f"The XML embedded in the PDF ({filename}) is not a CII or UBL invoice "
        f"(root element {root.tag})."
    )
