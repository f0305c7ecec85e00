"""Copy an instance to people (抄送) from its page, and the "copied to me" list with unread marks."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import EngineError
from engine.services.copies import copied_to, copy_instance, unread_copies
from web.access import ANYONE, requires
from web.db import db, rollback
from web.i18n import reason_of
from web.instances.views import bp, require_visible
from web.paging import Pager, page_size, requested_page


@bp.post("/<int:instance_id>/copies")
@requires(ANYONE)
def copy(instance_id: int) -> ResponseReturnValue:
    """Copy the instance to the chosen people and groups, with a note."""
    require_visible(instance_id)
    back = url_for("instances.show", instance_id=instance_id)
    to = [t for t in request.form.getlist("to") if t]
    if not to:
        flash(gettext("Choose whom to copy the case to."), "error")
        return redirect(back)
    try:
        received = copy_instance(db(), instance_id, current_user.username, to, request.form.get("note", ""))
    except EngineError as exc:
        rollback()
        flash(gettext("The case could not be copied: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(back)
    flash(gettext("Copied to %(people)s.", people=", ".join(received)), "success")
    return redirect(back)


@bp.get("/copied")
@requires(ANYONE)
def copied() -> ResponseReturnValue:
    """List the cases copied to me, latest first, unread ones marked."""
    page = requested_page()
    rows, total = copied_to(db(), current_user.username, limit=page_size(), offset=(page - 1) * page_size())
    return render_template("instances/copied.html", rows=rows, pager=Pager(page, page_size(), total))


@bp.app_template_global()
def unread_copy_count() -> int:
    """Return how many copied cases the signed-in user has not opened (for the navigation)."""
    return unread_copies(db(), current_user.username) if current_user.is_authenticated else 0
