"""Exact AWS request counts from botocore event hooks, with DynamoDB items and capacity units.

Every client the app builds gets the meter's handlers on its botocore event system:

- boto3 clients (S3, SQS, SES, SNS) come from a botocore session the bench creates and hooks
  before `bootstrap.build_clients` uses it;
- PynamoDB builds its own botocore session per connection through
  `pynamodb.connection.base.get_session`; `metered_pynamodb` swaps that factory for one that
  hooks each new session, so even the short-lived connections of transactions are counted.

Counts are exact (one `after-call` per API call). Capacity units are not: moto does not report
real consumed capacity, so read and write units are computed from the item sizes on the wire
with DynamoDB's published rules (docs/benchmarks.md, "Capacity units"). For writes the meter
reads the item's previous image first, through a separate unmetered client, so that an
overwrite is billed on the larger image and index key changes count as delete + put.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import botocore.session
import pynamodb.connection.base as pynamodb_base

KB = 1024
READ_BLOCK = 4 * KB
Item = dict[str, Any]

_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class EventRegistry(Protocol):
    """What `AwsMeter.attach` needs: botocore's `Session.register`."""

    def register(self, event_name: str, handler: Callable[..., Any]) -> None: ...


@dataclass
class OpCount:
    """Counters for one (service, operation)."""

    requests: int = 0
    items_read: int = 0
    items_written: int = 0
    conditional_failures: int = 0
    errors: int = 0
    rru: float = 0.0
    wru: float = 0.0
    new_item_bytes: int = 0
    """Bytes of items that did not exist before (what stays in storage)."""

    def add(self, other: OpCount) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def minus(self, other: OpCount) -> OpCount:
        return OpCount(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, float]:
        return {f.name: round(float(getattr(self, f.name)), 3) for f in fields(self)}


@dataclass
class Tally:
    """Counters per (service, operation); `minus` gives what one measured step did."""

    ops: dict[tuple[str, str], OpCount] = field(default_factory=dict)

    def op(self, service: str, operation: str) -> OpCount:
        return self.ops.setdefault((service, operation), OpCount())

    def copy(self) -> Tally:
        result = Tally()
        for key, count in self.ops.items():
            result.op(*key).add(count)
        return result

    def minus(self, earlier: Tally) -> Tally:
        result = Tally()
        for key, count in self.ops.items():
            delta = count.minus(earlier.ops.get(key, OpCount()))
            if any(getattr(delta, f.name) for f in fields(delta)):
                result.ops[key] = delta
        return result

    def add(self, other: Tally) -> None:
        for key, count in other.ops.items():
            self.op(*key).add(count)

    def total(self, service: str) -> OpCount:
        result = OpCount()
        for (svc, _), count in self.ops.items():
            if svc == service:
                result.add(count)
        return result

    def requests(self, service: str, operation: str | None = None) -> int:
        return sum(
            c.requests
            for (svc, op), c in self.ops.items()
            if svc == service and (operation is None or op == operation)
        )

    def by_operation(self, service: str) -> dict[str, dict[str, float]]:
        return {
            op: count.as_dict() for (svc, op), count in sorted(self.ops.items()) if svc == service
        }


# --- DynamoDB sizes and capacity units (docs: "Item sizes and formats", "Read/write units") ---


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return 1 + math.ceil(len(digits) / 2)


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one typed attribute value (`{"S": "abc"}`)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """Bytes of a whole item: attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def write_units(size: int) -> int:
    """Standard writes: 1 WRU per started KB, at least 1."""
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    """Reads: 1 RRU per started 4 KB when strongly consistent, half that otherwise."""
    return max(1, math.ceil(size / READ_BLOCK)) * (1.0 if consistent else 0.5)


@dataclass(frozen=True, slots=True)
class IndexSchema:
    """One global secondary index: its key attributes and projection."""

    name: str
    keys: tuple[str, ...]
    projection: str
    included: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A table's key attributes and indexes, read from the emulator (= the deployed template)."""

    name: str
    keys: tuple[str, ...]
    indexes: tuple[IndexSchema, ...]

    def key_of(self, item: Mapping[str, Any]) -> Item:
        return {k: item[k] for k in self.keys}


