"""Adapter helper: parse the amounts, dates and codes people type into spreadsheets.

Every pattern is compiled once at import: the CSV reader calls these per row.
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta
from decimal import Decimal

from chalicelib.adapters.invoice_readers._common import CURRENCY_SYMBOLS, fold
from chalicelib.domain.invoices import DocumentKind

# ---- amounts ---------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_AMOUNT = re.compile(
    r"^(?P<open>\()?(?P<s1>[-+\u2212])?(?P<pre>[A-Z]{3}|[A-Z]{0,2}\$|€|£|¥)?(?P<s2>[-+\u2212])?"
    r"(?P<num>[0-9][0-9.,]*|[.,][0-9]+)"
    r"(?P<post>[A-Z]{3}|€|£|¥|\$)?(?P<s3>-)?(?P<close>\))?$"
)
_DOLLAR_CURRENCIES = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD"})


class ValueFormatError(ValueError):
    """A cell that does not hold a value of the expected kind; the message is the reason."""


def _grouped(digits: str, separator: str) -> str:
    """Digits with a thousands separator: "1,234,567" -> "1234567"; bad grouping raises."""
    parts = digits.split(separator)
    if not (1 <= len(parts[0]) <= 3) or any(len(part) != 3 for part in parts[1:]):
        raise ValueFormatError(f"'{digits}' has thousands separators in the wrong places.")
    return "".join(parts)


def _number(num: str, decimal_comma: bool) -> Decimal:
    dots, commas = num.count("."), num.count(",")
    if dots and commas:
        decimal_sep = "." if num.rfind(".") > num.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        if num.count(decimal_sep) > 1:
            raise ValueFormatError(f"'{num}' has more than one decimal separator.")
        whole, fraction = num.split(decimal_sep)
        return Decimal(f"{_grouped(whole, thousands)}.{fraction}")
    if dots > 1 or commas > 1:
        return Decimal(_grouped(num, "." if dots else ","))
    if dots or commas:
        separator = "." if dots else ","
        whole, fraction = num.split(separator)
        ambiguous = len(fraction) == 3 and 1 <= len(whole) <= 3 and whole != "0"
        # "1,234" is 1234 in an English file and 1.234 in a French one; the file decides.
        if ambiguous and (separator == ",") != decimal_comma:
            return Decimal(whole + fraction)
        return Decimal(f"{whole or '0'}.{fraction}")
    return Decimal(num)


@functools.lru_cache(maxsize=4096)
def parse_amount(text: str, decimal_comma: bool) -> tuple[Decimal, str | None]:
    """Parse "1 234,56", "1.234,56 €", "$1,234.56", "(12.00)", "EUR 100", "100-".

    Args:
        text: The cell, non-empty.
        decimal_comma: How to read a lone separator followed by three digits ("1,234").

    Returns:
        The amount and the currency its symbol or code implies, if any.

    Raises:
        ValueFormatError: not an amount.
    """
    compact = _SPACES.sub("", text).upper()
    match = _AMOUNT.match(compact)
    if match is None or bool(match["open"]) != bool(match["close"]):
        raise ValueFormatError(
            f"'{text}' is not an amount; write it like 1234.56, 1 234,56 or 1,234.56."
        )
    if match["pre"] and match["post"]:
        raise ValueFormatError(f"'{text}' names a currency twice.")
    value = _number(match["num"], decimal_comma)
    negative_marks = [m for m in (match["s1"], match["s2"], match["s3"]) if m in ("-", "\u2212")]
    if len(negative_marks) > 1 or (negative_marks and match["open"]):
        raise ValueFormatError(f"'{text}' has more than one minus sign.")
    if negative_marks or match["open"]:
        value = -value
    symbol = match["pre"] or match["post"]
    return value, (CURRENCY_SYMBOLS.get(symbol, symbol) if symbol else None)


def currency_of_symbol(code: str, default_currency: str) -> str:
    """Read "$" as US dollars unless the upload's default currency is another dollar."""
    if code == "USD" and default_currency in _DOLLAR_CURRENCIES:
        return default_currency
    return code


