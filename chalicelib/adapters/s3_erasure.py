"""Adapter: S3DocumentEraser, purging and rewriting objects with every version (GDPR)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3DocumentEraser:
    """Deletes objects for good, version by version.

    The invoice bucket is versioned: deleting a key only hides it behind a delete marker, so
    erasure deletes each version (and marker) by id.
    """

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise

    def _versions(self, key: str) -> list[str]:
        found: list[str] = []
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=key):
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if item.get("Key") == key and item.get("VersionId"):
                    found.append(item["VersionId"])
        return found

    def _delete(self, key: str, version_ids: list[str]) -> int:
        for start in range(0, len(version_ids), 1000):
            chunk = version_ids[start : start + 1000]
            self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key, "VersionId": v} for v in chunk], "Quiet": True},
            )
        return len(version_ids)

    def overwrite(self, key: str, body: bytes, content_type: str) -> None:
        written = self._client.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type
        )
        current = written.get("VersionId")
        self._delete(key, [v for v in self._versions(key) if v != current])

    def purge(self, key: str) -> int:
        return self._delete(key, self._versions(key))
