"""Schemas: dunning policies on the wire and in storage (JSON), converted to the domain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.invoices import RiskClass
from chalicelib.domain.money import Money
from chalicelib.domain.policies import (
    Anchor,
    Channel,
    DunningPolicy,
    PolicyAssignmentRule,
    PolicyStep,
    StepConditions,
    StepMode,
)
from chalicelib.domain.send_window import SendWindow
from chalicelib.domain.statutory import Jurisdiction


class AmountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: str = Field(pattern=r"^\d+(\.\d{1,3})?$", examples=["500.00"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])


class ConditionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_amount_due: AmountIn | None = None
    segments: list[str] | None = None
    risk_classes: list[RiskClass] | None = None
    requires_channel: Channel | None = None


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step_id: str = Field(min_length=1, max_length=64)
    offset_days: int = Field(ge=-365, le=3650)
    anchor: Anchor = Anchor.DUE_DATE
    channels: list[Channel] = Field(min_length=1)
    mode: StepMode = StepMode.AUTO
    template: str | None = Field(default=None, description="Defaults to the step id")
    conditions: ConditionsIn = ConditionsIn()


class SendWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_hour: int = Field(default=9, ge=0, le=23)
    end_hour: int = Field(default=18, ge=1, le=24)
    business_days_only: bool = True


class PolicyIn(BaseModel):
    """A policy as an admin writes it (PUT /admin/policies/{policy_id})."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    steps: list[StepIn] = Field(min_length=1, max_length=30)
    grace_days_after_promise: int = Field(default=3, ge=0, le=365)
    max_promise_days: int = Field(default=30, ge=1, le=365)
    max_messages_per_week: int = Field(default=3, ge=1, le=100)
    send_window: SendWindowIn = SendWindowIn()
    consolidate: bool = True
    jurisdiction: Literal["FR", "EU"] = "FR"

    def to_domain(self, policy_id: str, version: int) -> DunningPolicy:
        return DunningPolicy(
            policy_id=policy_id,
            version=version,
            name=self.name,
            steps=tuple(_step(s) for s in self.steps),
            grace_days_after_promise=self.grace_days_after_promise,
            max_promise_days=self.max_promise_days,
            max_messages_per_week=self.max_messages_per_week,
            send_window=SendWindow(
                self.send_window.start_hour,
                self.send_window.end_hour,
                self.send_window.business_days_only,
            ),
            consolidate=self.consolidate,
            jurisdiction=Jurisdiction(self.jurisdiction),
        )


class PolicyOut(PolicyIn):
    policy_id: str
    version: int

    @classmethod
    def of(cls, policy: DunningPolicy) -> PolicyOut:
        return cls(
            policy_id=policy.policy_id,
            version=policy.version,
            name=policy.name,
            steps=[_step_in(s) for s in policy.steps],
            grace_days_after_promise=policy.grace_days_after_promise,
            max_promise_days=policy.max_promise_days,
            max_messages_per_week=policy.max_messages_per_week,
            send_window=SendWindowIn(
                start_hour=policy.send_window.start_hour,
                end_hour=policy.send_window.end_hour,
                business_days_only=policy.send_window.business_days_only,
            ),
            consolidate=policy.consolidate,
            jurisdiction="FR" if policy.jurisdiction == Jurisdiction.FR else "EU",
        )

    def to_stored_domain(self) -> DunningPolicy:
        return self.to_domain(self.policy_id, self.version)


class PolicyList(BaseModel):
    items: list[PolicyOut]


def _step(step: StepIn) -> PolicyStep:
    c = step.conditions
    return PolicyStep(
        step_id=step.step_id,
        offset_days=step.offset_days,
        anchor=step.anchor,
        channels=tuple(step.channels),
        mode=step.mode,
        template=step.template or step.step_id,
        conditions=StepConditions(
            min_amount_due=Money.parse(c.min_amount_due.amount, c.min_amount_due.currency)
            if c.min_amount_due
            else None,
            segments=frozenset(c.segments) if c.segments is not None else None,
            risk_classes=frozenset(c.risk_classes) if c.risk_classes is not None else None,
            requires_channel=c.requires_channel,
        ),
    )


def _step_in(step: PolicyStep) -> StepIn:
    c = step.conditions
    return StepIn(
        step_id=step.step_id,
        offset_days=step.offset_days,
        anchor=step.anchor,
        channels=list(step.channels),
        mode=step.mode,
        template=step.template,
        conditions=ConditionsIn(
            min_amount_due=AmountIn(
                amount=c.min_amount_due.to_wire(), currency=c.min_amount_due.currency
            )
            if c.min_amount_due
            else None,
            segments=sorted(c.segments) if c.segments is not None else None,
            risk_classes=sorted(c.risk_classes) if c.risk_classes is not None else None,
            requires_channel=c.requires_channel,
        ),
    )


class AssignmentRuleIn(BaseModel):
    """Use `policy_id` for invoices whose customer and amount match every criterion given."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(min_length=1, max_length=64)
    segment: str | None = Field(default=None, max_length=40)
    risk_class: RiskClass | None = None
    min_amount: AmountIn | None = None
    priority: int = Field(default=100, ge=0, le=10000, description="Lower is tried first")

    def to_domain(self) -> PolicyAssignmentRule:
        return PolicyAssignmentRule(
            policy_id=self.policy_id,
            segment=self.segment,
            risk_class=self.risk_class,
            min_amount=Money.parse(self.min_amount.amount, self.min_amount.currency)
            if self.min_amount
            else None,
            priority=self.priority,
        )

    @classmethod
    def of(cls, rule: PolicyAssignmentRule) -> AssignmentRuleIn:
        return cls(
            policy_id=rule.policy_id,
            segment=rule.segment,
            risk_class=rule.risk_class,
            min_amount=AmountIn(amount=rule.min_amount.to_wire(), currency=rule.min_amount.currency)
            if rule.min_amount
            else None,
            priority=rule.priority,
        )


class AssignmentRulesIn(BaseModel):
    """The whole rule set: invoice override, then customer override, then these, then default."""

    model_config = ConfigDict(extra="forbid")

    rules: list[AssignmentRuleIn] = Field(max_length=100)
