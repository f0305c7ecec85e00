"""Due work for the scheduler: timer rows (leased), incidents and SLA breaches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class Timer(Base):
    """A timer that will fire at ``run_at`` (its ``due_at``, or later when retrying)."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True, nullable=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    element_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The calendar days due_at was computed over (from the expression, as of due_basis_at), and
    # whether any was provisional: an official calendar change recomputes such timers.
    due_at_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_calendar_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_calendar_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_basis_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lock_owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Waiting timers whose due time rests on a provisional calendar year (the calendar notice counts them): few rows.
Index("ix_timer_provisional", Timer.status, postgresql_where=Timer.due_at_provisional.is_(True),
      sqlite_where=Timer.due_at_provisional.is_(True))


class Incident(Base):
    """A timer, job, external task or automatic start that kept failing; an operator retries or resolves it."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timer.id", ondelete="SET NULL"), nullable=True, index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True, index=True)
    external_task_id: Mapped[str | None] = mapped_column(ForeignKey("external_task.id", ondelete="SET NULL"),
                                                         nullable=True, index=True)
    # A notification that could not be delivered (e-mail, group robot): retrying puts it back in the outbox.
    notification_delivery_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # A start the worker makes on its own that failed (migration 0027): where it came from ("register": a
    # register_start key; "return_visit": a return_visit_request's source key), the key, and what it started with.
    start_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    start_key: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    start_data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    process_key: Mapped[str] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(120), nullable=True)


class SlaBreach(Base):
    """A missed deadline: which step, which group, due when, noticed when."""

    __tablename__ = "sla_breach"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255), index=True)
    step: Mapped[str] = mapped_column(String(255))
    timer_element_id: Mapped[str] = mapped_column(String(255))
    responsible_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
