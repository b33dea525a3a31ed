"""Adapter: the InvoiceFileReader port over the invoice_readers package (streams CSV)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from chalicelib.adapters.invoice_readers import iter_csv_invoices, read_invoice_file
from chalicelib.domain.intake import UnreadableDocumentError
from chalicelib.services.ports import ReadStream

_PEEK = 8192
_CHUNK = 1 << 20
_STRUCTURED_STARTS = (b"%PDF", b"<", b"{", b"[")


def _looks_structured(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(_STRUCTURED_STARTS)


class LibraryInvoiceReader:
    """Streams CSV row by row; reads the other (small) formats whole.

    A 100,000-row CSV is imported in bounded memory.
    """

    def __init__(self, default_seller_id: str | None = None, default_currency: str = "EUR") -> None:
        self._default_seller_id = default_seller_id
        self._default_currency = default_currency

    def read(
        self,
        source: BinaryIO,
        filename: str,
        *,
        column_mapping: Mapping[str, str] | None,
        max_bytes: int,
    ) -> ReadStream:
        head = source.read(_PEEK)
        mapping = dict(column_mapping) if column_mapping else None
        if not _looks_structured(head):
            chunks: Iterator[bytes] = itertools.chain(
                [head], iter(lambda: source.read(_CHUNK), b"")
            )
            items = iter_csv_invoices(
                chunks,
                column_mapping=mapping,
                default_seller_id=self._default_seller_id,
                default_currency=self._default_currency,
                max_bytes=max_bytes,
            )
            return ReadStream("csv", None, items)
        data = head + source.read(max_bytes + 1 - len(head))
        if len(data) > max_bytes:
            raise UnreadableDocumentError(f"the file is over the {max_bytes}-byte limit")
        result = read_invoice_file(
            data,
            filename,
            column_mapping=mapping,
            max_bytes=max_bytes,
            default_seller_id=self._default_seller_id,
        )
        return ReadStream(
            result.format,
            result.profile,
            itertools.chain(result.invoices, result.rejected, result.warnings),
        )
