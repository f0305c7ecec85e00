"""The business calendar's days kept in the database: imported official years and local overrides."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class CalendarDay(Base):
    """One day: a holiday or a working day, from an imported official year or a local override."""

    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("source", "day", name="uq_calendar_day_source_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    name: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[str] = mapped_column(String(16))  # official | local
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(120))
