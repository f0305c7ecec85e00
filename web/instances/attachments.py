"""Attachments on the instance and task pages: upload (a form, or dropped files sent by attachments.js), the list
with thumbnails, and the file itself — PDFs and photos shown in the browser, anything else downloaded."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import EngineError
from engine.services.attachments import (
    AttachmentView,
    attach,
    list_attachments,
    may_attach,
    may_read,
    read_content,
    read_thumbnail,
)
from web.access import ANYONE, WORKERS, requires
from web.db import db, get_engine, rollback
from web.i18n import reason_of
from web.instances.views import bp, require_visible

MAX_FILES = 10
FORM_OVERHEAD = 256 * 1024  # multipart boundaries and the form's other fields
# The endpoints that receive files; every other request keeps the app's small body limit.
UPLOAD_ENDPOINTS = {"instances.upload", "api_attachments.upload"}


def content_response(found: AttachmentView, content: bytes, *, download: bool = False) -> Response:
    """Return a file as its sniffed type: PDFs and photos inline (unless ``download``), anything else as a download."""
    inline = found.inline and not download
    ascii_name = found.filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    response = Response(content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = (f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(found.filename, safe='')}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A stored file never runs script here; the instance page may frame a PDF (its own origin only).
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["ETag"] = f'"{found.sha256}"'
    return response


def allow_uploads() -> None:
    """Let requests to the upload endpoints carry a file as large as the engine accepts (others keep the app's limit)."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = get_engine().config.attachment_max_bytes * MAX_FILES + FORM_OVERHEAD


def init_app(app: Flask) -> None:
    """Raise the body limit for uploads before the input check reads the form (so it runs first of all)."""
    app.before_request_funcs.setdefault(None, []).insert(0, allow_uploads)


@bp.app_template_global()
def instance_attachments(instance_id: int) -> list[AttachmentView]:
    """Return the attachments of an instance the signed-in user may see (none otherwise)."""
    if not current_user.is_authenticated or not may_read(db(), instance_id, current_user.username):
        return []
    return list_attachments(db(), instance_id, current_user.username)


@bp.app_template_global()
def may_attach_files(instance_id: int, task_id: str | None = None) -> bool:
    """Return True if the signed-in user may attach files to the instance (or this task of it)."""
    return current_user.is_authenticated and may_attach(db(), instance_id, current_user.username, task_id)


@bp.app_template_global()
def attachment_limit_mb() -> int:
    """Return how many MB one file may have."""
    return get_engine().config.attachment_max_bytes // (1024 * 1024)


@bp.app_template_filter()
def file_size(size: int) -> str:
    """Return a byte count as B, KB or MB."""
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / (1024 * 1024):.1f} MB"


def _fetched() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@bp.post("/<int:instance_id>/attachments")
@requires(WORKERS)
def upload(instance_id: int) -> ResponseReturnValue:
    """Attach the chosen (or dropped) files to the instance, or to the task named in the form; all or none."""
    require_visible(instance_id)
    task_id = request.form.get("task_id") or None
    back = url_for("tasks.show", task_id=task_id) if task_id else url_for("instances.show", instance_id=instance_id)
    files = [f for f in request.files.getlist("file") if f and f.filename]
    problem = None
    if not files:
        problem = gettext("Choose a file to attach.")
    elif len(files) > MAX_FILES:
        problem = gettext("Attach at most %(n)s files at once.", n=MAX_FILES)
    added: list[AttachmentView] = []
    for upload_file in files if problem is None else []:
        limit = get_engine().config.attachment_max_bytes
        content = upload_file.stream.read(limit + 1)
        try:
            added.append(attach(db(), instance_id, upload_file.filename or "", content, current_user.username, task_id))
        except EngineError as exc:
            rollback()
            problem = gettext("%(file)s was not attached: %(reason)s", file=upload_file.filename, reason=reason_of(exc))
            break
    if _fetched():
        if problem is not None:
            return jsonify(error=problem), 400
        return render_template("instances/_attachments.html", attach_instance_id=instance_id, attach_task_id=task_id)
    if problem is not None:
        flash(problem, "error")
        return redirect(back)
    flash(gettext("Attached: %(files)s", files=", ".join(a.filename for a in added)), "success")
    return redirect(back + "#attachments")


@bp.get("/attachments/<int:attachment_id>")
@requires(ANYONE)
def content(attachment_id: int) -> ResponseReturnValue:
    """Send an attachment: PDFs and photos shown in the browser, other files (or ``?download=1``) downloaded."""
    found, data = read_content(db(), attachment_id, current_user.username)
    return content_response(found, data, download=request.args.get("download") == "1")


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@requires(ANYONE)
def thumbnail(attachment_id: int) -> ResponseReturnValue:
    """Send a photo's small JPEG preview."""
    data = read_thumbnail(db(), attachment_id, current_user.username)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response
