"""Adapter: streaming CSV invoice reader (exports from invoicing and accounting tools).

What it copes with, and how (see docs/formats.md for the full rules):
- encoding: UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252 (decided at the
  first non-ASCII bytes, so a large file whose first accent is far down still decodes right);
- delimiter: , ; tab | — the one under which a header row is found;
- preamble lines: the header is the first of the first 20 rows naming >= 3 known columns;
- header aliases in English and French, overridable with a column mapping;
- one row per invoice, or one row per line item: rows are grouped by invoice number while
  the number repeats on CONTIGUOUS rows (that is how exports are written). A number that comes
  back later is rejected as a duplicate rather than merged, which keeps memory bounded to one
  invoice plus the set of numbers already seen;
- accounting ledger exports (an "Account" column with debit/credit): only the receivable
  account rows count, debits as the invoice total and credits as payments;
- per-row problems become RejectedRecords naming the physical line ("row 7") and field.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from chalicelib.adapters.invoice_readers import csv_values as values
from chalicelib.adapters.invoice_readers._common import (
    PARTY_FIELDS,
    InvoiceDraft,
    build_invoice,
    fold,
    normalise_currency,
)
from chalicelib.domain.intake import (
    ParsedInvoice,
    ReadWarning,
    RejectedRecord,
    UnreadableDocumentError,
)
from chalicelib.domain.money import currency_exponent

CHUNK_BYTES = 1 << 16
HEADER_SEARCH_ROWS = 20
MIN_HEADER_COLUMNS = 3
LOOKAHEAD_ROWS = 200
DELIMITERS = (",", ";", "\t", "|")
IGNORE = "ignore"

_INVOICE_FIELDS = (
    "number",
    "kind",
    "issue_date",
    "due_date",
    "payment_terms_days",
    "currency",
    "amount_total",
    "amount_paid",
    "amount_due",
    "status",
    "purchase_order",
    "payment_reference",
    "iban",
    "referenced_invoice",
    *(f"buyer_{name}" for name in PARTY_FIELDS),
    *(f"seller_{name}" for name in PARTY_FIELDS),
)
CsvItem = ParsedInvoice | RejectedRecord | ReadWarning
"""What `iter_csv_invoices` yields; a ReadWarning follows the invoice it is about."""

_ROW_FIELDS = ("line_amount", "ledger_account", "debit", "credit")
CANONICAL_FIELDS = frozenset(_INVOICE_FIELDS + _ROW_FIELDS)
_AMOUNT_FIELDS = ("amount_total", "amount_paid", "amount_due")

# Normalised header spellings, most specific first: when two columns claim the same field,
# the one whose alias comes first wins ("Invoice Date" beats "Date").
ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "invoice number", "invoice #", "invoice no", "invoice num", "invoice id", "invoice ref",
        "invoice reference", "numero de facture", "numero facture", "no facture", "no de facture",
        "n facture", "facture no", "facture #", "ref facture", "reference facture",
        "document number", "doc number", "numero de piece", "no piece", "numero", "number",
        "no", "#", "invoice", "facture", "piece",
    ),
    "kind": (
        "document type", "type de document", "doc type", "invoice type", "type de piece",
        "type", "nature", "kind",
    ),
    "issue_date": (
        "invoice date", "date de facture", "date facture", "date de la facture",
        "date d emission", "date emission", "issue date", "date issued", "issued on", "issued",
        "billing date", "document date", "date de piece", "transaction date", "date",
        "start date", "creation date", "date de creation", "created at", "created",
    ),
    "due_date": (
        "due date", "date d echeance", "date echeance", "echeance", "payment due date",
        "payment due", "due on", "date limite de paiement", "date limite", "due",
    ),
    "payment_terms_days": (
        "payment terms", "conditions de paiement", "delai de paiement", "payment terms days",
        "terms days", "net days", "terms", "delai",
    ),
    "currency": ("currency", "devise", "currency code", "code devise", "monnaie", "ccy"),
    "amount_total": (
        "total ttc", "montant ttc", "invoice total", "total amount", "amount total",
        "grand total", "invoice amount", "montant total", "total incl tax",
        "total including tax", "amount incl vat", "amount ttc", "montant", "total", "amount",
    ),
    "amount_paid": (
        "amount paid", "paid amount", "montant paye", "montant regle", "deja paye", "deja regle",
        "total paid", "paid", "regle", "paye", "payments",
    ),
    "amount_due": (
        "amount due", "balance due", "reste a payer", "reste du", "restant du", "montant du",
        "montant restant", "solde du", "solde", "outstanding amount", "outstanding",
        "open amount", "due amount", "total due", "remaining balance", "remaining", "balance",
    ),
    "line_amount": (
        "line total", "line amount", "item total", "montant ligne", "total ligne", "amount line",
    ),
    "status": ("invoice status", "statut facture", "status", "statut", "etat"),
    "purchase_order": (
        "po number", "po #", "purchase order number", "purchase order", "bon de commande",
        "numero de commande", "no de commande", "no commande", "order number", "order #",
        "ref commande", "reference commande", "commande", "po",
    ),
    "payment_reference": (
        "payment reference", "reference de paiement", "reference paiement", "ref paiement",
        "structured reference", "communication structuree", "reference", "ref",
    ),
    "iban": ("iban",),
    "referenced_invoice": (
        "referenced invoice", "original invoice", "corrected invoice", "related invoice",
        "facture d origine", "facture origine", "facture initiale", "facture corrigee",
        "avoir sur facture",
    ),
    "buyer_name": (
        "customer name", "client name", "nom du client", "nom client", "raison sociale",
        "buyer name", "customer", "client", "buyer", "acheteur", "company name", "company",
        "societe", "debiteur",
    ),
    "buyer_email": (
        "customer email", "client email", "email client", "email address", "adresse email",
        "adresse e mail", "billing email", "email", "e mail", "courriel", "mail",
    ),
    "buyer_phone": (
        "customer phone", "telephone client", "phone number", "numero de telephone", "phone",
        "telephone", "tel", "mobile", "portable", "gsm",
    ),
    "buyer_vat_id": (
        "customer vat", "vat number", "vat id", "vat no", "vat registration number",
        "tva intracommunautaire", "tva intracom", "no tva intracommunautaire", "numero de tva",
        "no tva", "no de tva", "tax id", "vat", "tva",
    ),
    "buyer_legal_id": (
        "customer siren", "siren client", "siret client", "siren", "siret", "legal id",
        "company registration number", "company number", "registration number", "rcs",
    ),
    "buyer_endpoint_id": (
        "endpoint id", "endpoint", "peppol id", "electronic address", "adresse electronique",
    ),
    "buyer_country": ("billing country", "country code", "code pays", "country", "pays"),
    "buyer_language": ("language", "langue", "locale", "lang"),
    "buyer_street": (
        "billing address", "address line 1", "adresse ligne 1", "address", "adresse", "street",
        "rue",
    ),
    "buyer_city": ("billing city", "city", "ville"),
    "buyer_postcode": (
        "billing zip", "postal code", "postcode", "zip code", "zip", "code postal", "cp",
    ),
    "seller_name": (
        "seller name", "supplier name", "seller", "vendeur", "fournisseur", "supplier",
        "emetteur", "societe emettrice",
    ),
    "seller_vat_id": (
        "seller vat", "seller vat id", "supplier vat", "tva vendeur", "tva fournisseur",
        "tva emetteur",
    ),
    "seller_legal_id": (
        "seller siren", "seller siret", "supplier siren", "siren vendeur", "siret vendeur",
        "siren fournisseur", "siret fournisseur",
    ),
    "seller_country": ("seller country", "pays vendeur"),
    "ledger_account": (
        "account name", "libelle compte", "intitule compte", "compte general", "account",
        "compte",
    ),
    "debit": ("debit amount", "debit"),
    "credit": ("credit amount", "credit"),
}  # fmt: skip

_ALIAS_INDEX: dict[str, tuple[str, int]] = {
    alias: (canonical, rank)
    for canonical, aliases in ALIASES.items()
    for rank, alias in enumerate(aliases)
}

_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_HEADER_JUNK = re.compile(r"[^a-z0-9#]+")
_MONTH_FIRST_HINT = re.compile(r"\bmm[/.\-]dd\b", re.IGNORECASE)
_DAY_FIRST_HINT = re.compile(r"\b(?:dd|jj)[/.\-]mm\b", re.IGNORECASE)
_CURRENCY_HINT = re.compile(r"[(\[]\s*([A-Z]{3}|€|\$|£)\s*[)\]]")
_RECEIVABLE = re.compile(r"receivable|\bclients?\b|^411|debiteurs?|forderungen|creances")
_DATE_FIELDS = ("issue_date", "due_date")


def header_key(text: str) -> str:
    """The form header cells are compared in: accent-free, lower-case, punctuation-free."""
    folded = fold(_PARENTHESES.sub(" ", text)).replace("°", "o")
    return _HEADER_JUNK.sub(" ", folded).strip()


def validate_mapping(column_mapping: dict[str, str] | None) -> dict[str, str]:
    """Check a {"File Header": "canonical_field"} mapping; "buyer.email" means "buyer_email".

    Raises:
        UnreadableDocumentError: a target is not a canonical field name (or "ignore").
    """
    result: dict[str, str] = {}
    for header, target in (column_mapping or {}).items():
        if not isinstance(header, str) or not isinstance(target, str):
            raise UnreadableDocumentError("The column mapping must map header text to field names.")
        canonical = target.strip().replace(".", "_")
        if canonical != IGNORE and canonical not in CANONICAL_FIELDS:
            known = ", ".join(sorted(CANONICAL_FIELDS))
            raise UnreadableDocumentError(
                f"The column mapping sends '{header}' to '{target}', which is not a field "
                f"name; use one of: {known}, or '{IGNORE}'."
            )
        result[header.strip()] = canonical
    return result


def load_column_mapping(data: bytes) -> dict[str, str]:
    """Parse and check an `inbox/<prefix>/_mapping.json` file: {"File Header": "field"}.

    Raises:
        UnreadableDocumentError: not a JSON object of strings, or an unknown field name.
    """
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UnreadableDocumentError(f"The column mapping is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict):
        raise UnreadableDocumentError(
            'The column mapping must be a JSON object such as {"N° pièce": "number"}.'
        )
    return validate_mapping(document)


# ---- bytes to lines --------------------------------------------------------------------------


def _chunks(stream: BinaryIO | Iterable[bytes], max_bytes: int | None) -> Iterator[bytes]:
    source: Iterable[bytes]
    if hasattr(stream, "read"):
        reader = stream.read
        source = iter(lambda: reader(CHUNK_BYTES), b"")
    else:
        source = stream
    total = 0
    for chunk in source:
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise UnreadableDocumentError(
                f"The file is larger than the limit of {max_bytes} bytes."
            )
        if chunk:
            yield bytes(chunk)


class _Decoder:
    """UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252, chosen at the first clue.

    While the text is pure ASCII nothing is decided. The first chunk holding other bytes
    decides: UTF-8 if it has more valid UTF-8 characters than invalid bytes, else
    Windows-1252 (a superset of Latin-1 for text). After that, bytes the chosen encoding
    cannot decode become U+FFFD and the row holding them is rejected.
    """

    def __init__(self) -> None:
        self._decoder: codecs.IncrementalDecoder | None = None
        self._started = False
        self.encoding = "ascii"

    def _start(self, chunk: bytes) -> bytes:
        self._started = True
        if chunk.startswith(codecs.BOM_UTF8):
            self._commit("utf-8")
            return chunk[len(codecs.BOM_UTF8) :]
        if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self._commit("utf-16")
            return chunk
        if b"\x00" in chunk[:4096]:
            raise UnreadableDocumentError(
                "The file contains NUL bytes: it is binary or UTF-16 without a byte-order mark, "
                "not a CSV text file."
            )
        return chunk

    def _commit(self, encoding: str) -> codecs.IncrementalDecoder:
        self.encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        return self._decoder

    def decode(self, chunk: bytes, final: bool = False) -> str:
        if not self._started:
            chunk = self._start(chunk)
        if self._decoder is not None:
            return self._decoder.decode(chunk, final)
        if chunk.isascii():
            return chunk.decode("ascii")
        trial = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = trial.decode(chunk, final)
        invalid = text.count("\ufffd")
        valid = sum(1 for c in text if c > "\x7f") - invalid
        if valid > 0 and valid >= invalid:
            self.encoding = "utf-8"
            self._decoder = trial
            return text
        return self._commit("cp1252").decode(chunk, final)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _text_lines(chunks: Iterator[bytes], decoder: _Decoder) -> Iterator[str]:
    """Lines ending in LF for csv.reader, whatever the file used (CRLF, LF or bare CR).

    Translating every line break (universal newlines) is what keeps a stray CR inside a row
    from breaking the csv module; a CR at the end of a chunk waits for the next one in case
    it is the first half of a CRLF.
    """
    rest = ""
    for chunk in itertools.chain(chunks, [b""]):
        final = not chunk
        text = rest + decoder.decode(chunk, final)
        held = ""
        if not final and text.endswith("\r"):
            text, held = text[:-1], "\r"
        parts = _LINE_BREAK.split(text)
        rest = parts.pop() + held
        for part in parts:
            yield part + "\n"
        if final and rest:
            yield rest + "\n"
            rest = ""


# ---- header ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Layout:
    """Where each canonical field sits, and the file-wide reading hints."""

    index: dict[str, int]
    header_line: int
    month_first_hint: bool = False
    day_first_hint: bool = False
    currency_hint: str | None = None
    date_order: str = values.DAY_FIRST
    decimal_comma: bool = False
    invoice_columns: tuple[tuple[str, int], ...] = ()

    @property
    def ledger(self) -> bool:
        return "ledger_account" in self.index


def _recognise(cells: list[str], mapping: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Map canonical field -> (column, rank); rank -1 for a mapping match."""
    mapped_keys = {header_key(k): v for k, v in mapping.items()}
    found: dict[str, tuple[int, int]] = {}
    for column, cell in enumerate(cells):
        raw = cell.strip()
        target = mapping.get(raw) or mapped_keys.get(header_key(raw))
        if target is not None:
            if target != IGNORE:
                found[target] = (column, -1)
            continue
        alias = _ALIAS_INDEX.get(header_key(raw))
        if alias is None:
            continue
        canonical, rank = alias
        if canonical not in found or rank < found[canonical][1]:
            found[canonical] = (column, rank)
    return found


