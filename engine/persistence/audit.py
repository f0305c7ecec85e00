"""The append-only audit trail: one hash chain per instance, checkpoints over all chain heads, signatures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime

LEGACY_CHAIN = -1  # the single global chain written before migration 0019, verified the old way
SYSTEM_CHAIN = 0  # events that belong to no instance (users, calendar, deployments …)


class AuditEvent(Base):
    """One fact: who did what, when, to which instance/task, hashed with the previous row of its chain.

    ``seq`` is the global order (a sequence: gaps from rolled-back transactions are harmless);
    ``chain_key``/``chain_seq`` place the row in its chain (the instance id, 0, or -1 for legacy rows).
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_chain", "chain_key", "chain_seq", unique=True),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    type: Mapped[str] = mapped_column(String(48), index=True)
    process_key: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chain_key: Mapped[int] = mapped_column(Integer)
    chain_seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The tip of one chain; locked only by transactions that append to that chain."""

    __tablename__ = "audit_chain_head"

    chain_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A Merkle root over every chain head at one moment, with the heads that moved since the previous one; chained."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    chains: Mapped[int] = mapped_column(Integer)  # how many chains the root covers
    events: Mapped[int] = mapped_column(Integer)  # how many events those chains hold
    root: Mapped[str] = mapped_column(String(64))
    heads: Mapped[list[Any]] = mapped_column(JSON)  # [[chain_key, last_seq, last_hash], …] that moved
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpointHead(Base):
    """The worker's copy of each chain head as the newest checkpoint saw it (rebuildable from the checkpoints)."""

    __tablename__ = "audit_checkpoint_head"

    chain_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    checkpoint_id: Mapped[int] = mapped_column(Integer)


class AuditSignature(Base):
    """An Ed25519 signature over a checkpoint (or, before 0019, the global head); the key lives outside the database."""

    __tablename__ = "audit_signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)  # the checkpoint id signed (legacy: the global position)
    head_hash: Mapped[str] = mapped_column(String(64))
    checkpoint_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: a legacy head signature
    key_id: Mapped[str] = mapped_column(String(64))  # which public key verifies it (keys rotate)
    signature: Mapped[str] = mapped_column(String(128))  # hex of the 64-byte Ed25519 signature
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_by: Mapped[str] = mapped_column(String(120))
