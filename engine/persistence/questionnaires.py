"""Customer questionnaires: satisfaction surveys and post-order questionnaires answered in the portal by a token link
(or recorded by cs_rep), and the return visits they and closed exceptions ask for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class Questionnaire(Base):
    """One questionnaire sent to a customer: a satisfaction survey (of a ``satisfaction_survey`` instance) or the
    short questionnaire after an order (of a completed ``order_plan`` instance). The token is the portal link's
    secret: unguessable, expiring, good for one submission."""

    __tablename__ = "customer_questionnaire"
    __table_args__ = (Index("ix_customer_questionnaire_customer", "customer", "kind", "answered_at"),
                      Index("ix_customer_questionnaire_answered", "kind", "answered_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # survey | order
    token: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    period: Mapped[str] = mapped_column(String(32), default="")  # a survey's half-year/year; an order's order no.
    items: Mapped[list[str]] = mapped_column(JSON, default=list)  # the item keys asked
    recheck: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # open items of the survey before
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # item → {rating, comment}
    recheck_results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # item → resolved|not_resolved
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the order questionnaire's 1–5
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_via: Mapped[str | None] = mapped_column(String(16), nullable=True)  # portal | phone
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    emailed_to: Mapped[str | None] = mapped_column(String(254), nullable=True)


class ReturnVisitRequest(Base):
    """A return visit someone or something asked for (a closed complaint or accident, a poor order questionnaire, a
    key account's quarter): written in the cause's transaction, started by the worker once (the unique key)."""

    __tablename__ = "return_visit_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(255), unique=True)  # e.g. exception:42, questionnaire:7, 2026-Q2:3
    reason: Mapped[str] = mapped_column(String(16))  # exception | questionnaire | key_account
    customer: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