def _find_header(
    sample: list[str], mapping: dict[str, str]
) -> tuple[str, int, dict[str, tuple[int, int]]]:
    """(delimiter, header row index, recognised columns) of the best-scoring delimiter."""
    best: tuple[int, str, int, dict[str, tuple[int, int]]] | None = None
    for delimiter in DELIMITERS:
        rows = csv.reader(sample, delimiter=delimiter)
        for row_index, row in enumerate(itertools.islice(rows, HEADER_SEARCH_ROWS)):
            found = _recognise(row, mapping)
            if len(found) >= MIN_HEADER_COLUMNS or (mapping and len(found) >= len(mapping) > 0):
                if best is None or len(found) > best[0]:
                    best = (len(found), delimiter, row_index, found)
                break
    if best is None:
        raise UnreadableDocumentError(
            f"No header row found: none of the first {HEADER_SEARCH_ROWS} rows names at least "
            f"{MIN_HEADER_COLUMNS} known columns (invoice number, date, amount, customer...) "
            "with a comma, semicolon, tab or | delimiter; add an _mapping.json for this export."
        )
    return best[1], best[2], best[3]


def _layout(header: list[str], found: dict[str, tuple[int, int]], header_line: int) -> _Layout:
    layout = _Layout(
        index={name: column for name, (column, _) in found.items()}, header_line=header_line
    )
    for cell in header:
        if _MONTH_FIRST_HINT.search(cell):
            layout.month_first_hint = True
        if _DAY_FIRST_HINT.search(cell):
            layout.day_first_hint = True
        hint = _CURRENCY_HINT.search(cell)
        if hint and layout.currency_hint is None:
            layout.currency_hint = normalise_currency(hint.group(1))
    _require_columns(layout, header)
    skip = set(_AMOUNT_FIELDS) if layout.ledger else set()
    layout.invoice_columns = tuple(
        (name, column)
        for name, column in layout.index.items()
        if name in _INVOICE_FIELDS and name != "number" and name not in skip
    )
    return layout


