"""CPU-only figures: the invoice readers, their parse-only ceilings, and the pure engine."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from chalicelib.adapters.holidays_calendar import HolidaysCalendar
from chalicelib.adapters.invoice_file_reader import LibraryInvoiceReader
from chalicelib.adapters.invoice_readers.xml_safety import make_parser
from chalicelib.domain.dunning import decide
from chalicelib.domain.intake import ParsedInvoice
from chalicelib.domain.invoices import Customer, Invoice, Segment, customer_id_for, invoice_id_for
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY
from chalicelib.domain.risk import PaymentHistory

MAX_BYTES = 50_000_000
MIN_CPU_S = 0.5
"""Short loops are repeated until they used at least this much CPU (timer resolution)."""


@dataclass(frozen=True, slots=True)
class Rate:
    """`units` processed in `cpu_s` seconds of process CPU (`time.process_time`)."""

    units: int
    cpu_s: float

    @property
    def per_cpu_s(self) -> float:
        return self.units / self.cpu_s if self.cpu_s > 0 else 0.0


def _measure(work: Callable[[], int], min_cpu_s: float) -> Rate:
    units, start = 0, time.process_time()
    while True:
        units += work()
        spent = time.process_time() - start
        if spent >= min_cpu_s:
            return Rate(units, spent)


def reader_rate(documents: Sequence[tuple[str, bytes]], min_cpu_s: float = MIN_CPU_S) -> Rate:
    """Invoices per CPU second through the app's reader (format detection, parsing, mapping)."""
    reader = LibraryInvoiceReader()

    def work() -> int:
        count = 0
        for name, data in documents:
            stream = reader.read(io.BytesIO(data), name, column_mapping=None, max_bytes=MAX_BYTES)
            count += sum(1 for item in stream.items if isinstance(item, ParsedInvoice))
        return count

    return _measure(work, min_cpu_s)


def csv_parse_ceiling(data: bytes, min_cpu_s: float = MIN_CPU_S) -> Rate:
    """Rows per CPU second through the stdlib csv module alone: no reader can beat it by much."""

    def work() -> int:
        rows = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=";")
        return sum(1 for _ in rows) - 1

    return _measure(work, min_cpu_s)


def xml_parse_ceiling(documents: Sequence[bytes], min_cpu_s: float = MIN_CPU_S) -> Rate:
    """Documents per CPU second through lxml's parser alone (same safe parser settings)."""
    from lxml import etree

    parser = make_parser()

    def work() -> int:
        for data in documents:
            etree.fromstring(data, parser)
        return len(documents)

    return _measure(work, min_cpu_s)


def pdf_parse_ceiling(documents: Sequence[bytes], min_cpu_s: float = MIN_CPU_S) -> Rate:
    """Documents per CPU second extracting the embedded XML (factur-x) and parsing it."""
    from facturx import get_xml_from_pdf
    from lxml import etree

    parser = make_parser()

    def work() -> int:
        for data in documents:
            _, xml = get_xml_from_pdf(data, check_xsd=False)
            etree.fromstring(xml, parser)
        return len(documents)

    return _measure(work, min_cpu_s)


# --- the engine --------------------------------------------------------------------------------


def decision_inputs(count: int, as_of: datetime) -> list[tuple[Invoice, Customer, PaymentHistory]]:
    """A mixed book for the engine.

    Every position relative to the policy's steps, pauses, disputes, promises, strategic
    customers, and the three reminder tones.
    """
    seller = "FR40303265045"
    histories = (
        PaymentHistory(),
        PaymentHistory(invoices_paid=6, paid_late=0),
        PaymentHistory(invoices_paid=6, paid_late=4, total_days_late=40),
    )
    steps = [s.step_id for s in DEFAULT_FRENCH_B2B_POLICY.steps]
    inputs = []
    for i in range(count):
        customer = Customer(
            customer_id=customer_id_for(seller, f"buyer-{i % 997}"),
            seller_id=seller,
            name=f"Client {i % 997}",
            email=f"ap{i % 997}@client.example",
            phone="+33612345678",
            country="FR",
            segment=Segment.STRATEGIC if i % 20 == 0 else Segment.STANDARD,
        )
        due = as_of.date() + timedelta(days=30 - i % 90)
        done = tuple(steps[: (i // 7) % 3]) if due < as_of.date() else ()
        invoice = Invoice(
            invoice_id=invoice_id_for(seller, f"D-{i:07d}"),
            seller_id=seller,
            number=f"D-{i:07d}",
            customer_id=customer.customer_id,
            issue_date=due - timedelta(days=30),
            due_date=due,
            amount_total=Money(100_00 + (i % 5000) * 100, "EUR"),
            amount_paid=Money(0, "EUR"),
            policy_id=DEFAULT_FRENCH_B2B_POLICY.policy_id,
            policy_version=DEFAULT_FRENCH_B2B_POLICY.version,
            steps_done=done,
            next_action_at=as_of - timedelta(minutes=5),
        )
        if i % 10 == 3:
            invoice = replace(invoice, paused=True)
        elif i % 20 == 7:
            invoice = replace(invoice, disputed_amount=invoice.amount_total)
        elif i % 25 == 11:
            invoice = replace(invoice, promise_date=as_of.date() - timedelta(days=3))
        inputs.append((invoice, customer, histories[i % 3]))
    return inputs


def decisions_rate(count: int, as_of: datetime | None = None, min_cpu_s: float = MIN_CPU_S) -> Rate:
    """`decide()` calls per CPU second over a mixed book (the pure engine only, no I/O)."""
    at = as_of or datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    inputs = decision_inputs(count, at)
    calendar = HolidaysCalendar()
    policy = DEFAULT_FRENCH_B2B_POLICY
    calendar.is_business_day("FR", date(at.year, 1, 1))  # load the holiday table outside timing

    def work() -> int:
        for invoice, customer, history in inputs:
            decide(invoice, customer, policy, history, at, calendar, 0)
        return len(inputs)

    return _measure(work, min_cpu_s)


def client_creation_ms(repeat: int = 10) -> float:
    """CPU milliseconds to build a botocore session and a DynamoDB client.

    That is what each new PynamoDB `Connection` costs on first use.
    """
    import botocore.session

    start = time.process_time()
    for _ in range(repeat):
        botocore.session.get_session().create_client("dynamodb", region_name="eu-west-1")
    return 1000 * (time.process_time() - start) / repeat
