"""Files attached to an instance (or one of its tasks), and the bytes of those kept in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class Attachment(Base):
    """One attached file: what it is (sniffed from its bytes), its digest, and where its bytes are stored."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))  # sanitised display name, extension matching media_type
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(8))  # "db" | "s3": the store that holds the bytes
    storage_key: Mapped[str] = mapped_column(String(80))
    thumbnail_key: Mapped[str | None] = mapped_column(String(80), nullable=True)  # a JPEG in the same store
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttachmentBlob(Base):
    """Bytes kept in the database by the ``db`` store (files and thumbnails), by key."""

    __tablename__ = "attachment_blob"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
