"""Process instances (one lean document each) and their message subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class ProcessInstance(Base):
    """A running or finished instance; ``version`` is the optimistic lock."""

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_key_status", "process_key", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    definition_version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(Text, deferred=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True)
    __mapper_args__ = {"version_id_col": version}

    started_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MessageSubscription(Base):
    """An instance waiting for a message, with the values it can be correlated by."""

    __tablename__ = "message_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_name: Mapped[str] = mapped_column(String(255), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    correlation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
