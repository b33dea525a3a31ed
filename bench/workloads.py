"""What the bench does against the emulator: ingest, plan, work, webhooks; timed and metered."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tqdm import tqdm

from bench.meter import Tally
from bench.stack import ROOT, SECRETS, Emulator
from chalicelib.domain.invoices import Invoice
from chalicelib.services.invoice_intake import InvoiceIntake


@dataclass
class Timing:
    """Wall clock, CPU of the calling thread (the app's work) and CPU of the whole process.

    The emulator runs in threads of this process, so process CPU includes moto's; the calling
    thread's CPU is what the code under test spent, i.e. what a Lambda would be billed for
    apart from waiting on the network.
    """

    wall_s: float = 0.0
    thread_cpu_s: float = 0.0
    process_cpu_s: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Timing]:
    timing = Timing()
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    try:
        yield timing
    finally:
        timing.wall_s = time.perf_counter() - wall
        timing.thread_cpu_s = time.thread_time() - thread
        timing.process_cpu_s = time.process_time() - process


# --- ingest ------------------------------------------------------------------------------------


@dataclass
class IngestRun:
    """Files imported through `InvoiceIntake.ingest`, as the ingest Lambda does."""

    label: str
    files: int
    invoices: int
    timing: Timing
    tally: Tally


def ingest_files(
    emu: Emulator,
    label: str,
    files: Sequence[tuple[str, bytes]],
    intake: InvoiceIntake | None = None,
    *,
    progress: bool = True,
) -> IngestRun:
    """Upload (not measured) then ingest each file (measured); returns invoices accepted."""
    for key, body in files:
        emu.s3.put_object(Bucket=emu.bucket, Key=key, Body=body)
    intake = intake or emu.services.intake
    accepted = 0
    keys = [key for key, _ in files]
    with stopwatch() as timing, emu.meter.measure() as tally:
        for key in tqdm(keys, desc=f"ingest {label}", unit="file", disable=not progress):
            record = intake.ingest(key)
            if record is None:
                raise RuntimeError(f"{key} was not imported")
            accepted += record.accepted
    return IngestRun(label, len(files), accepted, timing, tally)


def redeliver(emu: Emulator, key: str) -> Tally:
    """The same upload delivered again (SQS at-least-once): what the no-op costs."""
    with emu.meter.measure() as tally:
        emu.services.intake.ingest(key)
    return tally


# --- planner and workers -----------------------------------------------------------------------


@dataclass
class PlannerRun:
    """One `run_cycle` (the schedule's Lambda)."""

    examined: int
    enqueued: int
    timing: Timing
    tally: Tally


def run_planner(emu: Emulator, as_of: datetime) -> PlannerRun:
    emu.clock.set(as_of)
    with stopwatch() as timing, emu.meter.measure() as tally:
        started = emu.services.dunning.run_cycle(as_of, trigger="schedule")
    return PlannerRun(started.examined, started.enqueued, timing, tally)


@dataclass
class WorkerRun:
    """`process_batch` over a sample of the planner's messages (the worker Lambda)."""

    messages: int
    counts: Counter[str]
    timing: Timing
    tally: Tally

    @property
    def examined(self) -> int:
        return self.counts.get("examined", 0)

    @property
    def reminders(self) -> int:
        return self.counts.get("reminders_sent", 0)


def take_messages(emu: Emulator, limit: int) -> list[dict[str, Any]]:
    """Receive up to `limit` planner messages (Lambda's poller does this on AWS; not metered)."""
    taken: list[dict[str, Any]] = []
    while len(taken) < limit:
        batch = emu.sqs.receive_message(
            QueueUrl=emu.actions_queue_url,
            MaxNumberOfMessages=min(10, limit - len(taken)),
            VisibilityTimeout=900,
        ).get("Messages", [])
        if not batch:
            break
        taken += batch
    return taken


def run_workers(emu: Emulator, messages: Sequence[dict[str, Any]], *, progress: bool) -> WorkerRun:
    counts: Counter[str] = Counter()
    with stopwatch() as timing, emu.meter.measure() as tally:
        for message in tqdm(messages, desc="worker", unit="msg", disable=not progress):
            counts += emu.services.dunning.process_batch(
                json.loads(message["Body"]), batch_id=message["MessageId"]
            )
    return WorkerRun(len(messages), counts, timing, tally)


# --- webhooks ----------------------------------------------------------------------------------


@dataclass
class WebhookRun:
    """Signed webhooks posted to the API handler, then each one delivered again."""

    provider: str
    first: Tally
    duplicate: Tally
    deliveries: int
    statuses: Counter[int] = field(default_factory=Counter)
    first_timing: Timing = field(default_factory=Timing)
    duplicate_timing: Timing = field(default_factory=Timing)


def payments_available(emu: Emulator) -> str | None:
    """None when the payments service and its routes exist, else why not."""
    if not hasattr(emu.services, "payments"):
        return "not measured: payments service missing (get_services().payments)"
    from app import app

    paths = set(app.routes)
    missing = [p for p in ("/webhooks/generic", "/webhooks/stripe") if p not in paths]
    if missing:
        return f"not measured: routes missing: {', '.join(missing)}"
    return None


def _generic_body(invoice: Invoice, index: int, at: datetime) -> bytes:
    event = {
        "event_id": f"bench-generic-{index:06d}",
        "type": "payment_succeeded",
        "occurred_at": at.isoformat(),
        "amount": invoice.amount_due.to_wire(),
        "currency": invoice.currency,
        "payment_id": f"BENCH-{index:06d}",
        "invoice_id": invoice.invoice_id,
    }
    return json.dumps(event, separators=(",", ":")).encode()


def _stripe_body(invoice: Invoice, index: int, at: datetime) -> bytes:
    minor = invoice.amount_due.minor
    event = {
        "id": f"evt_bench_{index:06d}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(at.timestamp()),
        "livemode": False,
        "data": {
            "object": {
                "id": f"pi_bench_{index:06d}",
                "object": "payment_intent",
                "amount": minor,
                "amount_received": minor,
                "currency": invoice.currency.lower(),
                "status": "succeeded",
                "metadata": {"invoice_id": invoice.invoice_id},
            }
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def run_webhooks(
    emu: Emulator, provider: str, invoices: Sequence[Invoice], *, progress: bool
) -> WebhookRun:
    """Full payments of `invoices`, each notification delivered twice (the second is a retry)."""
    from chalice.test import Client

    from app import app
    from chalicelib.adapters.webhook_signatures import sign_generic, sign_stripe

    now = datetime.now(UTC)
    emu.clock.set(now)
    if provider == "stripe":
        bodies = [_stripe_body(inv, i, now) for i, inv in enumerate(invoices)]
        secret, header = SECRETS["RELANCE_SECRET_WEBHOOK_STRIPE"], "Stripe-Signature"
        sign = sign_stripe
    else:
        bodies = [_generic_body(inv, i, now) for i, inv in enumerate(invoices)]
        secret, header = SECRETS["RELANCE_SECRET_WEBHOOK_GENERIC"], "Relance-Signature"
        sign = sign_generic
    statuses: Counter[int] = Counter()
    tallies: list[Tally] = []
    timings: list[Timing] = []
    # Powertools prints EMF metric lines on stdout after each request: not for the bench table.
    with (
        Client(app, stage_name="test", project_dir=str(ROOT)) as client,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        for attempt in ("first", "duplicate"):
            with stopwatch() as timing, emu.meter.measure() as tally:
                for body in tqdm(
                    bodies, desc=f"webhooks {provider} {attempt}", disable=not progress
                ):
                    signature = sign(body, secret, int(time.time()))
                    response = client.http.post(
                        f"/webhooks/{provider}",
                        headers={"Content-Type": "application/json", header: signature},
                        body=body,
                    )
                    statuses[response.status_code] += 1
            tallies.append(tally)
            timings.append(timing)
    return WebhookRun(
        provider, tallies[0], tallies[1], len(bodies), statuses, timings[0], timings[1]
    )