def describe_schema(client: Any, table: str) -> TableSchema:
    description = client.describe_table(TableName=table)["Table"]
    indexes = tuple(
        IndexSchema(
            name=gsi["IndexName"],
            keys=tuple(k["AttributeName"] for k in gsi["KeySchema"]),
            projection=gsi["Projection"]["ProjectionType"],
            included=frozenset(gsi["Projection"].get("NonKeyAttributes", ())),
        )
        for gsi in description.get("GlobalSecondaryIndexes", [])
    )
    return TableSchema(
        name=table,
        keys=tuple(k["AttributeName"] for k in description["KeySchema"]),
        indexes=indexes,
    )


def _projected(index: IndexSchema, table: TableSchema, item: Item | None) -> Item | None:
    if item is None or any(k not in item for k in index.keys):
        return None
    if index.projection == "ALL":
        return item
    keep = set(index.keys) | set(table.keys)
    if index.projection == "INCLUDE":
        keep |= index.included
    return {k: v for k, v in item.items() if k in keep}


def index_write_units(table: TableSchema, old: Item | None, new: Item | None) -> int:
    """Index writes caused by replacing `old` with `new` (None = absent), per the GSI rules.

    An entry appearing or disappearing is one write; a changed index key is a delete plus a
    put; a changed projected attribute rewrites the entry; anything else costs nothing.
    """
    units = 0
    for index in table.indexes:
        before, after = _projected(index, table, old), _projected(index, table, new)
        if before is None and after is None:
            continue
        if before is not None and after is not None and old is not None and new is not None:
            if any(old[k] != new[k] for k in index.keys):
                units += write_units(item_size(before)) + write_units(item_size(after))
            elif before != after:
                units += write_units(item_size(after))
            continue
        units += write_units(item_size(before if before is not None else after))
    return units


# --- the meter ---------------------------------------------------------------------------------


