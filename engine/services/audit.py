"""The audit trail: events are buffered during a command and chained into rows at commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.orm import Session

from engine.persistence import AuditEvent, AuditHead
from engine.services.context import now, plain
from engine.services.csv_export import csv_text

GENESIS = "0" * 64
_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditHead.__table__)
BUFFER_KEY = "bpm_audit_buffer"


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event as scripts and pages see it."""

    seq: int
    at: datetime
    actor: str
    type: str
    instance_id: int | None
    task_id: str | None
    process_key: str | None
    data: dict[str, Any]


def record(
    session: Session, type: str, actor: str, *, instance_id: int | None = None, task_id: str | None = None,
    process_key: str | None = None, data: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the current command; it is written, chained, when the command commits."""
    session.info.setdefault(BUFFER_KEY, []).append(
        {"at": now(session), "actor": actor, "type": type, "instance_id": instance_id, "task_id": task_id,
         "process_key": process_key, "data": plain(data or {})}
    )


def _digest(prev_hash: str, seq: int, row: dict[str, Any]) -> str:
    body = json.dumps(
        {"seq": seq, "at": row["at"].isoformat(), "actor": row["actor"], "type": row["type"],
         "instance_id": row["instance_id"], "task_id": row["task_id"], "process_key": row["process_key"],
         "data": row["data"]},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def flush_audit(session: Session) -> None:
    """Write buffered events under the chain-head lock (called just before commit).

    Plain Core statements (one locked read, one multi-row INSERT, one UPDATE): this runs in
    every command while the chain's tip is locked, so it stays as short as it can.
    """
    buffered = session.info.pop(BUFFER_KEY, None)
    if not buffered:
        return
    head = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()).one_or_none()
    if head is None:
        session.execute(insert(_HEAD).values(id=1, last_seq=0, last_hash=GENESIS))
        seq, prev = 0, GENESIS
    else:
        seq, prev = head.last_seq, head.last_hash
    rows = []
    for row in buffered:
        seq += 1
        digest = _digest(prev, seq, row)
        rows.append({**row, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(_EVENTS), rows)
    session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(last_seq=seq, last_hash=prev))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(BUFFER_KEY):
        flush_audit(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(BUFFER_KEY, None)


def _entry(row: AuditEvent) -> HistoryEntry:
    return HistoryEntry(row.seq, row.at, row.actor, row.type, row.instance_id, row.task_id, row.process_key, row.data)


def instance_history(session: Session, instance_id: int) -> list[HistoryEntry]:
    """Return every audit event of an instance in order."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq))
    return [_entry(r) for r in rows]


def query_events(
    session: Session, *, since: datetime | None = None, until: datetime | None = None, actor: str | None = None,
    process_key: str | None = None, type: str | None = None, instance_id: int | None = None,
    limit: int | None = None, offset: int = 0,
) -> list[HistoryEntry]:
    """Return audit events matching the filters, oldest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.seq)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if process_key:
        stmt = stmt.where(AuditEvent.process_key == process_key)
    if type:
        stmt = stmt.where(AuditEvent.type == type)
    if instance_id is not None:
        stmt = stmt.where(AuditEvent.instance_id == instance_id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return [_entry(r) for r in session.scalars(stmt)]


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the audit chain."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Recompute every hash in order; report the first row that does not match."""
    prev, expected_seq, checked = GENESIS, 1, 0
    last = 0
    while True:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)))
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, f"row {expected_seq} is missing")
            fields = {"at": row.at, "actor": row.actor, "type": row.type, "instance_id": row.instance_id,
                      "task_id": row.task_id, "process_key": row.process_key, "data": row.data}
            if row.prev_hash != prev or _digest(prev, row.seq, fields) != row.hash:
                return ChainReport(False, checked, row.seq, f"row {row.seq} does not match its hash")
            prev, expected_seq, checked, last = row.hash, expected_seq + 1, checked + 1, row.seq
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != prev):
        return ChainReport(False, checked, checked + 1, "rows after the last verified row were removed")
    return ChainReport(True, checked)


def chain_break(session: Session, after_seq: int, after_hash: str | None, head_seq: int, head_hash: str,
                batch: int = 5000) -> str | None:
    """Recompute the rows after ``after_seq`` (whose hash is ``after_hash``) up to the head; say what breaks, or None."""
    prev, expected = after_hash or GENESIS, after_seq + 1
    while expected <= head_seq:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.seq >= expected, AuditEvent.seq <= head_seq)
                                    .order_by(AuditEvent.seq).limit(batch)))
        if not rows:
            break
        for row in rows:
            if row.seq != expected:
                return f"row {expected} is missing"
            fields = {"at": row.at, "actor": row.actor, "type": row.type, "instance_id": row.instance_id,
                      "task_id": row.task_id, "process_key": row.process_key, "data": row.data}
            if row.prev_hash != prev or _digest(prev, row.seq, fields) != row.hash:
                return f"row {row.seq} does not match its hash"
            prev, expected = row.hash, expected + 1
    if expected <= head_seq:
        return f"row {expected} is missing"
    if prev != head_hash:
        return "the head does not match the last row"
    return None


def history_csv(entries: list[HistoryEntry]) -> str:
    """Return audit entries as CSV text (formula-like cells escaped by the shared writer)."""
    return csv_text(
        ["seq", "at", "actor", "type", "process_key", "instance_id", "task_id", "data"],
        ([e.seq, e.at.isoformat(), e.actor, e.type, e.process_key or "", e.instance_id or "", e.task_id or "",
          json.dumps(e.data, ensure_ascii=False, sort_keys=True)] for e in entries),
    )


def iter_history_dicts(entries: list[HistoryEntry]) -> Iterator[dict[str, Any]]:
    """Yield the stable ``bpm history --json`` shape for each entry."""
    for e in entries:
        yield {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "type": e.type,
               "instance_id": e.instance_id, "task_id": e.task_id, "data": e.data}
