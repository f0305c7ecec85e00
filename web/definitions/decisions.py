"""Decision tables in the browser: a deployed DMN file opened in dmn-js, saved as a draft, validated and deployed.

Like the BPMN modeler (web.definitions.modeler), with the file name as the key: the engine checks a DMN draft
with the processes that use its decisions, and deploying it gives those processes new versions.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, make_response, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import DefinitionError, EngineError
from engine.services.decision_diff import diff_decision_sources
from engine.services.drafts import (
    DECISION_PREFIX,
    check_decision_draft,
    decision_files,
    decision_source,
    deploy_decision_draft,
    discard_draft,
    load_draft,
    save_draft,
)
from web.access import DESIGNERS, in_any, requires
from web.db import db, rollback
from web.definitions.editor_texts import dmn_js_texts
from web.definitions.modeler import MODELER_CSP, _error, _problem, check_response, editor_labels, posted_source
from web.definitions.views import bp
from web.i18n import pick
from web.static_files import DMN_FILES, modeler_installed


@bp.app_context_processor
def _decision_files() -> dict[str, Any]:
    """Let the definitions index list the DMN files designers can open (read only when the page asks)."""
    return {"decision_files": lambda: decision_files(db()) if in_any(DESIGNERS) else []}


def _field_labels() -> dict[str, str]:
    """Name the facts a decision diff compares (engine.services.decision_diff), in this request's language."""
    return {"kind": gettext("kind"), "name": gettext("name"), "hitPolicy": gettext("Hit policy"),
            "aggregation": gettext("Hit policy"), "expression": gettext("Input expression"),
            "typeRef": gettext("Type"), "outputName": gettext("Output name"), "description": gettext("Annotations")}


def _source(name: str) -> str:
    try:
        return decision_source(db(), name)
    except EngineError:
        abort(404)


def _dmn() -> str:
    return posted_source("dmn")


@bp.get("/decisions/<name>/modeler")
@requires(DESIGNERS)
def decision_modeler(name: str) -> ResponseReturnValue:
    """Open a deployed DMN file (or the designer's draft of it) in the browser's decision-table editor."""
    source = _source(name)
    draft = load_draft(db(), current_user.username, DECISION_PREFIX + name)
    data = {
        "dmn": draft.bpmn if draft is not None else source, "name": name,
        "urls": {action: url_for(f"definitions.decision_{action}", name=name)
                 for action in ("save", "discard", "validate", "diff", "deploy")},
        "labels": {**editor_labels(), "deployed": gettext("Deployed %(name)s version %(version)s.")},
        "translations": dmn_js_texts(), "field_labels": _field_labels(),
        "kind_labels": {"decision": gettext("decision"), "input": gettext("input column"),
                        "output": gettext("output column"), "rule": gettext("rule")},
    }
    response = make_response(render_template("definitions/decision_modeler.html", name=name, draft=draft, data=data,
                                             installed=modeler_installed(DMN_FILES)))
    response.headers["Content-Security-Policy"] = MODELER_CSP
    return response


@bp.post("/decisions/<name>/modeler/draft")
@requires(DESIGNERS)
def decision_save(name: str) -> ResponseReturnValue:
    """Save the edited DMN as the designer's draft."""
    _source(name)
    try:
        draft = save_draft(db(), current_user.username, DECISION_PREFIX + name, _dmn(), None)
    except EngineError as exc:
        return _error(exc)
    return jsonify({"draft": draft.to_json()})


@bp.post("/decisions/<name>/modeler/discard")
@requires(DESIGNERS)
def decision_discard(name: str) -> ResponseReturnValue:
    """Forget the designer's draft; answer with the deployed DMN."""
    source = _source(name)
    return jsonify({"discarded": discard_draft(db(), current_user.username, DECISION_PREFIX + name), "dmn": source})


@bp.post("/decisions/<name>/modeler/validate")
@requires(DESIGNERS)
def decision_validate(name: str) -> ResponseReturnValue:
    """Check the edited DMN with the engine's deploy checks; nothing is stored."""
    try:
        problems, warnings = check_decision_draft(db(), name, _dmn(), current_user.username)
    except EngineError as exc:
        return _error(exc)
    return check_response(problems, warnings)


@bp.post("/decisions/<name>/modeler/diff")
@requires(DESIGNERS)
def decision_diff(name: str) -> ResponseReturnValue:
    """List the decisions, columns and rules the edited DMN adds, removes and changes against the deployed file."""
    source = _source(name)
    try:
        diff = diff_decision_sources(source, _dmn())
    except EngineError as exc:
        return _error(exc)
    return jsonify({"version": decision_files_version(name), **diff.to_json()})


@bp.post("/decisions/<name>/modeler/deploy")
@requires(DESIGNERS)
def decision_deploy(name: str) -> ResponseReturnValue:
    """Deploy the edited DMN as the file's next version; the processes using it get new versions."""
    try:
        result = deploy_decision_draft(db(), current_user.username, name, _dmn())
    except DefinitionError as exc:
        rollback()
        return jsonify({"error": exc.code, "problems": [_problem(p) for p in exc.problems]}), 422
    except EngineError as exc:
        return _error(exc)
    deployed = [{"id": d.id, "version": d.version, "name": pick(d.names, d.name),
                 "url": url_for("definitions.show", definition_id=d.id)} for d in result.deployed]
    return jsonify({"deployed": deployed, "file_version": decision_files_version(name),
                    "warnings": [_problem(w) for w in result.warnings]})


def decision_files_version(name: str) -> int | None:
    """Return the deployed version number of a DMN file."""
    return next((f.version for f in decision_files(db()) if f.name == name), None)
