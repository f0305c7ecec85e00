"""Uploads staged between "validate" and "deploy": per user, found by a secret token, kept for an hour.

They live in the database, not on a web server's disk, so the deploy may reach any server behind the load balancer.
Only the token's SHA-256 is stored: the token itself is a secret the uploader's page holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class StagedUpload(Base):
    """One staged upload: whose it is and until when it may be deployed."""

    __tablename__ = "staged_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class StagedFile(Base):
    """One file of a staged upload, in the order it was given."""

    __tablename__ = "staged_upload_file"
    __table_args__ = (UniqueConstraint("upload_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("staged_upload.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