def _require_columns(layout: _Layout, header: list[str]) -> None:
    index = layout.index
    missing = []
    if "number" not in index:
        missing.append("invoice number")
    if "issue_date" not in index:
        missing.append("issue date")
    amounts = {"amount_total", "amount_due", "line_amount", "debit"}
    if not amounts & index.keys():
        missing.append("amount (total, amount due or line amount)")
    if not index.keys() & {f"buyer_{name}" for name in ("name", "vat_id", "legal_id", "email")}:
        missing.append("customer (name, VAT id, legal id or e-mail)")
    if missing:
        shown = ", ".join(repr(cell.strip()) for cell in header if cell.strip())
        raise UnreadableDocumentError(
            f"The header row (line {layout.header_line}) has no {' and no '.join(missing)} "
            f"column. Columns found: {shown}. Map them with _mapping.json."
        )


def _cell(row: list[str], column: int) -> str:
    return row[column].strip() if column < len(row) else ""


def _learn_hints(layout: _Layout, rows: list[tuple[int, list[str]]], delimiter: str) -> None:
    """Date order and decimal separator, from the header and the first rows of data."""
    orders: set[str] = set()
    decimals: set[bool] = set()
    date_columns = [layout.index[f] for f in _DATE_FIELDS if f in layout.index]
    amount_columns = [
        layout.index[f]
        for f in (*_AMOUNT_FIELDS, "line_amount", "debit", "credit")
        if f in layout.index
    ]
    for _, row in rows:
        for column in date_columns:
            evidence = values.date_order_evidence(_cell(row, column))
            if evidence:
                orders.add(evidence)
        for column in amount_columns:
            decimal = values.decimal_evidence(_cell(row, column))
            if decimal is not None:
                decimals.add(decimal)
    month_first = layout.month_first_hint or (orders == {values.MONTH_FIRST})
    if layout.day_first_hint:
        month_first = False
    layout.date_order = values.MONTH_FIRST if month_first else values.DAY_FIRST
    layout.decimal_comma = decimals == {True} or (not decimals and delimiter == ";")


