"""Grow the invoices table to the target size quickly, with copies of a real imported invoice.

Only the planner is measured on the grown table: it reads the due index, so what matters is
that the table holds as many invoices, with the same item shape, as a real book would. The
copies are written with raw BatchWriteItem calls (not metered, not timed as the app's work).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from tqdm import tqdm

from bench.stack import REGION, Emulator
from chalicelib.adapters.dynamodb.invoices import due_shard_for

_BATCH = 25


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def fill_invoices(
    emu: Emulator,
    *,
    template_id: str,
    count: int,
    due: int,
    as_of: datetime,
    progress: bool,
) -> None:
    """Add `count` open invoices shaped like `template_id`, `due` of them due before `as_of`."""
    if count < due:
        raise ValueError(f"cannot make {due} due invoices out of {count}")
    if count == 0:
        return
    table = emu.physical["InvoicesTable"]
    shards = emu.services.settings.due_index_shards
    template = emu.dynamodb.get_item(
        TableName=table, Key={"invoice_id": {"S": template_id}}, ConsistentRead=True
    )["Item"]
    # A client of its own (not the metered session), without parameter validation: faster.
    raw: Any = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=emu.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"mode": "standard"}),
    )
    every = max(1, count // max(1, due))
    customers = max(1, count // 5)
    made_due = 0
    batch: list[dict[str, Any]] = []
    for i in tqdm(range(count), desc="fill", unit="invoice", disable=not progress, miniters=1000):
        is_due = made_due < due and i % every == 0
        made_due += int(is_due)
        due_date = as_of.date() + (timedelta(days=-2) if is_due else timedelta(days=10 + i % 60))
        next_action = (
            as_of - timedelta(hours=1)
            if is_due
            else datetime.combine(due_date - timedelta(days=3), as_of.timetz())
        )
        invoice_id = f"inv_fill{i:016d}"
        item = dict(template)
        item.update(
            {
                "invoice_id": {"S": invoice_id},
                "number": {"S": f"FILL-{i:08d}"},
                "customer_id": {"S": f"cus_fill{i % customers:016d}"},
                "issue_date": {"S": (due_date - timedelta(days=30)).isoformat()},
                "due_date": {"S": due_date.isoformat()},
                "next_action_at": {"S": _iso(next_action)},
                "due_shard": {"S": due_shard_for(invoice_id, shards)},
                "status": {"S": "open"},
                "steps_done": {"L": []},
                "version": {"N": "1"},
            }
        )
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == _BATCH:
            _write(raw, table, batch)
            batch = []
    if batch:
        _write(raw, table, batch)
    if made_due != due:
        raise RuntimeError(f"made {made_due} due invoices, wanted {due}")


def _write(client: Any, table: str, batch: list[dict[str, Any]]) -> None:
    pending: dict[str, Any] = {table: batch}
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
