"""What a KPI that is a share needs: the instances behind each outcome, which outcomes count, and the form
submissions the share is computed from (read from the audit trail, never from a workflow)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import AuditEvent, HumanTask
from engine.services.context import context_of
from engine.services.reports.common import Period


@dataclass(frozen=True)
class Share:
    """A KPI = hits / base: the instance ids per outcome; ``hits`` and ``base`` name the outcomes counted.

    Outcomes outside ``base`` (e.g. "pending": still open, not late yet) are listed but counted in neither. An
    empty base gives ``rate`` None, never a division by zero.
    """

    ids: dict[str, list[int]]
    hits: tuple[str, ...]
    base: tuple[str, ...]

    def count(self, outcome: str) -> int:
        """Return how many instances had ``outcome``."""
        return len(self.ids.get(outcome, []))

    @property
    def numerator(self) -> int:
        """Return how many instances count above the line."""
        return sum(self.count(o) for o in self.hits)

    @property
    def denominator(self) -> int:
        """Return how many instances count below the line."""
        return sum(self.count(o) for o in self.base)

    @property
    def rate(self) -> float | None:
        """Return numerator / denominator, None when the denominator is 0."""
        return self.numerator / self.denominator if self.denominator else None

    def only(self, instance_ids: set[int]) -> Share:
        """Return the same share over ``instance_ids`` only (e.g. one customer's orders)."""
        return Share({k: [i for i in v if i in instance_ids] for k, v in self.ids.items()}, self.hits, self.base)

    @classmethod
    def of(cls, found: Iterable[tuple[str, int]], hits: tuple[str, ...], base: tuple[str, ...],
           outcomes: tuple[str, ...]) -> Share:
        """Build a share from (outcome, instance id) pairs; every outcome in ``outcomes`` gets a list, newest first."""
        ids: dict[str, list[int]] = {o: [] for o in outcomes}
        for outcome, instance_id in found:
            ids.setdefault(outcome, []).append(instance_id)
        return cls({k: sorted(v, reverse=True) for k, v in ids.items()}, hits, base)


@dataclass(frozen=True)
class Submission:
    """A completed user task's form data as its ``task_completed`` audit event kept it."""

    seq: int
    instance_id: int
    element_id: str
    at: datetime
    data: dict[str, Any]


def submissions(session: Session, process_key: str | tuple[str, ...], elements: Iterable[str], *,
                period: Period | None = None, instance_ids: Iterable[int] | None = None) -> list[Submission]:
    """Return the submissions of ``elements`` of ``process_key`` (one key, or several: a called process's tasks carry
    the calling instance's key) completed in ``period`` / of ``instance_ids``, in order.

    The task row names the element (the event's task id is the row's id), so the element filter is plain SQL.
    """
    keys = [process_key] if isinstance(process_key, str) else list(process_key)
    stmt = (select(AuditEvent.seq, AuditEvent.instance_id, HumanTask.element_id, AuditEvent.at, AuditEvent.data)
            .join(HumanTask, HumanTask.id == AuditEvent.task_id)
            .where(AuditEvent.type == "task_completed", HumanTask.process_key.in_(keys),
                   HumanTask.element_id.in_(list(elements)))
            .order_by(AuditEvent.seq))
    if period is not None:
        stmt = stmt.where(period.holds(AuditEvent.at))
    found: list[Submission] = []
    chunks: list[list[int] | None] = [None]
    if instance_ids is not None:
        wanted = sorted(set(instance_ids))
        chunks = [wanted[i:i + 500] for i in range(0, len(wanted), 500)]
    for chunk in chunks:
        query = stmt if chunk is None else stmt.where(AuditEvent.instance_id.in_(chunk))
        for seq, instance_id, element_id, at, data in session.execute(query):
            submitted = (data or {}).get("submitted") if isinstance(data, dict) else None
            found.append(Submission(int(seq), int(instance_id), str(element_id), at,
                                    submitted if isinstance(submitted, dict) else {}))
    return sorted(found, key=lambda s: s.seq)


def moment(session: Session, value: Any) -> datetime | None:
    """Read a recorded time (ISO text or datetime); a time without an offset is in the deployment's zone."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str) and value.strip():
        try:
            found = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=ZoneInfo(context_of(session).config.timezone))
    return found
