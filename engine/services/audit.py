"""The audit trail: events are buffered during a command and chained into their instance's chain at commit."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.persistence import AuditChainHead, AuditEvent, ExternalTask, HumanTask, ProcessInstance
from engine.persistence.audit import LEGACY_CHAIN, SYSTEM_CHAIN
from engine.persistence.driver import session_rows
from engine.services.context import now, plain
from engine.services.csv_export import csv_text
from engine.services.deferred_writes import defer, run_deferred
from engine.services.texts import process_texts

GENESIS = "0" * 64
_EVENTS = cast(Table, AuditEvent.__table__)
_HEADS = cast(Table, AuditChainHead.__table__)
_ADVANCE_HEAD = (update(_HEADS).where(_HEADS.c.chain_key == bindparam("k"))
                 .values(last_seq=bindparam("s"), last_hash=bindparam("h")))
_LOCK_HEADS = (select(_HEADS.c.chain_key, _HEADS.c.last_seq, _HEADS.c.last_hash)
               .where(_HEADS.c.chain_key.in_(bindparam("keys", expanding=True))).order_by(_HEADS.c.chain_key).with_for_update())
# Most commands touch one chain: a plain equality, with no IN list to render per call.
_LOCK_HEAD = (select(_HEADS.c.chain_key, _HEADS.c.last_seq, _HEADS.c.last_hash)
              .where(_HEADS.c.chain_key == bindparam("key")).with_for_update())
_INSERT_EVENTS = insert(_EVENTS).inline()
BUFFER_KEY = "bpm_audit_buffer"
NEW_CHAINS_KEY = "bpm_audit_new_chains"


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


def _canonical(row: dict[str, Any], position: dict[str, int]) -> str:
    return json.dumps(
        {**position, "at": row["at"].isoformat(), "actor": row["actor"], "type": row["type"],
         "instance_id": row["instance_id"], "task_id": row["task_id"], "process_key": row["process_key"],
         "data": row["data"]},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )


def _digest(prev_hash: str, seq: int, row: dict[str, Any]) -> str:
    """Return the hash of a legacy row (the single global chain before migration 0019)."""
    return hashlib.sha256((prev_hash + _canonical(row, {"seq": seq})).encode("utf-8")).hexdigest()


def chain_digest(prev_hash: str, chain_key: int, chain_seq: int, row: dict[str, Any]) -> str:
    """Return the hash of a row at ``chain_seq`` in chain ``chain_key`` (legacy rows: the old global digest)."""
    if chain_key == LEGACY_CHAIN:
        return _digest(prev_hash, chain_seq, row)
    body = _canonical(row, {"chain": chain_key, "pos": chain_seq})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def chain_of(instance_id: int | None) -> int:
    """Return the chain an event joins: its instance's, or the system chain."""
    return instance_id if instance_id is not None else SYSTEM_CHAIN


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@lru_cache(maxsize=2)
def _new_head_statement(dialect: str) -> Any:
    """``INSERT`` a new chain's head with its final position and hash unless the chain has one; ``RETURNING`` its key
    (built once per dialect: a statement built per call is compiled per call)."""
    insert_into = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert_into(_HEADS).values(chain_key=bindparam("k"), last_seq=bindparam("s"), last_hash=bindparam("h"))
            .on_conflict_do_nothing().returning(_HEADS.c.chain_key))


def _upsert_missing(session: Session, keys: list[int]) -> None:
    values = [{"chain_key": k, "last_seq": 0, "last_hash": GENESIS} for k in keys]
    session.execute(_insert(session)(_HEADS).values(values).on_conflict_do_nothing())


def _lock_heads(session: Session, keys: list[int]) -> dict[int, tuple[int, str]]:
    """Lock the heads of ``keys`` (in key order, so two commands never wait on each other in a circle)."""
    if not keys:
        return {}
    heads = _read_heads(session, keys)
    missing = [k for k in keys if k not in heads]
    if missing:
        _upsert_missing(session, missing)
        heads.update(_read_heads(session, missing))
    return heads


