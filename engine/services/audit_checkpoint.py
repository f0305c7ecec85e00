"""Audit checkpoints: a Merkle root over every chain head, written by the worker and chained to the previous one.

Per-instance chains let commands on different instances commit side by side, but a chain whose rows
were all deleted (with its head) leaves no broken link behind. A checkpoint lists the heads that moved
since the previous checkpoint and a Merkle root over all of them, so every chain it has seen must still
reach the position and hash it recorded; signing the newest checkpoint pins every chain at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import AuditChainHead, AuditCheckpoint, AuditCheckpointHead, AuditEvent
from engine.services.audit import GENESIS
from engine.services.audit_chain import Break, segment_break
from engine.services.context import now

Heads = dict[int, tuple[int, str]]


def merkle_root(heads: Heads) -> str:
    """Return the Merkle root over (chain, position, hash) of every head, in chain order (GENESIS when empty)."""
    level = [hashlib.sha256(f"\x00{k}:{s}:{h}".encode()).digest() for k, (s, h) in sorted(heads.items())]
    if not level:
        return GENESIS
    while len(level) > 1:
        pairs = [level[i:i + 2] for i in range(0, len(level), 2)]
        level = [hashlib.sha256(b"\x01" + p[0] + p[1]).digest() if len(p) == 2 else p[0] for p in pairs]
    return level[0].hex()


def checkpoint_digest(prev_hash: str, cp_id: int, at: datetime, chains: int, events: int, root: str,
                      heads: list[Any]) -> str:
    """Return the hash of a checkpoint: the previous checkpoint's hash and its own fields, canonically."""
    body = json.dumps({"id": cp_id, "at": at.isoformat(), "chains": chains, "events": events, "root": root,
                       "heads": heads}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _own_hash(cp: AuditCheckpoint) -> str:
    return checkpoint_digest(cp.prev_hash, cp.id, cp.at, cp.chains, cp.events, cp.root, cp.heads)


def newest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """Return the newest checkpoint, if any."""
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()


def write_checkpoint(session: Session) -> AuditCheckpoint | None:
    """Checkpoint every chain head if any moved; refuse if a chain broke or shrank since the last checkpoint."""
    current: Heads = {k: (s, h) for k, s, h in session.execute(
        select(AuditChainHead.chain_key, AuditChainHead.last_seq, AuditChainHead.last_hash)
        .where(AuditChainHead.last_seq > 0))}
    seen: Heads = {k: (s, h) for k, s, h in session.execute(
        select(AuditCheckpointHead.chain_key, AuditCheckpointHead.last_seq, AuditCheckpointHead.last_hash))}
    for key, (position, _hash) in sorted(seen.items()):
        if current.get(key, (0, ""))[0] < position:
            raise InvalidInput(f"audit chain {key} is shorter than the last checkpoint recorded (position {position}); "
                               f"not checkpointing it: run `bpm audit verify`")
    changed = {k: v for k, v in current.items() if seen.get(k) != v}
    if not changed:
        return None
    for key, (position, head_hash) in sorted(changed.items()):
        start = seen.get(key, (0, GENESIS))
        broken = segment_break(session, key, start[0], start[1], position, head_hash)
        if broken is not None:
            raise InvalidInput(f"audit chain is broken ({broken.reason}); not checkpointing it: run `bpm audit verify`")
    last = newest_checkpoint(session)
    state = {**seen, **changed}
    cp_id, at, root = (last.id + 1) if last else 1, now(session), merkle_root(state)
    listed = [[k, s, h] for k, (s, h) in sorted(changed.items())]
    events = sum(s for s, _h in state.values())
    prev = last.hash if last else GENESIS
    cp = AuditCheckpoint(id=cp_id, at=at, chains=len(state), events=events, root=root, heads=listed, prev_hash=prev,
                         hash=checkpoint_digest(prev, cp_id, at, len(state), events, root, listed))
    session.add(cp)
    for key, (position, head_hash) in changed.items():
        session.merge(AuditCheckpointHead(chain_key=key, last_seq=position, last_hash=head_hash, checkpoint_id=cp_id))
    session.flush()
    return cp


@dataclass(frozen=True)
class CheckpointReport:
    """The checkpoints' verdict: how many, the newest, and the first problem."""

    count: int
    newest: AuditCheckpoint | None
    problem: Break | None


def _row_hashes(session: Session, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, str]]:
    found: dict[tuple[int, int], tuple[int, str]] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i:i + 500]
        rows = session.execute(select(AuditEvent.chain_key, AuditEvent.chain_seq, AuditEvent.seq, AuditEvent.hash)
                               .where(tuple_(AuditEvent.chain_key, AuditEvent.chain_seq).in_(part)))
        found.update({(k, p): (s, h) for k, p, s, h in rows})
    return found


