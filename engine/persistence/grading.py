"""Customer grading: every change of a customer's grade 1–5, who made it, when and why (客户分级记录)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class CustomerGradeChange(Base):
    """One change of a customer's grade: old → new, the reason, who proposed and who decided, from which source
    (the quarterly grading process, or an edit of the register)."""

    __tablename__ = "customer_grade_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    old_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the customer's first grade
    new_grade: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))  # grading | register
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)  # the quarter graded, e.g. 2026-Q1
    proposed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True)
