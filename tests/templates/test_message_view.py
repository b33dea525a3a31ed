"""build_message_view: what a reminder may truthfully say about a customer's invoices."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import DocumentKind
from chalicelib.domain.money import Money
from chalicelib.services.messages import (
    BankView,
    MessageView,
    build_message_view,
    formatting_locale,
    template_locale,
)
from tests.templates.builders import (
    PAY_URL,
    a_customer,
    a_message_view,
    an_invoice,
    two_invoices,
)


class PlainFormatter:
    """Formats without locale rules, so tests read the builder's choices, not CLDR's."""

    def __init__(self) -> None:
        self.locales: set[str] = set()

    def money(self, amount: Money, locale: str) -> str:
        self.locales.add(locale)
        return f"{amount.to_wire()} {amount.currency}"

    def date(self, d: date, locale: str, format: str = "long") -> str:
        self.locales.add(locale)
        return d.isoformat()

    def percent(self, value: Decimal, locale: str) -> str:
        self.locales.add(locale)
        return f"{value}"


def a_plain_view(step: str = "friendly", **overrides) -> MessageView:
    return a_message_view(step, formatter=PlainFormatter(), **overrides)


# --- consolidation ------------------------------------------------------------------------


def test_two_invoices_become_two_lines_oldest_first_and_one_total():
    view = a_plain_view(today=date(2026, 11, 11))

    assert [line.number for line in view.lines] == ["FAC-2026-0142", "FAC-2026-0157"]
    assert [line.amount_due for line in view.lines] == ["1234.56 EUR", "400.00 EUR"]
    assert [line.days_overdue for line in view.lines] == [10, 1]
    assert view.total_due == "1634.56 EUR"
    assert view.currency == "EUR"
    assert view.invoice_count == 2
    assert view.max_days_overdue == 10
    assert view.earliest_due_date == "2026-11-01"
    assert view.invoice_numbers == "FAC-2026-0142, FAC-2026-0157"


def test_lines_show_the_invoice_total_next_to_what_is_still_due():
    view = a_plain_view()

    assert [line.amount_total for line in view.lines] == ["1234.56 EUR", "480.00 EUR"]


def test_disputed_part_is_never_asked_for():
    first, second = sorted(two_invoices(), key=lambda inv: inv.due_date)
    disputed = replace(first, disputed_amount=Money.parse("234.56", "EUR"))

    view = a_plain_view(invoices=[disputed, second])

    assert view.lines[0].amount_due == "1000.00 EUR"
    assert view.total_due == "1400.00 EUR"


def test_days_before_the_due_date_are_negative():
    view = a_plain_view("courtesy", today=date(2026, 10, 29))

    assert [line.days_overdue for line in view.lines] == [-3, -12]
    assert view.max_days_overdue == -3


def test_dates_and_expiry_are_formatted_once_in_the_view():
    view = a_plain_view(today=date(2026, 11, 11), pay_url_expires=date(2026, 12, 11))

    assert view.today == "2026-11-11"
    assert view.pay_url_expires == "2026-12-11"
    assert view.lines[0].issue_date == "2026-10-02"
    assert view.lines[0].due_date == "2026-11-01"


def test_promise_confirmation_carries_the_promised_date():
    view = a_plain_view("promise_confirmation", promise_date=date(2026, 11, 30))

    assert view.promise_date == "2026-11-30"


def test_empty_seller_phone_means_no_phone():
    assert a_plain_view(seller_phone="").seller_phone is None


# --- language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer_locale", "template", "formatting"),
    [
        ("fr", "fr", "fr"),
        ("fr_FR", "fr", "fr_FR"),
        ("fr-BE", "fr", "fr_BE"),
        ("FR_ca", "fr", "fr_CA"),
        ("en", "en", "en"),
        ("en-GB", "en", "en_GB"),
        ("de_DE", "en", "en"),
        ("es", "en", "en"),
        ("fr_Latn_FR", "fr", "fr"),
        ("", "en", "en"),
        ("not a locale", "en", "en"),
    ],
)
def test_customer_locale_picks_template_language_and_formatting(
    customer_locale, template, formatting
):
    formatter = PlainFormatter()

    view = a_message_view(customer=a_customer(customer_locale), formatter=formatter)

    assert template_locale(customer_locale) == template
    assert formatting_locale(customer_locale) == formatting
    assert view.locale == template
    assert formatter.locales == {formatting}


# --- statutory claim ----------------------------------------------------------------------


def test_statutory_claim_adds_interest_and_indemnity_to_the_principal():
    view = a_plain_view("formal_notice")

    assert view.statutory is not None
    assert view.statutory.interest == "19.87 EUR"
    assert view.statutory.indemnity == "80.00 EUR"
    assert view.statutory.total_claim == "1734.43 EUR"
    assert view.statutory.rate == "0.1215"
    assert view.statutory.days_late == view.max_days_overdue


def test_claim_without_indemnity_totals_principal_and_interest():
    view = a_plain_view("formal_notice", indemnity=None)

    assert view.statutory is not None
    assert view.statutory.indemnity is None
    assert view.statutory.total_claim == "1654.43 EUR"


def test_no_interest_means_no_statutory_claim():
    view = a_plain_view("formal_notice", interest=None, indemnity=None, interest_rate_percent=None)

    assert view.statutory is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"interest_rate_percent": None}, "interest_rate_percent"),
        ({"interest": None}, "interest"),
        ({"interest": None, "indemnity": None}, "interest"),
        ({"interest_rate_percent": Decimal("1215")}, "interest_rate_percent"),
        ({"interest_rate_percent": Decimal("-1")}, "interest_rate_percent"),
        ({"interest": Money.parse("-1.00", "EUR")}, "statutory"),
        ({"indemnity": Money.parse("40.00", "USD")}, "statutory"),
    ],
)
def test_incomplete_or_inconsistent_statutory_claim_is_refused(overrides, field):
    with pytest.raises(ValidationError) as caught:
        a_plain_view("formal_notice", **overrides)

    assert caught.value.field == field


# --- bank transfer details ----------------------------------------------------------------


def test_bank_details_come_from_the_invoices_grouped_for_reading():
    view = a_plain_view()

    assert view.bank == BankView(
        iban="FR76 3000 6000 0112 3456 7890 189", reference="FAC-2026-0142 FAC-2026-0157"
    )


def test_shared_structured_reference_is_kept_as_is():
    invoices = [replace(inv, payment_reference="RF18539007547034") for inv in two_invoices()]

    view = a_plain_view(invoices=invoices)

    assert view.bank is not None
    assert view.bank.reference == "RF18539007547034"


def test_seller_iban_is_used_when_invoices_carry_none():
    invoices = [replace(inv, iban=None) for inv in two_invoices()]

    view = a_plain_view(invoices=invoices, seller_iban="fr76 1234 5678 9012 3456 7890 123")

    assert view.bank is not None
    assert view.bank.iban == "FR76 1234 5678 9012 3456 7890 123"


def test_no_iban_anywhere_means_no_bank_details():
    invoices = [replace(inv, iban=None) for inv in two_invoices()]

    assert a_plain_view(invoices=invoices).bank is None


# --- refusals -----------------------------------------------------------------------------


def test_no_invoice_is_refused():
    with pytest.raises(ValidationError) as caught:
        a_plain_view(invoices=[])

    assert caught.value.field == "invoices"


def test_another_customers_invoice_is_refused():
    stranger = replace(two_invoices()[0], customer_id="cus_someone_else")

    with pytest.raises(ValidationError, match="another customer") as caught:
        _build_with_raw_invoices([stranger])

    assert caught.value.field == "invoices"


def _build_with_raw_invoices(invoices):
    # a_message_view re-assigns invoices to its customer; build directly to keep the mismatch.
    return build_message_view(
        step_id="friendly",
        tone="standard",
        invoices=invoices,
        customer=a_customer(),
        seller_name="Atelier Dupont SARL",
        seller_email="compta@atelier-dupont.fr",
        seller_phone=None,
        pay_url=PAY_URL,
        pay_url_expires=date(2026, 12, 11),
        formatter=PlainFormatter(),
        today=date(2026, 11, 11),
    )


def test_mixed_currencies_are_refused():
    dollars = an_invoice(
        "US-1", issued=date(2026, 10, 1), due=date(2026, 11, 1), total="10.00", currency="USD"
    )

    with pytest.raises(ValidationError, match="currencies") as caught:
        a_plain_view(invoices=[*two_invoices(), dollars])

    assert caught.value.field == "invoices"


def test_credit_note_is_refused():
    credit = replace(two_invoices()[0], kind=DocumentKind.CREDIT_NOTE)

    with pytest.raises(ValidationError, match="credit note"):
        a_plain_view(invoices=[credit])


def test_erased_customer_gets_no_message():
    with pytest.raises(ValidationError) as caught:
        a_plain_view(customer=a_customer(erased=True))

    assert caught.value.field == "customer"


def test_unknown_tone_is_refused():
    with pytest.raises(ValidationError) as caught:
        a_plain_view(tone="angry")

    assert caught.value.field == "tone"


def test_promise_confirmation_without_a_date_is_refused():
    with pytest.raises(ValidationError) as caught:
        a_plain_view("promise_confirmation", promise_date=None)

    assert caught.value.field == "promise_date"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://pay.example/x",
        'https://pay.example/x" onclick="steal()',
        "https://pay.example/a b",
        "",
    ],
)
def test_pay_link_must_be_a_plain_http_url(url):
    with pytest.raises(ValidationError) as caught:
        a_plain_view(pay_url=url)

    assert caught.value.field == "pay_url"


def test_view_refuses_a_language_without_templates():
    view = a_plain_view()

    with pytest.raises(ValidationError) as caught:
        replace(view, locale="de")

    assert caught.value.field == "locale"


def test_view_without_any_line_is_refused():
    with pytest.raises(ValidationError) as caught:
        replace(a_plain_view(), lines=())

    assert caught.value.field == "lines"
