"""External tasks: work an outside worker fetches under a lease, like the scheduler's timer rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class ExternalTask(Base):
    """An external service task an instance waits on: its topic, the worker holding it and until when, its retries."""

    __tablename__ = "external_task"
    # Fetch-and-lock reads open rows of a topic whose lease is free (see engine.services.external_tasks).
    __table_args__ = (Index("ix_external_task_fetch", "topic", "status", "lock_expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the workflow task's id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The variables handed to the worker (plain JSON), refreshed whenever the instance is saved.
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | incident | completed | cancelled
    # None until a worker reports a failure (Camunda's meaning); 0 means no retries left: an incident.
    retries: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    lock_owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # Nobody may fetch the task before this: the lease of lock_owner, or the back-off after a failure.
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
