"""Adapter: DynamoCustomerRepository, mapping CustomerRecord <-> domain Customer."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import CustomerRecord, map_values
from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.invoices import ChannelStatus, Customer, RiskClass
from chalicelib.services.ports import Page


class DynamoCustomerRepository:
    @staticmethod
    def to_record(customer: Customer) -> CustomerRecord:
        record = CustomerRecord(
            customer.customer_id,
            seller_id=customer.seller_id,
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            country=customer.country,
            locale=customer.locale,
            timezone=customer.timezone,
            segment=customer.segment,
            risk_override=customer.risk_override.value if customer.risk_override else None,
            policy_id=customer.policy_id,
            vat_id=customer.vat_id,
            legal_id=customer.legal_id,
            endpoint_id=customer.endpoint_id,
            email_status=customer.email_status.value,
            sms_status=customer.sms_status.value,
            edited_fields=set(customer.edited_fields) or None,
            paused=customer.paused,
            erased=customer.erased,
            file_values=dict(customer.file_values),
        )
        if customer.version:
            record.version = customer.version
        return record

    @staticmethod
    def to_domain(record: CustomerRecord) -> Customer:
        return Customer(
            customer_id=record.customer_id,
            seller_id=record.seller_id,
            name=record.name,
            email=record.email,
            phone=record.phone,
            country=record.country,
            locale=record.locale,
            timezone=record.timezone,
            segment=record.segment,
            risk_override=RiskClass(record.risk_override) if record.risk_override else None,
            policy_id=record.policy_id,
            vat_id=record.vat_id,
            legal_id=record.legal_id,
            endpoint_id=record.endpoint_id,
            email_status=ChannelStatus(record.email_status),
            sms_status=ChannelStatus(record.sms_status),
            edited_fields=frozenset(record.edited_fields or ()),
            paused=bool(record.paused),
            erased=bool(record.erased),
            file_values=tuple(
                sorted((str(k), str(v)) for k, v in map_values(record.file_values).items())
            ),
            version=int(record.version or 0),
        )

    def get(self, customer_id: str) -> Customer | None:
        try:
            return self.to_domain(CustomerRecord.get(customer_id, consistent_read=True))
        except CustomerRecord.DoesNotExist:
            return None

    def get_many(self, customer_ids: Sequence[str]) -> list[Customer]:
        unique = list(dict.fromkeys(customer_ids))
        found = {r.customer_id: self.to_domain(r) for r in CustomerRecord.batch_get(unique)}
        return [found[i] for i in unique if i in found]

    def save(self, customer: Customer) -> Customer:
        record = self.to_record(customer)
        try:
            record.save()
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdateError(
                    f"customer {customer.customer_id} changed since version {customer.version}"
                ) from exc
            raise
        return self.to_domain(record)

    def save_new_batch(self, customers: Sequence[Customer]) -> None:
        with CustomerRecord.batch_write() as batch:
            for customer in customers:
                record = self.to_record(customer)
                record.version = 1
                batch.save(record)

    def list(self, *, limit: int, cursor: str | None) -> Page[Customer]:
        result = CustomerRecord.scan(limit=limit, last_evaluated_key=decode_cursor(cursor))
        items = tuple(self.to_domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))
