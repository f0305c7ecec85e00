"""Where attachment bytes live: one small interface (put, get, delete by key) and its two stores.

``db`` keeps the bytes in the database (any number of web servers, no shared disk, backed up with the rest);
``s3`` keeps them in an S3-compatible bucket (docs/attachments.md). Each attachment row names the store that
holds its bytes, so changing the setting later leaves older files readable where they are.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from engine.config import EngineConfig
from engine.errors import InvalidInput

STORES = ("db", "s3")


class BlobStore(Protocol):
    """Bytes by key. The database store writes in the caller's transaction; the others write at once."""

    name: str

    def put(self, session: Session, key: str, content: bytes, media_type: str) -> None:
        """Store ``content`` under ``key``."""

    def get(self, session: Session, key: str) -> bytes:
        """Return the bytes under ``key`` (NotFound if there are none)."""

    def delete(self, session: Session, key: str) -> None:
        """Forget the bytes under ``key`` (nothing if there are none)."""


def store_named(config: EngineConfig, name: str) -> BlobStore:
    """Return the store called ``name`` ("db" or "s3") as ``config`` sets it up."""
    if name == "db":
        from engine.storage.database import DatabaseStore

        return DatabaseStore()
    if name == "s3":
        from engine.storage.s3 import s3_store

        return s3_store(config)
    raise InvalidInput(f"unknown attachment storage {name!r}: use one of {', '.join(STORES)}")


def current_store(config: EngineConfig) -> BlobStore:
    """Return the store new attachments go to (``BPM_ATTACHMENTS_STORAGE``)."""
    return store_named(config, config.attachments_storage)
