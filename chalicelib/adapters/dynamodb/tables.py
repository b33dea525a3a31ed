"""Adapter: PynamoDB models, i.e. the persistence schema. Never leaves adapters/dynamodb."""

from __future__ import annotations

from typing import Any, ClassVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
from pynamodb.models import Model


def map_values(value: MapAttribute[str, Any] | dict[str, Any] | None) -> dict[str, Any]:
    """A raw MapAttribute's content as a plain dict."""
    if value is None:
        return {}
    if isinstance(value, MapAttribute):
        return dict(value.as_dict())
    return dict(value)


class _Meta:
    table_name: ClassVar[str | None] = None
    region: ClassVar[str | None] = None


# --- Invoices ------------------------------------------------------------------------------------


class InvoicesByCustomer(GlobalSecondaryIndex["InvoiceRecord"]):
    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    due_date = UnicodeAttribute(range_key=True)


class InvoicesByNumber(GlobalSecondaryIndex["InvoiceRecord"]):
    class Meta:
        index_name = "by_number"
        projection = KeysOnlyProjection()

    number = UnicodeAttribute(hash_key=True)
    invoice_id = UnicodeAttribute(range_key=True)


class InvoicesByStatus(GlobalSecondaryIndex["InvoiceRecord"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    due_date = UnicodeAttribute(range_key=True)


class InvoicesDue(GlobalSecondaryIndex["InvoiceRecord"]):
    """Sparse: only invoices with a pending action carry `due_shard`."""

    class Meta:
        index_name = "due"
        # The planner groups due invoices by customer without reading the invoices.
        projection = IncludeProjection(["customer_id"])

    due_shard = UnicodeAttribute(hash_key=True)
    next_action_at = UnicodeAttribute(range_key=True)


class InvoiceRecord(Model):
    class Meta(_Meta):
        pass

    invoice_id = UnicodeAttribute(hash_key=True)
    seller_id = UnicodeAttribute()
    number = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    issue_date = UnicodeAttribute()
    due_date = UnicodeAttribute()
    currency = UnicodeAttribute()
    total_minor = NumberAttribute()
    paid_minor = NumberAttribute(default=0)
    credited_minor = NumberAttribute(default=0)
    disputed_minor = NumberAttribute(null=True)
    purchase_order = UnicodeAttribute(null=True)
    payment_reference = UnicodeAttribute(null=True)
    iban = UnicodeAttribute(null=True)
    source_key = UnicodeAttribute(null=True)
    source_format = UnicodeAttribute(null=True)
    next_action_at = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    policy_id = UnicodeAttribute(null=True)
    policy_version = NumberAttribute(null=True)
    steps_done: ListAttribute[str] = ListAttribute(default=list)
    paused_until = UnicodeAttribute(null=True)
    paused = BooleanAttribute(default=False)
    promise_date = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    extra = MapAttribute[str, Any](default=dict)
    version = VersionAttribute()

    by_customer = InvoicesByCustomer()
    by_number = InvoicesByNumber()
    by_status = InvoicesByStatus()
    due = InvoicesDue()


# --- Customers -----------------------------------------------------------------------------------


class CustomerRecord(Model):
    class Meta(_Meta):
        pass

    customer_id = UnicodeAttribute(hash_key=True)
    seller_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="fr")
    timezone = UnicodeAttribute(default="Europe/Paris")
    segment = UnicodeAttribute(default="standard")
    risk_override = UnicodeAttribute(null=True)
    policy_id = UnicodeAttribute(null=True)
    vat_id = UnicodeAttribute(null=True)
    legal_id = UnicodeAttribute(null=True)
    endpoint_id = UnicodeAttribute(null=True)
    email_status = UnicodeAttribute(default="ok")
    sms_status = UnicodeAttribute(default="ok")
    edited_fields = UnicodeSetAttribute(null=True)
    paused = BooleanAttribute(default=False)
    erased = BooleanAttribute(default=False)
    file_values = MapAttribute[str, Any](default=dict)
    version = VersionAttribute()


# --- Timeline ------------------------------------------------------------------------------------


class TimelineByCustomer(GlobalSecondaryIndex["TimelineRecord"]):
    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class TimelineRecord(Model):
    """pk = invoice id, or `customer#<id>` for customer-level events; sk = `<iso>#<id>`."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    details = MapAttribute[str, Any](default=dict)
    expires_at = TTLAttribute(null=True)

    by_customer = TimelineByCustomer()


# --- Records: tokens, imports, claims, webhook events, runs, tasks, policies, audit ---


class RecordsByGroup(GlobalSecondaryIndex["GenericRecord"]):
    class Meta:
        index_name = "by_group"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class GenericRecord(Model):
    """One item shape for every small operational record; `data` holds the entity's fields."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    data = MapAttribute[str, Any](default=dict)
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()

    by_group = RecordsByGroup()


ALL_MODELS: tuple[type[Model], ...] = (InvoiceRecord, CustomerRecord, TimelineRecord, GenericRecord)


def bind_tables(
    *, invoices: str, customers: str, timeline: str, records: str, region: str | None
) -> None:
    """Point each model at its table; PynamoDB reconnects lazily when the name changes."""
    names = {
        InvoiceRecord: invoices,
        CustomerRecord: customers,
        TimelineRecord: timeline,
        GenericRecord: records,
    }
    for model, name in names.items():
        model.Meta.table_name = name
        model.Meta.region = region


def bind_records_table(name: str, region: str | None) -> None:
    """Point only the records table (tokens) at `name`: what the tokens CLI needs."""
    GenericRecord.Meta.table_name = name
    GenericRecord.Meta.region = region
