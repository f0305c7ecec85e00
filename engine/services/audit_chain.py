"""Verifying the audit chains: every row recomputed in its chain, every chain against its head."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from engine.persistence import AuditChainHead, AuditEvent
from engine.persistence.audit import LEGACY_CHAIN
from engine.services.audit import GENESIS, chain_digest, chain_of


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the audit chains (all of them, or one)."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    chains: int = 0
    broken_chain: int | None = None
    broken_position: int | None = None


@dataclass(frozen=True)
class Break:
    """Where a chain breaks: the global seq of the row to look at, its chain and position, and why."""

    seq: int | None
    chain: int
    position: int
    reason: str


def _fields(row: AuditEvent) -> dict[str, object]:
    return {"at": row.at, "actor": row.actor, "type": row.type, "instance_id": row.instance_id,
            "task_id": row.task_id, "process_key": row.process_key, "data": row.data}


def _rows(session: Session, chain_key: int | None, after: tuple[int, int], until: int | None,
          batch: int) -> Iterator[AuditEvent]:
    """Yield rows in (chain, position) order after ``after``; one chain only if ``chain_key`` is given."""
    while True:
        stmt = select(AuditEvent).where(tuple_(AuditEvent.chain_key, AuditEvent.chain_seq) > after)
        if chain_key is not None:
            stmt = stmt.where(AuditEvent.chain_key == chain_key)
        if until is not None:
            stmt = stmt.where(AuditEvent.chain_seq <= until)
        rows = list(session.scalars(stmt.order_by(AuditEvent.chain_key, AuditEvent.chain_seq).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        after = (rows[-1].chain_key, rows[-1].chain_seq)


class _Walker:
    """Follows one chain row by row and says at the first row that does not fit."""

    def __init__(self, key: int, position: int = 0, prev: str = GENESIS):
        self.key, self.position, self.prev, self.last_seq = key, position, prev, 0

    def step(self, row: AuditEvent) -> Break | None:
        key, expected = self.key, self.position + 1
        if row.chain_seq != expected:
            return Break(row.seq, key, expected, f"chain {key}: row at position {expected} is missing "
                                                 f"(the next row, seq {row.seq}, is at position {row.chain_seq})")
        if key != LEGACY_CHAIN and chain_of(row.instance_id) != key:
            return Break(row.seq, key, expected, f"row {row.seq} sits in chain {key} but belongs to "
                                                 f"{'instance ' + str(row.instance_id) if row.instance_id else 'no instance'}")
        if row.prev_hash != self.prev or chain_digest(self.prev, key, row.chain_seq, _fields(row)) != row.hash:
            return Break(row.seq, key, expected, f"row {row.seq} (chain {key}, position {expected}) does not match its hash")
        if row.seq <= self.last_seq:
            return Break(row.seq, key, expected, f"row {row.seq} (chain {key}, position {expected}) is out of order: "
                                                 f"its seq is below the previous row's {self.last_seq}")
        self.position, self.prev, self.last_seq = expected, row.hash, row.seq
        return None

    def end(self, head: tuple[int, str] | None, next_seq: int | None = None) -> Break | None:
        """Compare the chain's last row with its head row."""
        key = self.key
        if head is None:
            return Break(next_seq, key, 1, f"chain {key} has rows but no head: row {next_seq} was inserted")
        head_seq, head_hash = head
        if self.position < head_seq:
            return Break(None, key, self.position + 1,
                         f"chain {key}: rows {self.position + 1}–{head_seq} are missing (the head is at position {head_seq})")
        if self.position > head_seq:
            return Break(next_seq, key, head_seq + 1, f"chain {key}: row at position {head_seq + 1} lies beyond the "
                                                      f"head (position {head_seq}): it was inserted")
        if self.prev != head_hash:
            return Break(next_seq, key, head_seq, f"chain {key}: the head does not match the last row")
        return None


def _heads(session: Session, chain_key: int | None) -> dict[int, tuple[int, str]]:
    stmt = select(AuditChainHead.chain_key, AuditChainHead.last_seq, AuditChainHead.last_hash)
    if chain_key is not None:
        stmt = stmt.where(AuditChainHead.chain_key == chain_key)
    return {k: (s, h) for k, s, h in session.execute(stmt)}


def find_break(session: Session, chain_key: int | None = None, batch: int = 5000) -> tuple[int, int, Break | None]:
    """Walk every chain (or one); return (rows checked, chains checked, the first break or None)."""
    heads = _heads(session, chain_key)
    checked, walker, seen = 0, None, set()
    for row in _rows(session, chain_key, (LEGACY_CHAIN - 1, 0), None, batch):
        if walker is None or row.chain_key != walker.key:
            if walker is not None:
                broken = walker.end(heads.get(walker.key))
                if broken:
                    return checked, len(seen), broken
            walker = _Walker(row.chain_key)
            seen.add(row.chain_key)
            if row.chain_key not in heads:
                return checked, len(seen), walker.end(None, row.seq)
        broken = walker.step(row)
        if broken:
            return checked, len(seen), broken
        checked += 1
    if walker is not None:
        broken = walker.end(heads.get(walker.key))
        if broken:
            return checked, len(seen), broken
    for key in sorted(heads):
        if key not in seen and heads[key][0] > 0:
            return checked, len(seen), Break(None, key, 1, f"chain {key}: all {heads[key][0]} of its rows are missing")
    return checked, len(seen | {k for k, (s, _h) in heads.items() if s > 0}), None


def verify_chain(session: Session, chain_key: int | None = None, batch: int = 5000) -> ChainReport:
    """Recompute every hash of every chain (or of one); report the first row that does not fit."""
    checked, chains, broken = find_break(session, chain_key, batch)
    if broken is None:
        return ChainReport(True, checked, chains=chains)
    return ChainReport(False, checked, broken.seq, broken.reason, chains, broken.chain, broken.position)


def segment_break(session: Session, chain_key: int, after_seq: int, after_hash: str, head_seq: int, head_hash: str,
                  batch: int = 5000) -> Break | None:
    """Recompute chain ``chain_key`` from position ``after_seq`` (hash ``after_hash``) to the head; say what breaks."""
    walker = _Walker(chain_key, after_seq, after_hash)
    last_seq = session.scalar(select(func.coalesce(AuditEvent.seq, 0)).where(
        AuditEvent.chain_key == chain_key, AuditEvent.chain_seq == after_seq)) if after_seq else 0
    walker.last_seq = last_seq or 0
    for row in _rows(session, chain_key, (chain_key, after_seq), head_seq, batch):
        broken = walker.step(row)
        if broken:
            return broken
    return walker.end((head_seq, head_hash))
