"""Seeded random operations over simulated months; the invariants are checked at every send.

Operations: time passes, runs (sometimes delivered twice, sometimes killed mid-send), payments,
partial payments, disputes, promises, pauses, new invoices, refused and timed-out sends.
Invariants: no message about an invoice that is paid, disputed in full, paused or held by a
promise at the moment it is sent; no (invoice, step, channel) message twice; and, once the
faults stop, every open invoice reaches the end of its policy (nothing lost).
`make soak` runs more seeds (RELANCE_SOAK_SEEDS).
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.invoices import InvoiceStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY
from chalicelib.services.ports import DeliveryRejectedError, DeliveryUnknownError, OutgoingEmail
from tests.dunning_fakes import WorkerDied
from tests.unit.services.test_dunning_service import NOW, World

SEEDS = int(os.environ.get("RELANCE_SOAK_SEEDS", "6"))
STEPS = int(os.environ.get("RELANCE_SOAK_STEPS", "120"))
NUMBER = re.compile(r"\bR-\d+\b")
ALL_STEPS = {s.step_id for s in DEFAULT_FRENCH_B2B_POLICY.steps}


class Checked(World):
    """A world whose email sender asserts the invariants at the instant of each send."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_keys: set[tuple[str, str, str]] = set()
        self.violations: list[str] = []
        original = self.email.send

        def checking_send(email: OutgoingEmail) -> str:
            try:
                return original(email)
            except DeliveryRejectedError:
                raise  # refused: nothing went out
            except (DeliveryUnknownError, WorkerDied):
                self._check(email)  # the provider has it
                raise
            finally:
                if self.email.sent and self.email.sent[-1] is email:
                    self._check(email)

        self.email.send = checking_send  # a hook on our own fake, not a patch of product code
        self._checked: set[int] = set()

    def _check(self, email: OutgoingEmail) -> None:
        if id(email) in self._checked:
            return
        self._checked.add(id(email))
        step = dict(email.tags)["step"]
        for number in set(NUMBER.findall(email.text)):
            invoice = self.invoices.get(f"inv_{number}")
            customer = self.customers.get(invoice.customer_id)
            if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.DISPUTED):
                self.violations.append(f"{number} {step} sent while {invoice.status}")
            if invoice.paused or customer.paused:
                self.violations.append(f"{number} {step} sent while paused")
            if invoice.promise_date and invoice.promise_date >= self.clock.now().date():
                self.violations.append(f"{number} {step} sent during a promise")
            key = (number, step, "email")
            if key in self.sent_keys:
                self.violations.append(f"{number} {step} email sent twice")
            self.sent_keys.add(key)


def _operate(world: Checked, rng: random.Random, counter: list[int]) -> None:
    invoices = [i for i in world.invoices.items.values() if not i.is_closed]
    operation = rng.choices(
        [
            "time",
            "run",
            "run_twice",
            "crash",
            "pay",
            "partial",
            "dispute",
            "promise",
            "pause",
            "new",
            "refuse",
            "unknown",
        ],
        weights=[30, 35, 5, 5, 2, 2, 2, 3, 2, 8, 1, 1],
    )[0]
    if operation == "time":
        world.clock.advance(hours=rng.randint(1, 12))
    elif operation in ("run", "run_twice"):
        bodies = world.plan()
        world.work(bodies + (bodies if operation == "run_twice" else []))
    elif operation == "crash":
        bodies = world.plan()
        rng.choice(
            [
                lambda: setattr(world.claims, "die_after_claim", True),
                lambda: setattr(world.claims, "die_on_confirm", True),
                lambda: setattr(world.email, "die_after_send", True),
                lambda: setattr(world.invoices, "die_on_next_save", True),
            ]
        )()
        try:
            world.work(bodies)
        except WorkerDied:
            world.work(bodies)  # SQS redelivers
        world.claims.die_after_claim = world.claims.die_on_confirm = False
        world.email.die_after_send = world.invoices.die_on_next_save = False
    elif operation == "new":
        counter[0] += 1
        due = (world.clock.now() + timedelta(days=rng.randint(-12, 25))).date()
        world.add(
            f"R-{counter[0]}",
            due,
            total=rng.randint(1000, 500000),
            customer_id=f"cus_{rng.randint(1, 4)}",
        )
    elif operation == "refuse":
        world.email.refuse += 1
    elif operation == "unknown":
        world.email.unknown += 1
    elif invoices:
        _change_invoice(world, rng, operation, rng.choice(invoices))


def _change_invoice(world: Checked, rng: random.Random, operation: str, invoice) -> None:
    now = world.clock.now()
    if operation == "pay":
        changed = invoice.with_payment(invoice.amount_due, now)
    elif operation == "partial":
        changed = invoice.with_payment(Money(invoice.amount_due.minor // 2, "EUR"), now)
    elif operation == "dispute":
        changed = replace(
            invoice,
            status=InvoiceStatus.DISPUTED,
            disputed_amount=invoice.amount_due,
            next_action_at=None,
        )
    elif operation == "promise":
        changed = replace(
            invoice,
            promise_date=(now + timedelta(days=rng.randint(1, 15))).date(),
            next_action_at=now,
        )
    else:
        changed = replace(
            invoice, paused=not invoice.paused, next_action_at=None if not invoice.paused else now
        )
    world.invoices.save(changed)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_invariants_hold_under_random_operations(seed: int) -> None:
    rng = random.Random(seed)
    world = Checked()
    counter = [0]
    for _ in range(STEPS):
        _operate(world, rng, counter)
        assert world.violations == []

    # Faults stop; unpause everything and let four months pass: nothing may be lost.
    for invoice in list(world.invoices.items.values()):
        if invoice.paused:
            world.invoices.save(replace(invoice, paused=False, next_action_at=world.clock.now()))
    world.email.refuse = world.email.unknown = 0
    for extra in (1, 2):
        counter[0] += 1
        world.add(
            f"R-{counter[0]}",
            (world.clock.now() + timedelta(days=10)).date(),
            customer_id=f"cus_fresh_{extra}",
        )
    # Every 3 hours, so that some runs fall inside the send window (as the 15-minute schedule does).
    for _ in range(120 * 8):
        world.clock.advance(hours=3)
        world.cycle()
    assert world.violations == []
    for invoice in world.invoices.items.values():
        if invoice.is_closed or invoice.status == InvoiceStatus.DISPUTED:
            continue
        handled = set(invoice.steps_done)
        assert handled == ALL_STEPS, f"{invoice.number} stopped at {sorted(handled)}"
    assert world.clock.now() > NOW
    assert world.sent_keys, "the scenario sent nothing: it would prove nothing"
