"""Instances copied to people (抄送): one row per person, read or not yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class InstanceCopy(Base):
    """An instance copied to one user (a copy to a group is one row per member at the time), with a note."""

    __tablename__ = "instance_copy"
    __table_args__ = (Index("ix_instance_copy_recipient", "recipient", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(120))
    via_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    copied_by: Mapped[str] = mapped_column(String(120))
    copied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
