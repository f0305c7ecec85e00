"""How a person's open tasks are read fast, at any number of open tasks.

A worklist is the disjoint union of *parts*: the open tasks assigned to the person, for
each of their groups the open unclaimed tasks whose (first) candidate group it is, and the few
unclaimed tasks that name the person or one of their groups among further candidates
(``human_task_candidate``). Every part, split again into
"has a due date" and "has none", is an equality prefix of an index whose remaining columns
are the inbox order (due date, priority descending, created, id). So a page is one
``UNION ALL`` of small index range scans, each stopped by its own LIMIT, merged and cut by
the outer ORDER BY; a count is a sum of index-only counts. No part sorts or reads more rows
than the page needs, unlike one ``OR`` over the whole table.

The statements are built once per *shape* (scope, number of groups, which filters are set)
with bound parameters, because building a union of a dozen subqueries costs more than
running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, case, false, func, literal, or_, select, true, union_all

from engine.errors import InvalidInput
from engine.persistence import HumanTask, HumanTaskCandidate

SCOPES = ("inbox", "mine", "group")
UNLIMITED = 2**31 - 1  # a LIMIT that never cuts
_TABLE = HumanTask.__table__
_C = _TABLE.c
_CANDIDATE = HumanTaskCandidate.__table__


@dataclass(frozen=True)
class Worklist:
    """Whose open tasks (``scope``: "inbox" = mine and my groups' unclaimed, "mine", "group"), narrowed by filters.

    ``text`` matches business key or customer (substring, case-insensitive); ``due_from`` /
    ``due_before`` bound the due date.
    """

    username: str
    groups: frozenset[str]
    scope: str = "inbox"
    process_key: str | None = None
    group: str | None = None
    instance_id: int | None = None
    due_from: datetime | None = None
    due_before: datetime | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise InvalidInput(f"unknown inbox scope {self.scope!r} (one of {', '.join(SCOPES)})")

    def _shape(self) -> tuple[Any, ...]:
        return (self.scope, len(self.groups), self.process_key is not None, self.group is not None,
                self.instance_id is not None, self.due_from is not None, self.due_before is not None, bool(self.text))

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"username": self.username, "process_key": self.process_key, "group": self.group,
                                  "instance_id": self.instance_id, "due_from": self.due_from, "due_before": self.due_before,
                                  "pattern": like_pattern(self.text) if self.text else None}
        params.update({f"group_{i}": g for i, g in enumerate(sorted(self.groups))})
        return params

    def page(self, dialect: str, *, limit: int | None, offset: int = 0) -> tuple[Any, dict[str, Any]]:
        """Return an ORM statement of ``HumanTask`` rows (the page ``[offset, offset+limit)`` in inbox order) and its parameters.

        ``dialect`` is the database's (``session.get_bind().dialect.name``): SQLite's indexes put
        NULL first, so there a part's undated tasks are read as a range of their own.
        """
        limit = UNLIMITED if limit is None else limit
        return _page_template(dialect == "sqlite", *self._shape()), {**self._params(), "enough": offset + limit, "limit": limit, "offset": offset}

    def counts(self) -> tuple[Select[Any], dict[str, Any]]:
        """Return a one-row statement of the count of each part, and its parameters."""
        return _count_template(*self._shape()), self._params()

    def summary(self, *, overdue_at: datetime) -> tuple[Select[Any], dict[str, Any]]:
        """Return a statement of ``(part, process_key, tasks, overdue)`` rows — each part's tasks counted per process,
        and those due before ``overdue_at`` — and its parameters. Part 0 is "mine" when the scope includes it."""
        return _summary_template(*self._shape()), {**self._params(), "overdue_at": overdue_at}


def inbox_order(columns: Any) -> tuple[Any, ...]:
    """The inbox order over ``columns`` (a mapped class or a ``.c``): dated first by due date, then priority (high first), age, id."""
    return (columns.due_at.is_(None), columns.due_at, columns.priority.desc(), columns.created_at, columns.id)


def like_pattern(text: str) -> str:
    """Return a LIKE pattern matching ``text`` anywhere (its wildcards escaped with a backslash)."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _parts(scope: str, groups: int) -> list[ColumnElement[bool]]:
    parts: list[ColumnElement[bool]] = []
    if scope in ("inbox", "mine"):
        parts.append(and_(_C.status == "open", _C.assignee == bindparam("username")))
    if scope in ("inbox", "group"):
        parts += [and_(_C.status == "open", _C.candidate_group == bindparam(f"group_{i}"), _C.assignee.is_(None))
                  for i in range(groups)]
        parts.append(_other_candidates(groups))
    return parts or [false()]


def _other_candidates(groups: int) -> ColumnElement[bool]:
    """The unclaimed open tasks I am a candidate of beyond their first group: a further group of mine, or me by name.

    Read from ``human_task_candidate`` by (kind, name) — only tasks with several groups or candidate users have rows
    there, and only while open — then by primary key; the part's few rows are sorted. The open/unclaimed test sits
    inside the subquery so the planner cannot prefer walking every unclaimed task through an inbox index. Tasks whose
    first group is mine are left to that group's part.
    """
    mine: list[Any] = [bindparam(f"group_{i}") for i in range(groups)]
    task = _TABLE.alias("candidate_task")
    named = (select(_CANDIDATE.c.task_id).join(task, task.c.id == _CANDIDATE.c.task_id)
             .where(or_(and_(_CANDIDATE.c.kind == "user", _CANDIDATE.c.name == bindparam("username")),
                        *([and_(_CANDIDATE.c.kind == "group", _CANDIDATE.c.name.in_(mine))] if mine else [])),
                    task.c.status == "open", task.c.assignee.is_(None)))
    first_group_not_mine = or_(_C.candidate_group.is_(None), _C.candidate_group.not_in(mine)) if mine else true()
    return and_(_C.id.in_(named), first_group_not_mine)


def _filters(process_key: bool, group: bool, instance_id: bool, due_from: bool, due_before: bool, text: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if process_key:
        where.append(_C.process_key == bindparam("process_key"))
    if group:
        where.append(_C.candidate_group == bindparam("group"))
    if instance_id:
        where.append(_C.instance_id == bindparam("instance_id"))
    if due_from:
        where.append(_C.due_at >= bindparam("due_from"))
    if due_before:
        where.append(_C.due_at < bindparam("due_before"))
    if text:
        where.append(or_(_C.business_key.ilike(bindparam("pattern"), escape="\\"), _C.customer.ilike(bindparam("pattern"), escape="\\")))
    return where


@lru_cache(maxsize=512)
def _page_template(nulls_first: bool, scope: str, groups: int, *filters: bool) -> Any:
    where = _filters(*filters)
    if filters[3] or filters[4]:  # a due window: only dated tasks can match
        splits: tuple[ColumnElement[bool], ...] = (_C.due_at.is_not(None),)
    elif nulls_first:
        splits = (_C.due_at.is_not(None), _C.due_at.is_(None))
    else:  # PostgreSQL: ascending order (and its indexes) put NULL last, as the inbox does
        splits = (true(),)
    branches = []
    parts = _parts(scope, groups)
    for index, part in enumerate(parts):
        # The further-candidates part (last) reads no inbox index: its few rows are sorted in one go.
        further = scope in ("inbox", "group") and index == len(parts) - 1
        for dated in (splits[:1] if filters[3] or filters[4] else (true(),)) if further else splits:
            ranked = (select(_TABLE).where(part, dated, *where)
                      .order_by(_C.due_at, _C.priority.desc(), _C.created_at, _C.id)
                      .limit(bindparam("enough", type_=Integer)).subquery())
            branches.append(select(ranked))
    merged = union_all(*branches).subquery("worklist")
    page = (select(merged).order_by(*inbox_order(merged.c))
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    return select(HumanTask).from_statement(page)


@lru_cache(maxsize=512)
def _count_template(scope: str, groups: int, *filters: bool) -> Select[Any]:
    where = _filters(*filters)
    return select(*(select(func.count()).select_from(_TABLE).where(part, *where).scalar_subquery()
                    for part in _parts(scope, groups)))


@lru_cache(maxsize=512)
def _summary_template(scope: str, groups: int, *filters: bool) -> Select[Any]:
    where = _filters(*filters)
    overdue = func.count(case((_C.due_at < bindparam("overdue_at", type_=_C.due_at.type), 1)))
    branches = [select(literal(i).label("part"), _C.process_key, func.count().label("tasks"), overdue.label("overdue"))
                .where(part, *where).group_by(_C.process_key)
                for i, part in enumerate(_parts(scope, groups))]
    return union_all(*branches) if len(branches) > 1 else branches[0]  # type: ignore[return-value]
