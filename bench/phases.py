"""The bench's phases: CPU-only rates, then everything against one in-process emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import cpu
from bench.data import (
    SELLER_VAT,
    Portfolio,
    csv_file,
    facturx_documents,
    portfolio,
    ubl_documents,
)
from bench.fill import fill_invoices
from bench.meter import Tally
from bench.stack import Emulator, emulator
from bench.workloads import (
    IngestRun,
    PlannerRun,
    WebhookRun,
    WorkerRun,
    ingest_files,
    payments_available,
    redeliver,
    run_planner,
    run_webhooks,
    run_workers,
    take_messages,
)
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.domain.invoices import Invoice, invoice_id_for

AS_OF = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
"""A Tuesday, 10:00 in Paris: inside the send window, no public holiday."""
DUE_SHARE = 100
"""1 % of the portfolio is due."""
WEBHOOK_PROVIDERS = ("generic", "stripe")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each phase does; `--quick` shrinks everything for the smoke test."""

    csv_rows_cpu: int
    ubl_docs_cpu: int
    facturx_docs_cpu: int
    decisions: int
    min_cpu_s: float
    emulator_portfolio: int
    target_portfolio: int
    webhooks_per_provider: int
    csv_rows_emulator: int
    ubl_files_emulator: int
    facturx_files_emulator: int
    import_runs: int
    import_runs_no_pyc: int


FULL = Sizes(
    csv_rows_cpu=20_000,
    ubl_docs_cpu=300,
    facturx_docs_cpu=40,
    decisions=20_000,
    min_cpu_s=1.0,
    emulator_portfolio=2_000,
    target_portfolio=100_000,
    webhooks_per_provider=10,
    csv_rows_emulator=1_000,
    ubl_files_emulator=40,
    facturx_files_emulator=15,
    import_runs=5,
    import_runs_no_pyc=5,
)
QUICK = Sizes(
    csv_rows_cpu=500,
    ubl_docs_cpu=10,
    facturx_docs_cpu=2,
    decisions=500,
    min_cpu_s=0.05,
    emulator_portfolio=200,
    target_portfolio=600,
    webhooks_per_provider=1,
    csv_rows_emulator=30,
    ubl_files_emulator=2,
    facturx_files_emulator=1,
    import_runs=1,
    import_runs_no_pyc=0,
)


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = round(time.perf_counter() - start, 1)


@dataclass
class CpuResults:
    csv_reader: cpu.Rate
    csv_ceiling: cpu.Rate
    ubl_reader: cpu.Rate
    ubl_ceiling: cpu.Rate
    facturx_reader: cpu.Rate
    facturx_ceiling: cpu.Rate
    decisions: cpu.Rate
    client_creation_ms: float


