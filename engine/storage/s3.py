"""The ``s3`` store: bytes in a bucket of an S3-compatible object store (AWS, MinIO, Ceph …), through boto3.

An object is written before the database transaction commits; if that transaction then rolls back, the object
stays behind unreferenced (its key is random, nobody can reach it) — harmless, and cheaper than a two-phase dance.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy.orm import Session

from engine.config import EngineConfig
from engine.errors import EngineError, InvalidInput, NotFound


class StorageUnavailable(EngineError):
    """The object store could not be reached or refused the request."""


class S3Store:
    """Keep bytes as objects of one bucket."""

    name = "s3"

    def __init__(self, client: Any, bucket: str):
        self.client = client
        self.bucket = bucket

    def put(self, session: Session, key: str, content: bytes, media_type: str) -> None:
        """Store ``content`` as object ``key``."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=content, ContentType=media_type)
        except Exception as exc:
            raise StorageUnavailable(f"the attachment store (S3 bucket {self.bucket}) refused the file: {_reason(exc)}") \
                from exc

    def get(self, session: Session, key: str) -> bytes:
        """Return the bytes of object ``key``."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read())
        except Exception as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                raise NotFound(f"no stored content {key!r} in S3 bucket {self.bucket}") from exc
            raise StorageUnavailable(f"the attachment store (S3 bucket {self.bucket}) is unavailable: {_reason(exc)}") \
                from exc

    def delete(self, session: Session, key: str) -> None:
        """Delete object ``key``."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise StorageUnavailable(f"the attachment store (S3 bucket {self.bucket}) is unavailable: {_reason(exc)}") \
                from exc


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _reason(exc: Exception) -> str:
    return _code(exc) or type(exc).__name__


@functools.lru_cache(maxsize=8)
def _client(endpoint_url: str | None, region: str | None, key_id: str | None, secret: str | None) -> Any:
    # boto3 clients are thread-safe and costly to build: one per distinct setting, kept for the process.
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3}))


def s3_store(config: EngineConfig) -> S3Store:
    """Return the S3 store ``config`` describes (``BPM_S3_*``)."""
    if not config.s3_bucket:
        raise InvalidInput("attachments are set to be stored in S3 but no bucket is configured (BPM_S3_BUCKET)")
    return S3Store(_client(config.s3_endpoint_url, config.s3_region, config.s3_access_key_id,
                           config.s3_secret_access_key), config.s3_bucket)
