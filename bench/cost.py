"""Monthly AWS cost from measured per-unit counts, following the reference's cost model.

Structure (../shared/reference/aws-limits-prices-law.md, section A2 and Appendix 1):
C = C_ddb + C_lambda + C_s3 + C_apigw + C_sqs (infrastructure) + C_email (+ SMS, noted apart).
Each activity (one imported invoice, one reminder, one webhook, one planner run) carries what
it costs in requests, capacity units and Lambda time; the month multiplies them by volumes.
The same model over the floor activities gives the lower bound printed beside each figure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).resolve().parent / "prices.json"


@dataclass(frozen=True, slots=True)
class Activity:
    """What one unit of an activity costs (all per unit)."""

    wru: float = 0.0
    rru: float = 0.0
    lambda_invocations: float = 0.0
    lambda_seconds: float = 0.0
    s3_put: float = 0.0
    s3_get: float = 0.0
    sqs: float = 0.0
    ses: float = 0.0
    apigw: float = 0.0


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Volumes and conventions; the defaults are the reference's (section A2)."""

    reminders_per_invoice_month: float = 2.0
    webhooks_per_invoice_month: float = 1.0
    imports_per_invoice_month: float = 1.0
    planner_runs_month: int = 30 * 24 * 4
    admin_calls_month: int = 10_000
    lambda_memory_gb: float = 0.5
    lambda_architecture: str = "x86_64"
    file_mb: float = 0.1
    history_months_kept: int = 12
    sms_share_of_reminders: float = 0.10
    sms_parts: int = 1
    email_plan: str = "a_la_carte"
    latency_s: dict[str, float] = field(
        default_factory=lambda: {
            "dynamodb": 0.005,
            "s3": 0.020,
            "sqs": 0.010,
            "sesv2": 0.050,
            "sns": 0.050,
            "ssm": 0.010,
        }
    )
    notes: tuple[str, ...] = (
        "No free tier applied (reference convention).",
        "Lambda billed duration = measured CPU of the calling thread + requests x assumed "
        "round-trip latency per service [U]; memory 512 MB as in .chalice/config.json; "
        "x86_64 (Chalice's default, no architecture set).",
        "One invoice file per imported invoice (reference's I = N, 100 KB per file): the UBL "
        "figures are used; a monthly CSV export is far cheaper per invoice.",
        "Uploads: S3 PUT by the sender + EventBridge (AWS service event, not billed) + SQS send, "
        "receive and delete (3 requests per file).",
        "Worker: SQS event source batch of 10 messages -> 0.1 invocation and 0.2 SQS request "
        "(receive, delete) per message, plus the planner's SendMessageBatch as measured.",
        "Planner: every 15 minutes (2,880 runs a month); runs with nothing due cost the idle run.",
        "Storage: open invoices and their index entries, customers, and 12 months of message "
        "history (bytes of new items measured per reminder); DynamoDB storage price [U].",
        "SMS is not in the total: its French price per part is unverified [U].",
    )


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@dataclass(frozen=True, slots=True)
class Profile:
    """Per-activity costs plus the bytes kept per open invoice and per reminder."""

    ingest: Activity
    reminder: Activity
    webhook: Activity
    planner_run: Activity
    bytes_per_open_invoice: float
    bytes_per_reminder: float
    emails_per_reminder: float


def _usd(prices: dict[str, Any], name: str) -> float:
    return float(prices[name]["usd"])


def monthly(
    profile: Profile,
    open_invoices: int,
    region: str,
    assumptions: Assumptions,
    prices: dict[str, Any],
) -> dict[str, float]:
    """Dollars per month by line for `open_invoices`, in `region`."""
    p = prices["regions"][region]
    a = assumptions
    volumes = {
        "ingest": open_invoices * a.imports_per_invoice_month,
        "reminder": open_invoices * a.reminders_per_invoice_month,
        "webhook": open_invoices * a.webhooks_per_invoice_month,
        "planner_run": float(a.planner_runs_month),
    }
    activities = {
        "ingest": profile.ingest,
        "reminder": profile.reminder,
        "webhook": profile.webhook,
        "planner_run": profile.planner_run,
    }

    def total(attribute: str) -> float:
        return sum(volumes[k] * float(getattr(activities[k], attribute)) for k in volumes)

    gb_s_price = _usd(
        p, "lambda_gb_s_arm" if a.lambda_architecture == "arm64" else "lambda_gb_s_x86"
    )
    storage_gb = (
        open_invoices * profile.bytes_per_open_invoice
        + volumes["reminder"] * a.history_months_kept * profile.bytes_per_reminder
    ) / 1e9
    dynamodb = (
        total("wru") * _usd(p, "dynamodb_wru")
        + total("rru") * _usd(p, "dynamodb_rru")
        + storage_gb * _usd(p, "dynamodb_storage_gb_month")
    )
    lam = (
        total("lambda_invocations") * _usd(p, "lambda_request")
        + total("lambda_seconds") * a.lambda_memory_gb * gb_s_price
    )
    s3 = (
        total("s3_put") * _usd(p, "s3_put")
        + total("s3_get") * _usd(p, "s3_get")
        + volumes["ingest"] * a.file_mb / 1000 * _usd(p, "s3_storage_gb_month")
    )
    apigw = (total("apigw") + a.admin_calls_month) * _usd(p, "apigw_rest_request")
    sqs = total("sqs") * _usd(p, "sqs_request")
    email_price = _usd(
        p, "ses_email_essentials" if a.email_plan == "essentials" else "ses_email_a_la_carte"
    )
    email = total("ses") * email_price
    infra = dynamodb + lam + s3 + apigw + sqs
    sms_parts = volumes["reminder"] * a.sms_share_of_reminders * a.sms_parts
    return {
        "dynamodb": dynamodb,
        "lambda": lam,
        "s3": s3,
        "api_gateway": apigw,
        "sqs": sqs,
        "infra": infra,
        "email": email,
        "total": infra + email,
        "sms_not_in_total_low": sms_parts * _usd(p, "sms_part_fr_low"),
        "sms_not_in_total_high": sms_parts * _usd(p, "sms_part_fr_high"),
        "dynamodb_wru_millions": total("wru") / 1e6,
        "dynamodb_rru_millions": total("rru") / 1e6,
        "storage_gb": storage_gb,
        "lambda_gb_s": total("lambda_seconds") * a.lambda_memory_gb,
    }


def assumptions_dict(assumptions: Assumptions) -> dict[str, Any]:
    return asdict(assumptions)
