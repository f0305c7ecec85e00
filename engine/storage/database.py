"""The ``db`` store: bytes in the ``attachment_blob`` table, written in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.persistence import AttachmentBlob


class DatabaseStore:
    """Keep bytes in the database: they commit or roll back with the attachment row itself."""

    name = "db"

    def put(self, session: Session, key: str, content: bytes, media_type: str) -> None:
        """Store ``content`` under ``key``."""
        session.add(AttachmentBlob(key=key, content=content))

    def get(self, session: Session, key: str) -> bytes:
        """Return the bytes under ``key``."""
        row = session.get(AttachmentBlob, key)
        if row is None:
            raise NotFound(f"no stored content {key!r}")
        return bytes(row.content)

    def delete(self, session: Session, key: str) -> None:
        """Forget the bytes under ``key``."""
        row = session.get(AttachmentBlob, key)
        if row is not None:
            session.delete(row)
