"""What the task page shows: the task, its form with values and messages, data, comments, diagram."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session

from engine.definitions.forms import FormDefinition
from engine.services import inbox as inbox_queries
from engine.services import task_notes
from engine.services.admin import list_groups, list_users
from engine.services.audit import instance_history
from engine.services.instances import get_instance
from engine.services.task_returns import send_back_targets
from engine.services.texts import form_of, process_texts
from engine.services.views import TaskView
from web.access import may_assign, may_claim, may_delegate, may_transfer, may_unclaim, may_work_on
from web.db import db
from web.formview import field_views
from web.i18n import group_label, pick
from web.instances.diagrams import instance_diagram
from web.instances.presenting import ShownData, ShownField, present_data
from web.texts import task_title


def definition_of(session: Session, task: TaskView) -> int:
    """Return the id of the process version the task's instance runs on."""
    return get_instance(session, task.instance_id, with_data=False).definition_id


def task_form(task: TaskView, definition_id: int | None = None) -> tuple[FormDefinition | None, str | None]:
    """Return the task's form as deployed with its instance's version, or a problem to show when it is not installed."""
    if not task.form_key:
        return None, None
    session = db()  # not engine.form(): a second transaction would wait on this request's SQLite lock
    if definition_id is None:
        definition_id = definition_of(session, task)
    form = form_of(session, definition_id, task.form_key)  # the version's bundle, never this server's disk
    if form is None:
        current_app.logger.error("task %s uses form %r, which is not installed", task.id, task.form_key)
        return None, gettext("This task's form (%(key)s) is not installed; ask an administrator.", key=task.form_key)
    return form, None


def render_task(session: Session, task: TaskView, *, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, notice: str | None = None, top_error: str | None = None,
                status: int = 200) -> ResponseReturnValue:
    """Render the task page; ``values``/``errors`` re-show a submission, ``notice`` explains a conflict,
    ``top_error`` why the engine refused it."""
    instance = get_instance(session, task.instance_id)
    form, problem = task_form(task, instance.definition_id)
    history = instance_history(session, task.instance_id)
    workable = may_work_on(task)
    from_draft = values is None and workable
    if values is None:
        values = (task_notes.get_draft(session, task.id) or {}) if workable else {}
    errors = errors or {}
    general_error = top_error or errors.get("_form")
    members = inbox_queries.group_members(session, task.group) if task.group and may_assign(task) else []
    data = present_data(process_texts(session, instance.definition_id) if instance.definition_id else None, instance.data)
    return render_template(
        "tasks/task.html",
        task=task, instance=instance, form=form, form_title=pick(form.ui.get("title"), task_title(task)) if form else task_title(task),
        fields=field_views(form, values, errors) if form else [], general_error=general_error,
        problem=problem, notice=notice, may_work=workable and problem is None, may_claim=may_claim(task),
        may_unclaim=may_unclaim(task), may_assign=may_assign(task) and bool(members), members=members,
        may_transfer=may_transfer(task) and task.status == "open", may_delegate=may_delegate(task),
        transfer_targets=transfer_targets(session) if may_transfer(task) or may_delegate(task) else ([], []),
        last_transfer=next((e for e in reversed(history) if e.type == "task_transferred" and e.task_id == task.id), None),
        send_back_targets=_send_back_targets(session, task, instance.definition_id) if may_transfer(task) else [],
        returned_from=pick((task.returned or {}).get("from_titles"), str((task.returned or {}).get("from_element", ""))),
        has_draft=from_draft and bool(values), comments=task_notes.list_comments(session, task.id),
        diagram=instance_diagram(session, instance, history, current={task.element_id}),
        data=data, display=_display_facts(form, data), display_tables=_display_tables(form, data),
    ), status


def _send_back_targets(session: Session, task: TaskView, definition_id: int | None) -> list[tuple[str, str]]:
    """Return the earlier steps this open task may be sent back to: (element id, "step name — who did it")."""
    if task.status != "open":
        return []
    texts = process_texts(session, definition_id) if definition_id else None
    targets = []
    for step, performer in send_back_targets(session, task.id):
        name = pick(texts.element_names(step.element_id, step.title), step.title) if texts else step.title
        targets.append((step.element_id, f"{name} — {performer}" if performer else name))
    return targets


def _display_facts(form: FormDefinition | None, data: ShownData) -> list[ShownField]:
    """Return the instance fields a form shows above its inputs (ui.json ``display``), e.g. who missed which deadline."""
    wanted = [str(name) for name in (form.ui.get("display") or [])] if form is not None else []
    by_name = {f.name: f for f in data.fields if f.table is None}
    return [by_name[name] for name in wanted if name in by_name]


def _display_tables(form: FormDefinition | None, data: ShownData) -> list[ShownField]:
    """Return the table fields a form shows above its inputs (ui.json ``display``), e.g. the month's growth per customer:
    full width beside the form, not squeezed into the data column."""
    wanted = [str(name) for name in (form.ui.get("display") or [])] if form is not None else []
    by_name = {f.name: f for f in data.fields if f.table is not None}
    return [by_name[name] for name in wanted if name in by_name]


def transfer_targets(session: Session) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return whom a task may be handed on to: active people (username, name) and groups (id, name in this language)."""
    people = [(u.username, u.display_name or u.username) for u in list_users(session)
              if u.active and u.username != current_user.username]
    groups = [(g.id, group_label(g.id)) for g in list_groups(session)]
    return people, groups