# ---- grouping --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    """The rows of one invoice, read so far."""

    number: str
    first_line: int
    last_line: int
    first_seen: str | None = None
    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    conflicts: list[RejectedRecord] = field(default_factory=list)
    errors: list[RejectedRecord] = field(default_factory=list)
    lines: list[tuple[Decimal, str | None]] = field(default_factory=list)
    debits: Decimal = Decimal(0)
    credits: Decimal = Decimal(0)
    posted: bool = False

    @property
    def location(self) -> str:
        if self.first_line == self.last_line:
            return f"row {self.first_line}"
        return f"row {self.first_line}-{self.last_line}"


class _CsvInvoiceReader:
    def __init__(
        self, layout: _Layout, default_seller_id: str | None, default_currency: str
    ) -> None:
        self.layout = layout
        self.default_seller_id = default_seller_id
        self.default_currency = default_currency
        self.seen: dict[str, str] = {}
        self.group: _Group | None = None
        self._number_column = layout.index["number"]
        self._ledger_column = layout.index.get("ledger_account")
        self._handlers = _field_handlers(layout.date_order)

    # rows in

    def feed(self, line: int, row: list[str]) -> Iterator[CsvItem]:
        if self._ledger_column is not None and not _RECEIVABLE.search(
            fold(_cell(row, self._ledger_column))
        ):
            return
        number = _cell(row, self._number_column)
        if not number:
            if any(cell.strip() for cell in row):
                yield RejectedRecord(f"row {line}", "number", "The invoice number is missing.")
            return
        group = self.group
        if group is not None and group.number == number:
            group.last_line = line
        else:
            if group is not None:
                yield from self.finish(group)
            group = self.group = _Group(number, line, line, first_seen=self.seen.get(number))
        if group.first_seen is None:
            self._collect(group, line, row)

    def close(self) -> Iterator[CsvItem]:
        if self.group is not None:
            yield from self.finish(self.group)
            self.group = None

    def _collect(self, group: _Group, line: int, row: list[str]) -> None:
        if self.layout.ledger and not self._post(group, line, row):
            return
        known_values = group.values
        width = len(row)
        for name, column in self.layout.invoice_columns:
            value = row[column].strip() if column < width else ""
            if not value:
                continue
            known = known_values.get(name)
            if known is None:
                known_values[name] = (value, line)
            elif known[0] != value:
                group.conflicts.append(
                    RejectedRecord(
                        f"row {line}",
                        name,
                        f"The rows of invoice {group.number} disagree on {name}: "
                        f"'{known[0]}' at row {known[1]}, '{value}' here.",
                        value,
                    )
                )
        line_column = self.layout.index.get("line_amount")
        if line_column is not None and not self.layout.ledger:
            amount = self._amount(group, line, "line_amount", _cell(row, line_column))
            if amount is not None:
                group.lines.append(amount)

    def _amount(
        self, group: _Group, line: int, name: str, text: str
    ) -> tuple[Decimal, str | None] | None:
        if not text:
            return None
        try:
            return values.parse_amount(text, self.layout.decimal_comma)
        except values.ValueFormatError as exc:
            group.errors.append(RejectedRecord(f"row {line}", name, str(exc), text))
            return None

    def _post(self, group: _Group, line: int, row: list[str]) -> bool:
        """Ledger row on the receivable account; True when it is an invoice posting."""
        index = self.layout.index
        debit = credit = Decimal(0)
        if "debit" in index or "credit" in index:
            for name in ("debit", "credit"):
                parsed = self._amount(group, line, name, _cell(row, index.get(name, len(row))))
                if parsed is not None and name == "debit":
                    debit = parsed[0]
                elif parsed is not None:
                    credit = parsed[0]
        elif "amount_total" in index:
            parsed = self._amount(group, line, "amount_total", _cell(row, index["amount_total"]))
            signed = parsed[0] if parsed else Decimal(0)
            debit, credit = max(signed, Decimal(0)), max(-signed, Decimal(0))
        group.debits += debit
        group.credits += credit
        if debit:
            group.posted = True
        return bool(debit) or not credit

    # invoice out

    def finish(self, group: _Group) -> Iterator[CsvItem]:
        if group.first_seen is not None:
            yield RejectedRecord(
                group.location,
                "number",
                f"Invoice {group.number} appears again after other invoices (first at "
                f"{group.first_seen}); the rows of one invoice must be contiguous, so these "
                "rows were not imported.",
                group.number,
            )
            return
        self.seen[group.number] = group.location
        outcome = build_invoice(self._draft(group), self.default_seller_id)
        if outcome.invoice is not None:
            yield outcome.invoice
            yield from outcome.warnings
        yield from outcome.rejected

    def _draft(self, group: _Group) -> InvoiceDraft:
        draft = InvoiceDraft(location=group.location, number=group.number)
        where, raws, handlers = draft.where, draft.raw, self._handlers
        where["number"] = f"row {group.first_line}"
        for name, (raw, line) in group.values.items():
            where[name] = f"row {line}"
            raws[name] = raw
            if "\ufffd" in raw:
                draft.reject(
                    name,
                    "The value has bytes that are not valid in the file's encoding; save the "
                    "file as UTF-8.",
                )
                continue
            handler = handlers.get(name)
            if handler is None:
                continue
            try:
                handler(draft, raw)
            except values.ValueFormatError as exc:
                draft.reject(name, str(exc), raw)
        for problem in (*group.conflicts, *group.errors):
            draft.failed.add(problem.field)
            draft.errors.append(problem)
        self._amounts(draft, group)
        return draft

    def _amounts(self, draft: InvoiceDraft, group: _Group) -> None:
        symbols: set[str] = set()
        parsed: dict[str, Decimal] = {}
        for name in _AMOUNT_FIELDS:
            if name in group.values and name not in draft.failed and not self.layout.ledger:
                amount = self._draft_amount(draft, name, group.values[name][0])
                if amount is not None:
                    parsed[name] = amount[0]
                    if amount[1]:
                        symbols.add(amount[1])
        for _, symbol in group.lines:
            if symbol:
                symbols.add(symbol)
        self._currency(draft, symbols)
        draft.total = parsed.get("amount_total")
        draft.paid = parsed.get("amount_paid")
        draft.due = parsed.get("amount_due")
        if self.layout.ledger:
            self._ledger_amounts(draft, group)
        elif draft.total is None and draft.due is None and group.lines and draft.currency:
            total = sum((amount for amount, _ in group.lines), Decimal(0))
            exponent = Decimal(1).scaleb(-currency_exponent(draft.currency))
            draft.total = total.quantize(exponent, rounding=ROUND_HALF_UP)
        self._status(draft, group)

    def _draft_amount(
        self, draft: InvoiceDraft, name: str, raw: str
    ) -> tuple[Decimal, str | None] | None:
        try:
            return values.parse_amount(raw, self.layout.decimal_comma)
        except values.ValueFormatError as exc:
            draft.reject(name, str(exc), raw)
            return None

    def _currency(self, draft: InvoiceDraft, symbols: set[str]) -> None:
        implied = {values.currency_of_symbol(s, self.default_currency) for s in symbols}
        if draft.currency is None and "currency" not in draft.failed:
            if len(implied) > 1:
                draft.reject(
                    "currency",
                    f"The amounts of invoice {draft.number} are in several currencies: "
                    f"{', '.join(sorted(implied))}.",
                )
                return
            draft.currency = (
                next(iter(implied), None) or self.layout.currency_hint or self.default_currency
            )
            return
        stray = implied - {draft.currency}
        if stray and draft.currency is not None:
            draft.reject(
                "currency",
                f"The currency column says {draft.currency} but the amounts are written in "
                f"{', '.join(sorted(stray))}.",
                draft.currency,
            )

    def _ledger_amounts(self, draft: InvoiceDraft, group: _Group) -> None:
        if not group.posted and "amount_total" not in draft.failed:
            draft.reject(
                "amount_total",
                f"No invoice posting (debit on the receivable account) was found for invoice "
                f"{group.number}, only payments; payments must follow their invoice.",
            )
            return
        draft.total = group.debits
        draft.paid = group.credits

    def _status(self, draft: InvoiceDraft, group: _Group) -> None:
        raw = group.values.get("status", ("", 0))[0]
        status = values.status_class(raw) if raw else None
        if status == values.PAID and draft.paid is None and draft.due is None:
            draft.paid = draft.total
        elif status == values.DRAFT:
            draft.reject("status", "Draft invoices were never sent, so they are not imported.")
        elif status == values.CANCELLED:
            draft.reject("status", "Cancelled or void invoices are not chased, so not imported.")


