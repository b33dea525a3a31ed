"""The PynamoDB models and infra/resources.yaml describe the same tables (no drift)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pynamodb.indexes import AllProjection, IncludeProjection, KeysOnlyProjection

from chalicelib.adapters.dynamodb.tables import (
    CustomerRecord,
    GenericRecord,
    InvoiceRecord,
    TimelineRecord,
)
from devstack.cfn import load_template

MODELS = {
    "InvoicesTable": InvoiceRecord,
    "CustomersTable": CustomerRecord,
    "TimelineTable": TimelineRecord,
    "RecordsTable": GenericRecord,
}
PROJECTIONS = {AllProjection: "ALL", KeysOnlyProjection: "KEYS_ONLY", IncludeProjection: "INCLUDE"}


def _keys(schema: list[dict]) -> tuple[str, ...]:
    order = {"HASH": 0, "RANGE": 1}
    return tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: order[k["KeyType"]]))


def _model_keys(model) -> tuple[str, ...]:
    attributes = model.get_attributes()
    hash_key = next(a.attr_name for a in attributes.values() if a.is_hash_key)
    range_keys = [a.attr_name for a in attributes.values() if a.is_range_key]
    return (hash_key, *range_keys)


@pytest.mark.parametrize("logical_id", sorted(MODELS))
def test_table_keys_and_indexes_match_the_template(logical_id: str) -> None:
    model = MODELS[logical_id]
    properties = load_template()["Resources"][logical_id]["Properties"]

    assert _keys(properties["KeySchema"]) == _model_keys(model)
    template_indexes = {
        index["IndexName"]: (
            _keys(index["KeySchema"]),
            index["Projection"]["ProjectionType"],
            tuple(index["Projection"].get("NonKeyAttributes", ())),
        )
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    model_indexes = {}
    for index in model._indexes.values():
        attributes = list(index.Meta.attributes.values())
        keys = tuple(a.attr_name for a in attributes if a.is_hash_key) + tuple(
            a.attr_name for a in attributes if a.is_range_key
        )
        projection = index.Meta.projection
        model_indexes[index.Meta.index_name] = (
            keys,
            PROJECTIONS[type(projection)],
            tuple(getattr(projection, "non_key_attributes", None) or ()),
        )
    assert model_indexes == template_indexes
    declared = {d["AttributeName"]: d["AttributeType"] for d in properties["AttributeDefinitions"]}
    attributes = model.get_attributes()
    for name in declared:
        assert attributes[name].attr_type == declared[name], name


def test_ttl_attribute_matches_the_template() -> None:
    for logical_id, model in MODELS.items():
        ttl = load_template()["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
        ttl_attributes = [
            a.attr_name
            for a in model.get_attributes().values()
            if type(a).__name__ == "TTLAttribute"
        ]
        assert ([ttl["AttributeName"]] if ttl else []) == ttl_attributes, logical_id


def test_only_the_composition_root_and_the_trigger_module_read_the_environment() -> None:
    root = Path(__file__).resolve().parents[2] / "chalicelib"
    readers = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "environ":
                readers.add(path.relative_to(root).as_posix())
    # settings.py parses it once; triggers.py at decorator time; secrets.py for the local
    # stage's RELANCE_SECRET_* variables (HOUSE_STYLE §5).
    assert readers <= {"settings.py", "entrypoints/triggers.py", "adapters/secrets.py"}