# ---- dates -----------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?:[T ,].*)?$")
_TIME_SUFFIX = re.compile(r"(?:[\sT,]+|\s*\bat\s+|\s*\bà\s+)\d{1,2}[:h]\d{2}.*$", re.IGNORECASE)
_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er)?[\s\-./]*([^\W\d_]+)\.?[\s\-./,]*(\d{4})$")
_MONTH_FIRST = re.compile(r"^([^\W\d_]+)\.?[\s\-./]*(\d{1,2})(?:st|nd|rd|th)?,?[\s\-./]*(\d{4})$")
_WEEKDAY = re.compile(
    r"^(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lundi|mardi|mercredi"
    r"|jeudi|vendredi|samedi|dimanche|montag|dienstag|mittwoch|donnerstag|freitag|samstag"
    r"|sonntag)\.?,?|[a-z]{2,4}\.?,)\s+",
    re.IGNORECASE,
)
_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "janvier", "janv", "januar", "janner"),
            ("feb", "february", "fevrier", "fevr", "fev", "februar"),
            ("mar", "march", "mars", "marz", "maerz", "mrz"),
            ("apr", "april", "avril", "avr"),
            ("may", "mai"),
            ("jun", "june", "juin", "juni"),
            ("jul", "july", "juillet", "juil", "juli"),
            ("aug", "august", "aout"),
            ("sep", "sept", "september", "septembre"),
            ("oct", "october", "octobre", "okt", "oktober"),
            ("nov", "november", "novembre"),
            ("dec", "december", "decembre", "dez", "dezember"),
        ),
        start=1,
    )
    for name in names
}

DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueFormatError(f"'{text}' is not a valid calendar date.") from None


def _numeric_date(match: re.Match[str], order: str, text: str) -> date:
    first, separator, second, year_text = match.group(1, 2, 3, 4)
    a, b = int(first), int(second)
    # Two-digit years are this century: invoices are not from the 1900s.
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    if separator == "." or a > 12 >= b:
        return _make_date(year, b, a, text)
    if b > 12 >= a:
        return _make_date(year, a, b, text)
    if a > 12 and b > 12:
        raise ValueFormatError(f"'{text}' is not a valid date: neither part can be the month.")
    if order == MONTH_FIRST:
        return _make_date(year, a, b, text)
    return _make_date(year, b, a, text)


def _month(name: str, text: str) -> int:
    month = _MONTHS.get(fold(name).rstrip("."))
    if month is None:
        raise ValueFormatError(f"'{text}' is not a date: unknown month '{name}'.")
    return month


def _textual_date(text: str) -> date | None:
    value = _WEEKDAY.sub("", text)
    match = _DAY_FIRST.match(value)
    if match:
        return _make_date(int(match[3]), _month(match[2], text), int(match[1]), text)
    match = _MONTH_FIRST.match(value)
    if match:
        return _make_date(int(match[3]), _month(match[1], text), int(match[2]), text)
    return None


@functools.lru_cache(maxsize=4096)
def parse_date(text: str, order: str = DAY_FIRST) -> date:
    """Parse ISO, dd/mm/yyyy, mm/dd/yyyy, dd.mm.yyyy, "Nov 23, 2026", "23 nov. 2026"...

    Slash or dash dates are day-first (French) unless a part above 12 proves otherwise or
    `order` is MONTH_FIRST; dotted dates are always day-first (German). A time part is ignored.
    A five-digit number is an Excel serial date.

    Raises:
        ValueFormatError: not a date.
    """
    value = text.strip()
    match = _ISO.match(value)
    if match:
        return _make_date(int(match[1]), int(match[2]), int(match[3]), text)
    match = _NUMERIC.match(value)
    if match:
        return _numeric_date(match, order, text)
    match = _COMPACT.match(value)
    if match:
        return _make_date(int(match[1]), int(match[2]), int(match[3]), text)
    match = _EXCEL_SERIAL.match(value)
    if match:
        return _EXCEL_EPOCH + timedelta(days=int(match[1]))
    parsed = _textual_date(_TIME_SUFFIX.sub("", value))
    if parsed is None:
        raise ValueFormatError(
            f"'{text}' is not a date; write it like 2026-11-23, 23/11/2026 or Nov 23, 2026."
        )
    return parsed