class AwsMeter:
    """Counts every request of the hooked sessions; DynamoDB gets items and capacity units."""

    def __init__(self, raw_dynamodb: Any) -> None:
        self.tally = Tally()
        self.batch_writes_are_new = False
        """When set, BatchWriteItem puts are taken as new items (bulk loads into empty tables)."""
        self._raw = raw_dynamodb
        self._schemas: dict[str, TableSchema] = {}
        self._bytes: dict[str, list[int]] = {}

    def attach(self, session: EventRegistry) -> None:
        """Register the handlers on a botocore session (before it creates clients)."""
        session.register("before-parameter-build", self._remember_params)
        session.register("before-call", self._before_call)
        session.register("after-call", self._after_call)

    @contextmanager
    def measure(self) -> Iterator[Tally]:
        """`with meter.measure() as t:` leaves in `t` what the block did."""
        start = self.tally.copy()
        result = Tally()
        try:
            yield result
        finally:
            result.add(self.tally.minus(start))

    def average_item_size(self, table: str) -> int:
        total, count = self._bytes.get(table, [0, 0])
        return total // count if count else KB

    # -- hooks --

    @staticmethod
    def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name != "dynamodb" or model.name not in _WRITES:
            return None
        context["bench_old"] = self._old_images(model.name, context.get("bench_params", {}))
        return None

    def _after_call(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        service, operation = model.service_model.service_name, model.name
        count = self.tally.op(service, operation)
        count.requests += 1
        ok = http_response is None or http_response.status_code < 300
        if not ok:
            code = parsed.get("Error", {}).get("Code", "")
            if code.endswith("ConditionalCheckFailedException") or (
                code.endswith("TransactionCanceledException")
                and "ConditionalCheckFailed" in str(parsed.get("CancellationReasons", ""))
            ):
                count.conditional_failures += 1
            else:
                count.errors += 1
        if service == "dynamodb":
            params = context.get("bench_params", {})
            self._account(operation, params, parsed, ok, context.get("bench_old", {}), count)

    # -- previous images --

    def _schema(self, table: str) -> TableSchema:
        if table not in self._schemas:
            self._schemas[table] = describe_schema(self._raw, table)
        return self._schemas[table]

    def _get(self, table: str, key: Item) -> Item | None:
        found: Item | None = self._raw.get_item(TableName=table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return found

    def _old_images(self, operation: str, params: Mapping[str, Any]) -> dict[Any, Item | None]:
        targets: list[tuple[str, Item]] = []
        if operation == "PutItem":
            table = params["TableName"]
            targets.append((table, self._schema(table).key_of(params["Item"])))
        elif operation in ("UpdateItem", "DeleteItem"):
            targets.append((params["TableName"], params["Key"]))
        elif operation == "TransactWriteItems":
            for action in params.get("TransactItems", []):
                ((kind, body),) = action.items()
                key = (
                    body["Key"]
                    if "Key" in body
                    else self._schema(body["TableName"]).key_of(body["Item"])
                )
                targets.append((body["TableName"], key))
        elif operation == "BatchWriteItem" and not self.batch_writes_are_new:
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        key = self._schema(table).key_of(request["PutRequest"]["Item"])
                    else:
                        key = request["DeleteRequest"]["Key"]
                    targets.append((table, key))
        return {_key_id(table, key): self._get(table, key) for table, key in targets}

    # -- accounting --

    def _seen(self, table: str, item: Item | None) -> int:
        size = item_size(item)
        if item:
            stats = self._bytes.setdefault(table, [0, 0])
            stats[0] += size
            stats[1] += 1
        return size

    def _account(
        self,
        operation: str,
        params: Mapping[str, Any],
        parsed: Mapping[str, Any],
        ok: bool,
        old: Mapping[Any, Item | None],
        count: OpCount,
    ) -> None:
        if operation in ("GetItem", "BatchGetItem", "TransactGetItems"):
            if ok:
                self._account_gets(operation, params, parsed, count)
        elif operation in ("Query", "Scan"):
            if ok:
                self._account_query(params, parsed, count)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self._account_single_write(operation, params, ok, old, count)
        elif operation == "BatchWriteItem":
            if ok:
                self._account_batch_write(params, parsed, old, count)
        elif operation == "TransactWriteItems":
            self._account_transaction(params, ok, old, count)

    def _account_gets(
        self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any], count: OpCount
    ) -> None:
        # A key that finds nothing is still a billed read (the minimum unit): keys count.
        if operation == "GetItem":
            count.items_read += 1
            size = self._seen(params["TableName"], parsed.get("Item"))
            count.rru += read_units(size, bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            unprocessed = parsed.get("UnprocessedKeys") or {}
            for table, request in params.get("RequestItems", {}).items():
                consistent = bool(request.get("ConsistentRead"))
                found = parsed.get("Responses", {}).get(table, [])
                keys = len(request.get("Keys", [])) - len(
                    unprocessed.get(table, {}).get("Keys", [])
                )
                for item in found:
                    count.rru += read_units(self._seen(table, item), consistent)
                count.rru += max(0, keys - len(found)) * read_units(0, consistent)
                count.items_read += keys
        else:
            for response in parsed.get("Responses", []):
                count.items_read += 1
                count.rru += 2 * read_units(item_size(response.get("Item")), True)

    def _account_query(
        self, params: Mapping[str, Any], parsed: Mapping[str, Any], count: OpCount
    ) -> None:
        table = params["TableName"]
        items: Sequence[Item] = parsed.get("Items", [])
        scanned = int(parsed.get("ScannedCount", len(items)))
        returned = sum(item_size(i) for i in items)
        # Items a filter dropped (or a COUNT query never returned) are billed too; their size
        # is not on the wire, so the average item of that table stands in for it.
        average = returned // len(items) if items else self.average_item_size(table)
        evaluated = returned + max(0, scanned - len(items)) * average
        count.items_read += scanned
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        count.rru += read_units(evaluated, consistent)

    def _account_single_write(
        self,
        operation: str,
        params: Mapping[str, Any],
        ok: bool,
        old_images: Mapping[Any, Item | None],
        count: OpCount,
    ) -> None:
        table = params["TableName"]
        schema = self._schema(table)
        key = schema.key_of(params["Item"]) if operation == "PutItem" else params["Key"]
        old = old_images.get(_key_id(table, key))
        if not ok:
            # A failed condition is still billed as a write of the item's size.
            count.wru += write_units(item_size(params.get("Item") or old))
            return
        new: Item | None
        if operation == "PutItem":
            new = params["Item"]
        elif operation == "UpdateItem":
            new = self._get(table, key)
        else:
            new = None
        self._written(count, schema, old, new, 1)

    def _account_batch_write(
        self,
        params: Mapping[str, Any],
        parsed: Mapping[str, Any],
        old_images: Mapping[Any, Item | None],
        count: OpCount,
    ) -> None:
        unprocessed = parsed.get("UnprocessedItems") or {}
        for table, requests in params.get("RequestItems", {}).items():
            schema = self._schema(table)
            left = len(unprocessed.get(table, []))
            for request in requests[: len(requests) - left]:
                if "PutRequest" in request:
                    new: Item | None = request["PutRequest"]["Item"]
                    key = schema.key_of(request["PutRequest"]["Item"])
                else:
                    new, key = None, request["DeleteRequest"]["Key"]
                self._written(count, schema, old_images.get(_key_id(table, key)), new, 1)

    def _account_transaction(
        self,
        params: Mapping[str, Any],
        ok: bool,
        old_images: Mapping[Any, Item | None],
        count: OpCount,
    ) -> None:
        for action in params.get("TransactItems", []):
            ((kind, body),) = action.items()
            table = body["TableName"]
            schema = self._schema(table)
            key = body["Key"] if "Key" in body else schema.key_of(body["Item"])
            old = old_images.get(_key_id(table, key))
            if kind == "ConditionCheck":
                count.items_read += 1
                count.rru += 2 * read_units(item_size(old), True)
                continue
            if not ok:
                # Cancelled transactions are still billed (reference, [S]); no index writes.
                count.wru += 2 * write_units(item_size(body.get("Item") or old))
                continue
            new: Item | None
            if kind == "Put":
                new = body["Item"]
            elif kind == "Update":
                new = self._get(table, key)
            else:
                new = None
            self._written(count, schema, old, new, 2)

    def _written(
        self, count: OpCount, schema: TableSchema, old: Item | None, new: Item | None, factor: int
    ) -> None:
        count.items_written += 1
        new_size = self._seen(schema.name, new)
        if old is None:
            count.new_item_bytes += new_size
        size = max(item_size(old), new_size)
        count.wru += factor * write_units(size) + index_write_units(schema, old, new)


def _key_id(table: str, key: Mapping[str, Any]) -> tuple[str, str]:
    return table, repr(sorted((k, repr(v)) for k, v in key.items()))


NEW_SESSION = ("botocore", "new session")
"""Counted like an operation: PynamoDB builds a session (and a client) per `Connection`."""


def hooked_botocore_session(meter: AwsMeter) -> botocore.session.Session:
    """A botocore session whose clients are all metered."""
    session = botocore.session.get_session()
    meter.attach(session)
    return session


PYNAMODB_SESSION_FACTORY = "get_session"
"""The name `pynamodb.connection.base.Connection.session` calls for each new session."""


@contextmanager
def metered_pynamodb(meter: AwsMeter) -> Iterator[None]:
    """Hook every botocore session PynamoDB creates from now on; restore on exit."""
    original: Callable[..., botocore.session.Session] = getattr(
        pynamodb_base, PYNAMODB_SESSION_FACTORY
    )

    def metered_session(env_vars: Any = None) -> botocore.session.Session:
        session = original(env_vars)
        meter.attach(session)
        meter.tally.op(*NEW_SESSION).requests += 1
        return session

    setattr(pynamodb_base, PYNAMODB_SESSION_FACTORY, metered_session)
    try:
        yield
    finally:
        setattr(pynamodb_base, PYNAMODB_SESSION_FACTORY, original)
