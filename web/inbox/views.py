"""The inbox: one indexed query with the filters from the URL, claim/unclaim/assign buttons."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from engine.services import inbox as inbox_queries
from engine.services.definitions import list_definitions
from engine.services.task_operations import done_tasks
from web.access import ANYONE, may_assign, may_claim, may_unclaim, requires
from web.db import db
from web.i18n import pick
from web.layout import nav_counts
from web.paging import Pager, page_size, requested_page

bp = Blueprint("inbox", __name__)


def _filters() -> inbox_queries.InboxFilter:
    due = request.args.get("due") or None
    return inbox_queries.InboxFilter(
        process_key=request.args.get("process") or None,
        group=request.args.get("group") or None,
        due=due if due in inbox_queries.DUE_FILTERS else None,
        text=(request.args.get("q") or "").strip()[:100] or None,
    )


@bp.get("/")
@requires(ANYONE)
def index() -> ResponseReturnValue:
    """Show my tasks and my groups' unclaimed tasks, overdue first."""
    session = db()
    filters, page = _filters(), requested_page()
    counts = nav_counts()  # the navigation shows them too: counted once per request
    known_total = counts.total if counts is not None and filters == inbox_queries.InboxFilter() else None
    result = inbox_queries.inbox(session, current_user.username, filters, limit=page_size(), offset=(page - 1) * page_size(),
                                 known_total=known_total)
    # One name per process in this language, from the latest version's catalogue: never a mix of languages.
    names = {d.process_key: pick(d.names, d.name) for d in list_definitions(session, latest_only=True)}
    members: dict[str, list[str]] = {}
    for task in result.tasks:
        if task.group and may_assign(task) and task.group not in members:
            members[task.group] = inbox_queries.group_members(session, task.group)
    rows = [{"task": t, "process_name": names.get(t.process_key, t.process_key), "may_claim": may_claim(t),
             "may_unclaim": may_unclaim(t), "may_assign": may_assign(t) and bool(members.get(t.group or ""))}
            for t in result.tasks]
    return render_template(
        "inbox/index.html", rows=rows, filters=filters, pager=Pager(page, page_size(), result.total),
        processes=[(key, names.get(key, key)) for key in (counts.processes if counts else ())],
        groups=sorted(current_user.groups), members=members,
    )


@bp.get("/done")
@requires(ANYONE)
def done() -> ResponseReturnValue:
    """Show the tasks I completed (已办), latest first, searchable, with where each case stands now."""
    query, page = (request.args.get("q") or "").strip()[:100], requested_page()
    rows, total = done_tasks(db(), current_user.username, query=query or None, limit=page_size(),
                             offset=(page - 1) * page_size())
    return render_template("inbox/done.html", rows=rows, query=query, pager=Pager(page, page_size(), total))
