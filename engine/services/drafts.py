"""Designers' drafts from the browser modeler and form editor: save, load, list, discard, check and deploy one.

A draft is one bundle per designer and process: the BPMN text and the forms (``{key: {"schema": …, "ui": …}}``).
A draft opened from a deployed version starts from that version's own forms. Checking it runs the real deploy
inside a savepoint that is always rolled back, so it reports exactly what ``bpm deploy`` would (file:line, element
id, in both languages); deploying it goes the same way as ``bpm deploy``, the BPMN under the file name the process
was deployed from (so the version keeps its translation catalogue) with its forms as ``<key>.schema.json`` and
``<key>.ui.json`` beside it, all one new version.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.definitions.support import BPMN
from engine.errors import DefinitionError, InvalidInput, NotFound, Problem
from engine.persistence import DefinitionDraft, DefinitionFile, ProcessDefinition
from engine.services.context import context_of, now
from engine.services.definitions import deploy_files
from engine.services.draft_forms import FORM_KEY, draft_form_problems, form_files, form_keys_in, form_problems, json_bytes
from engine.services.views import DeployResult

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class DraftView:
    """A saved draft: whose, of which process, from which deployed version, its BPMN and when it was saved."""

    id: int
    designer: str
    process_key: str
    based_on_id: int | None
    based_on_version: int | None
    bpmn: str
    updated_at: datetime
    forms: dict[str, Any] = field(default_factory=dict)

    @property
    def form_keys_used(self) -> list[str]:
        """Return the form keys the draft's BPMN names, sorted."""
        return sorted(form_keys_in(self.bpmn))

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (without the BPMN text and the forms)."""
        return {"id": self.id, "designer": self.designer, "process_key": self.process_key,
                "based_on_id": self.based_on_id, "based_on_version": self.based_on_version,
                "updated_at": self.updated_at.isoformat(), "forms": sorted(self.forms)}


def version_forms(session: Session, definition_id: int | None) -> dict[str, Any]:
    """Return the forms a deployed version was deployed with (``{}`` for none, or before forms were versioned)."""
    row = session.get(ProcessDefinition, definition_id) if definition_id is not None else None
    return copy.deepcopy(row.forms or {}) if row is not None else {}


def _latest_id(session: Session, process_key: str) -> int | None:
    return session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key,
                                                              ProcessDefinition.is_latest.is_(True)))


def _view(session: Session, row: DefinitionDraft) -> DraftView:
    forms = row.forms if row.forms is not None else version_forms(session, row.based_on_id)
    return DraftView(row.id, row.designer, row.process_key, row.based_on_id, row.based_on_version, row.bpmn,
                     row.updated_at, copy.deepcopy(forms))


def _row(session: Session, designer: str, process_key: str, *, for_update: bool = False) -> DefinitionDraft | None:
    """Return the designer's draft; ``for_update`` locks its row (on PostgreSQL) so two saves of different forms of
    one draft at the same moment both keep their form instead of the later overwriting the earlier."""
    stmt = select(DefinitionDraft).where(DefinitionDraft.designer == designer, DefinitionDraft.process_key == process_key)
    return session.scalar(stmt.with_for_update() if for_update else stmt)


def _checked_text(session: Session, bpmn: str) -> str:
    limit = context_of(session).config.max_definition_bytes
    if not bpmn.strip():
        raise InvalidInput("the draft is empty")
    if len(bpmn.encode("utf-8")) > limit:
        raise InvalidInput(f"the draft is larger than {limit} bytes")
    return bpmn


def save_draft(session: Session, designer: str, process_key: str, bpmn: str, based_on_id: int | None) -> DraftView:
    """Keep ``bpmn`` as ``designer``'s draft of ``process_key`` (replacing the one saved before)."""
    text = _checked_text(session, bpmn)
    based_on = session.get(ProcessDefinition, based_on_id) if based_on_id is not None else None
    if based_on_id is not None and (based_on is None or based_on.process_key != process_key):
        raise NotFound(f"process {process_key!r} has no definition {based_on_id}")
    row = _row(session, designer, process_key)
    if row is None:  # a new draft starts from the forms of the version it was opened from
        start = based_on.id if based_on is not None else _latest_id(session, process_key)
        row = DefinitionDraft(designer=designer, process_key=process_key, bpmn=text, updated_at=now(session),
                              forms=version_forms(session, start))
        session.add(row)
    row.bpmn, row.updated_at = text, now(session)
    if based_on is not None:
        row.based_on_id, row.based_on_version = based_on.id, based_on.version
    session.flush()
    return _view(session, row)


def load_draft(session: Session, designer: str, process_key: str) -> DraftView | None:
    """Return ``designer``'s draft of ``process_key``, or None."""
    row = _row(session, designer, process_key)
    return _view(session, row) if row is not None else None


