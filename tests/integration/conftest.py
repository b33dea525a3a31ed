from __future__ import annotations

from tests.conftest import Stack


def upload(stack: Stack, key: str, body: bytes) -> None:
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
