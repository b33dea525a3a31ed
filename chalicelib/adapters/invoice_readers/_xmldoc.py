"""Adapter helper: XPath look-ups on an e-invoice that also say where each value was found.

Error reports name the XPath of the offending element with the customary prefixes
("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"), or the path where a missing
element was expected.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from chalicelib.adapters.invoice_readers._common import InvoiceDraft, clean


@functools.lru_cache(maxsize=512)
def _compiled(path: str, namespaces: tuple[tuple[str, str], ...]) -> etree.XPath:
    return etree.XPath(path, namespaces=dict(namespaces))


class XmlDocument:
    """A parsed e-invoice plus its prefix map; paths are relative to the root or a context."""

    def __init__(self, root: etree._Element, prefixes: dict[str, str]) -> None:
        self.root = root
        self._namespaces = tuple(sorted(prefixes.items()))
        self._prefix_of = {uri: prefix for prefix, uri in prefixes.items()}
        self.root_path = "/" + self._qualified(root)

    def _qualified(self, element: etree._Element) -> str:
        qname = etree.QName(element)
        prefix = self._prefix_of.get(qname.namespace or "")
        return f"{prefix}:{qname.localname}" if prefix else qname.localname

    def path_of(self, element: etree._Element) -> str:
        """The XPath of an element, with [n] where siblings share its name."""
        steps: list[str] = []
        node: etree._Element | None = element
        while node is not None:
            parent = node.getparent()
            step = self._qualified(node)
            if parent is not None:
                same = [child for child in parent if child.tag == node.tag]
                if len(same) > 1:
                    step += f"[{same.index(node) + 1}]"
            steps.append(step)
            node = parent
        return "/" + "/".join(reversed(steps))

    def expected(self, path: str, context: etree._Element | None = None) -> str:
        """Where a missing element was looked for."""
        base = self.path_of(context) if context is not None else self.root_path
        return f"{base}/{path}"

    def all(self, path: str, context: etree._Element | None = None) -> list[etree._Element]:
        """Every element matching `path` (attributes and text nodes are ignored)."""
        result: Any = _compiled(path, self._namespaces)(
            context if context is not None else self.root
        )
        if not isinstance(result, list):
            return []
        return [node for node in result if isinstance(node, etree._Element)]

    def first(self, path: str, context: etree._Element | None = None) -> etree._Element | None:
        """The first element matching `path`, or None."""
        found = self.all(path, context)
        return found[0] if found else None

    def text(self, path: str, context: etree._Element | None = None) -> str | None:
        """Cleaned text of the first match with text."""
        for element in self.all(path, context):
            value = clean(element.text)
            if value is not None:
                return value
        return None

    def read(
        self,
        draft: InvoiceDraft,
        field_name: str,
        paths: tuple[str, ...],
        context: etree._Element | None = None,
    ) -> tuple[str | None, etree._Element | None]:
        """First non-empty text among `paths`; records its location (or the expected one)."""
        for path in paths:
            for element in self.all(path, context):
                value = clean(element.text)
                if value is not None:
                    draft.where[field_name] = self.path_of(element)
                    draft.raw[field_name] = value
                    return value, element
        if paths:
            draft.where.setdefault(field_name, self.expected(paths[0], context))
        return None, None

    def read_date(
        self,
        draft: InvoiceDraft,
        field_name: str,
        paths: tuple[str, ...],
        context: etree._Element | None = None,
    ) -> date | None:
        """A date in ISO form (UBL) or CII format 102 (YYYYMMDD)."""
        value, element = self.read(draft, field_name, paths, context)
        if value is None or element is None:
            return None
        declared = element.get("format")
        parsed = parse_xml_date(value, declared)
        if parsed is None:
            shape = {"102": "YYYYMMDD"}.get(declared or "", "YYYY-MM-DD or YYYYMMDD")
            draft.reject(field_name, f"'{value}' is not a valid date ({shape}).", value)
        return parsed

    def read_amount(
        self,
        draft: InvoiceDraft,
        field_name: str,
        path: str,
        context: etree._Element | None,
        currency: str | None,
    ) -> Decimal | None:
        """A decimal amount; when several are given, the one in the invoice currency."""
        elements = [e for e in self.all(path, context) if clean(e.text) is not None]
        if not elements:
            draft.where.setdefault(field_name, self.expected(path, context))
            return None
        chosen = next((e for e in elements if e.get("currencyID") == currency), None)
        if chosen is None:
            chosen = next((e for e in elements if e.get("currencyID") is None), elements[0])
        value = clean(chosen.text) or ""
        draft.where[field_name] = self.path_of(chosen)
        draft.raw[field_name] = value
        declared = chosen.get("currencyID")
        if declared is not None and currency is not None and declared.strip() != currency:
            draft.reject(
                field_name,
                f"The amount is in {declared} but the invoice currency is {currency}.",
                f"{value} {declared}",
            )
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            draft.reject(field_name, f"'{value}' is not a decimal amount.", value)
            return None
        if not amount.is_finite():
            draft.reject(field_name, f"'{value}' is not a finite amount.", value)
            return None
        return amount


def parse_xml_date(value: str, declared_format: str | None) -> date | None:
    """YYYYMMDD (CII format 102) or YYYY-MM-DD (UBL, and lenient CII writers)."""
    text = value.strip()
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if declared_format in (None, "102") and len(text) >= 10 and text[4] == "-":
            return date.fromisoformat(text[:10])
    except ValueError:
        return None
    return None
