"""The call log (第七条): every call the phone system or a person records, answered or missed; a missed call is
returned by a ``missed_call_return`` instance, whose id the row keeps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class CallRecord(Base):
    """One incoming call: who called when, answered or missed, by which agent, for how long."""

    __tablename__ = "call_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller: Mapped[str] = mapped_column(String(120))  # the number (or name) the call came from
    customer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # answered | missed
    agent: Mapped[str | None] = mapped_column(String(120), nullable=True)
    duration_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The phone system's own id of the call: posting the same call twice records it once.
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    return_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True)