def _covered(session: Session, state: dict[int, tuple[int, str, int]], at: dict[int, datetime]) -> Break | None:
    """Check that every checkpointed head still has its row with the checkpointed hash."""
    rows = _row_hashes(session, [(k, s) for k, (s, _h, _c) in sorted(state.items())])
    for key, (position, head_hash, cp_id) in sorted(state.items()):
        row = rows.get((key, position))
        when = at[cp_id].isoformat()
        if row is None:
            return Break(None, key, position, f"chain {key}: row at position {position}, recorded by checkpoint {cp_id} "
                                              f"({when}), is missing: the chain was truncated or deleted")
        if row[1] != head_hash:
            return Break(row[0], key, position, f"row {row[0]} (chain {key}, position {position}) no longer has the hash "
                                                f"checkpoint {cp_id} ({when}) recorded: the chain was rewritten")
    return None


def verify_checkpoints(session: Session) -> CheckpointReport:
    """Recompute every checkpoint's hash and root in order, then check the rows of every head they list."""
    state: dict[int, tuple[int, str, int]] = {}
    heads: Heads = {}
    at: dict[int, datetime] = {}
    prev, expected, newest = GENESIS, 1, None
    for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        if cp.id != expected:
            return CheckpointReport(expected - 1, newest, Break(None, 0, 0, f"checkpoint {expected} is missing"))
        if cp.prev_hash != prev or _own_hash(cp) != cp.hash:
            return CheckpointReport(expected - 1, newest, Break(None, 0, 0, f"checkpoint {cp.id} does not match its hash"))
        for key, position, head_hash in cp.heads:
            state[int(key)] = (int(position), str(head_hash), cp.id)
            heads[int(key)] = (int(position), str(head_hash))
        if merkle_root(heads) != cp.root or len(heads) != cp.chains:
            return CheckpointReport(expected - 1, newest, Break(None, 0, 0, f"checkpoint {cp.id}: its root does not "
                                                                             f"match the chain heads listed up to it"))
        at[cp.id], prev, expected, newest = cp.at, cp.hash, expected + 1, cp
    return CheckpointReport(expected - 1, newest, _covered(session, state, at))


def verify_chain_checkpoint(session: Session, chain_key: int) -> tuple[int | None, Break | None]:
    """Check one chain against the checkpoint that last recorded it: (that checkpoint's id or None, problem)."""
    seen = session.get(AuditCheckpointHead, chain_key)
    if seen is None:
        return None, None
    cp = session.get(AuditCheckpoint, seen.checkpoint_id)
    if cp is None or _own_hash(cp) != cp.hash or [chain_key, seen.last_seq, seen.last_hash] not in cp.heads:
        return seen.checkpoint_id, Break(None, chain_key, seen.last_seq, f"checkpoint {seen.checkpoint_id} does not "
                                         f"record chain {chain_key} as the worker's copy says: run a full `bpm audit verify`")
    return cp.id, _covered(session, {chain_key: (seen.last_seq, seen.last_hash, cp.id)}, {cp.id: cp.at})
