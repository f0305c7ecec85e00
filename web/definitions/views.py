"""Definition pages: the versions of every process, upload → validate → deploy, and one version's page.

Validation is a real deploy inside a transaction that is always rolled back: it checks exactly what
the deploy will check (references to the stored DMN included) and tells which processes would get a
new version, while nothing is written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import PurePosixPath

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from engine.definitions.archives import expand_zips
from engine.errors import DefinitionError
from engine.services.definitions import definition_source, deploy_files, list_definitions
from engine.services.reports import instance_counts_by_definition, instances_on_definition
from engine.services.version_bundles import version_zip
from engine.services.views import DefinitionView, DeployResult
from web.access import AUDITORS, DESIGNERS, in_any, requires
from web.db import db, get_engine, rollback
from web.definitions import staging
from web.diagram import render_diagram
from web.i18n import current_language, group_label, pick
from web.instances.diagrams import element_labels
from web.paging import Pager, page_size, requested_page

bp = Blueprint("definitions", __name__, url_prefix="/definitions")
# A bundle: BPMN/DMN, each process's translation catalogue (<stem>.i18n.json, its names in every language), its forms
# (<key>.schema.json + <key>.ui.json), or a .zip of them (unpacked safely in memory).
EXTENSIONS = (".bpmn", ".dmn", ".xml", ".i18n.json", ".schema.json", ".ui.json", ".zip")
MAX_FILES = 50
READERS = DESIGNERS | AUDITORS  # auditors may see which version ran, and its source
SAFE_NAME = re.compile(r"[^\\/:*?\"<>|\x00-\x1f]{1,200}")


def _versions() -> dict[str, list[DefinitionView]]:
    by_key: dict[str, list[DefinitionView]] = defaultdict(list)
    for d in list_definitions(db()):
        by_key[d.process_key].append(d)
    return {key: sorted(versions, key=lambda d: d.version, reverse=True) for key, versions in sorted(by_key.items())}


def _index(errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("definitions/index.html", processes=_versions(), instance_counts=instance_counts_by_definition(db()),
                           errors=errors or [], max_mb=current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024),
                           max_files=MAX_FILES, may_deploy=in_any(DESIGNERS)), status


@bp.get("/")
@requires(READERS)
def index() -> ResponseReturnValue:
    """List every process with its versions and how many instances run on each."""
    return _index()


def _file_name(upload: FileStorage) -> str:
    name = PurePosixPath((upload.filename or "").replace("\\", "/")).name.strip()
    return name if SAFE_NAME.fullmatch(name) else ""


def _read_uploads() -> tuple[list[tuple[str, bytes]], list[str]]:
    """The uploaded bundle's files (each .zip unpacked), or what is wrong with the upload."""
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    errors = []
    if not uploads:
        errors.append(gettext("Choose at least one .bpmn or .dmn file."))
    if len(uploads) > MAX_FILES:
        errors.append(gettext("Upload at most %(n)s files at once.", n=MAX_FILES))
    files: list[tuple[str, bytes]] = []
    for upload in uploads[:MAX_FILES]:
        name = _file_name(upload)
        if not name.lower().endswith(EXTENSIONS):
            errors.append(gettext("%(name)s: only .bpmn, .dmn, .i18n.json, forms (.schema.json, .ui.json) and .zip "
                                  "files can be deployed.", name=name or upload.filename))
            continue
        if any(name == seen for seen, _ in files):
            errors.append(gettext("%(name)s: the same file name was chosen twice.", name=name))
            continue
        files.append((name, upload.read()))
    if errors:
        return files, errors
    try:
        return expand_zips(files, get_engine().config.max_definition_bytes), []
    except DefinitionError as exc:
        return files, [p.render(current_language()) for p in exc.problems]


def _dry_run(files: list[tuple[str, bytes]]) -> tuple[DeployResult | None, list[str]]:
    session = db()
    try:
        return deploy_files(session, files, current_user.username), []
    except DefinitionError as exc:
        return None, [p.render(current_language()) for p in exc.problems]
    finally:
        rollback()


@bp.post("/validate")
@requires(DESIGNERS)
def validate() -> ResponseReturnValue:
    """Check uploaded files without deploying them; offer the deploy when they are fine."""
    files, errors = _read_uploads()
    if errors:
        return _index(errors, 422)
    preview, problems = _dry_run(files)
    token = staging.stage(files, current_user.username) if preview is not None else ""
    warnings = [w.render(current_language()) for w in preview.warnings] if preview is not None else []
    return render_template("definitions/validate.html", files=files, preview=preview, problems=problems,
                           warnings=warnings, token=token), (422 if problems else 200)


@bp.post("/deploy")
@requires(DESIGNERS)
def deploy() -> ResponseReturnValue:
    """Deploy the files validated before (validated again, in the same transaction that stores them)."""
    token = request.form.get("token", "")
    files = staging.load(token, current_user.username)
    try:
        result = deploy_files(db(), files, current_user.username)
    except DefinitionError as exc:
        rollback()
        problems = [p.render(current_language()) for p in exc.problems]
        return render_template("definitions/validate.html", files=files, preview=None, problems=problems,
                               warnings=[], token=""), 422
    staging.discard(token)
    for d in result.deployed:
        flash(gettext("Deployed %(name)s version %(version)s.", name=pick(d.names, d.name), version=d.version), "success")
    for warning in result.warnings:
        flash(warning.render(current_language()), "warning")
    if not result.deployed:
        flash(gettext("Nothing changed: every process in these files is already deployed as it is."), "info")
    return redirect(url_for("definitions.index"))


def _definition(definition_id: int) -> DefinitionView:
    found = next((d for d in list_definitions(db()) if d.id == definition_id), None)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:definition_id>")
@requires(READERS)
def show(definition_id: int) -> ResponseReturnValue:
    """Show a version: its diagram, where it came from, and the instances running on it."""
    session = db()
    definition = _definition(definition_id)
    diagram = render_diagram(definition_source(session, definition_id), title=definition.process_key,
                             lane_label=group_label, id_prefix=f"d{definition_id}",
                             label=element_labels(session, definition_id))
    page = requested_page()
    instances, total = instances_on_definition(session, definition_id, limit=page_size(), offset=(page - 1) * page_size())
    versions = _versions().get(definition.process_key, [])
    return render_template("definitions/show.html", definition=definition, diagram=diagram, instances=instances,
                           pager=Pager(page, page_size(), total), versions=versions)


@bp.get("/<int:definition_id>/source")
@requires(READERS)
def source(definition_id: int) -> ResponseReturnValue:
    """Download a version's BPMN source."""
    definition = _definition(definition_id)
    text = definition_source(db(), definition_id)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", definition.process_key)
    response = Response(text, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-v{definition.version}.bpmn"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<int:definition_id>/bundle.zip")
@requires(READERS)
def bundle(definition_id: int) -> ResponseReturnValue:
    """Download a version's bundle (BPMN, catalogue, forms) as a zip, to edit and deploy as the next version."""
    definition = _definition(definition_id)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", definition.process_key)
    response = Response(version_zip(db(), definition_id), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-v{definition.version}.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
