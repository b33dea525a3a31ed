"""Adapter: small operational records (tokens, imports) in the generic records table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import GenericRecord, map_values
from chalicelib.domain.records import ApiToken, ImportRecord, Role
from chalicelib.services.ports import Page


def _data(record: GenericRecord) -> dict[str, Any]:
    return map_values(record.data)


def _get(pk: str, sk: str) -> GenericRecord | None:
    try:
        return GenericRecord.get(pk, sk, consistent_read=True)
    except GenericRecord.DoesNotExist:
        return None


class DynamoTokenStore:
    _GROUP = "tokens"

    def get(self, token_hash: str) -> ApiToken | None:
        record = _get(f"token#{token_hash}", "token")
        return self._to_domain(record) if record else None

    def put(self, token: ApiToken) -> None:
        GenericRecord(
            f"token#{token.token_hash}",
            "token",
            gsi1pk=self._GROUP,
            gsi1sk=f"{token.created_at.isoformat()}#{token.token_id}",
            data={
                "token_hash": token.token_hash,
                "token_id": token.token_id,
                "role": token.role.value,
                "label": token.label,
                "created_at": token.created_at.isoformat(),
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
                "revoked": token.revoked,
            },
        ).save()

    def revoke(self, token_id: str) -> bool:
        for token in self.list():
            if token.token_id == token_id and not token.revoked:
                record = _get(f"token#{token.token_hash}", "token")
                if record is None:
                    return False
                record.update(actions=[GenericRecord.data["revoked"].set(True)])
                return True
        return False

    def list(self) -> list[ApiToken]:
        return [self._to_domain(r) for r in GenericRecord.by_group.query(self._GROUP)]

    @staticmethod
    def _to_domain(record: GenericRecord) -> ApiToken:
        data = _data(record)
        expires = data.get("expires_at")
        return ApiToken(
            token_hash=data["token_hash"],
            token_id=data["token_id"],
            role=Role(data["role"]),
            label=data["label"],
            created_at=datetime.fromisoformat(data["created_at"]),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            revoked=bool(data.get("revoked")),
        )


class DynamoImportLog:
    _GROUP = "imports"

    def get(self, key: str, etag: str) -> ImportRecord | None:
        record = _get(f"import#{key}", etag)
        return self._to_domain(record) if record else None

    def put(self, record: ImportRecord) -> None:
        GenericRecord(
            f"import#{record.key}",
            record.etag,
            gsi1pk=self._GROUP,
            gsi1sk=f"{record.received_at.isoformat()}#{record.key}",
            data={
                "key": record.key,
                "etag": record.etag,
                "format": record.format,
                "status": record.status,
                "accepted": record.accepted,
                "rejected": record.rejected,
                "created": record.created,
                "updated": record.updated,
                "unchanged": record.unchanged,
                "error_report_key": record.error_report_key,
                "received_at": record.received_at.isoformat(),
                "message": record.message,
            },
        ).save()

    def list(self, *, limit: int, cursor: str | None) -> Page[ImportRecord]:
        result = GenericRecord.by_group.query(
            self._GROUP,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = tuple(self._to_domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))

    @staticmethod
    def _to_domain(record: GenericRecord) -> ImportRecord:
        data = _data(record)
        return ImportRecord(
            key=data["key"],
            etag=data["etag"],
            format=data["format"],
            status=data["status"],
            accepted=int(data["accepted"]),
            rejected=int(data["rejected"]),
            created=int(data["created"]),
            updated=int(data["updated"]),
            unchanged=int(data["unchanged"]),
            error_report_key=data.get("error_report_key"),
            received_at=datetime.fromisoformat(data["received_at"]),
            message=data.get("message"),
        )
