"""InvoiceSearch: filters pushed to the store, filters on pages, and exact cursor paging."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.invoices import Customer, Invoice, InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY
from chalicelib.services.invoice_search import InvoiceQuery, InvoiceSearch
from chalicelib.services.ports import InvoiceFilter, Page
from tests.fakes import FixedClock, InMemoryCustomerRepository, InMemoryInvoiceRepository

TODAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class ListFinder:
    """Applies the store filters in memory; its cursor is an offset, like a store page key."""

    def __init__(self, invoices: list[Invoice]) -> None:
        self.invoices = invoices
        self.calls: list[InvoiceFilter] = []

    def find(self, filters: InvoiceFilter, *, limit: int, cursor: str | None) -> Page[Invoice]:
        self.calls.append(filters)
        start = int(cursor or 0)
        chunk = self.invoices[start : start + limit]
        nxt = str(start + limit) if start + limit < len(self.invoices) else None
        kept = tuple(
            i
            for i in chunk
            if (filters.status is None or i.status == filters.status)
            and (filters.due_from is None or i.due_date >= filters.due_from)
            and (filters.due_to is None or i.due_date <= filters.due_to)
            and (filters.step_done is None or filters.step_done in i.steps_done)
            and (not filters.open_only or not i.is_closed)
        )
        return Page(kept, nxt)


def an_invoice(n: int, customer: str = "cus_a", **overrides: object) -> Invoice:
    base = Invoice(
        invoice_id=f"inv_{n:03d}",
        seller_id="s",
        number=f"F-{n}",
        customer_id=customer,
        issue_date=date(2026, 9, 1),
        due_date=date(2026, 10, 1),
        amount_total=Money.parse("100.00", "EUR"),
        amount_paid=Money.zero("EUR"),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def search_over(invoices: list[Invoice]) -> tuple[InvoiceSearch, ListFinder]:
    customers = InMemoryCustomerRepository()
    customers.save_new_batch(
        [
            Customer(customer_id="cus_a", seller_id="s", name="A", segment="strategic"),
            Customer(customer_id="cus_b", seller_id="s", name="B", segment="standard"),
        ]
    )
    repository = InMemoryInvoiceRepository()
    repository.save_new_batch(invoices)
    finder = ListFinder(invoices)
    search = InvoiceSearch(
        finder=finder,
        invoices=repository,
        customers=customers,
        policy_for=lambda _i: DEFAULT_FRENCH_B2B_POLICY,
        clock=FixedClock(TODAY),
    )
    return search, finder


def all_pages(search: InvoiceSearch, query: InvoiceQuery, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = search.invoices(query, limit=limit, cursor=cursor)
        pages.append([i.invoice_id for i in page.items])
        assert len(page.items) <= limit
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_filtered_pages_skip_nothing_and_repeat_nothing():
    invoices = [an_invoice(n, "cus_a" if n % 3 else "cus_b") for n in range(1, 23)]
    search, _ = search_over(invoices)
    expected = [i.invoice_id for i in invoices if i.customer_id == "cus_a"]

    for limit in (1, 2, 3, 5, 7, 50):
        pages = all_pages(search, InvoiceQuery(segment="strategic"), limit)
        assert [i for page in pages for i in page] == expected


def test_overdue_range_becomes_a_due_date_range_on_open_invoices():
    search, finder = search_over([an_invoice(1)])

    search.invoices(InvoiceQuery(min_days_overdue=30, max_days_overdue=60))

    assert finder.calls[-1] == InvoiceFilter(
        due_from=date(2026, 9, 24), due_to=date(2026, 10, 24), open_only=True
    )
    search.invoices(InvoiceQuery(status="paid", min_days_overdue=30))
    assert finder.calls[-1].open_only is False


def test_overdue_and_step_filters_select_the_right_invoices():
    invoices = [
        an_invoice(1, due_date=date(2026, 11, 20)),  # 3 days overdue
        an_invoice(2, due_date=date(2026, 10, 1), steps_done=("courtesy", "friendly")),  # 53
        an_invoice(3, due_date=date(2026, 8, 1), steps_done=("courtesy",)),  # 114
        an_invoice(4, due_date=date(2026, 8, 1), status=InvoiceStatus.PAID),
    ]
    search, _ = search_over(invoices)

    def ids(**query: object) -> list[str]:
        page = search.invoices(InvoiceQuery(**query))  # type: ignore[arg-type]
        return [i.invoice_id for i in page.items]

    assert ids(min_days_overdue=30) == ["inv_002", "inv_003"]
    assert ids(max_days_overdue=60) == ["inv_001", "inv_002"]
    assert ids(step="friendly") == ["inv_002"]
    assert ids(next_step="courtesy") == ["inv_001"]
    assert ids(next_step="friendly") == ["inv_003"]
    assert ids(next_step="firm") == ["inv_002"]


def test_number_lookup_applies_the_other_filters_too():
    invoices = [an_invoice(1), replace(an_invoice(2, "cus_b"), number="F-1")]
    search, _ = search_over(invoices)

    page = search.invoices(InvoiceQuery(number="F-1", segment="standard"))

    assert [i.invoice_id for i in page.items] == ["inv_002"]
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("query", "limit", "cursor", "field"),
    [
        (InvoiceQuery(status="lost"), 50, None, "status"),
        (InvoiceQuery(), 0, None, "limit"),
        (InvoiceQuery(), 201, None, "limit"),
        (InvoiceQuery(min_days_overdue=90, max_days_overdue=30), 50, None, "min_days_overdue"),
        (InvoiceQuery(max_days_overdue=10**6), 50, None, "max_days_overdue"),
        (InvoiceQuery(), 50, "not-a-cursor", "cursor"),
        (InvoiceQuery(), 50, "eyJjIjpudWxsLCJvIjo5OSwibCI6MX0", "cursor"),
    ],
)
def test_bad_filters_name_the_field(query, limit, cursor, field):
    search, _ = search_over([an_invoice(1)])

    with pytest.raises(ValidationError) as error:
        search.invoices(query, limit=limit, cursor=cursor)

    assert error.value.field == field
