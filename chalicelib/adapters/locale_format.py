"""Adapter: Babel (CLDR) implementation of the LocaleFormatter port."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_percent

from chalicelib.domain.money import Money
from chalicelib.services.messages import DEFAULT_LOCALE

# French writes the first day of a month as an ordinal ("1er décembre"); CLDR has no such rule.
_DAY_FIELD_RE = re.compile(r"(?<![A-Za-z'])d(?![A-Za-z'])")
_NAMED_FORMATS = frozenset({"short", "medium", "long", "full"})


@lru_cache(maxsize=64)
def _babel_locale(tag: str) -> Locale:
    """Parse a locale tag, degrading to its language, then to the default locale.

    A customer record may carry a region CLDR does not know ("fr_XX"); the message must
    still go out, formatted as the language would write it.
    """
    candidates = (tag.replace("-", "_"), tag.replace("-", "_").split("_", 1)[0], DEFAULT_LOCALE)
    for candidate in candidates:
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


class BabelLocaleFormatter:
    """Formats with CLDR data: "1 234,56 €" and "15 décembre 2026" in French.

    French output keeps the narrow no-break space (U+202F) between thousands and the
    no-break space (U+00A0) before "€" and "%", exactly as CLDR specifies, so amounts never
    wrap in the middle.
    """

    def money(self, amount: Money, locale: str) -> str:
        return format_currency(amount.to_decimal(), amount.currency, locale=_babel_locale(locale))

    def date(self, d: date, locale: str, format: str = "long") -> str:
        babel_locale = _babel_locale(locale)
        if d.day == 1 and babel_locale.language == "fr" and format in ("long", "full"):
            pattern = _DAY_FIELD_RE.sub("d'er'", babel_locale.date_formats[format].pattern)
            return format_date(d, format=pattern, locale=babel_locale)
        if format not in _NAMED_FORMATS:
            raise ValueError(f"date format must be one of {sorted(_NAMED_FORMATS)}: {format!r}")
        return format_date(d, format=format, locale=babel_locale)

    def percent(self, value: Decimal, locale: str) -> str:
        # CLDR's percent pattern has no decimals; a statutory rate of 12.15 % must not read 12 %.
        return format_percent(value, locale=_babel_locale(locale), decimal_quantization=False)
