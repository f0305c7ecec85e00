"""在浏览器中编辑: the BPMN modeler on a version's page, its JSON endpoints, and the diff between two versions.

The page loads bpmn-js from node_modules (see web.static_files.vendor) and web/static/modeler.js; without
the npm packages it says the modeler is not installed. The endpoints take and give JSON, with the session
cookie and the CSRF token in the ``X-CSRFToken`` header: save or discard the designer's draft, validate it
(the engine's own deploy checks, problems carrying element ids), diff it against the version it started
from, and deploy it as the next version.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from engine.errors import DefinitionError, EngineError, NotFound, Problem
from engine.persistence import ProcessDefinition
from engine.services.definitions import definition_source, group_names
from engine.services.drafts import DraftView, check_draft, deploy_draft, discard_draft, load_draft, save_draft
from engine.services.version_diff import diff_sources, diff_versions, version_source
from engine.services.views import DefinitionView
from web.access import DESIGNERS, requires
from web.db import db, rollback
from web.definitions.editor_texts import bpmn_js_texts
from web.definitions.views import READERS, _definition, _versions, bp
from web.diagram import render_diagram
from web.i18n import current_language, group_label, pick
from web.security import CSP
from web.static_files import modeler_installed

# Business-calendar helpers a due date or follow-up date may use (engine.runtime.calendar; docs/authoring.md).
CALENDAR_HELPERS = ('add_working_days(now(), 2)', 'add_working_hours(now(), 4)', 'next_working_time(now(), "09:00")',
                    'add_working_days(today(), 1)', 'now() + timedelta(hours=24)')
# What each kind of timer takes: ISO 8601, or the business-calendar helpers (the cycles of #17 for timeCycle).
TIMER_HELPERS = {
    "timeDuration": ("PT30M", "PT4H", "P1D", "P2DT4H"),
    "timeDate": ('add_working_days(now(), 2)', 'add_working_hours(now(), 4)', 'next_working_time(now(), "09:00")',
                 'working_day_of_month(5, "18:00")', 'day_of_month(5, "18:00")', "now() + timedelta(hours=24)"),
    "timeCycle": ("R/PT1H", 'every_working_day("17:30")', 'every_week("monday", "16:00")',
                  'every_month(25, "09:00", not_working="before")', 'every_nth_working_day(1, "09:00")',
                  'every_year(12, 1, "09:00")'),
}
# bpmn-js writes style attributes into the markup it builds; scripts stay as strict as on every other page.
MODELER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def _form_keys(definition_id: int, draft: DraftView | None) -> list[str]:
    """The form keys a step may name, as a deploy from the web resolves them (engine.services.bundle_sources): the
    draft's forms (the form editor adds to them), else the version's, and any process's latest deployed forms."""
    session = db()
    forms = draft.forms if draft is not None else (
        session.scalar(select(ProcessDefinition.forms).where(ProcessDefinition.id == definition_id)) or {})
    shared = session.scalars(select(ProcessDefinition.forms).where(ProcessDefinition.is_latest.is_(True)))
    return sorted(set(forms).union(*(set(f or {}) for f in shared)))


def field_labels() -> dict[str, str]:
    """Name the facts a version diff compares (engine.services.version_diff), in this request's language."""
    return {
        "kind": gettext("kind"), "name": gettext("name"), "candidateGroups": gettext("candidate groups"),
        "candidateUsers": gettext("candidate users"), "assignee": gettext("assignee"), "formKey": gettext("form key"),
        "priority": gettext("priority"), "dueDate": gettext("due date"), "followUpDate": gettext("follow-up date"),
        "topic": gettext("external task topic"), "type": gettext("implementation"), "condition": gettext("condition"),
        "script": gettext("script"), "scriptFormat": gettext("script language"),
        "timer:timeDuration": gettext("timer duration"), "timer:timeDate": gettext("timer date"),
        "timer:timeCycle": gettext("timer cycle"), "property:sla": gettext("SLA"), "members": gettext("lane members"),
        "event": gettext("event kind"), "sourceRef": gettext("from"), "targetRef": gettext("to"),
        "default": gettext("default flow"), "attachedToRef": gettext("attached to"),
        "cancelActivity": gettext("interrupting"), "calledElement": gettext("called process"),
        "decisionRef": gettext("decision"),
    }