def date_order_evidence(text: str) -> str | None:
    """Which order a slash date proves (DAY_FIRST, MONTH_FIRST), or None if it proves neither."""
    match = _NUMERIC.match(text.strip())
    if match is None or match[2] == ".":
        return None
    a, b = int(match[1]), int(match[3])
    if a > 12 >= b:
        return DAY_FIRST
    if b > 12 >= a:
        return MONTH_FIRST
    return None


_COMMA_DECIMAL = re.compile(r"\d,\d{1,2}(?:\D*)$|\d\.\d{3},\d")
_POINT_DECIMAL = re.compile(r"\d\.\d{1,2}(?:\D*)$|\d,\d{3}\.\d")


def decimal_evidence(text: str) -> bool | None:
    """True if an amount proves a decimal comma, False a decimal point, None neither."""
    value = text.strip()
    if _COMMA_DECIMAL.search(value):
        return True
    if _POINT_DECIMAL.search(value):
        return False
    return None


# ---- terms, kinds, statuses ------------------------------------------------------------------

_TERMS = re.compile(
    r"^(?:net\s*)?(\d{1,4})\s*(?:j|jours?|d|days?|tage?n?)?\.?\s*"
    r"(fin de mois|fdm|end of month|eom|le \d{1,2})?\s*(?:net)?$"
)
_IMMEDIATE = frozenset(
    {"a reception", "due on receipt", "upon receipt", "on receipt", "comptant", "immediate",
     "immediat", "immediately", "cash", "sofort"}
)  # fmt: skip


def parse_terms(text: str) -> tuple[int, bool]:
    """Payment terms in days: "30", "Net 30", "30 jours", "45 jours fin de mois", "à réception".

    Returns:
        The number of days and whether they run to the end of the month.

    Raises:
        ValueFormatError: not a payment period.
    """
    value = fold(text.strip())
    if value in _IMMEDIATE:
        return 0, False
    match = _TERMS.match(value)
    if match is None or (match[2] or "").startswith("le "):
        raise ValueFormatError(
            f"'{text}' is not a payment period; write a number of days such as 30, "
            '"Net 30" or "45 jours fin de mois".'
        )
    return int(match[1]), match[2] is not None


_CREDIT_WORDS = frozenset(
    {"credit note", "credit", "creditnote", "credit memo", "avoir", "note de credit", "refund",
     "cn", "381", "facture d avoir", "remboursement"}
)  # fmt: skip
_INVOICE_WORDS = frozenset(
    {"invoice", "facture", "inv", "bill", "380", "rechnung", "fa", "fac", "sales invoice",
     "tax invoice", "facture de vente"}
)  # fmt: skip
_NON_WORD = re.compile(r"[^a-z0-9]+")


def parse_kind(text: str) -> DocumentKind:
    """Invoice or credit note from a "Type" cell ("Avoir", "Credit note", "381", "Facture")."""
    value = _NON_WORD.sub(" ", fold(text)).strip()
    if value in _CREDIT_WORDS:
        return DocumentKind.CREDIT_NOTE
    if value in _INVOICE_WORDS:
        return DocumentKind.INVOICE
    raise ValueFormatError(
        f"'{text}' is not a known document type; use invoice/facture or credit note/avoir."
    )


PAID = "paid"
DRAFT = "draft"
CANCELLED = "cancelled"
_STATUSES = {
    **dict.fromkeys(("paid", "payee", "reglee", "soldee", "acquittee", "closed", "bezahlt"), PAID),
    **dict.fromkeys(("draft", "brouillon", "entwurf"), DRAFT),
    **dict.fromkeys(
        ("void", "voided", "cancelled", "canceled", "annulee", "deleted", "supprimee", "storniert"),
        CANCELLED,
    ),
}


def status_class(text: str) -> str | None:
    """PAID, DRAFT, CANCELLED, or None for statuses that do not change the import."""
    return _STATUSES.get(_NON_WORD.sub(" ", fold(text)).strip())
