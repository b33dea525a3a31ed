"""GdprService with fakes: export everything, erase personal data, keep the accounting facts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.errors import CustomerNotFoundError
from chalicelib.domain.gdpr import REDACTED, PersonalData, pseudonym
from chalicelib.domain.invoices import Customer, Invoice
from chalicelib.domain.money import Money
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Approval, ApprovalStatus, Task, TaskStatus
from chalicelib.services.gdpr import GdprService, redact_file
from chalicelib.services.ports import ArchivedMessage
from tests.fakes import (
    FixedClock,
    InMemoryCustomerRepository,
    InMemoryInvoiceRepository,
    InMemoryTimeline,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NAME, EMAIL, PHONE = "Boulangerie Martin", "paul.martin@boulangerie.example", "+33698765432"
OTHER = "Cafe Lumiere;hello@lumiere.example"
CSV = f"customer;email;number;amount\n{NAME};{EMAIL};F-1;100.00\n{OTHER};F-2;50.00\n"


class VersionedDocuments:
    def __init__(self) -> None:
        self.versions: dict[str, list[bytes]] = {}

    def put(self, key: str, body: bytes) -> None:
        self.versions.setdefault(key, []).append(body)

    def keys(self, prefix: str) -> Iterator[str]:
        return iter(sorted(k for k, v in self.versions.items() if v and k.startswith(prefix)))

    def get_bytes(self, key: str) -> bytes | None:
        found = self.versions.get(key)
        return found[-1] if found else None

    def overwrite(self, key: str, body: bytes, content_type: str) -> None:
        self.versions[key] = [body]

    def purge(self, key: str) -> int:
        return len(self.versions.pop(key, []))

    def everything(self) -> bytes:
        return b"\n".join(b for versions in self.versions.values() for b in versions)


class FakeMessages:
    def __init__(self) -> None:
        self.items: dict[str, ArchivedMessage] = {}

    def for_customer(self, customer_id: str) -> list[ArchivedMessage]:
        return [m for m in self.items.values() if m.customer_id == customer_id]

    def delete(self, message_ref: str) -> None:
        self.items.pop(message_ref, None)


class FakeWork:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.approvals: dict[str, Approval] = {}

    def tasks_for(self, customer_id: str) -> list[Task]:
        return [t for t in self.tasks.values() if t.customer_id == customer_id]

    def approvals_for(self, customer_id: str) -> list[Approval]:
        return [a for a in self.approvals.values() if a.customer_id == customer_id]

    def rewrite_task(self, task: Task) -> None:
        self.tasks[task.task_id] = task

    def rewrite_approval(self, approval: Approval) -> None:
        self.approvals[approval.approval_id] = approval


class EditableTimeline(InMemoryTimeline):
    def replace(self, events: Sequence[TimelineEvent]) -> None:
        by_id = {e.event_id: e for e in events}
        self.events = [by_id.get(e.event_id, e) for e in self.events]


class World:
    def __init__(self) -> None:
        self.customers = InMemoryCustomerRepository()
        self.invoices = InMemoryInvoiceRepository()
        self.timeline = EditableTimeline()
        self.messages = FakeMessages()
        self.work = FakeWork()
        self.documents = VersionedDocuments()
        self.service = GdprService(
            customers=self.customers,
            invoices=self.invoices,
            timeline=self.timeline,
            editor=self.timeline,
            messages=self.messages,
            work=self.work,
            documents=self.documents,
            clock=FixedClock(NOW),
        )
        self._seed()

    def _seed(self) -> None:
        self.customers.save_new_batch(
            [
                Customer(
                    customer_id="cus_m",
                    seller_id="s",
                    name=NAME,
                    email=EMAIL,
                    phone=PHONE,
                    vat_id="FR99123456789",
                    file_values=(("email", EMAIL), ("name", NAME), ("phone", PHONE)),
                ),
                Customer(
                    customer_id="cus_l",
                    seller_id="s",
                    name="Cafe Lumiere",
                    email="hello@lumiere.example",
                ),
            ]
        )
        base = {
            "seller_id": "s",
            "issue_date": date(2026, 10, 1),
            "due_date": date(2026, 10, 31),
            "amount_paid": Money.zero("EUR"),
            "extra": (("imported_at", "2026-10-02T08:00:00+00:00"),),
        }
        self.invoices.save_new_batch(
            [
                Invoice(
                    invoice_id="inv_1",
                    number="F-1",
                    customer_id="cus_m",
                    amount_total=Money.parse("100.00", "EUR"),
                    source_key="inbox/export.csv",
                    source_format="csv",
                    next_action_at=NOW + timedelta(days=1),
                    **base,  # type: ignore[arg-type]
                ),
                Invoice(
                    invoice_id="inv_3",
                    number="F-3",
                    customer_id="cus_m",
                    amount_total=Money.parse("70.00", "EUR"),
                    source_key="inbox/f-3.xml",
                    source_format="ubl",
                    **base,  # type: ignore[arg-type]
                ),
                Invoice(
                    invoice_id="inv_2",
                    number="F-2",
                    customer_id="cus_l",
                    amount_total=Money.parse("50.00", "EUR"),
                    source_key="inbox/export.csv",
                    source_format="csv",
                    **base,  # type: ignore[arg-type]
                ),
            ]
        )
        self.documents.put("inbox/export.csv", CSV.encode())
        self.documents.put("inbox/export.csv", CSV.replace("100.00", "90.00").encode())
        self.documents.put("inbox/f-3.xml", f"<Name>{NAME}</Name>".encode())
        report = {"errors": [{"field": "phone", "value": "06 98 76 54 32"}], "rows": [OTHER]}
        self.documents.put("rejected/inbox/other.csv.errors.json", json.dumps(report).encode())
        self.documents.put("rejected/inbox/binary.pdf", b"%PDF-1.7\x00\x01binary")
        self.timeline.append(
            [
                TimelineEvent(
                    event_id="ev1",
                    invoice_id="inv_1",
                    customer_id="cus_m",
                    type=EventType.REMINDER_SENT,
                    at=NOW - timedelta(days=3),
                    actor="dunning",
                    details=(("step", "friendly"), ("subject", f"Facture F-1 - {NAME}")),
                ),
                TimelineEvent(
                    event_id="ev2",
                    invoice_id="inv_1",
                    customer_id="cus_m",
                    type=EventType.PAYMENT,
                    at=NOW - timedelta(days=1),
                    actor="stripe",
                    details=(("amount", "10.00"), ("payer_email", EMAIL)),
                ),
                TimelineEvent(
                    event_id="ev3",
                    invoice_id="inv_2",
                    customer_id="cus_l",
                    type=EventType.REMINDER_SENT,
                    at=NOW - timedelta(days=3),
                    actor="dunning",
                    details=(("subject", "Facture F-2 - Cafe Lumiere"),),
                ),
            ]
        )
        self.messages.items["m1"] = ArchivedMessage(
            message_ref="m1",
            customer_id="cus_m",
            invoice_ids=("inv_1",),
            channel="email",
            step_id="friendly",
            to=EMAIL,
            subject=f"Facture F-1 - {NAME}",
            text=f"Bonjour {NAME}, ...",
            sent_at=NOW - timedelta(days=3),
            expires_at=NOW + timedelta(days=397),
        )
        self.work.tasks["t1"] = Task(
            task_id="t1",
            kind="call",
            status=TaskStatus.DONE,
            customer_id="cus_m",
            invoice_ids=("inv_1",),
            step_id="call",
            note="call the customer",
            created_at=NOW,
            due_date=NOW.date(),
            comment=f"spoke to Paul, call back on {PHONE}",
        )
        self.work.approvals["a1"] = Approval(
            approval_id="a1",
            status=ApprovalStatus.APPROVED,
            customer_id="cus_m",
            invoice_ids=("inv_1",),
            step_id="formal_notice",
            channels=("email",),
            template="formal_notice",
            tone="firm",
            created_at=NOW,
            text_override=f"Madame, Monsieur {NAME}, ...",
        )


@pytest.fixture
def world() -> World:
    return World()


PERSONAL = (NAME, EMAIL, PHONE, "06 98 76 54 32", "FR99123456789", "Martin")


def leftovers(text: str) -> list[str]:
    return [value for value in PERSONAL if value.lower() in text.lower()]


def test_export_holds_everything_about_the_customer(world):
    export = world.service.export("cus_m")

    assert export.customer.email == EMAIL
    assert [i.invoice_id for i in export.invoices] == ["inv_1", "inv_3"]
    assert [m.message_ref for m in export.messages] == ["m1"]
    assert [t.task_id for t in export.tasks] == ["t1"]
    assert [a.approval_id for a in export.approvals] == ["a1"]
    assert [e.event_id for e in export.payments] == ["ev2"]
    assert {e.type for e in export.events} >= {EventType.IMPORTED, EventType.REMINDER_SENT}
    assert all(e.customer_id == "cus_m" for e in export.events)
    with pytest.raises(CustomerNotFoundError):
        world.service.export("cus_missing")


def test_erasure_leaves_no_personal_data_anywhere(world):
    report = world.service.erase("cus_m", by="dpo")

    customer = world.customers.items["cus_m"]
    assert customer.name == pseudonym("cus_m") == report.pseudonym
    assert (customer.email, customer.phone, customer.vat_id) == (None, None, None)
    assert customer.erased
    assert customer.paused
    assert world.messages.items == {}
    assert leftovers(repr(world.timeline.events)) == []
    assert leftovers(repr(world.work.tasks) + repr(world.work.approvals)) == []
    assert leftovers(world.documents.everything().decode("utf-8", "replace")) == []
    assert report.messages_deleted == 1
    assert report.events_scrubbed == 2
    assert (report.tasks_scrubbed, report.approvals_scrubbed) == (1, 1)


def test_erasure_keeps_the_accounting_facts_and_other_customers(world):
    world.service.erase("cus_m", by="dpo")

    kept = world.invoices.items["inv_1"]
    assert (kept.number, kept.amount_total, kept.customer_id) == (
        "F-1",
        Money.parse("100.00", "EUR"),
        "cus_m",
    )
    assert kept.next_action_at is None
    assert world.invoices.items["inv_2"].customer_id == "cus_l"
    payment = next(e for e in world.timeline.events if e.event_id == "ev2")
    assert payment.detail("amount") == "10.00"
    assert payment.detail("payer_email") == REDACTED
    other = next(e for e in world.timeline.events if e.event_id == "ev3")
    assert other.detail("subject") == "Facture F-2 - Cafe Lumiere"
    assert world.timeline.events[-1].type == EventType.ERASED


def test_documents_are_purged_or_moved_out_of_the_inbox_redacted(world):
    report = world.service.erase("cus_m", by="dpo")

    assert "inbox/export.csv" not in world.documents.versions
    assert "inbox/f-3.xml" not in world.documents.versions
    [copy] = world.documents.versions["redacted/inbox/export.csv"]
    assert OTHER in copy.decode()  # the other customer's row is intact
    assert f"{REDACTED};{REDACTED};F-1" in copy.decode()
    assert world.documents.versions["rejected/inbox/binary.pdf"]  # unreadable: left alone
    assert report.documents_deleted == ("inbox/export.csv", "inbox/f-3.xml")
    assert "rejected/inbox/other.csv.errors.json" in report.documents_redacted


def test_erasing_twice_changes_nothing_more(world):
    world.service.erase("cus_m", by="dpo")
    first = (list(world.timeline.events), dict(world.documents.versions))

    again = world.service.erase("cus_m", by="dpo")

    assert again.events_scrubbed == 0
    assert again.messages_deleted == 0
    assert world.documents.versions == first[1]
    assert world.customers.items["cus_m"].name == pseudonym("cus_m")


def test_erasing_another_customer_of_the_same_export_redacts_the_copy(world):
    world.service.erase("cus_m", by="dpo")

    world.service.erase("cus_l", by="dpo")

    copy = world.documents.versions["redacted/inbox/export.csv"][0].decode()
    assert "hello@lumiere.example" not in copy
    assert "Cafe Lumiere" not in copy


@pytest.mark.parametrize(
    ("body", "codec"),
    [
        ("name;email\nBoulangerie Martin;x\n".encode("utf-8-sig"), "utf-8-sig"),
        ("name\nBoulangerie Martin é\n".encode("cp1252"), "cp1252"),
        ("name\nBoulangerie Martin\n".encode("utf-16"), "utf-16"),
    ],
    ids=["utf-8-bom", "windows-1252", "utf-16"],
)
def test_files_are_rewritten_in_their_own_encoding(body, codec):
    redacted = redact_file(body, PersonalData(("Boulangerie Martin",)))

    assert redacted is not None
    assert redacted.decode(codec).startswith("name")
    assert "Boulangerie Martin" not in redacted.decode(codec)
    assert redacted[:2] == body[:2]


def test_binary_files_and_files_without_the_values_are_left_alone():
    personal = PersonalData(("Boulangerie Martin",))

    assert redact_file(b"%PDF-1.7\x00\x01", personal) is None
    assert redact_file(b"name\nCafe Lumiere\n", personal) is None


def test_unknown_customer_cannot_be_erased(world):
    with pytest.raises(CustomerNotFoundError):
        world.service.erase("cus_missing", by="dpo")
