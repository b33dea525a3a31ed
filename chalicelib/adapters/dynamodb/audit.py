"""Adapter: DynamoAuditLog, admin actions in the records table, grouped by month."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.tables import GenericRecord, map_values
from chalicelib.domain.audit import AuditEntry, audit_month
from chalicelib.services.ports import Page


class DynamoAuditLog:
    """pk `audit#<id>`; the by_group index holds `audit#<yyyy-mm>`, sorted by time."""

    def record(self, entry: AuditEntry) -> None:
        at = entry.at.astimezone(UTC).isoformat()
        GenericRecord(
            f"audit#{entry.entry_id}",
            "audit",
            gsi1pk=f"audit#{audit_month(entry.at)}",
            gsi1sk=f"{at}#{entry.entry_id}",
            data={
                "entry_id": entry.entry_id,
                "at": at,
                "actor_id": entry.actor_id,
                "actor_label": entry.actor_label,
                "actor_role": entry.actor_role,
                "action": entry.action,
                "summary": entry.summary,
                "target": dict(entry.target),
                "fields": list(entry.fields),
                "status": entry.status,
            },
        ).save()

    def list(self, month: str, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        result = GenericRecord.by_group.query(
            f"audit#{month}",
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = tuple(self._domain(r) for r in result)
        return Page(items, encode_cursor(result.last_evaluated_key))

    @staticmethod
    def _domain(record: GenericRecord) -> AuditEntry:
        d = map_values(record.data)
        target = d.get("target") or {}
        return AuditEntry(
            entry_id=d["entry_id"],
            at=datetime.fromisoformat(d["at"]),
            actor_id=d["actor_id"],
            actor_label=d["actor_label"],
            actor_role=d["actor_role"],
            action=d["action"],
            summary=d.get("summary") or "",
            target=tuple(sorted((str(k), str(v)) for k, v in dict(target).items())),
            fields=tuple(str(f) for f in d.get("fields") or ()),
            status=int(d.get("status") or 200),
        )
