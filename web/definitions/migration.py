"""迁移实例: move a process's running instances from one version to another (designers and admins).

The page first checks (a dry run: every instance ok or blocked, with the reason), and only a confirm button migrates
the instances the check found ok; each moves in its own transaction, so the result table says what really happened.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from flask_login import current_user

from engine.errors import InvalidInput, NotFound
from engine.services.migration import (
    InstanceCheck,
    MappingChoices,
    MigrationResult,
    mapping_choices,
    process_versions,
)
from engine.services.texts import ProcessTexts, process_texts
from engine.services.views import DefinitionView
from web.access import DESIGNERS, requires
from web.db import db, end_transaction, get_engine
from web.definitions.views import _versions, bp
from web.i18n import current_language

MAP_PREFIX = "map-"


def _reason(check: InstanceCheck, texts: ProcessTexts | None, language: str) -> str:
    """Say why an instance is blocked, in the user's language, naming the step by its name."""
    step = texts.element(check.element, language) if texts is not None and check.element else (check.element or "")
    said = {
        "gone": gettext("its current step %(step)s is not in the new version and is not mapped", step=step),
        "mapped_missing": gettext("%(step)s is mapped to a step the new version does not have", step=step),
        "kind": gettext("its current step %(step)s is another kind of element in the new version", step=step),
        "mapped_kind": gettext("%(step)s is mapped to an element of another kind", step=step),
        "event_kind": gettext("the event %(step)s it waits for is another kind of event in the new version", step=step),
        "boundary": gettext("the timers or events attached to %(step)s changed", step=step),
        "subprocess_missing": gettext("the subprocess %(step)s is not in the new version", step=step),
        "subprocess_changed": gettext("the subprocess %(step)s now calls another process", step=step),
        "other_version": gettext("it is not on the version to migrate from"),
        "other_process": gettext("it belongs to another process"),
        "not_running": gettext("it is no longer running"),
        "not_found": gettext("no such instance"),
    }.get(check.code or "")
    if said is None:
        return gettext("it failed and was left as it was: %(error)s", error=check.reason or "")
    return said


def _version_of(versions: list[DefinitionView], number: int | None) -> DefinitionView | None:
    return next((v for v in versions if v.version == number), None)


def _number(name: str) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _mapping(choices: MappingChoices | None) -> dict[str, str]:
    if choices is None:
        return {}
    targets = {t for t, _kind in choices.targets}
    mapping = {}
    for old, _kind in choices.missing:
        new = request.values.get(MAP_PREFIX + old, "")
        if new in targets:
            mapping[old] = new
    return mapping


def _rows(result: MigrationResult, texts_from: ProcessTexts | None, texts_to: ProcessTexts | None,
          mapping: dict[str, str], language: str) -> list[dict[str, Any]]:
    """One row per instance: where it stands (named by the version it is on now) and the outcome."""
    rows = []
    for c in result.checks:
        moved = c.ok and not result.dry_run
        texts = texts_to if moved else texts_from
        steps = [mapping.get(e, e) if moved else e for e in c.elements]
        rows.append({"id": c.id, "business_key": c.business_key, "ok": c.ok,
                     "steps": [texts.element(e, language) if texts is not None else e for e in steps],
                     "reason": None if c.ok else _reason(c, texts_from, language)})
    return rows


@bp.route("/processes/<string(minlength=1, maxlength=255):process_key>/migrate", methods=["GET", "POST"])
@requires(DESIGNERS)
def migrate(process_key: str) -> ResponseReturnValue:
    """Choose versions and a mapping, check every running instance (dry run), then migrate on confirmation."""
    session = db()
    versions = sorted(_versions().get(process_key, []), key=lambda v: v.version)
    if not versions:
        abort(404)
    running = dict(process_versions(session, process_key))
    latest = versions[-1]
    default_from = next((v.version for v in versions if running.get(v.version) and v.version != latest.version), None)
    source = _version_of(versions, _number("from") or default_from)
    target = _version_of(versions, _number("to") or latest.version)
    language = current_language()
    choices, texts_from, texts_to = None, None, None
    if source is not None and target is not None and source.version != target.version:
        choices = mapping_choices(session, process_key, source.version, target.version)
        texts_from, texts_to = process_texts(session, source.id), process_texts(session, target.id)
    mapping = _mapping(choices)
    checked = request.method == "POST" or request.values.get("check") == "1"
    result: MigrationResult | None = None
    if checked and source is not None and target is not None:
        ids = [int(i) for i in request.form.getlist("instance") if i.isdigit() and len(i) < 10] or None
        if request.method == "POST" and not ids:
            abort(400)
        end_transaction()  # each instance moves in its own transaction (SQLite has one writer)
        try:
            result = get_engine().migrate(process_key, source.version, target.version, mapping, instance_ids=ids,
                                          dry_run=request.method != "POST", actor=current_user.username)
        except (InvalidInput, NotFound) as exc:
            flash(str(exc), "error")
        if result is not None and not result.dry_run:
            flash(ngettext("Migrated %(num)s instance to version %(version)s.",
                           "Migrated %(num)s instances to version %(version)s.", len(result.migrated),
                           version=target.version), "success")
            if result.blocked:
                flash(ngettext("%(num)s instance stayed on its version.", "%(num)s instances stayed on their version.",
                               len(result.blocked)), "warning")
    rows = _rows(result, texts_from, texts_to, mapping, language) if result is not None else []
    return render_template(
        "definitions/migrate.html", process_key=process_key, versions=versions, running=running, source=source,
        target=target, choices=choices, mapping=mapping, texts_from=texts_from, texts_to=texts_to, result=result,
        rows=rows, map_prefix=MAP_PREFIX, language=language, ok_ids=[c.id for c in result.checks if c.ok] if result else [])
