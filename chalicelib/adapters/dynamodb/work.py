"""Adapter: claims, tasks, approvals, runs and policies in the generic records table."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import (
    GenericRecord,
    InvoiceRecord,
    map_values,
)
from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.policies import DunningPolicy, PolicyAssignmentRule
from chalicelib.domain.work import (
    Approval,
    ApprovalStatus,
    RunReport,
    Task,
    TaskOutcome,
    TaskStatus,
)
from chalicelib.schemas.policies import AssignmentRuleIn, AssignmentRulesIn, PolicyOut
from chalicelib.services.ports import Claim, ClaimOutcome, Page


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _get(pk: str, sk: str) -> GenericRecord | None:
    try:
        return GenericRecord.get(pk, sk, consistent_read=True)
    except GenericRecord.DoesNotExist:
        return None


def _create(record: GenericRecord) -> bool:
    try:
        record.save(condition=GenericRecord.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _is_conditional(reason: Any) -> bool:
    return reason is not None and getattr(reason, "code", None) == "ConditionalCheckFailed"


class DynamoClaimLog:
    def __init__(self, connection: Connection) -> None:
        # One connection for the container: a new one builds a botocore session (~0.1 s CPU).
        self._connection = connection

    @staticmethod
    def _key(invoice_id: str, step_id: str, channel: str) -> tuple[str, str]:
        return f"claim#{invoice_id}", f"{step_id}#{channel}"

    def claim(
        self,
        invoice_id: str,
        invoice_version: int,
        step_id: str,
        channel: str,
        run_id: str,
        at: datetime,
    ) -> ClaimOutcome:
        pk, sk = self._key(invoice_id, step_id, channel)
        record = GenericRecord(
            pk,
            sk,
            data={
                "invoice_id": invoice_id,
                "step_id": step_id,
                "channel": channel,
                "run_id": run_id,
                "claimed_at": at.isoformat(),
                "status": "claimed",
                "message_ref": None,
            },
        )
        try:
            # One transaction: the claim exists only if the invoice is still the one we decided
            # on (a payment landing since the read bumps its version and cancels the send).
            with TransactWrite(connection=self._connection) as transaction:
                transaction.condition_check(
                    InvoiceRecord, invoice_id, condition=InvoiceRecord.version == invoice_version
                )
                transaction.save(record, condition=GenericRecord.pk.does_not_exist())
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons
            if len(reasons) > 1 and _is_conditional(reasons[1]):
                existing = self.get(invoice_id, step_id, channel)
                if existing is not None and existing.status == "sent":
                    return ClaimOutcome.ALREADY_SENT
                return ClaimOutcome.IN_FLIGHT
            if reasons and _is_conditional(reasons[0]):
                return ClaimOutcome.INVOICE_CHANGED
            raise
        return ClaimOutcome.WON

    def confirm(self, invoice_id: str, step_id: str, channel: str, message_ref: str) -> None:
        # One UpdateItem: the claim is ours, no read needed (a send is hot-path cost).
        record = GenericRecord(*self._key(invoice_id, step_id, channel))
        try:
            record.update(
                actions=[
                    GenericRecord.data["status"].set("sent"),
                    GenericRecord.data["message_ref"].set(message_ref),
                ],
                condition=GenericRecord.pk.exists(),
                add_version_condition=False,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    def release(self, invoice_id: str, step_id: str, channel: str) -> None:
        record = _get(*self._key(invoice_id, step_id, channel))
        if record is not None and map_values(record.data).get("status") == "claimed":
            record.delete()

    def get(self, invoice_id: str, step_id: str, channel: str) -> Claim | None:
        record = _get(*self._key(invoice_id, step_id, channel))
        if record is None:
            return None
        data = map_values(record.data)
        return Claim(
            invoice_id=invoice_id,
            step_id=step_id,
            channel=channel,
            run_id=str(data["run_id"]),
            claimed_at=datetime.fromisoformat(data["claimed_at"]),
            status=str(data["status"]),
            message_ref=data.get("message_ref"),
        )


class DynamoTaskStore:
    @staticmethod
    def _record(task: Task) -> GenericRecord:
        return GenericRecord(
            f"task#{task.task_id}",
            "task",
            gsi1pk=f"tasks#{task.status.value}",
            gsi1sk=f"{task.due_date.isoformat()}#{task.task_id}",
            data={
                "task_id": task.task_id,
                "kind": task.kind,
                "status": task.status.value,
                "customer_id": task.customer_id,
                "invoice_ids": list(task.invoice_ids),
                "step_id": task.step_id,
                "note": task.note,
                "created_at": task.created_at.isoformat(),
                "due_date": task.due_date.isoformat(),
                "assignee": task.assignee,
                "outcome": task.outcome.value if task.outcome else None,
                "comment": task.comment,
                "completed_at": _iso(task.completed_at),
                "completed_by": task.completed_by,
            },
        )

    @staticmethod
    def _domain(record: GenericRecord) -> Task:
        d = map_values(record.data)
        return Task(
            task_id=d["task_id"],
            kind=d["kind"],
            status=TaskStatus(d["status"]),
            customer_id=d["customer_id"],
            invoice_ids=tuple(d.get("invoice_ids") or ()),
            step_id=d.get("step_id"),
            note=d.get("note") or "",
            created_at=datetime.fromisoformat(d["created_at"]),
            due_date=date.fromisoformat(d["due_date"]),
            assignee=d.get("assignee"),
            outcome=TaskOutcome(d["outcome"]) if d.get("outcome") else None,
            comment=d.get("comment"),
            completed_at=_dt(d.get("completed_at")),
            completed_by=d.get("completed_by"),
        )

    def create(self, task: Task) -> bool:
        return _create(self._record(task))

    def get(self, task_id: str) -> Task | None:
        record = _get(f"task#{task_id}", "task")
        return self._domain(record) if record else None

    def save(self, task: Task) -> None:
        current = _get(f"task#{task.task_id}", "task")
        record = self._record(task)
        if current is not None:
            record.version = current.version
        record.save()

    def list(self, *, status: str, limit: int, cursor: str | None) -> Page[Task]:
        result = GenericRecord.by_group.query(
            f"tasks#{status}", limit=limit, last_evaluated_key=decode_cursor(cursor)
        )
        items = tuple(self._domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))


class DynamoApprovalStore:
    @staticmethod
    def _record(approval: Approval) -> GenericRecord:
        return GenericRecord(
            f"approval#{approval.approval_id}",
            "approval",
            gsi1pk=f"approvals#{approval.status.value}",
            gsi1sk=f"{approval.created_at.isoformat()}#{approval.approval_id}",
            data={
                "approval_id": approval.approval_id,
                "status": approval.status.value,
                "customer_id": approval.customer_id,
                "invoice_ids": list(approval.invoice_ids),
                "step_id": approval.step_id,
                "channels": list(approval.channels),
                "template": approval.template,
                "tone": approval.tone,
                "created_at": approval.created_at.isoformat(),
                "decided_at": _iso(approval.decided_at),
                "decided_by": approval.decided_by,
                "comment": approval.comment,
                "subject_override": approval.subject_override,
                "text_override": approval.text_override,
            },
        )

    @staticmethod
    def _domain(record: GenericRecord) -> Approval:
        d = map_values(record.data)
        return Approval(
            approval_id=d["approval_id"],
            status=ApprovalStatus(d["status"]),
            customer_id=d["customer_id"],
            invoice_ids=tuple(d.get("invoice_ids") or ()),
            step_id=d["step_id"],
            channels=tuple(d.get("channels") or ()),
            template=d["template"],
            tone=d["tone"],
            created_at=datetime.fromisoformat(d["created_at"]),
            decided_at=_dt(d.get("decided_at")),
            decided_by=d.get("decided_by"),
            comment=d.get("comment"),
            subject_override=d.get("subject_override"),
            text_override=d.get("text_override"),
        )

    def create(self, approval: Approval) -> bool:
        return _create(self._record(approval))

    def get(self, approval_id: str) -> Approval | None:
        record = _get(f"approval#{approval_id}", "approval")
        return self._domain(record) if record else None

    def decide(self, approval: Approval) -> bool:
        current = _get(f"approval#{approval.approval_id}", "approval")
        if current is None or map_values(current.data).get("status") != "pending":
            return False
        record = self._record(approval)
        record.version = current.version
        try:
            record.save()
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list(self, *, status: str, limit: int, cursor: str | None) -> Page[Approval]:
        result = GenericRecord.by_group.query(
            f"approvals#{status}", limit=limit, last_evaluated_key=decode_cursor(cursor)
        )
        items = tuple(self._domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))


class DynamoRunLog:
    def start(self, report: RunReport) -> bool:
        return _create(
            GenericRecord(
                f"run#{report.run_id}",
                "run",
                data={
                    "run_id": report.run_id,
                    "as_of": report.as_of.isoformat(),
                    "started_at": report.started_at.isoformat(),
                    "trigger": report.trigger,
                    "examined": report.examined,
                    "enqueued": report.enqueued,
                },
            )
        )

    def add_batch(self, run_id: str, batch_id: str, counts: Mapping[str, int]) -> None:
        # One item per processed message: concurrent workers never contend on a counter.
        GenericRecord(f"run#{run_id}", f"batch#{batch_id}", data={"counts": dict(counts)}).save()

    def get(self, run_id: str) -> RunReport | None:
        records = list(GenericRecord.query(f"run#{run_id}", consistent_read=True))
        head = next((r for r in records if r.sk == "run"), None)
        if head is None:
            return None
        d = map_values(head.data)
        totals: dict[str, int] = {}
        batches = [r for r in records if r.sk.startswith("batch#")]
        for batch in batches:
            for name, value in (map_values(batch.data).get("counts") or {}).items():
                totals[name] = totals.get(name, 0) + int(value)
        return RunReport(
            run_id=run_id,
            as_of=datetime.fromisoformat(d["as_of"]),
            started_at=datetime.fromisoformat(d["started_at"]),
            trigger=d["trigger"],
            examined=int(d["examined"]),
            enqueued=int(d["enqueued"]),
            counts=tuple(sorted(totals.items())),
            batches_done=len(batches),
        )


class DynamoPolicyStore:
    def get(self, policy_id: str, version: int | None = None) -> DunningPolicy | None:
        if version is not None:
            record = _get(f"policy#{policy_id}", f"v#{version:08d}")
        else:
            found = list(
                GenericRecord.query(
                    f"policy#{policy_id}", scan_index_forward=False, limit=1, consistent_read=True
                )
            )
            record = found[0] if found else None
        if record is None:
            return None
        return PolicyOut.model_validate(map_values(record.data)).to_stored_domain()

    def put(self, policy: DunningPolicy) -> None:
        data = json.loads(PolicyOut.of(policy).model_dump_json())
        record = GenericRecord(
            f"policy#{policy.policy_id}",
            f"v#{policy.version:08d}",
            gsi1pk="policies",
            gsi1sk=f"{policy.policy_id}#{policy.version:08d}",
            data=data,
        )
        if not _create(record):
            raise ConcurrentUpdateError(
                f"policy {policy.policy_id} version {policy.version} was saved by someone else"
            )

    def list(self) -> list[DunningPolicy]:
        latest: dict[str, DunningPolicy] = {}
        for record in GenericRecord.by_group.query("policies"):
            policy = PolicyOut.model_validate(map_values(record.data)).to_stored_domain()
            latest[policy.policy_id] = policy
        return list(latest.values())

    def rules(self) -> Sequence[PolicyAssignmentRule]:
        record = _get("policy-rules", "current")
        if record is None:
            return []
        body = AssignmentRulesIn.model_validate(map_values(record.data))
        return [rule.to_domain() for rule in body.rules]

    def put_rules(self, rules: Sequence[PolicyAssignmentRule]) -> None:
        body = AssignmentRulesIn(rules=[AssignmentRuleIn.of(r) for r in rules])
        current = _get("policy-rules", "current")
        record = GenericRecord("policy-rules", "current", data=json.loads(body.model_dump_json()))
        if current is not None:
            record.version = current.version
        record.save()
