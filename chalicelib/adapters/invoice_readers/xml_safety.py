"""Adapter: the one safe way to parse untrusted XML (no entities, no DTD, no network).

Invoices come from outside. A DOCTYPE is the door to XXE (external entities reading local
files or calling URLs) and to entity-expansion bombs ("billion laughs"); no e-invoice syntax
needs one, so any document that carries a DOCTYPE is refused outright. The parser itself is
also configured never to expand entities, load a DTD or touch the network, so the check does
not depend on catching every spelling of the declaration.
"""

from __future__ import annotations

import re

from lxml import etree

from chalicelib.domain.intake import UnreadableDocumentError

DOCTYPE_REASON = (
    "DOCTYPE declarations are not accepted in invoice XML: they enable external entity (XXE) "
    "and entity-expansion attacks, and no e-invoice format needs one."
)

# Comments and processing instructions may precede the root element; a DOCTYPE may too.
_PROLOG_NOISE = re.compile(r"<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_PROLOG_SCAN_BYTES = 1 << 16


def make_parser() -> etree.XMLParser:
    """An lxml parser that never expands entities, loads a DTD or uses the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        recover=False,
    )


def _prolog_text(data: bytes) -> str:
    head = data[:_PROLOG_SCAN_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("latin-1")


def _has_doctype_in_prolog(data: bytes) -> bool:
    text = _PROLOG_NOISE.sub("", _prolog_text(data)).lstrip("\ufeff\x00 \t\r\n")
    return bool(_DOCTYPE.match(text))


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML bytes into a root element.

    Raises:
        UnreadableDocumentError: the document has a DOCTYPE or is not well-formed XML.
    """
    if _has_doctype_in_prolog(data):
        raise UnreadableDocumentError(DOCTYPE_REASON)
    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        raise UnreadableDocumentError(f"The file is not well-formed XML: {exc}.") from exc
    except ValueError as exc:
        # lxml refuses some inputs (e.g. unicode strings with an encoding declaration).
        raise UnreadableDocumentError(f"The file cannot be parsed as XML: {exc}.") from exc
    if root is None:
        raise UnreadableDocumentError("The file is XML without a root element.")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnreadableDocumentError(DOCTYPE_REASON)
    return root
