"""Adapter: S3DocumentStore, the invoice bucket (uploads, rejected files, error reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, cast

from botocore.exceptions import ClientError

from chalicelib.services.ports import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3DocumentStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def head(self, key: str) -> StoredObject | None:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return StoredObject(
            key=key,
            etag=head["ETag"].strip('"'),
            size=head["ContentLength"],
            content_type=head.get("ContentType"),
        )

    def open(self, key: str) -> BinaryIO:
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        return cast(BinaryIO, body)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def copy(self, source_key: str, target_key: str) -> None:
        self._client.copy_object(
            Bucket=self._bucket,
            Key=target_key,
            CopySource={"Bucket": self._bucket, "Key": source_key},
        )
