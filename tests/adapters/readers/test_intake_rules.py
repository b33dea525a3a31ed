"""The business rules the readers share: due date default, credit notes, identities, language."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.intake import (
    ParsedParty,
    buyer_key,
    default_language_for_country,
    due_date_or_terms,
    normalise_document_sign,
    seller_key,
)
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money

ISSUED = date(2026, 1, 31)


@pytest.mark.parametrize(
    ("due", "terms", "end_of_month", "expected"),
    [
        (date(2026, 2, 10), 60, False, date(2026, 2, 10)),  # a written due date always wins
        (None, 45, False, date(2026, 3, 17)),
        (None, 45, True, date(2026, 3, 31)),
        (None, 0, False, ISSUED),
        (None, None, False, date(2026, 3, 2)),  # nothing agreed: + 30 days (L441-10)
        (None, None, True, date(2026, 3, 2)),  # "end of month" means nothing without terms
    ],
)
def test_due_date_is_the_written_one_else_terms_else_thirty_days(
    due: date | None, terms: int | None, end_of_month: bool, expected: date
) -> None:
    assert due_date_or_terms(ISSUED, due, terms, end_of_month=end_of_month) == expected


def test_default_period_can_be_changed() -> None:
    assert due_date_or_terms(ISSUED, None, None, default_days=60) == date(2026, 4, 1)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_negative_invoice_becomes_a_credit_note_with_positive_amounts() -> None:
    assert normalise_document_sign(DocumentKind.INVOICE, eur(-1000), eur(-200), eur(-800)) == (
        DocumentKind.CREDIT_NOTE,
        eur(1000),
        eur(200),
        eur(800),
    )


def test_credit_note_listed_with_negative_amounts_stays_a_credit_note() -> None:
    kind, total, _, _ = normalise_document_sign(DocumentKind.CREDIT_NOTE, eur(-5), eur(0), eur(-5))

    assert (kind, total) == (DocumentKind.CREDIT_NOTE, eur(5))


def test_positive_documents_are_left_alone() -> None:
    amounts = (DocumentKind.INVOICE, eur(5), eur(0), eur(5))

    assert normalise_document_sign(*amounts) == amounts


@pytest.mark.parametrize(
    ("party", "default", "expected"),
    [
        (ParsedParty(name="Moi", vat_id="FR1", legal_id="123"), "d", "FR1"),
        (ParsedParty(name="Moi", legal_id="123"), "d", "123"),
        (ParsedParty(name="Moi"), "d", "Moi"),
        (ParsedParty(name="  "), "d", "d"),
        (ParsedParty(), None, "default"),
    ],
)
def test_seller_is_known_by_vat_then_legal_id_then_name_then_default(
    party: ParsedParty, default: str | None, expected: str
) -> None:
    assert seller_key(party, default) == expected


def test_buyer_is_known_by_its_strongest_identifier() -> None:
    assert buyer_key(ParsedParty(name="A", email="a@x.fr", vat_id="FR1")) == "FR1"
    assert buyer_key(ParsedParty(name="A", email="a@x.fr")) == "a@x.fr"
    assert buyer_key(ParsedParty(name="A")) == "A"
    assert buyer_key(ParsedParty()) is None


@pytest.mark.parametrize(
    ("country", "language"),
    [("FR", "fr"), ("be", "fr"), ("LU", "fr"), ("CH", "fr"), ("RE", "fr"), ("DE", "de"),
     ("AT", "de"), ("SE", "en"), ("US", "en"), (None, None)],
)  # fmt: skip
def test_language_defaults_from_the_country(country: str | None, language: str | None) -> None:
    assert default_language_for_country(country) == language
