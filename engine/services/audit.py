"""The audit trail: events are buffered during a command and chained into rows at commit."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.orm import Session

from engine.persistence import AuditEvent, AuditHead, ExternalTask, HumanTask, ProcessInstance
from engine.services.context import now, plain
from engine.services.csv_export import csv_text
from engine.services.texts import process_texts

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


HISTORY_COLUMNS = ("seq", "at", "actor", "type", "process_key", "instance_id", "business_key", "task_id", "element_id",
                   "element_name", "data")
# Keys of an event's data that have their own column; the rest stays in the JSON column.
_OWN_COLUMNS = ("element_id", "business_key")
_INSTANT_TEXT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class HistoryLookup:
    """What the audit rows do not say themselves: business keys, the element of each task, element names."""

    business_keys: dict[int, str | None] = field(default_factory=dict)
    task_elements: dict[str, str] = field(default_factory=dict)
    element_names: dict[tuple[int, str], str] = field(default_factory=dict)


def history_lookup(session: Session, entries: list[HistoryEntry], language: str = "zh-CN") -> HistoryLookup:
    """Read the business keys, task elements and element names (in ``language``) the entries refer to."""
    instance_ids = {e.instance_id for e in entries if e.instance_id is not None}
    task_ids = {e.task_id for e in entries if e.task_id and not e.data.get("element_id")}
    instances = {row.id: row for row in session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.definition_id)
        .where(ProcessInstance.id.in_(instance_ids)))} if instance_ids else {}
    elements: dict[str, str] = {}
    for model in (HumanTask, ExternalTask) if task_ids else ():
        rows = session.execute(select(model.id, model.element_id).where(model.id.in_(task_ids)))
        elements.update({task_id: element_id for task_id, element_id in rows})
    names: dict[tuple[int, str], str] = {}
    for e in entries:
        element_id = e.data.get("element_id") or elements.get(e.task_id or "")
        row = instances.get(e.instance_id) if e.instance_id is not None else None
        if row is not None and isinstance(element_id, str) and (row.id, element_id) not in names:
            names[(row.id, element_id)] = process_texts(session, row.definition_id).element(element_id, language, "")
    return HistoryLookup({i: r.business_key for i, r in instances.items()}, elements, names)


def _local_instants(value: Any, zone: tzinfo) -> Any:
    """Rewrite instants stored as ISO text (UTC) in the deployment's zone, with its offset."""
    if isinstance(value, dict):
        return {k: _local_instants(v, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [_local_instants(v, zone) for v in value]
    if isinstance(value, str) and _INSTANT_TEXT.match(value):
        try:
            return datetime.fromisoformat(value).astimezone(zone).isoformat()
        except ValueError:
            return value
    return value


def history_row(e: HistoryEntry, zone: tzinfo, lookup: HistoryLookup) -> list[object]:
    """Return one audit entry as the cells of ``HISTORY_COLUMNS`` (times in ``zone`` with their offset)."""
    element_id = e.data.get("element_id") or lookup.task_elements.get(e.task_id or "") or ""
    business_key = e.data.get("business_key") or (lookup.business_keys.get(e.instance_id)
                                                  if e.instance_id is not None else None)
    name = lookup.element_names.get((e.instance_id, str(element_id)), "") if e.instance_id is not None else ""
    rest = {k: v for k, v in e.data.items() if k not in _OWN_COLUMNS}
    return [e.seq, e.at.astimezone(zone).isoformat(), e.actor, e.type, e.process_key or "", e.instance_id or "",
            business_key or "", e.task_id or "", element_id, name,
            json.dumps(_local_instants(rest, zone), ensure_ascii=False, sort_keys=True)]


def history_csv(entries: list[HistoryEntry], *, zone: tzinfo = timezone.utc, lookup: HistoryLookup | None = None) -> str:
    """Return audit entries as CSV text: a column per common field, the rest as JSON (formula-like cells escaped)."""
    found = lookup or HistoryLookup()
    return csv_text(HISTORY_COLUMNS, (history_row(e, zone, found) for e in entries))


def iter_history_dicts(entries: list[HistoryEntry]) -> Iterator[dict[str, Any]]:
    """Yield the stable ``bpm history --json`` shape for each entry."""
    for e in entries:
        yield {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "type": e.type,
               "instance_id": e.instance_id, "task_id": e.task_id, "data": e.data}