# ---- field handlers --------------------------------------------------------------------------


_Handler = Callable[[InvoiceDraft, str], None]


def _party_setter(role: str, attribute: str) -> _Handler:
    def handle(draft: InvoiceDraft, raw: str) -> None:
        setattr(draft.buyer if role == "buyer" else draft.seller, attribute, raw)

    return handle


def _draft_setter(attribute: str, parse: Callable[[str], object] | None = None) -> _Handler:
    def handle(draft: InvoiceDraft, raw: str) -> None:
        setattr(draft, attribute, parse(raw) if parse else raw)

    return handle


def _terms(draft: InvoiceDraft, raw: str) -> None:
    draft.terms_days, draft.terms_end_of_month = values.parse_terms(raw)


def _field_handlers(date_order: str) -> dict[str, _Handler]:
    """How each invoice-level column is applied to a draft (amounts and status come later).

    A handler raises ValueFormatError for a bad value; the caller turns it into a rejection.
    """

    def parse_date(raw: str) -> object:
        return values.parse_date(raw, date_order)

    handlers: dict[str, _Handler] = {
        "issue_date": _draft_setter("issue_date", parse_date),
        "due_date": _draft_setter("due_date", parse_date),
        "kind": _draft_setter("kind", values.parse_kind),
        "payment_terms_days": _terms,
        "currency": _draft_setter("currency", normalise_currency),
    }
    for name in ("purchase_order", "payment_reference", "iban", "referenced_invoice"):
        handlers[name] = _draft_setter(name)
    for role in ("buyer", "seller"):
        for attribute in PARTY_FIELDS:
            handlers[f"{role}_{attribute}"] = _party_setter(role, attribute)
    return handlers