def _read_heads(session: Session, keys: list[int]) -> dict[int, tuple[int, str]]:
    # One chain (most commands): read on the cursor (engine.persistence.driver).
    rows = (session_rows(session, _LOCK_HEAD, {"key": keys[0]}) if len(keys) == 1
            else session_rows(session, _LOCK_HEADS, {"keys": keys}))
    return {r.chain_key: (r.last_seq, r.last_hash) for r in rows}


def new_chain(session: Session, instance_id: int) -> None:
    """Say that ``instance_id`` was created in this transaction: its chain starts here, no head to read and lock."""
    session.info.setdefault(NEW_CHAINS_KEY, set()).add(instance_id)


def _chain(buffered: list[dict[str, Any]], heads: dict[int, tuple[int, str]]) -> list[dict[str, Any]]:
    """Chain the rows in record order (the global order, and each chain's order) from ``heads``, advancing them."""
    rows = []
    for row in buffered:
        key = chain_of(row["instance_id"])
        position, prev = heads[key]
        digest = chain_digest(prev, key, position + 1, row)
        rows.append({**row, "chain_key": key, "chain_seq": position + 1, "prev_hash": prev, "hash": digest})
        heads[key] = (position + 1, digest)
    return rows


def flush_audit(session: Session) -> None:
    """Write buffered events, each chained in its instance's chain, under those chains' head locks only.

    Plain Core statements (one locked read, one multi-row INSERT, one UPDATE per chain touched): commands
    on different instances lock different head rows, so they commit side by side. The chain of an instance
    started in this transaction has no head yet: its head is inserted with its final position and hash
    (``INSERT … ON CONFLICT DO NOTHING RETURNING``), not read, locked and updated; should a head already be
    there (an id used before), that chain is locked and chained from it as any other.
    """
    buffered = session.info.pop(BUFFER_KEY, None)
    new = session.info.pop(NEW_CHAINS_KEY, set())
    if not buffered:
        return
    keys = sorted({chain_of(row["instance_id"]) for row in buffered})
    fresh = [k for k in keys if k in new]
    heads = {**_lock_heads(session, [k for k in keys if k not in new]), **{k: (0, GENESIS) for k in fresh}}
    start = dict(heads)
    rows = _chain(buffered, heads)
    if fresh:
        statement = _new_head_statement(session.get_bind().dialect.name)
        inserted = {r.chain_key for k in fresh
                    for r in session_rows(session, statement, {"k": k, "s": heads[k][0], "h": heads[k][1]})}
        taken = [k for k in fresh if k not in inserted]
        if taken:
            heads = {**start, **_lock_heads(session, taken)}
            rows = _chain(buffered, heads)
        heads = {k: v for k, v in heads.items() if k not in inserted}
    defer(session, _INSERT_EVENTS, rows)
    if heads:
        defer(session, _ADVANCE_HEAD, [{"k": k, "s": s, "h": h} for k, (s, h) in heads.items()])


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """Runs after the hooks inserted before it (the outbox): chain the events, then send every deferred write (the last
    commit hook: on PostgreSQL the COMMIT may go with them, see ``run_deferred``)."""
    if session.info.get(BUFFER_KEY):
        flush_audit(session)
    run_deferred(session, last=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(BUFFER_KEY, None)
    session.info.pop(NEW_CHAINS_KEY, None)


def _entry(row: AuditEvent) -> HistoryEntry:
    return HistoryEntry(row.seq, row.at, row.actor, row.type, row.instance_id, row.task_id, row.process_key, row.data)


def instance_history(session: Session, instance_id: int) -> list[HistoryEntry]:
    """Return every audit event of an instance in order."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq))
    return [_entry(r) for r in rows]


def event_by_seq(session: Session, seq: int) -> HistoryEntry | None:
    """Return the event at global position ``seq``, if there is one."""
    row = session.get(AuditEvent, seq)
    return _entry(row) if row is not None else None


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
