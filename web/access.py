"""Who may do what in the pages: role sets, the decorator every view carries, per-object rules.

The engine enforces the same rules on its commands; these checks decide what a page shows and
refuse a request early with 403 instead of a half-rendered page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import abort, request
from flask_login import current_user, login_required

from engine.services.views import TaskView
from web.db import SAFE_METHODS

F = TypeVar("F", bound=Callable[..., Any])

ANYONE = frozenset({"*"})  # any signed-in user
# Groups whose members work on tasks (lanes name them); auditors and designers only read.
WORKERS = frozenset({"cs_rep", "cs_assistant", "cs_head", "vp", "operations", "gm_office", "finance", "admin"})
# May open any task page (read-only unless they may also work on it).
TASK_OVERSEERS = frozenset({"cs_head", "admin", "auditor"})
# May see every instance, not only the ones they take part in.
INSTANCE_OVERSEERS = frozenset({"cs_head", "vp", "admin", "auditor"})
ASSIGNERS = frozenset({"cs_head", "admin"})
ADMINS = frozenset({"admin"})
# Members of these groups change nothing, whatever other groups they have (separation of duties):
# every guarded POST but signing out refuses them.
READ_ONLY = frozenset({"auditor"})
# Read the whole audit trail (export, chain check) and every definition.
AUDITORS = frozenset({"auditor", "admin"})
# Upload, validate and deploy BPMN/DMN definitions.
DESIGNERS = frozenset({"designer", "admin"})
# See the management dashboard (SLA, workload, receivables).
MANAGERS = frozenset({"cs_head", "vp", "admin"})


def in_any(groups: Iterable[str]) -> bool:
    """Return True if the signed-in user belongs to one of ``groups`` (``ANYONE``: any user)."""
    if not current_user.is_authenticated:
        return False
    wanted = frozenset(groups)
    return wanted == ANYONE or bool(wanted & current_user.groups)


def requires(groups: frozenset[str]) -> Callable[[F], F]:
    """Let only signed-in members of ``groups`` in (403 for others); every view carries this."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not in_any(groups):
                abort(403)
            if request.method not in SAFE_METHODS and groups != ANYONE and READ_ONLY & current_user.groups:
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapper)
        guarded.required_groups = groups
        return cast(F, guarded)

    return decorate


def public(view: F) -> F:
    """Mark a view as open to anonymous users on purpose (sign-in, language, health)."""
    view.required_groups = frozenset()  # type: ignore[attr-defined]
    return view


def may_view_task(task: TaskView) -> bool:
    """Its assignee or completer, members of its group, and overseers may open a task."""
    user = current_user
    if not user.is_authenticated:
        return False
    if user.username in (task.assignee, task.completed_by) or _is_candidate(task):
        return True
    return bool(TASK_OVERSEERS & user.groups)


def _is_candidate(task: TaskView) -> bool:
    """Its candidate groups and users (as the engine decides; a task naming nobody has no candidates)."""
    groups = set(task.candidate_groups or ((task.group,) if task.group else ()))
    return current_user.username in task.candidate_users or bool(groups & set(current_user.groups))


def may_work_on(task: TaskView) -> bool:
    """Only its assignee, or a member of its group while unclaimed, may complete an open task."""
    user = current_user
    if task.status != "open" or not in_any(WORKERS):
        return False
    if task.assignee is not None:
        return bool(task.assignee == user.username)
    return _is_candidate(task)


def may_claim(task: TaskView) -> bool:
    """A member of its group may claim an open, unclaimed task."""
    return task.status == "open" and task.assignee is None and in_any(WORKERS) and _is_candidate(task)


def may_unclaim(task: TaskView) -> bool:
    """The assignee, or a cs_head/admin, may give a claimed task back to its group."""
    return (task.status == "open" and task.assignee is not None
            and (task.assignee == current_user.username or in_any(ASSIGNERS)))


def may_transfer(task: TaskView) -> bool:
    """Its holder (the assignee, or a candidate of an unclaimed task), or a cs_head/admin, may hand an open task on."""
    if task.status != "open" or not in_any(WORKERS):
        return False
    holder = task.assignee == current_user.username or (task.assignee is None and _is_candidate(task))
    return holder or in_any(ASSIGNERS)


def may_delegate(task: TaskView) -> bool:
    """The assignee of an open task that is not out on delegation may let a colleague fill it."""
    return (task.status == "open" and task.assignee == current_user.username and task.delegation != "pending"
            and in_any(WORKERS))


def may_assign(task: TaskView) -> bool:
    """A cs_head or admin may assign an open task to a member of its group."""
    return task.status == "open" and in_any(ASSIGNERS)
