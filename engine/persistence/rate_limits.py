"""Rate-limit counters shared by every web process: one row per limit, client and window."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base


class RateLimitCounter(Base):
    """Hits counted in the current fixed window of one limit key (Flask-Limiter's key: limit, scope, client)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # epoch seconds: when the window ends
