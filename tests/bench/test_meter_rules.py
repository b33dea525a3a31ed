"""The capacity-unit rules the bench applies to what it counts, and the importtime parser."""

from __future__ import annotations

import pytest

from bench.imports import parse_importtime
from bench.meter import (
    IndexSchema,
    OpCount,
    TableSchema,
    Tally,
    index_write_units,
    item_size,
    read_units,
    value_size,
    write_units,
)

INVOICES = TableSchema(
    name="invoices",
    keys=("invoice_id",),
    indexes=(
        IndexSchema("by_customer", ("customer_id", "due_date"), "ALL"),
        IndexSchema("due", ("due_shard", "next_action_at"), "INCLUDE", frozenset({"customer_id"})),
        IndexSchema("by_number", ("number", "invoice_id"), "KEYS_ONLY"),
    ),
)


def invoice(**changes: str) -> dict:
    item = {
        "invoice_id": {"S": "inv_1"},
        "customer_id": {"S": "cus_1"},
        "due_date": {"S": "2027-03-01"},
        "number": {"S": "F-1"},
        "status": {"S": "open"},
        "due_shard": {"S": "003"},
        "next_action_at": {"S": "2027-03-02T09:00:00+00:00"},
    }
    for name, value in changes.items():
        if value == "":
            item.pop(name)
        else:
            item[name] = {"S": value}
    return item


def test_sizes_count_names_and_values_as_dynamodb_does():
    assert value_size({"S": "héllo"}) == 6
    assert value_size({"N": "12345"}) == 4
    assert value_size({"N": "-0.500"}) == 2
    assert value_size({"BOOL": True}) == 1
    assert value_size({"NULL": True}) == 1
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + 3 + 3
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert value_size({"SS": ["a", "bc"]}) == 3
    assert item_size({"pk": {"S": "abc"}, "n": {"N": "7"}}) == 2 + 3 + 1 + 2
    assert item_size(None) == 0


def test_an_unknown_attribute_type_is_refused():
    with pytest.raises(ValueError, match="unknown DynamoDB type"):
        value_size({"X": "?"})


def test_writes_round_up_per_kilobyte_and_never_cost_less_than_one_unit():
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2


def test_reads_round_up_per_four_kilobytes_and_halve_when_eventually_consistent():
    assert read_units(0, consistent=True) == 1
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1


def test_a_new_item_writes_one_entry_in_every_index_it_has_keys_for():
    assert index_write_units(INVOICES, None, invoice()) == 3
    assert index_write_units(INVOICES, None, invoice(due_shard="", next_action_at="")) == 2


def test_moving_an_index_key_is_a_delete_and_a_put():
    moved = invoice(next_action_at="2027-03-09T09:00:00+00:00")

    assert index_write_units(INVOICES, invoice(), moved) == 2 + 1  # due re-keyed; ALL rewritten


def test_leaving_a_sparse_index_is_one_delete():
    closed = invoice(status="paid", due_shard="", next_action_at="")

    assert index_write_units(INVOICES, invoice(), closed) == 1 + 1  # due deleted; ALL rewritten


def test_a_change_outside_every_projection_costs_no_index_write():
    keys_only = TableSchema("t", ("invoice_id",), (INVOICES.indexes[2],))

    assert index_write_units(keys_only, invoice(), invoice(status="paid")) == 0


def test_a_deleted_item_removes_its_index_entries():
    assert index_write_units(INVOICES, invoice(), None) == 3


def test_tallies_subtract_to_what_one_step_did():
    before = Tally()
    before.op("dynamodb", "Query").requests = 2
    after = before.copy()
    after.op("dynamodb", "Query").requests += 3
    after.op("s3", "GetObject").requests = 1

    delta = after.minus(before)

    assert delta.requests("dynamodb") == 3
    assert delta.requests("s3") == 1
    assert delta.total("dynamodb").requests == 3
    assert OpCount(requests=1).minus(OpCount(requests=1)) == OpCount()


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | _io
import time:       200 |        500 |   botocore.compat
import time:       300 |        800 | botocore
import time:        50 |       1000 | app
"""


def test_importtime_lines_are_read_with_their_depth():
    profile = parse_importtime(IMPORTTIME + "some other stderr line\n")

    assert [(line.module, line.depth) for line in profile.lines] == [
        ("_io", 0),
        ("botocore.compat", 1),
        ("botocore", 0),
        ("app", 0),
    ]
    assert profile.total_us(frozenset({"_io"})) == 1800
    assert profile.self_by_package(frozenset({"_io"})) == {"botocore": 500, "app": 50}


def test_an_empty_importtime_report_has_no_lines():
    assert parse_importtime("").lines == ()
