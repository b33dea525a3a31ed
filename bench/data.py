"""Synthetic but realistic inputs: a portfolio CSV, distinct UBL and Factur-X documents."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
UBL_SAMPLE = SAMPLES / "einvoice" / "ubl" / "akretion-ubl-21-en16931.xml"
FACTURX_SAMPLE = SAMPLES / "facturx-pdf" / "akretion-invoice_EN16931.pdf"

SELLER_NAME = "Atelier Démo SAS"
SELLER_VAT = "FR40303265045"
CSV_HEADER = (
    "Invoice Number;Invoice Date;Due Date;Customer;Email;Phone;Country;VAT number;"
    "Total;Amount paid;Currency;Seller;Seller VAT"
)


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A CSV export of `invoices` open invoices over `customers` customers.

    Invoice `i` belongs to customer `customer_offset + i % customers`; every `due_every`-th
    invoice (none when None) is two days past its due date at `as_of`, the others fall due 10
    to 69 days after it. Amounts stay between 100 and 2,099 EUR, so no customer reaches the
    high-risk overdue threshold: due invoices get automatic reminders, not tasks.
    """

    invoices: int
    customers: int
    due_every: int | None
    as_of: date
    prefix: str = "P"
    customer_offset: int = 0

    def is_due(self, index: int) -> bool:
        return self.due_every is not None and index % self.due_every == 0

    @property
    def due_count(self) -> int:
        return 0 if self.due_every is None else len(range(0, self.invoices, self.due_every))

    def due_date(self, index: int) -> date:
        if self.is_due(index):
            return self.as_of - timedelta(days=2)
        return self.as_of + timedelta(days=10 + index % 60)

    def row(self, index: int) -> str:
        customer = self.customer_offset + index % self.customers
        due = self.due_date(index)
        issue = due - timedelta(days=30)
        amount = f"{100 + index % 2000},{index % 100:02d}"
        return (
            f"{self.prefix}-{index:07d};{issue.isoformat()};{due.isoformat()};"
            f"Client {customer:06d} SARL;compta{customer}@client{customer}.example;"
            f"+336{customer % 100_000_000:08d};FR;"
            f"FR{customer % 10**11:011d};{amount};0;EUR;{SELLER_NAME};{SELLER_VAT}"
        )

    def csv_bytes(self) -> bytes:
        lines = [CSV_HEADER, *(self.row(i) for i in range(self.invoices))]
        return ("\n".join(lines) + "\n").encode()


def portfolio(invoices: int, due_every: int, as_of: date, per_customer: int = 5) -> Portfolio:
    """About `per_customer` invoices per customer; due invoices fall on distinct customers.

    The customer count is made coprime with `due_every`, so invoice `k * due_every` belongs
    to a different customer for every k (one reminder message per due invoice).
    """
    customers = max(1, invoices // per_customer)
    while math.gcd(customers, due_every) != 1:
        customers += 1
    return Portfolio(invoices, customers, due_every, as_of)


def csv_file(invoices: int, customers: int, as_of: date, prefix: str = "C") -> bytes:
    """A CSV of invoices none of which is due at `as_of` (throughput runs)."""
    return Portfolio(invoices, customers, None, as_of, prefix, customer_offset=500_000).csv_bytes()


_UBL_ID = re.compile(rb"(<cbc:ID>)([^<]+)(</cbc:ID>)")


def ubl_documents(count: int, prefix: str = "UBL") -> list[bytes]:
    """`count` copies of a clean EN 16931 UBL invoice, each with its own number.

    The sample imports without warnings; the first `cbc:ID` of a UBL Invoice is its number.
    """
    template = UBL_SAMPLE.read_bytes()
    match = _UBL_ID.search(template)
    if match is None:
        raise ValueError(f"{UBL_SAMPLE}: no cbc:ID")
    return [
        template[: match.start(2)] + f"{prefix}-{i:06d}".encode() + template[match.end(2) :]
        for i in range(count)
    ]


def facturx_documents(count: int, prefix: str = "FX") -> list[bytes]:
    """`count` Factur-X PDFs: the akretion EN 16931 sample with distinct embedded numbers."""
    from facturx import generate_from_binary, get_xml_from_pdf

    pdf = FACTURX_SAMPLE.read_bytes()
    _, xml = get_xml_from_pdf(pdf, check_xsd=False)
    match = re.search(rb"(<rsm:ExchangedDocument>\s*<ram:ID>)([^<]+)(</ram:ID>)", xml)
    if match is None:
        raise ValueError(f"{FACTURX_SAMPLE}: no document ID in the embedded XML")
    documents = []
    for i in range(count):
        number = f"{prefix}-{i:06d}".encode()
        changed = xml[: match.start(2)] + number + xml[match.end(2) :]
        documents.append(
            bytes(generate_from_binary(pdf, changed, check_xsd=False, flavor="factur-x"))
        )
    return documents
