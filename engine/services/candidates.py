"""Who may claim and complete a human task: its candidate groups and users, and its assignee.

A task's element facts (engine.definitions.elements, written at deploy by the precedence of
engine.definitions.people) name its groups, users and assignee; definitions deployed before those
facts existed name only the lane. ``human_task.candidate_group`` holds the first group (the inbox
reads each group's tasks from its index); the full lists are on the row (``candidates``) and the
candidates beyond the first group get ``human_task_candidate`` rows the inbox reads by name.
Nobody is a candidate of a task that names nobody (only the system may complete it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine.definitions.people import resolve_group
from engine.errors import EngineError, ScriptError
from engine.persistence import HumanTask, HumanTaskCandidate
from engine.persistence.driver import Record
from engine.runtime import Runtime, evaluate_due_traced

# A task row as an ORM object or as a Record read on the cursor (engine.persistence.driver).
TaskRow = HumanTask | Record


@dataclass(frozen=True)
class Candidates:
    """The groups and users who may claim a task, and who it is assigned to when created."""

    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    assignee: str | None = None

    @property
    def group(self) -> str | None:
        """Return the first candidate group (the inbox's ``candidate_group``)."""
        return self.groups[0] if self.groups else None

    def as_json(self) -> dict[str, list[str]]:
        """Return the row's ``candidates`` document."""
        return {"groups": list(self.groups), "users": list(self.users)}


def candidates_for(element: dict[str, Any], lane: str | None) -> Candidates:
    """Return a new task's candidates from its element facts (the lane only for definitions deployed before them)."""
    if "groups" not in element:
        return Candidates((lane,) if lane else ())
    assignee = element.get("assignee") or None
    users = tuple(element.get("users") or ())
    if assignee and assignee not in users:
        users = (*users, assignee)  # given back (unclaimed), the task stays theirs to claim
    return Candidates(tuple(element.get("groups") or ()), users, assignee)


GROUP_FROM = "candidateGroupFrom"


def group_from_data(candidates: Candidates, element: dict[str, Any], data: dict[str, Any],
                    known_groups: Callable[[], dict[str, tuple[str, str]]]) -> Candidates:
    """Return the candidates with the group a process variable names, when the task's ``candidateGroupFrom`` says which.

    The variable (e.g. ``responsible_department``, set by a DMN) holds a group id or its English or Chinese
    name; a value that names no known group leaves the task to its lane or ``candidateGroups``, so nobody
    is ever left out because a designer added a department without a group.
    """
    variable = str((element.get("properties") or {}).get(GROUP_FROM) or "").strip()
    value = data.get(variable) if variable else None
    if not isinstance(value, str) or not value.strip():
        return candidates
    group = resolve_group(value, known_groups())
    if group is None:
        return candidates
    return Candidates((group,), candidates.users, candidates.assignee)


ASSIGNEE_FROM = "assigneeFrom"


def assignee_from_data(candidates: Candidates, element: dict[str, Any], data: dict[str, Any],
                       is_user: Callable[[str], bool]) -> Candidates:
    """Return the candidates with the assignee a process variable names, when the task's ``assigneeFrom`` says which.

    The variable (e.g. ``owner``: the customer's cs_rep from the register) holds a user name; the task is assigned to
    that user and stays open to its groups (given back, anyone of the lane's group may claim it). An empty value or
    one naming no active user leaves the task to its groups, so an unowned customer's task is never lost.
    """
    variable = str((element.get("properties") or {}).get(ASSIGNEE_FROM) or "").strip()
    value = data.get(variable) if variable else None
    if not isinstance(value, str) or not value.strip() or not is_user(value.strip()):
        return candidates
    user = value.strip()
    users = candidates.users if user in candidates.users else (*candidates.users, user)
    return Candidates(candidates.groups, users, user)


def add_candidate_rows(session: Session, task_id: str, candidates: Candidates) -> None:
    """Write the rows the inbox reads for candidates beyond the first group."""
    for group in candidates.groups[1:]:
        session.add(HumanTaskCandidate(kind="group", name=group, task_id=task_id))
    for user in candidates.users:
        session.add(HumanTaskCandidate(kind="user", name=user, task_id=task_id))


def drop_candidate_rows(session: Session, task_ids: list[str]) -> None:
    """Forget the candidate rows of tasks that are no longer open (the inbox reads only open tasks)."""
    if task_ids:
        session.execute(delete(HumanTaskCandidate).where(HumanTaskCandidate.task_id.in_(task_ids)))


def has_candidate_rows(row: TaskRow) -> bool:
    """Say whether an open task may have candidate rows (``add_candidate_rows`` writes them only for candidates
    beyond the first group; a row without a ``candidates`` document is not known, so it may)."""
    found = row.candidates
    if found is None:
        return True
    return len(found.get("groups") or ()) > 1 or bool(found.get("users"))


def candidate_groups(row: TaskRow) -> tuple[str, ...]:
    """Return every candidate group of a task row."""
    if row.candidates is not None:
        return tuple(row.candidates.get("groups") or ())
    return (row.candidate_group,) if row.candidate_group else ()


def candidate_users(row: TaskRow) -> tuple[str, ...]:
    """Return every candidate user of a task row."""
    return tuple((row.candidates or {}).get("users") or ())


def is_candidate(row: TaskRow, actor: str, groups: set[str]) -> bool:
    """Return True if ``actor`` (a member of ``groups``) may claim the task."""
    return actor in candidate_users(row) or bool(set(candidate_groups(row)) & groups)


def who(row: TaskRow) -> str:
    """Describe a task's candidates for a refusal message."""
    parts = [f"group {', '.join(candidate_groups(row))}"] if candidate_groups(row) else []
    parts += [f"user {', '.join(candidate_users(row))}"] if candidate_users(row) else []
    return " or ".join(parts) or "nobody (the process names no group, candidate user or assignee)"


def evaluate_date(runtime: Runtime, expression: str, data: dict[str, Any], element_id: str, what: str) -> tuple[Any, Any]:
    """Evaluate a task's due or follow-up date; a failing expression is a clear ScriptError, never a traceback."""
    try:
        return evaluate_due_traced(runtime, expression, data)
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - the sandbox raises its own violation or any error of the designer's code
        raise ScriptError(f"{what} of task {element_id} ('{expression}') cannot be computed: {exc}") from exc