def cpu_phase(sizes: Sizes, progress: bool) -> CpuResults:
    least = sizes.min_cpu_s
    steps = ["csv", "ubl", "facturx", "decide"]
    bar = _bar(steps, "cpu-only", progress)
    data = csv_file(sizes.csv_rows_cpu, max(1, sizes.csv_rows_cpu // 5), AS_OF.date())
    csv_reader = cpu.reader_rate([("export.csv", data)], least)
    csv_ceiling = cpu.csv_parse_ceiling(data, least)
    bar.update()
    ubl = ubl_documents(sizes.ubl_docs_cpu, prefix="CPU")
    ubl_reader = cpu.reader_rate([(f"{i}.xml", d) for i, d in enumerate(ubl)], least)
    ubl_ceiling = cpu.xml_parse_ceiling(ubl, least)
    bar.update()
    pdfs = facturx_documents(sizes.facturx_docs_cpu, prefix="CPU")
    facturx_reader = cpu.reader_rate([(f"{i}.pdf", d) for i, d in enumerate(pdfs)], least)
    facturx_ceiling = cpu.pdf_parse_ceiling(pdfs, least)
    bar.update()
    decisions = cpu.decisions_rate(sizes.decisions, AS_OF, least)
    bar.update()
    bar.close()
    return CpuResults(
        csv_reader,
        csv_ceiling,
        ubl_reader,
        ubl_ceiling,
        facturx_reader,
        facturx_ceiling,
        decisions,
        cpu.client_creation_ms(3 if sizes.min_cpu_s < 0.5 else 10),
    )


@dataclass
class EmulatorResults:
    portfolio_load: IngestRun
    portfolio_due: int
    planner_due: PlannerRun
    worker: WorkerRun
    planner_idle: PlannerRun
    webhooks: dict[str, WebhookRun]
    webhooks_missing: str | None
    csv_wired: IngestRun
    ubl_wired: IngestRun
    facturx_wired: IngestRun
    redelivery: Tally
    big_portfolio: int
    big_due: int
    planner_big: PlannerRun
    invoice_item_bytes: int
    customer_item_bytes: int
    invoices_per_customer: float
    index_shape: dict[str, int]
    phases: dict[str, float]


def emulator_phase(sizes: Sizes, progress: bool) -> EmulatorResults:
    import_at = AS_OF - timedelta(hours=1)
    phases: dict[str, float] = {}
    with ExitStack() as stack:
        with timed(phases, "start_and_provision"):
            emu = stack.enter_context(emulator(import_at))
        book = portfolio(sizes.emulator_portfolio, DUE_SHARE, AS_OF.date())
        with timed(phases, "portfolio_load"):
            # The bulk load assumes new items (no previous images to read): empty tables.
            emu.meter.batch_writes_are_new = True
            load = ingest_files(
                emu,
                "portfolio",
                [("inbox/bench/portfolio.csv", book.csv_bytes())],
                emu.services.intake,
                progress=progress,
            )
            emu.meter.batch_writes_are_new = False
        with timed(phases, "planner_and_worker"):
            planner_due = run_planner(emu, AS_OF)
            messages = take_messages(emu, planner_due.enqueued)
            worker = run_workers(emu, messages, progress=progress)
            planner_idle = run_planner(emu, AS_OF + timedelta(minutes=15))

        missing = payments_available(emu)
        webhooks: dict[str, WebhookRun] = {}
        with timed(phases, "webhooks"):
            if missing is None:
                candidates = _open_invoices(emu, book, 2 * sizes.webhooks_per_provider)
                for n, provider in enumerate(WEBHOOK_PROVIDERS):
                    start = n * sizes.webhooks_per_provider
                    chosen = candidates[start : start + sizes.webhooks_per_provider]
                    webhooks[provider] = run_webhooks(emu, provider, chosen, progress=progress)

        emu.clock.set(AS_OF + timedelta(hours=1))
        rows = sizes.csv_rows_emulator
        with timed(phases, "csv_ingest"):
            csv_wired = ingest_files(
                emu,
                "csv",
                [("inbox/bench/export.csv", csv_file(rows, max(1, rows // 5), AS_OF.date()))],
                progress=progress,
            )

        existing = sizes.emulator_portfolio + rows
        big_due = sizes.target_portfolio // DUE_SHARE
        with timed(phases, "fill"):
            fill_invoices(
                emu,
                template_id=_open_template(book),
                count=max(0, sizes.target_portfolio - existing),
                due=big_due,
                as_of=AS_OF,
                progress=progress,
            )
        with timed(phases, "planner_big"):
            planner_big = run_planner(emu, AS_OF + timedelta(minutes=30))
        shape = _index_shape(emu)

        with timed(phases, "ubl_ingest"):
            ubl_wired = ingest_files(
                emu,
                "ubl",
                [
                    (f"inbox/bench/ubl/{i:05d}.xml", d)
                    for i, d in enumerate(ubl_documents(sizes.ubl_files_emulator))
                ],
                progress=progress,
            )
        with timed(phases, "facturx_ingest"):
            facturx_wired = ingest_files(
                emu,
                "facturx",
                [
                    (f"inbox/bench/facturx/{i:05d}.pdf", d)
                    for i, d in enumerate(facturx_documents(sizes.facturx_files_emulator))
                ],
                progress=progress,
            )
        redelivery = redeliver(emu, "inbox/bench/ubl/00000.xml")
        tables = emu.physical
        return EmulatorResults(
            portfolio_load=load,
            portfolio_due=book.due_count,
            planner_due=planner_due,
            worker=worker,
            planner_idle=planner_idle,
            webhooks=webhooks,
            webhooks_missing=missing,
            csv_wired=csv_wired,
            ubl_wired=ubl_wired,
            facturx_wired=facturx_wired,
            redelivery=redelivery,
            big_portfolio=sizes.target_portfolio,
            big_due=big_due,
            planner_big=planner_big,
            invoice_item_bytes=emu.meter.average_item_size(tables["InvoicesTable"]),
            customer_item_bytes=emu.meter.average_item_size(tables["CustomersTable"]),
            invoices_per_customer=book.invoices / book.customers,
            index_shape=shape,
            phases=phases,
        )


def _open_template(book: Portfolio) -> str:
    """An open, not yet due portfolio invoice that no webhook paid (they take the first ones)."""
    last = max(i for i in range(book.invoices) if not book.is_due(i))
    return invoice_id_for(SELLER_VAT, f"{book.prefix}-{last:07d}")


def _open_invoices(emu: Emulator, book: Portfolio, count: int) -> list[Invoice]:
    """Open invoices of the portfolio that are not due (webhooks pay them in full)."""
    numbers = [f"{book.prefix}-{i:07d}" for i in range(book.invoices) if not book.is_due(i)]
    ids = [invoice_id_for(SELLER_VAT, n) for n in numbers[:count]]
    found = DynamoInvoiceRepository(shards=emu.services.settings.due_index_shards).get_many(ids)
    if len(found) < count:
        raise RuntimeError(f"expected {count} open invoices, found {len(found)}")
    return found


def _index_shape(emu: Emulator) -> dict[str, int]:
    """How the invoices table's indexes are projected (for storage and write-unit notes)."""
    description = emu.dynamodb.describe_table(TableName=emu.physical["InvoicesTable"])["Table"]
    shape: dict[str, int] = {"ALL": 0, "INCLUDE": 0, "KEYS_ONLY": 0}
    for index in description.get("GlobalSecondaryIndexes", []):
        shape[index["Projection"]["ProjectionType"]] += 1
    return shape


def _bar(steps: Sequence[str], label: str, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=len(steps), desc=label, disable=not progress)
