"""Matching provider events to invoices, allocation, and RF creditor references."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import DocumentKind, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.payments import (
    Allocation,
    AllocationLine,
    MatchMethod,
    PaymentEvent,
    PaymentEventKind,
    UnallocatedReason,
    allocate_by_payment,
    is_valid_rf,
    match_invoices,
    rf_reference_for,
    rf_references_in,
)

from .builders import a_customer, an_event, an_invoice, eur

Kind = PaymentEventKind

# --- RF creditor references -------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    ["RF18539007547034", "RF18 5390 0754 7034", "rf18539007547034", " RF18 5390 0754 7034 "],
)
def test_known_valid_rf_reference_is_valid_in_every_written_form(reference: str) -> None:
    assert is_valid_rf(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "RF19539007547034",  # wrong check digits
        "RF18539007547035",  # body changed
        "RF18",  # no body
        "RF00539007547034",
        "RF01539007547034",
        "RF99539007547034",
        "RF18" + "1" * 22,  # body longer than 21
        "RF18-5390-0754-7034",
        "XX18539007547034",
        "RF1853900754703４",  # full-width digit
        "",
    ],
)
def test_invalid_rf_references_are_refused(reference: str) -> None:
    assert not is_valid_rf(reference)


def test_rf_reference_for_the_iso_example_body_gives_the_iso_example() -> None:
    assert rf_reference_for("539007547034") == "RF18539007547034"


def test_rf_reference_keeps_only_letters_and_digits_of_the_number() -> None:
    reference = rf_reference_for("F-2026/0042")

    assert reference == "RF69F20260042"
    assert is_valid_rf(reference)


def test_rf_reference_drops_letters_outside_iso_11649() -> None:
    assert rf_reference_for("Ü-1") == rf_reference_for("1")


@pytest.mark.parametrize("number", ["", "--/", "A" * 22, "ÉÈ"])
def test_rf_reference_for_unusable_numbers_is_refused(number: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        rf_reference_for(number)

    assert excinfo.value.field == "invoice_number"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21))
def test_every_generated_rf_reference_passes_the_check(body: str) -> None:
    reference = rf_reference_for(body)

    assert is_valid_rf(reference)
    assert reference[4:] == body


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21),
    st.integers(min_value=0),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
)
def test_a_single_mistyped_character_is_always_caught(body: str, index: int, char: str) -> None:
    # ISO 7064 MOD 97-10 catches every substitution within a class (digit for digit, letter for
    # letter: the value moves by less than 97 times a power of ten). A letter for a digit
    # changes the expanded length, which the check does not guarantee to catch.
    reference = rf_reference_for(body)
    position = 4 + index % len(body)
    assume(reference[position].isdigit() == char.isdigit())
    mistyped = reference[:position] + char + reference[position + 1 :]

    assert is_valid_rf(mistyped) == (mistyped == reference)


def test_rf_references_in_text_finds_printed_and_compact_forms() -> None:
    text = "Paiement facture RF18 5390 0754 7034 et rf69f20260042, merci. RF19 0000 bad"

    assert rf_references_in(text) == {"RF18539007547034", "RF69F20260042"}


# --- matching order ---------------------------------------------------------------------------

A = an_invoice("F-2026-0001", total="100.00", due=date(2026, 1, 10), payment_reference=None)
B = an_invoice(
    "F-2026-0002", total="250.00", due=date(2026, 1, 20), payment_reference="RF18539007547034"
)
C = an_invoice("F-2026-0003", total="80.00", due=date(2026, 1, 30), customer_id="cus_b")
CANDIDATES = (A, B, C)
CUSTOMERS = (a_customer("cus_a", "ap@client.example"), a_customer("cus_b", "b@other.example"))


@dataclass(frozen=True)
class Row:
    name: str
    event: PaymentEvent
    method: MatchMethod
    invoices: tuple[str, ...]
    reason: UnallocatedReason | None = None


MATCHING_TABLE = [
    Row("invoice id in metadata", an_event(amount="100.00", refs=(A.invoice_id,)),
        MatchMethod.INVOICE_REFERENCE, (A.invoice_id,)),
    Row("invoice number in metadata, other case", an_event(amount="250.00", refs=("f-2026-0002",)),
        MatchMethod.INVOICE_REFERENCE, (B.invoice_id,)),
    Row("metadata wins over a reference in the text",
        an_event(amount="100.00", refs=(A.invoice_id,), remittance="RF18539007547034"),
        MatchMethod.INVOICE_REFERENCE, (A.invoice_id,)),
    Row("unknown metadata ref falls through to the text",
        an_event(amount="250.00", refs=("inv_unknown",), remittance="RF18 5390 0754 7034"),
        MatchMethod.CREDITOR_REFERENCE, (B.invoice_id,)),
    Row("RF reference equal to the invoice's payment reference",
        an_event(amount="250.00", remittance="Virement RF18 5390 0754 7034"),
        MatchMethod.CREDITOR_REFERENCE, (B.invoice_id,)),
    Row("RF wins over an invoice number in the same text",
        an_event(amount="250.00", remittance="F-2026-0001 RF18539007547034"),
        MatchMethod.CREDITOR_REFERENCE, (B.invoice_id,)),
    Row("RF with wrong check digits matches nothing, number still does",
        an_event(amount="100.00", remittance="RF19539007547034 F-2026-0001"),
        MatchMethod.REMITTANCE_NUMBER, (A.invoice_id,)),
    Row("invoice number as a whole token",
        an_event(amount="100.00", remittance="Facture F-2026-0001."),
        MatchMethod.REMITTANCE_NUMBER, (A.invoice_id,)),
    Row("invoice number inside a longer token does not match",
        an_event(amount="55.00", remittance="F-2026-00012"),
        MatchMethod.UNALLOCATED, (), UnallocatedReason.NO_MATCH),
    Row("exact amount for the payer's customer", an_event(amount="80.00", email="B@Other.example"),
        MatchMethod.AMOUNT_AND_CUSTOMER, (C.invoice_id,)),
    Row("exact amount but another customer's email",
        an_event(amount="80.00", email="ap@client.example"),
        MatchMethod.UNALLOCATED, (), UnallocatedReason.NO_MATCH),
    Row("amount only, no email", an_event(amount="80.00"),
        MatchMethod.UNALLOCATED, (), UnallocatedReason.NO_MATCH),
    Row("nothing to go on", an_event(amount="12.34", remittance="thanks"),
        MatchMethod.UNALLOCATED, (), UnallocatedReason.NO_MATCH),
]  # fmt: skip


@pytest.mark.parametrize("row", MATCHING_TABLE, ids=[row.name for row in MATCHING_TABLE])
def test_matching_rules_apply_in_order(row: Row) -> None:
    allocation = match_invoices(row.event, CANDIDATES, CUSTOMERS)

    assert allocation.method == row.method
    assert allocation.invoice_ids == row.invoices
    assert allocation.reason == row.reason


def test_two_open_invoices_with_the_same_amount_are_ambiguous() -> None:
    twin = an_invoice("F-2026-0009", total="100.00", due=date(2026, 1, 12))

    allocation = match_invoices(
        an_event(amount="100.00", email="ap@client.example"), (A, twin), CUSTOMERS
    )

    assert allocation.method == MatchMethod.UNALLOCATED
    assert allocation.reason == UnallocatedReason.AMBIGUOUS
    assert allocation.unallocated == eur("100.00")


def test_amount_match_skips_paid_invoices_and_credit_notes() -> None:
    paid = an_invoice("F-2026-0007", total="100.00", paid="100.00")
    credit_note = an_invoice("AV-2026-0001", total="100.00", kind=DocumentKind.CREDIT_NOTE)

    allocation = match_invoices(
        an_event(amount="100.00", email="ap@client.example"), (A, paid, credit_note), CUSTOMERS
    )

    assert allocation.method == MatchMethod.AMOUNT_AND_CUSTOMER
    assert allocation.invoice_ids == (A.invoice_id,)


def test_short_invoice_numbers_are_not_searched_in_free_text() -> None:
    tiny = an_invoice("12", total="12.00")

    allocation = match_invoices(an_event(amount="12.00", remittance="order 12 of 2026"), (tiny,))

    assert allocation.method == MatchMethod.UNALLOCATED


# --- allocation -------------------------------------------------------------------------------


def test_payment_over_several_invoices_pays_the_oldest_due_first() -> None:
    allocation = match_invoices(
        an_event(amount="300.00", refs=(B.invoice_id, A.invoice_id)), CANDIDATES
    )

    assert allocation.lines == (
        AllocationLine(A.invoice_id, eur("100.00")),
        AllocationLine(B.invoice_id, eur("200.00")),
    )
    assert allocation.credit is None


def test_partially_paid_invoice_receives_only_what_it_still_owes() -> None:
    partial = an_invoice("F-2026-0005", total="100.00", paid="60.00", due=date(2026, 1, 1))

    allocation = match_invoices(
        an_event(amount="100.00", refs=(partial.number, B.number)), (partial, B)
    )

    assert allocation.lines == (
        AllocationLine(partial.invoice_id, eur("40.00")),
        AllocationLine(B.invoice_id, eur("60.00")),
    )


def test_overpayment_becomes_credit_for_the_invoices_customer() -> None:
    allocation = match_invoices(an_event(amount="130.00", refs=(A.invoice_id,)), CANDIDATES)

    assert allocation.lines == (AllocationLine(A.invoice_id, eur("100.00")),)
    assert allocation.credit == eur("30.00")
    assert allocation.customer_id == "cus_a"
    assert allocation.is_allocated


def test_payment_for_an_already_paid_invoice_is_all_credit() -> None:
    paid = an_invoice("F-2026-0006", total="100.00", paid="100.00")

    allocation = match_invoices(an_event(amount="100.00", refs=(paid.number,)), (paid,))

    assert allocation.method == MatchMethod.INVOICE_REFERENCE
    assert allocation.lines == ()
    assert allocation.credit == eur("100.00")
    assert allocation.customer_id == paid.customer_id


@pytest.mark.parametrize(
    "invoice",
    [
        an_invoice("F-2026-0010", status=InvoiceStatus.CANCELLED),
        an_invoice("F-2026-0011", status=InvoiceStatus.WRITTEN_OFF),
        an_invoice("AV-2026-0002", kind=DocumentKind.CREDIT_NOTE),
    ],
)
def test_documents_that_cannot_be_paid_receive_nothing(invoice: Invoice) -> None:
    allocation = match_invoices(an_event(amount="100.00", refs=(invoice.number,)), (invoice,))

    assert allocation.lines == ()
    assert allocation.credit == eur("100.00")


def test_payment_in_another_currency_is_unallocated_with_reason() -> None:
    allocation = match_invoices(
        an_event(amount="100.00", currency="USD", refs=(A.invoice_id,)), CANDIDATES
    )

    assert allocation == Allocation(
        method=MatchMethod.UNALLOCATED,
        unallocated=Money(10000, "USD"),
        reason=UnallocatedReason.CURRENCY_MISMATCH,
    )
    assert not allocation.is_allocated


def test_currencies_are_never_mixed_across_referenced_invoices() -> None:
    usd = an_invoice("US-2026-0001", total="50.00", currency="USD", due=date(2025, 12, 1))

    allocation = match_invoices(an_event(amount="100.00", refs=(usd.number, A.number)), (usd, A))

    assert allocation.lines == (AllocationLine(A.invoice_id, eur("100.00")),)


def test_amount_match_requires_the_same_currency() -> None:
    allocation = match_invoices(
        an_event(amount="80.00", currency="USD", email="b@other.example"), CANDIDATES, CUSTOMERS
    )

    assert allocation.reason == UnallocatedReason.NO_MATCH


# --- events without an amount (GoCardless) ----------------------------------------------------


def test_payment_without_amount_for_one_invoice_settles_its_amount_due() -> None:
    partial = an_invoice("F-2026-0005", total="100.00", paid="60.00")

    allocation = match_invoices(
        an_event(amount=None, refs=(partial.invoice_id,), provider="gocardless"), (partial,)
    )

    assert allocation.lines == (AllocationLine(partial.invoice_id, eur("40.00")),)
    assert allocation.amount_assumed


def test_payment_without_amount_for_several_invoices_is_amount_unknown() -> None:
    allocation = match_invoices(an_event(amount=None, refs=(A.number, B.number)), CANDIDATES)

    assert allocation.method == MatchMethod.UNALLOCATED
    assert allocation.reason == UnallocatedReason.AMOUNT_UNKNOWN
    assert allocation.unallocated is None


def test_refund_without_amount_is_never_guessed() -> None:
    paid = an_invoice("F-2026-0006", total="100.00", paid="100.00")

    allocation = match_invoices(an_event(Kind.REFUNDED, amount=None, refs=(paid.number,)), (paid,))

    assert allocation.reason == UnallocatedReason.AMOUNT_UNKNOWN


# --- other kinds ------------------------------------------------------------------------------


def test_ignored_events_are_not_applicable() -> None:
    allocation = match_invoices(an_event(Kind.IGNORED, amount=None, refs=(A.number,)), CANDIDATES)

    assert allocation.reason == UnallocatedReason.NOT_APPLICABLE
    assert allocation.lines == ()


def test_failed_payment_locates_invoices_with_zero_amounts() -> None:
    allocation = match_invoices(
        an_event(Kind.PAYMENT_FAILED, amount="350.00", refs=(B.number, A.number)), CANDIDATES
    )

    assert allocation.lines == (
        AllocationLine(A.invoice_id, eur("0")),
        AllocationLine(B.invoice_id, eur("0")),
    )


def test_failed_payment_is_not_matched_by_amount_alone() -> None:
    allocation = match_invoices(
        an_event(Kind.PAYMENT_FAILED, amount="80.00", email="b@other.example"),
        CANDIDATES,
        CUSTOMERS,
    )

    assert allocation.reason == UnallocatedReason.NO_MATCH


def test_refund_located_by_reference_takes_newest_due_first_capped_by_totals() -> None:
    # The payment may not be known yet: caps are the totals, settlement nets the rest later.
    allocation = match_invoices(
        an_event(Kind.REFUNDED, amount="300.00", refs=(A.number, B.number)), CANDIDATES
    )

    assert allocation.lines == (
        AllocationLine(B.invoice_id, eur("250.00")),
        AllocationLine(A.invoice_id, eur("50.00")),
    )
    assert allocation.unallocated is None


def test_reversal_larger_than_the_invoices_leaves_the_rest_unallocated() -> None:
    allocation = match_invoices(
        an_event(Kind.CHARGEBACK_LOST, amount="150.00", refs=(A.number,)), CANDIDATES
    )

    assert allocation.lines == (AllocationLine(A.invoice_id, eur("100.00")),)
    assert allocation.unallocated == eur("50.00")
    assert allocation.credit is None


# --- pairing with a known payment -------------------------------------------------------------


def paid_pair() -> list[tuple[Invoice, Money]]:
    old = an_invoice("F-2026-0001", total="100.00", paid="100.00", due=date(2026, 1, 10))
    new = an_invoice("F-2026-0002", total="250.00", paid="200.00", due=date(2026, 1, 20))
    return [(old, eur("100.00")), (new, eur("200.00"))]


def test_refund_of_a_known_payment_is_taken_newest_due_first() -> None:
    allocation = allocate_by_payment(an_event(Kind.REFUNDED, amount="250.00"), paid_pair())

    assert allocation.method == MatchMethod.PAYMENT_PAIRING
    assert allocation.lines == (
        AllocationLine("inv_f-2026-0002", eur("200.00")),
        AllocationLine("inv_f-2026-0001", eur("50.00")),
    )


def test_chargeback_without_amount_takes_back_everything_the_payment_paid() -> None:
    allocation = allocate_by_payment(
        an_event(Kind.CHARGEBACK_LOST, amount=None, provider="gocardless"), paid_pair()
    )

    assert allocation.lines == (
        AllocationLine("inv_f-2026-0002", eur("200.00")),
        AllocationLine("inv_f-2026-0001", eur("100.00")),
    )


def test_refund_without_amount_of_a_known_payment_stays_unknown() -> None:
    allocation = allocate_by_payment(an_event(Kind.REFUNDED, amount=None), paid_pair())

    assert allocation.reason == UnallocatedReason.AMOUNT_UNKNOWN


def test_repeated_success_of_a_known_payment_replays_the_same_split() -> None:
    allocation = allocate_by_payment(an_event(amount="300.00", event_id="evt_2"), paid_pair())

    assert allocation.lines == (
        AllocationLine("inv_f-2026-0001", eur("100.00")),
        AllocationLine("inv_f-2026-0002", eur("200.00")),
    )
    assert allocation.credit is None


def test_paired_event_in_another_currency_is_unallocated() -> None:
    allocation = allocate_by_payment(
        an_event(Kind.REFUNDED, amount="10.00", currency="USD"), paid_pair()
    )

    assert allocation.reason == UnallocatedReason.CURRENCY_MISMATCH


def test_pairing_with_no_paid_invoice_is_not_applicable() -> None:
    allocation = allocate_by_payment(an_event(Kind.REFUNDED, amount="10.00"), [])

    assert allocation.reason == UnallocatedReason.NOT_APPLICABLE


def test_failed_retry_of_a_known_payment_locates_its_invoices() -> None:
    allocation = allocate_by_payment(an_event(Kind.PAYMENT_FAILED, amount="300.00"), paid_pair())

    assert [line.amount for line in allocation.lines] == [eur("0"), eur("0")]


# --- event invariants -------------------------------------------------------------------------


def test_event_time_must_carry_a_timezone() -> None:
    from datetime import datetime

    with pytest.raises(ValidationError) as excinfo:
        an_event(at=datetime(2026, 2, 1, 9, 0))

    assert excinfo.value.field == "occurred_at"


def test_event_amount_is_never_negative() -> None:
    with pytest.raises(ValidationError) as excinfo:
        an_event(amount="-1.00")

    assert excinfo.value.field == "amount"


@pytest.mark.parametrize(
    "kind", [Kind.REFUNDED, Kind.CHARGEBACK_OPENED, Kind.CHARGEBACK_WON, Kind.CHARGEBACK_LOST]
)
def test_reversals_need_the_payment_they_reverse(kind: PaymentEventKind) -> None:
    with pytest.raises(ValidationError) as excinfo:
        an_event(kind, payment_id=None)

    assert excinfo.value.field == "provider_payment_id"


def test_events_without_payment_id_are_keyed_by_event() -> None:
    assert an_event(payment_id=None, event_id="evt_9").ledger_key == "stripe:event:evt_9"
    assert an_event(payment_id="pi_9").ledger_key == "stripe:pi_9"
