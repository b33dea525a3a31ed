"""Babel formatting as the messages print it: exact CLDR spacing, French ordinals, fallbacks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.adapters.locale_format import BabelLocaleFormatter
from chalicelib.domain.money import Money

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def formatter() -> BabelLocaleFormatter:
    return BabelLocaleFormatter()


@pytest.mark.parametrize("locale", ["fr", "fr_FR", "fr-BE", "fr_CH"])
def test_french_amount_uses_cldr_no_break_spaces(formatter, locale):
    assert formatter.money(Money.parse("1234.56", "EUR"), locale) == f"1{NARROW_NBSP}234,56{NBSP}€"


@pytest.mark.parametrize("locale", ["en", "en_US", "en-GB"])
def test_english_amount_puts_the_symbol_first(formatter, locale):
    assert formatter.money(Money.parse("1234.56", "EUR"), locale) == "€1,234.56"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("1234", "JPY", "en", "¥1,234"),
        ("1234", "JPY", "fr", f"1{NARROW_NBSP}234{NBSP}JPY"),
        ("0.5", "EUR", "fr", f"0,50{NBSP}€"),
        ("1234567.8", "USD", "en", "$1,234,567.80"),
        ("12.345", "KWD", "en", "KWD12.345"),
    ],
)
def test_amount_keeps_the_currency_minor_units(formatter, amount, currency, locale, expected):
    assert formatter.money(Money.parse(amount, currency), locale) == expected


def test_french_long_date_spells_the_month(formatter):
    assert formatter.date(date(2026, 12, 15), "fr") == "15 décembre 2026"


def test_english_long_date_is_month_first(formatter):
    assert formatter.date(date(2026, 12, 15), "en") == "December 15, 2026"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("long", "1er décembre 2026"), ("full", "mardi 1er décembre 2026"), ("short", "01/12/2026")],
)
def test_french_first_of_the_month_is_an_ordinal_in_words_only(formatter, fmt, expected):
    assert formatter.date(date(2026, 12, 1), "fr", fmt) == expected


def test_english_first_of_the_month_stays_a_number(formatter):
    assert formatter.date(date(2026, 12, 1), "en_GB") == "1 December 2026"


def test_unknown_date_format_is_refused(formatter):
    with pytest.raises(ValueError, match="date format"):
        formatter.date(date(2026, 12, 15), "fr", "yyyy")


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (Decimal("0.1215"), "fr", f"12,15{NBSP}%"),
        (Decimal("0.1215"), "en", "12.15%"),
        (Decimal("0.1"), "fr", f"10{NBSP}%"),
        (Decimal("0.10575"), "en", "10.575%"),
    ],
)
def test_percent_keeps_the_rate_decimals(formatter, value, locale, expected):
    assert formatter.percent(value, locale) == expected


@pytest.mark.parametrize("locale", ["xx", "fr_XX", "not a locale", ""])
def test_unknown_locale_degrades_instead_of_failing(formatter, locale):
    text = formatter.money(Money.parse("1234.56", "EUR"), locale)

    assert text in ("€1,234.56", f"1{NARROW_NBSP}234,56{NBSP}€")


def test_region_the_data_lacks_falls_back_to_its_language(formatter):
    assert formatter.date(date(2026, 12, 15), "fr_XX") == "15 décembre 2026"