# ---- entry point -----------------------------------------------------------------------------


def _sample(lines: Iterator[str]) -> list[str]:
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if size >= CHUNK_BYTES or len(sample) >= HEADER_SEARCH_ROWS * 2:
            break
    return sample


def _numbered_rows(
    reader: Iterator[list[str]], line_num: Callable[[], int]
) -> Iterator[tuple[int, list[str]]]:
    """(first physical line of the record, cells); a quoted newline spans several lines."""
    previous = 0
    for row in reader:
        yield previous + 1, row
        previous = line_num()


def iter_csv_invoices(
    stream: BinaryIO | Iterable[bytes],
    *,
    column_mapping: dict[str, str] | None = None,
    default_seller_id: str | None = None,
    default_currency: str = "EUR",
    max_bytes: int | None = None,
) -> Iterator[CsvItem]:
    """Stream invoices and rejections out of a CSV file, one invoice in memory at a time.

    Args:
        stream: A binary file object, or an iterable of byte chunks (e.g. an S3 body).
        column_mapping: {"File Header": "canonical_field"}; wins over the built-in aliases.
        default_seller_id: Seller identity when the file has no seller columns.
        default_currency: Currency when the file has neither a currency column nor symbols.
        max_bytes: Stop with UnreadableDocumentError beyond this many bytes.

    Raises:
        UnreadableDocumentError: no header row, a required column missing, a bad mapping,
            binary content, or the size limit exceeded (possibly after some invoices).
    """
    mapping = validate_mapping(column_mapping)
    decoder = _Decoder()
    lines = _text_lines(_chunks(stream, max_bytes), decoder)
    sample = _sample(lines)
    if not any(line.strip() for line in sample):
        raise UnreadableDocumentError("The file is empty.")
    try:
        delimiter, header_row, found = _find_header(sample, mapping)
    except csv.Error as exc:
        raise UnreadableDocumentError(f"The CSV structure is broken near the top: {exc}.") from exc
    reader = csv.reader(itertools.chain(sample, lines), delimiter=delimiter)
    rows = _numbered_rows(reader, lambda: reader.line_num)
    try:
        preamble = list(itertools.islice(rows, header_row + 1))
        header_line, header = preamble[-1]
        layout = _layout(header, found, header_line)
        lookahead = list(itertools.islice(rows, LOOKAHEAD_ROWS))
        _learn_hints(layout, lookahead, delimiter)
        invoices = _CsvInvoiceReader(layout, default_seller_id, default_currency.upper())
        for line, row in itertools.chain(lookahead, rows):
            yield from invoices.feed(line, row)
        yield from invoices.close()
    except csv.Error as exc:
        raise UnreadableDocumentError(
            f"The CSV structure is broken near line {reader.line_num}: {exc}."
        ) from exc
