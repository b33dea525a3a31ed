"""Service: the collectors' work queues (tasks to do, approvals to decide)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from chalicelib.domain.errors import InvalidTransitionError, NotFoundError, ValidationError
from chalicelib.domain.records import EventType, TimelineEvent
from chalicelib.domain.work import Approval, ApprovalStatus, Task, TaskOutcome, TaskStatus
from chalicelib.services.ports import ApprovalStore, Clock, Page, TaskStore, Timeline


class WorkQueues:
    """Lists and completes tasks; lists approvals (deciding them is DunningService's)."""

    def __init__(
        self, tasks: TaskStore, approvals: ApprovalStore, timeline: Timeline, clock: Clock
    ) -> None:
        self._tasks = tasks
        self._approvals = approvals
        self._timeline = timeline
        self._clock = clock

    def tasks(self, status: str, limit: int, cursor: str | None) -> Page[Task]:
        """Tasks by status, soonest due first.

        Raises:
            ValidationError: unknown status.
        """
        if status not in {s.value for s in TaskStatus}:
            raise ValidationError(f"unknown task status {status!r}", field="status")
        return self._tasks.list(status=status, limit=limit, cursor=cursor)

    def task(self, task_id: str) -> Task:
        """One task.

        Raises:
            NotFoundError: no such task.
        """
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id}")
        return task

    def assign(self, task_id: str, assignee: str) -> Task:
        """Give a task to a collector."""
        task = replace(self.task(task_id), assignee=assignee)
        self._tasks.save(task)
        return task

    def complete(self, task_id: str, outcome: TaskOutcome, comment: str | None, by: str) -> Task:
        """Record a task's outcome; a done task cannot be completed again.

        Raises:
            InvalidTransitionError: the task is already done.
        """
        task = self.task(task_id)
        if task.status == TaskStatus.DONE:
            raise InvalidTransitionError(f"task {task_id} is already done")
        now = self._clock.now()
        done = replace(
            task,
            status=TaskStatus.DONE,
            outcome=outcome,
            comment=comment,
            completed_at=now,
            completed_by=by,
        )
        self._tasks.save(done)
        self._timeline.append(
            TimelineEvent(
                event_id=uuid.uuid4().hex,
                invoice_id=invoice_id,
                customer_id=task.customer_id,
                type=EventType.TASK_DONE,
                at=now,
                actor=by,
                details=(("kind", task.kind), ("outcome", outcome.value), ("task_id", task_id)),
            )
            for invoice_id in task.invoice_ids
        )
        return done

    def approvals(self, status: str, limit: int, cursor: str | None) -> Page[Approval]:
        """Approvals by status, oldest first.

        Raises:
            ValidationError: unknown status.
        """
        if status not in {s.value for s in ApprovalStatus}:
            raise ValidationError(f"unknown approval status {status!r}", field="status")
        return self._approvals.list(status=status, limit=limit, cursor=cursor)