def editor_labels() -> dict[str, str]:
    """The texts both browser editors show (web/static/editor.js), in this request's language."""
    return {
        "saved": gettext("Draft saved at %(time)s."), "valid": gettext("No problems found: this draft can be deployed."),
        "problems": gettext("Problems found:"), "warnings": gettext("Warnings:"),
        "no_diff": gettext("No difference from the deployed version."), "added": gettext("Added"),
        "removed": gettext("Removed"), "changed": gettext("Changed"),
        "unchanged": gettext("Nothing changed: this draft is the deployed version."),
        "discarded": gettext("Draft discarded; the deployed version is open again."),
        "confirm_deploy": gettext("Deploy this draft as a new version?"),
        "confirm_discard": gettext("Discard your draft?"), "failed": gettext("The request failed: %(error)s"),
        "working": gettext("Working…"), "live_ok": gettext("Checked as you edit: no problems."),
        "live_problems": gettext("Checked as you edit: see the problems below."),
    }


def _labels() -> dict[str, str]:
    """The texts modeler.js shows (its properties panel and deploy note), in this request's language."""
    return {
        **editor_labels(),
        "general": gettext("General"), "id": gettext("Id"), "name": gettext("Name"), "kind": gettext("Kind"),
        "candidate_groups": gettext("Candidate groups"), "assignee": gettext("Assignee"),
        "form_key": gettext("Form key"), "priority": gettext("Priority"), "due_date": gettext("Due date"),
        "follow_up_date": gettext("Follow-up date"), "timer_value": gettext("Timer expression"),
        "sla": gettext("SLA (property sla)"), "topic": gettext("External task topic"),
        "condition": gettext("Condition"), "script": gettext("Script"), "timer": gettext("Timer"),
        "timer_kind": gettext("Timer kind"), "time_duration": gettext("Duration"), "time_date": gettext("Date"),
        "time_cycle": gettext("Cycle"), "calendar_helpers": gettext("Business-calendar helpers"),
        "none": gettext("(none)"), "select_element": gettext("Select an element on the diagram to edit it."),
        "process": gettext("Process"),
        "deployed": gettext("Deployed as version %(version)s."), "open_version": gettext("Open version %(version)s"),
        "not_applicable": gettext("This element has no properties the engine reads."),
    }


@bp.get("/<int:definition_id>/modeler")
@requires(DESIGNERS)
def modeler(definition_id: int) -> ResponseReturnValue:
    """Open a version in the browser modeler (the designer's draft of the process, when there is one)."""
    session = db()
    definition = _definition(definition_id)
    draft = load_draft(session, current_user.username, definition.process_key)
    groups = [{"id": g, "label": group_label(g)} for g in sorted(group_names(session))]
    data: dict[str, Any] = {
        "bpmn": draft.bpmn if draft is not None else definition_source(session, definition_id),
        "process_key": definition.process_key, "definition_id": definition.id, "version": definition.version,
        "groups": groups, "form_keys": _form_keys(definition_id, draft), "calendar_helpers": list(CALENDAR_HELPERS),
        "timer_helpers": {kind: list(helpers) for kind, helpers in TIMER_HELPERS.items()}, "labels": _labels(), "field_labels": field_labels(),
        "translations": bpmn_js_texts(),
        "urls": {name: url_for(f"definitions.modeler_{name}", definition_id=definition_id)
                 for name in ("save", "discard", "validate", "diff", "deploy")},
        "moddle": url_for("static_files.vendor", name="camunda-bpmn-moddle/resources/camunda.json"),
    }
    latest = (_versions().get(definition.process_key) or [definition])[0]
    response = make_response(render_template("definitions/modeler.html", definition=definition, draft=draft, data=data,
                                             installed=modeler_installed(), latest=latest))
    response.headers["Content-Security-Policy"] = MODELER_CSP
    return response


def posted_source(key: str) -> str:
    """Return the edited file's text the editor posted as JSON ``{key: "<xml>"}`` (400 without it)."""
    payload = request.get_json(silent=True)
    text = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(text, str):
        abort(400)
    return text


def _bpmn() -> str:
    return posted_source("bpmn")


def check_response(problems: list[Problem], warnings: list[Problem]) -> ResponseReturnValue:
    """Answer a draft check: ok, and the problems and warnings with their elements, in the user's language."""
    return jsonify({"ok": not problems, "problems": [_problem(p) for p in problems],
                    "warnings": [_problem(w) for w in warnings]})


def _problem(p: Problem) -> dict[str, Any]:
    return {"element_id": p.element_id, "line": p.line, "file": p.file, "message": p.text(current_language()),
            "text": p.render(current_language())}


