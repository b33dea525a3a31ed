"""Entry point: dunning runs, approvals, tasks and policies for collectors and admins."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalice.app import Blueprint, Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.bootstrap import get_services
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.records import ApiToken, Role
from chalicelib.domain.work import TaskOutcome
from chalicelib.entrypoints.admin_api import PAGING
from chalicelib.entrypoints.http import QueryParam, api_route, query_int, query_str
from chalicelib.schemas.admin import (
    ApprovalDecisionIn,
    ApprovalOut,
    ApprovalPage,
    InvoiceOut,
    RunCreate,
    RunCreated,
    RunOut,
    TaskOut,
    TaskPage,
)
from chalicelib.schemas.admin_collections import DisputeDetailsIn
from chalicelib.schemas.policies import (
    AssignmentRuleIn,
    AssignmentRulesIn,
    PolicyIn,
    PolicyList,
    PolicyOut,
)
from chalicelib.services.collections import DisputeRequest

bp = Blueprint(__name__)


class TaskDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: TaskOutcome
    comment: str | None = Field(default=None, max_length=2000)
    promise_date: date | None = Field(
        default=None, description="With outcome promise: the promised payment date"
    )
    dispute: DisputeDetailsIn | None = Field(
        default=None, description="With outcome dispute: what the customer contests"
    )


class TaskAssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=200)


@api_route(
    bp,
    "/admin/runs",
    summary="Run the dunning cycle as of a time",
    role=Role.ADMIN,
    methods=("POST",),
    body=RunCreate,
    response=RunCreated,
    status=202,
)
def create_run(body: RunCreate, **_: Any) -> RunCreated:
    started = get_services().dunning.run_cycle(body.as_of, trigger="manual")
    return RunCreated(run_id=started.run_id, examined=started.examined, enqueued=started.enqueued)


@api_route(
    bp,
    "/admin/runs/{run_id}",
    summary="A run's status and counts",
    role=Role.VIEWER,
    response=RunOut,
)
def get_run(run_id: str, **_: Any) -> RunOut:
    report = get_services().dunning.run_report(run_id)
    if report is None:
        raise NotFoundError(f"no run {run_id}")
    return RunOut.of(report)


@api_route(
    bp,
    "/admin/approvals",
    summary="Steps waiting for approval",
    role=Role.VIEWER,
    response=ApprovalPage,
    query=(QueryParam("status", "pending (default), approved or rejected"), *PAGING),
)
def list_approvals(request: Request, **_: Any) -> ApprovalPage:
    page = get_services().work.approvals(
        query_str(request, "status") or "pending",
        query_int(request, "limit", 50),
        query_str(request, "cursor"),
    )
    return ApprovalPage(items=[ApprovalOut.of(a) for a in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/approvals/{approval_id}/approve",
    summary="Approve and send (optionally with an edited message)",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=ApprovalDecisionIn,
    response=ApprovalOut,
)
def approve(approval_id: str, body: ApprovalDecisionIn, auth: ApiToken, **_: Any) -> ApprovalOut:
    decided = get_services().dunning.approve(
        approval_id, auth.label, body.comment, body.subject, body.text
    )
    return ApprovalOut.of(decided)


@api_route(
    bp,
    "/admin/approvals/{approval_id}/reject",
    summary="Reject: nothing is sent",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=ApprovalDecisionIn,
    response=ApprovalOut,
)
def reject(approval_id: str, body: ApprovalDecisionIn, auth: ApiToken, **_: Any) -> ApprovalOut:
    return ApprovalOut.of(get_services().dunning.reject(approval_id, auth.label, body.comment))


@api_route(
    bp,
    "/admin/tasks",
    summary="Tasks for collectors",
    role=Role.VIEWER,
    response=TaskPage,
    query=(QueryParam("status", "open (default) or done"), *PAGING),
)
def list_tasks(request: Request, **_: Any) -> TaskPage:
    page = get_services().work.tasks(
        query_str(request, "status") or "open",
        query_int(request, "limit", 50),
        query_str(request, "cursor"),
    )
    return TaskPage(items=[TaskOut.of(t) for t in page.items], next=page.next_cursor)


@api_route(
    bp,
    "/admin/tasks/{task_id}/assign",
    summary="Assign a task",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=TaskAssignIn,
    response=TaskOut,
)
def assign_task(task_id: str, body: TaskAssignIn, **_: Any) -> TaskOut:
    return TaskOut.of(get_services().work.assign(task_id, body.assignee))


@api_route(
    bp,
    "/admin/tasks/{task_id}/done",
    summary="Record a task's outcome",
    role=Role.COLLECTOR,
    methods=("POST",),
    body=TaskDoneIn,
    response=TaskOut,
)
def complete_task(task_id: str, body: TaskDoneIn, auth: ApiToken, **_: Any) -> TaskOut:
    dispute = body.dispute
    task = get_services().collections.complete_task(
        task_id,
        body.outcome,
        comment=body.comment,
        by=auth.label,
        promise_date=body.promise_date,
        dispute=DisputeRequest(dispute.reason, dispute.amount, dispute.comment)
        if dispute
        else None,
    )
    return TaskOut.of(task)


@api_route(
    bp,
    "/admin/policies",
    summary="Dunning policies (latest versions)",
    role=Role.VIEWER,
    response=PolicyList,
)
def list_policies(**_: Any) -> PolicyList:
    return PolicyList(items=[PolicyOut.of(p) for p in get_services().policies.list()])


@api_route(
    bp,
    "/admin/policies/{policy_id}",
    summary="A dunning policy",
    role=Role.VIEWER,
    response=PolicyOut,
    query=(QueryParam("version", "A past version", {"type": "integer", "minimum": 1}),),
)
def get_policy(policy_id: str, request: Request, **_: Any) -> PolicyOut:
    version = query_int(request, "version", 0) or None
    return PolicyOut.of(get_services().policies.get(policy_id, version))


@api_route(
    bp,
    "/admin/policies/{policy_id}",
    summary="Create or change a policy (new version)",
    role=Role.ADMIN,
    methods=("PUT",),
    body=PolicyIn,
    response=PolicyOut,
)
def put_policy(policy_id: str, body: PolicyIn, **_: Any) -> PolicyOut:
    return PolicyOut.of(get_services().policies.save(policy_id, body))


@api_route(
    bp,
    "/admin/policy-rules",
    summary="Rules choosing a policy for new invoices",
    role=Role.VIEWER,
    response=AssignmentRulesIn,
)
def get_policy_rules(**_: Any) -> AssignmentRulesIn:
    rules = get_services().policies.rules()
    return AssignmentRulesIn(rules=[AssignmentRuleIn.of(r) for r in rules])


@api_route(
    bp,
    "/admin/policy-rules",
    summary="Replace the policy assignment rules",
    role=Role.ADMIN,
    methods=("PUT",),
    body=AssignmentRulesIn,
    response=AssignmentRulesIn,
)
def put_policy_rules(body: AssignmentRulesIn, **_: Any) -> AssignmentRulesIn:
    saved = get_services().policies.save_rules([r.to_domain() for r in body.rules])
    return AssignmentRulesIn(rules=[AssignmentRuleIn.of(r) for r in saved])


class InvoicePolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1, description="Default: the latest version")


@api_route(
    bp,
    "/admin/invoices/{invoice_id}/policy",
    summary="Move an invoice to another policy or version",
    role=Role.ADMIN,
    methods=("PUT",),
    body=InvoicePolicyIn,
    response=InvoiceOut,
)
def migrate_invoice(invoice_id: str, body: InvoicePolicyIn, auth: ApiToken, **_: Any) -> InvoiceOut:
    return InvoiceOut.of(
        get_services().dunning.migrate(invoice_id, body.policy_id, body.version, auth.label)
    )
