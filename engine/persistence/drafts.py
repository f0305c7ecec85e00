"""Designers' unsaved work: one draft bundle per designer and process (its BPMN and the forms it edits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class DefinitionDraft(Base):
    """A designer's draft of a process: the BPMN text, its forms and the deployed version it started from."""

    __tablename__ = "definition_draft"
    __table_args__ = (UniqueConstraint("designer", "process_key", name="uq_definition_draft_designer_process"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    designer: Mapped[str] = mapped_column(String(120), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"), nullable=True)
    based_on_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bpmn: Mapped[str] = mapped_column(Text)
    # The draft's forms ({key: {"schema": …, "ui": …}}), copied from the version it started from; None before 0025.
    forms: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