def _error(exc: EngineError) -> ResponseReturnValue:
    rollback()
    status = 404 if isinstance(exc, NotFound) else 422
    return jsonify({"error": exc.code, "message": str(exc)}), status


@bp.post("/<int:definition_id>/modeler/draft")
@requires(DESIGNERS)
def modeler_save(definition_id: int) -> ResponseReturnValue:
    """Save the modeler's diagram as the designer's draft of the process."""
    definition = _definition(definition_id)
    try:
        draft = save_draft(db(), current_user.username, definition.process_key, _bpmn(), definition.id)
    except EngineError as exc:
        return _error(exc)
    return jsonify({"draft": draft.to_json()})


@bp.post("/<int:definition_id>/modeler/discard")
@requires(DESIGNERS)
def modeler_discard(definition_id: int) -> ResponseReturnValue:
    """Forget the designer's draft of the process; answer with the version's own diagram."""
    definition = _definition(definition_id)
    discarded = discard_draft(db(), current_user.username, definition.process_key)
    return jsonify({"discarded": discarded, "bpmn": definition_source(db(), definition_id)})


@bp.post("/<int:definition_id>/modeler/validate")
@requires(DESIGNERS)
def modeler_validate(definition_id: int) -> ResponseReturnValue:
    """Check the diagram with the engine's deploy checks; nothing is stored."""
    definition = _definition(definition_id)
    try:
        problems, warnings = check_draft(db(), definition.process_key, _bpmn(), current_user.username)
    except EngineError as exc:
        return _error(exc)
    return check_response(problems, warnings)


@bp.post("/<int:definition_id>/modeler/diff")
@requires(DESIGNERS)
def modeler_diff(definition_id: int) -> ResponseReturnValue:
    """List the elements the diagram adds, removes and changes against this version."""
    try:
        diff = diff_sources(definition_source(db(), definition_id), _bpmn())
    except EngineError as exc:
        return _error(exc)
    return jsonify({"version": _definition(definition_id).version, **diff.to_json()})


@bp.post("/<int:definition_id>/modeler/deploy")
@requires(DESIGNERS)
def modeler_deploy(definition_id: int) -> ResponseReturnValue:
    """Deploy the diagram as the process's next version (the same checks and path as ``bpm deploy``)."""
    definition = _definition(definition_id)
    try:
        result = deploy_draft(db(), current_user.username, definition.process_key, _bpmn())
    except DefinitionError as exc:
        rollback()
        return jsonify({"error": exc.code, "problems": [_problem(p) for p in exc.problems]}), 422
    except EngineError as exc:
        return _error(exc)
    deployed = [{"id": d.id, "version": d.version, "name": pick(d.names, d.name),
                 "url": url_for("definitions.show", definition_id=d.id),
                 "modeler_url": url_for("definitions.modeler", definition_id=d.id)} for d in result.deployed]
    return jsonify({"deployed": deployed, "unchanged": [d.version for d in result.unchanged],
                    "warnings": [_problem(w) for w in result.warnings]})


def _version_number(name: str, versions: list[DefinitionView], default: int) -> int:
    raw = request.args.get(name, "")
    number = int(raw) if raw.isdigit() else default
    if not any(v.version == number for v in versions):
        abort(404)
    return number


@bp.get("/<process_key>/diff")
@requires(READERS)
def version_diff(process_key: str) -> ResponseReturnValue:
    """Show what changed between two versions of a process: a list, and both diagrams with the changes marked."""
    versions = _versions().get(process_key)
    if not versions:
        abort(404)
    newest = versions[0].version
    new = _version_number("to", versions, newest)
    old = _version_number("from", versions, max(1, new - 1) if any(v.version == new - 1 for v in versions) else new)
    session = db()
    diff = diff_versions(session, process_key, old, new)
    changed = [c.element_id for c in diff.changed]
    new_diagram = render_diagram(version_source(session, process_key, new), [c.element_id for c in diff.added],
                                 waiting=changed, flows=[], lane_label=group_label, id_prefix="new")
    old_diagram = render_diagram(version_source(session, process_key, old), current=[c.element_id for c in diff.removed],
                                 waiting=changed, flows=[], lane_label=group_label, id_prefix="old")
    return render_template("definitions/diff.html", process_key=process_key, versions=versions, old=old, new=new,
                           diff=diff, new_diagram=new_diagram, old_diagram=old_diagram,
                           field_labels=field_labels())