def list_drafts(session: Session, designer: str) -> list[DraftView]:
    """Return ``designer``'s drafts, the most recently saved first."""
    rows = session.scalars(select(DefinitionDraft).where(DefinitionDraft.designer == designer)
                           .order_by(DefinitionDraft.updated_at.desc(), DefinitionDraft.id.desc()))
    return [_view(session, r) for r in rows]


def discard_draft(session: Session, designer: str, process_key: str) -> bool:
    """Forget ``designer``'s draft of ``process_key``; return False when there was none."""
    row = _row(session, designer, process_key)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def draft_file_name(session: Session, process_key: str) -> str:
    """Return the file name the process was last deployed from (``<key>.bpmn`` for a new one)."""
    name = session.scalar(select(DefinitionFile.name).join(ProcessDefinition, ProcessDefinition.file_id == DefinitionFile.id)
                          .where(ProcessDefinition.process_key == process_key)
                          .order_by(ProcessDefinition.version.desc()).limit(1))
    return name or f"{process_key}.bpmn"


def _defines_process(bpmn: str, process_key: str) -> list[Problem]:
    """A draft must still define its process: renaming the process id would deploy another process."""
    try:
        root = etree.fromstring(bpmn.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return []  # the deploy's own reader says where the XML is broken
    ids = {p.get("id") for p in root.iterfind(f"{{{BPMN}}}process")}
    if process_key in ids:
        return []
    return [Problem("", None, None, f"the draft no longer defines process '{process_key}'; keep the process id",
                    texts=(("zh", f"草稿中已没有流程 '{process_key}'；请保留流程 id"),))]


def _draft_forms(session: Session, designer: str, process_key: str) -> dict[str, Any]:
    row = _row(session, designer, process_key)
    return _view(session, row).forms if row is not None else {}


def check_draft(session: Session, process_key: str, bpmn: str, actor: str,
                forms: dict[str, Any] | None = None) -> tuple[list[Problem], list[Problem]]:
    """Check a draft as its deploy would, writing nothing; return (problems, warnings), each with its element id.

    ``forms`` are the draft's forms (by default those of ``actor``'s saved draft of the process).
    """
    text = _checked_text(session, bpmn)
    name = draft_file_name(session, process_key)
    problems = [Problem(name, p.line, p.element_id, p.message, p.name, p.texts) for p in _defines_process(text, process_key)]
    if problems:
        return problems, []
    forms = _draft_forms(session, actor, process_key) if forms is None else forms
    found, warnings = _dry_run(session, [(name, text.encode("utf-8")), *form_files(forms)], actor)
    return draft_form_problems(forms) + found, warnings


def _dry_run(session: Session, files: list[tuple[str, bytes]], actor: str) -> tuple[list[Problem], list[Problem]]:
    """Deploy files inside a savepoint that is always rolled back; return (problems, warnings)."""
    # What the deploy leaves for the commit (buffered audit events …) is rolled back with the savepoint too.
    pending = {key: list(value) if isinstance(value, list) else value for key, value in session.info.items()}
    savepoint = session.begin_nested()
    try:
        result = deploy_files(session, files, actor)
        return [], list(result.warnings)
    except DefinitionError as exc:
        return list(exc.problems), []
    finally:
        savepoint.rollback()
        session.info.clear()
        session.info.update(pending)


def deploy_draft(session: Session, designer: str, process_key: str, bpmn: str) -> DeployResult:
    """Deploy ``bpmn`` with the draft's forms as the next version of ``process_key`` (as ``bpm deploy`` would
    deploy the bundle) and forget the draft."""
    text = _checked_text(session, bpmn)
    problems = _defines_process(text, process_key)
    name = draft_file_name(session, process_key)
    if problems:
        raise DefinitionError([Problem(name, None, None, p.message, None, p.texts) for p in problems])
    forms = _draft_forms(session, designer, process_key)
    if draft_form_problems(forms):
        raise DefinitionError(draft_form_problems(forms))
    result = deploy_files(session, [(name, text.encode("utf-8")), *form_files(forms)], designer)
    discard_draft(session, designer, process_key)
    return result


# Decision tables (DMN files) are edited the same way; their drafts are keyed by the file name.
DECISION_PREFIX = "dmn:"


@dataclass(frozen=True)
class DecisionFileView:
    """The deployed version of a DMN file."""

    name: str
    version: int
    deployed_by: str
    deployed_at: datetime


def _decision_row(session: Session, name: str) -> DefinitionFile | None:
    row = session.scalar(select(DefinitionFile).options(undefer(DefinitionFile.text)).where(DefinitionFile.name == name)
                         .order_by(DefinitionFile.version.desc()).limit(1))
    return row if row is not None and row.kind == "dmn" and not row.undeployed else None


def decision_files(session: Session) -> list[DecisionFileView]:
    """Return the deployed DMN files, by name (their latest version)."""
    names = session.scalars(select(DefinitionFile.name).where(DefinitionFile.kind == "dmn").distinct())
    rows = [_decision_row(session, n) for n in sorted(names)]
    return [DecisionFileView(r.name, r.version, r.deployed_by, r.deployed_at) for r in rows if r is not None]


def decision_source(session: Session, name: str) -> str:
    """Return the deployed text of a DMN file."""
    row = _decision_row(session, name)
    if row is None:
        raise NotFound(f"no deployed DMN file {name!r}")
    return row.text


def check_decision_draft(session: Session, name: str, dmn: str, actor: str) -> tuple[list[Problem], list[Problem]]:
    """Check a DMN draft as its deploy would (with the processes that use it), writing nothing."""
    decision_source(session, name)
    return _dry_run(session, [(name, _checked_text(session, dmn).encode("utf-8"))], actor)


def deploy_decision_draft(session: Session, designer: str, name: str, dmn: str) -> DeployResult:
    """Deploy a DMN draft as the file's next version (processes using it get new versions) and forget the draft."""
    decision_source(session, name)
    result = deploy_files(session, [(name, _checked_text(session, dmn).encode("utf-8"))], designer)
    discard_draft(session, designer, DECISION_PREFIX + name)
    return result


# -- the draft's forms (the form editor) ----------------------------------------------------------------------------
def _checked_form(session: Session, key: str, schema: Any, ui: Any) -> dict[str, Any]:
    if not isinstance(key, str) or not FORM_KEY.fullmatch(key):
        raise InvalidInput(f"form key {key!r} must be 1-200 letters, digits, '_', '.' or '-'")
    if not isinstance(schema, dict):
        raise InvalidInput(f"form {key}: the schema must be a JSON object")
    if not isinstance(ui, dict):
        raise InvalidInput(f"form {key}: the UI hints must be a JSON object")
    limit = context_of(session).config.max_definition_bytes
    if len(json_bytes(schema)) + len(json_bytes(ui)) > limit:
        raise InvalidInput(f"form {key} is larger than {limit} bytes")
    return {"schema": copy.deepcopy(schema), "ui": copy.deepcopy(ui)}


def _draft_row(session: Session, designer: str, process_key: str, based_on_id: int | None) -> DefinitionDraft:
    """Return the designer's draft of the process, locked, starting one from ``based_on_id`` (or the latest version)."""
    row = _row(session, designer, process_key, for_update=True)
    if row is not None:
        if row.forms is None:
            row.forms = version_forms(session, row.based_on_id)
        return row
    start = based_on_id if based_on_id is not None else _latest_id(session, process_key)
    based_on = session.get(ProcessDefinition, start) if start is not None else None
    if based_on is None or based_on.process_key != process_key:
        raise NotFound(f"process {process_key!r} has no definition {start}")
    save_draft(session, designer, process_key, based_on.source, based_on.id)
    row = _row(session, designer, process_key, for_update=True)
    assert row is not None
    return row


def save_draft_form(session: Session, designer: str, process_key: str, key: str, schema: Any, ui: Any,
                    based_on_id: int | None = None) -> tuple[DraftView, list[str]]:
    """Keep one form (schema + UI hints) in ``designer``'s draft of the process (a draft is started from
    ``based_on_id`` when there is none); return the draft and the form's problems (kept, but a deploy refuses them)."""
    form = _checked_form(session, key, schema, ui)
    row = _draft_row(session, designer, process_key, based_on_id)
    row.forms = {**(row.forms or {}), key: form}
    row.updated_at = now(session)
    session.flush()
    return _view(session, row), form_problems(key, form["schema"], form["ui"])


def remove_draft_form(session: Session, designer: str, process_key: str, key: str) -> DraftView:
    """Take a form out of the designer's draft (a deploy then keeps the form of the latest version, if it has one)."""
    row = _row(session, designer, process_key, for_update=True)
    if row is None:
        raise NotFound(f"you have no draft of process {process_key!r}")
    forms = dict(row.forms if row.forms is not None else version_forms(session, row.based_on_id))
    if key not in forms:
        raise NotFound(f"your draft of {process_key!r} has no form {key!r}")
    del forms[key]
    row.forms, row.updated_at = forms, now(session)
    session.flush()
    return _view(session, row)


def save_draft_bundle(session: Session, designer: str, process_key: str, *, bpmn: str | None,
                      forms: dict[str, Any] | None, based_on_id: int | None) -> DraftView:
    """Replace the draft's BPMN and/or its whole set of forms (each ``{"schema": …, "ui": …}``)."""
    checked = None
    if forms is not None:
        if not isinstance(forms, dict):
            raise InvalidInput("forms must be an object mapping form keys to {schema, ui}")
        checked = {key: _checked_form(session, key, f.get("schema") if isinstance(f, dict) else None,
                                      f.get("ui", {}) if isinstance(f, dict) else None) for key, f in forms.items()}
    if bpmn is not None:
        save_draft(session, designer, process_key, bpmn, based_on_id)
    row = _draft_row(session, designer, process_key, based_on_id)
    if checked is not None:
        row.forms, row.updated_at = checked, now(session)
        session.flush()
    return _view(session, row)
