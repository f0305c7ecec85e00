"""Deployed definition files and the immutable process-definition versions built from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class DefinitionFile(Base):
    """One version of a deployed BPMN or DMN file, by file name."""

    __tablename__ = "definition_file"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, deferred=True)
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    undeployed: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessDefinition(Base):
    """An immutable version of a process: its source, parsed spec and element metadata."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[int] = mapped_column(ForeignKey("definition_file.id"))
    source: Mapped[str] = mapped_column(Text, deferred=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    element_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    start_timer: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The rest of the bundle deployed with this version: its texts in every language (engine.definitions.catalogue)
    # and the forms its start event, tasks and messages use ({key: {"schema": …, "ui": …}}). None before 0010.
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    forms: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
