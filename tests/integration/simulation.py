"""A small driver that runs the real dunning cycle day by day against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from devstack.pump import EventPump
from tests.conftest import Stack


def invoice_record(
    number: str,
    customer: str,
    email: str | None,
    due: date,
    total: str,
    phone: str | None = "+33612345678",
    paid: str = "0.00",
    vat_id: str | None = None,
    language: str = "fr",
) -> dict[str, Any]:
    buyer: dict[str, Any] = {
        "name": customer,
        "country": "FR",
        "language": language,
        "vat_id": vat_id or f"FR{abs(hash(customer)) % 10**11:011d}",
    }
    if email:
        buyer["email"] = email
    if phone:
        buyer["phone"] = phone
    return {
        "number": number,
        "issue_date": str(due - timedelta(days=30)),
        "due_date": str(due),
        "currency": "EUR",
        "amount_total": total,
        "amount_paid": paid,
        "seller": {"name": "Atelier Démo SAS", "vat_id": "FR40303265045"},
        "buyer": buyer,
    }


@dataclass
class Simulation:
    """Imports invoices, then runs one cycle per simulated day and records what went out."""

    stack: Stack
    pump: EventPump
    api: Any
    headers: dict[str, str]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def import_records(self, records: list[dict[str, Any]], key: str) -> None:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        self.stack.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=body.encode())
        self.pump.drain()

    def run(self, as_of: datetime) -> dict[str, Any]:
        created = self.api.http.post(
            "/admin/runs", headers=self.headers, body=json.dumps({"as_of": as_of.isoformat()})
        )
        assert created.status_code == 202, created.body
        self.pump.drain()
        report = self.api.http.get(
            f"/admin/runs/{created.json_body['run_id']}", headers=self.headers
        ).json_body
        assert report["complete"], report
        assert report["failed"] == {}, report
        self.runs.append(report)
        return report

    def days(
        self,
        start: date,
        count: int,
        at: time = time(9, 0),
        before_each: Callable[[date], None] | None = None,
    ) -> None:
        for offset in range(count):
            day = start + timedelta(days=offset)
            if before_each is not None:
                before_each(day)
            self.run(datetime.combine(day, at, tzinfo=UTC))

    def invoice(self, number: str) -> dict[str, Any]:
        items = self.api.http.get(
            f"/admin/invoices?number={number}", headers=self.headers
        ).json_body["items"]
        [invoice] = [i for i in items if i["kind"] == "invoice"]
        return invoice

    def outbox(self) -> list[dict[str, Any]]:
        response = self.api.http.get("/admin/outbox", headers=self.headers)
        assert response.status_code == 200, response.body
        # The emulator keeps earlier tests' messages; this test's are the ones Relance archived.
        return [m for m in response.json_body["items"] if m["invoice_ids"]]

    def sent(self) -> set[tuple[str, str, str]]:
        """(invoice number, step, channel) for every message that went out."""
        numbers = self._numbers()
        return {
            (numbers[i], m["step_id"], m["channel"])
            for m in self.outbox()
            for i in m["invoice_ids"]
        }

    def tasks(self) -> set[tuple[str, str, str]]:
        numbers = self._numbers()
        found = set()
        for status in ("open", "done"):
            items = self.api.http.get(
                f"/admin/tasks?status={status}&limit=200", headers=self.headers
            ).json_body["items"]
            found |= {
                (numbers[i], t["kind"], t["step_id"] or "") for t in items for i in t["invoice_ids"]
            }
        return found

    def approvals(self) -> set[tuple[str, str]]:
        numbers = self._numbers()
        items = self.api.http.get(
            "/admin/approvals?status=pending&limit=200", headers=self.headers
        ).json_body["items"]
        return {(numbers[i], a["step_id"]) for a in items for i in a["invoice_ids"]}

    def _numbers(self) -> dict[str, str]:
        items = self.api.http.get("/admin/invoices?limit=200", headers=self.headers).json_body[
            "items"
        ]
        return {i["invoice_id"]: i["number"] for i in items}
