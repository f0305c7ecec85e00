"""Deploy BPMN/DMN files as immutable, versioned process definitions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from engine.definitions.bundle_files import file_kind, form_key_of, is_form_file, read_forms, unknown_files
from engine.definitions.catalogue import Catalogue, catalogue_name, read_catalogue
from engine.definitions.documents import read_document
from engine.definitions.elements import element_info, start_timer_expression
from engine.definitions.messages import plain_problem, problem
from engine.definitions.support import BPMN, decision_ids, decision_refs, documentation_only, executable_processes
from engine.definitions.validation import validate_documents
from engine.errors import DefinitionError, NotFound, Problem
from engine.persistence import DefinitionFile, Group, ProcessDefinition
from engine.runtime import ParsedProcess, ProblemsFound, SourceDocument, parse_documents
from engine.services import audit
from engine.services.bundle_sources import FormResolver, bundle_old_versions, process_ids_in, with_bpmn_using_forms
from engine.services.bundle_sources import available_form_keys as available_form_keys  # where callers import it
from engine.services.bundles import (
    bundle_digest,
    bundle_forms,
    bundle_texts,
    keys_used,
    orphan_catalogues,
    split_catalogues,
    translation_warnings,
    unused_form_warnings,
)
from engine.services.context import context_of, now
from engine.services.texts import ProcessTexts
from engine.services.timers import schedule_start_timer, unschedule_start_timers
from engine.services.views import DefinitionView, DeployResult


def definition_view(row: ProcessDefinition) -> DefinitionView:
    """Turn a definition row into a DefinitionView (with the process's name in every language it was deployed with)."""
    texts = (row.texts or {}).get("elements") or {}
    names = ProcessTexts(row.process_key, (row.texts or {}).get("source_language"), texts).process_name_texts()
    return DefinitionView(row.id, row.process_key, row.version, row.name, row.sha256, row.deployed_by,
                          row.deployed_at, row.is_latest, row.active, names)


def check_files(
    files: list[tuple[str, bytes]], *, known_groups: Mapping[str, tuple[str, str]] | set[str] | None = None,
    form_keys: set[str] | None = None, max_bytes: int = 5 * 1024 * 1024, others: list[SourceDocument] | None = None,
    refuse_documentation: bool = False,
) -> tuple[list[SourceDocument], dict[str, ParsedProcess], list[SourceDocument]]:
    """Read, validate and parse files (with ``others``, deployed files they may need); raise DefinitionError. Needs no database.

    Only the given files are reported on: of ``others`` only the files defining processes the given ones call or
    decisions they use (or that use the given ones) are parsed beside them. A file whose processes are all
    ``isExecutable="false"`` is documentation: fine to validate, refused when ``refuse_documentation``.
    Forms among the files (``<key>.schema.json`` + ``<key>.ui.json``) are checked and count as available form keys
    besides ``form_keys``; a file of any other kind is refused.
    Returns the given documents, the parsed processes and the (parsed) copies of the documents used.
    """
    problems = unknown_files(files)
    known = [(name, content) for name, content in files if file_kind(name) is not None]
    forms, found = read_forms(known, max_bytes)
    problems.extend(found)
    if form_keys is not None:  # a broken form file still names its form: its own problem is enough
        form_keys = form_keys | set(forms) | {form_key_of(name) for name, _ in known if file_kind(name) == "schema"}
    files, _catalogues, found = split_catalogues(known)
    problems.extend(found)
    documents = []
    for name, content in files:
        try:
            documents.append(read_document(name, content, max_bytes))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    problems.extend(validate_documents(documents, known_groups=known_groups, form_keys=form_keys))
    problems.extend(_duplicate_processes(documents))
    if refuse_documentation:
        problems.extend(plain_problem(d.filename, None, "documentation_only") for d in documents if documentation_only(d))
    if problems:
        raise DefinitionError(problems)
    needed, wanted = _related(documents, others or [])
    parsed_docs = [*_copies(needed), *_copies(documents)]
    try:
        parsed = parse_documents(parsed_docs, wanted=wanted)
    except ProblemsFound as exc:
        raise DefinitionError(exc.problems) from exc
    return documents, parsed, parsed_docs


def _process_ids(doc: SourceDocument) -> set[str]:
    return {str(p.get("id")) for p in executable_processes(doc)} if doc.kind == "bpmn" else set()


def _references(doc: SourceDocument) -> set[str]:
    """Return the process ids a BPMN file calls and the decision ids it uses."""
    if doc.kind != "bpmn":
        return set()
    calls = {(c.get("calledElement") or "").strip() for c in doc.tree.iter(f"{{{BPMN}}}callActivity")}
    return (calls - {""}) | decision_refs(doc)


def _related(documents: list[SourceDocument], others: list[SourceDocument]) -> tuple[list[SourceDocument], set[str]]:
    """Pick the deployed files the given ones need (callees, decisions) or that need them (callers, users of a
    redeployed decision), transitively; return them and the process ids to build."""
    given_ids = set().union(*(_process_ids(d) | decision_ids(d) for d in documents))
    candidates = [d for d in others if not (_process_ids(d) & given_ids)]  # a clash is reported, never parsed
    wanted = set().union(*(_process_ids(d) for d in documents))
    needed: list[SourceDocument] = []
    changed = True
    while changed:
        changed = False
        wanted_refs = set().union(*(_references(d) for d in [*documents, *needed]))
        for doc in candidates:
            if doc in needed:
                continue
            callee = (_process_ids(doc) | decision_ids(doc)) & wanted_refs
            caller = _references(doc) & given_ids
            if callee or caller:
                needed.append(doc)
                if caller:
                    wanted |= _process_ids(doc)
                changed = True
    return needed, wanted


def _duplicate_processes(documents: list[SourceDocument]) -> list[Problem]:
    """One line per process id defined by two of the given files."""
    seen: dict[str, str] = {}
    problems = []
    for doc in documents:
        for process in executable_processes(doc) if doc.kind == "bpmn" else []:
            other = seen.setdefault(str(process.get("id")), doc.filename)
            if other != doc.filename:
                problems.append(problem(doc.filename, process, process, "duplicate_process_in_deploy",
                                        process=process.get("id"), other=other))
    return problems


def _clashes(session: Session, documents: list[SourceDocument]) -> list[Problem]:
    """One line per process id already deployed (and active) from a different file."""
    problems = []
    for doc in documents:
        for process in executable_processes(doc) if doc.kind == "bpmn" else []:
            other = session.scalar(
                select(DefinitionFile.name).join(ProcessDefinition, ProcessDefinition.file_id == DefinitionFile.id)
                .where(ProcessDefinition.process_key == process.get("id"), ProcessDefinition.is_latest.is_(True),
                       ProcessDefinition.active.is_(True)))
            if other is not None and other != doc.filename:
                problems.append(problem(doc.filename, process, process, "duplicate_process", process=process.get("id"),
                                        other=other))
    return problems


def _copies(documents: list[SourceDocument]) -> list[SourceDocument]:
    # Parsing rewrites the trees in place; keep the caller's trees untouched.
    return [SourceDocument(d.filename, d.text, etree.fromstring(d.text.encode("utf-8")), d.kind) for d in documents]


def _stored_documents(session: Session, exclude: set[str]) -> list[SourceDocument]:
    latest = (select(DefinitionFile.name, func.max(DefinitionFile.version).label("v"))
              .group_by(DefinitionFile.name).subquery())
    rows = session.scalars(
        select(DefinitionFile).options(undefer(DefinitionFile.text))
        .join(latest, (DefinitionFile.name == latest.c.name) & (DefinitionFile.version == latest.c.v))
    )
    return [read_document(r.name, r.text.encode("utf-8"), 1 << 30) for r in rows
            if r.name not in exclude and not r.undeployed and r.kind in ("bpmn", "dmn")]


def _latest_file(session: Session, name: str) -> DefinitionFile | None:
    return session.scalar(select(DefinitionFile).options(undefer(DefinitionFile.text)).where(DefinitionFile.name == name)
                          .order_by(DefinitionFile.version.desc()).limit(1))


def _with_stored_bpmn(session: Session, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """A catalogue deployed alone brings its deployed BPMN file along, so the processes get new versions with it."""
    extra = []
    for bpmn in orphan_catalogues(files):
        row = _latest_file(session, bpmn)
        if row is not None and not row.undeployed:
            extra.append((bpmn, row.text.encode("utf-8")))
    return [*files, *extra]


def _stored_catalogues(session: Session, bpmn_names: set[str]) -> dict[str, Catalogue]:
    """The catalogues last deployed for these BPMN files (a BPMN file deployed alone keeps its translations)."""
    found = {}
    for bpmn in bpmn_names:
        row = _latest_file(session, catalogue_name(bpmn))
        if row is not None and row.kind == "i18n":
            found[bpmn] = read_catalogue(row.name, row.text.encode("utf-8"))
    return found


def _store_catalogue(session: Session, catalogue_file: str, content: bytes, actor: str, *,
                     keep_site_changes: bool = False) -> None:
    text = content.decode("utf-8")
    sha = hashlib.sha256(content).hexdigest()
    latest = _latest_file(session, catalogue_file)
    if latest is not None and latest.sha256 == sha:
        return
    if keep_site_changes and latest is not None and _replaced_file(session, catalogue_file, sha) is not None:
        return
    session.add(DefinitionFile(name=catalogue_file, kind="i18n", version=(latest.version + 1) if latest else 1, sha256=sha,
                               text=text, deployed_by=actor, deployed_at=now(session), undeployed=False))
    session.flush()


def group_names(session: Session) -> dict[str, tuple[str, str]]:
    """Return every group id with its English and Chinese display names (lanes may use either)."""
    return {g.id: (g.name_en, g.name_zh) for g in session.scalars(select(Group))}


def _replaced_file(session: Session, name: str, sha: str) -> DefinitionFile | None:
    """Return an earlier stored version of file ``name`` with content ``sha`` that a later version replaced."""
    return session.scalar(select(DefinitionFile).where(DefinitionFile.name == name, DefinitionFile.sha256 == sha)
                          .order_by(DefinitionFile.version.desc()).limit(1))


def _store_file(session: Session, doc: SourceDocument, actor: str, *, keep_site_changes: bool = False) -> DefinitionFile:
    sha = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    latest = session.scalar(select(DefinitionFile).where(DefinitionFile.name == doc.filename)
                            .order_by(DefinitionFile.version.desc()).limit(1))
    if latest is not None and latest.sha256 == sha and not latest.undeployed:
        return latest
    replaced = _replaced_file(session, doc.filename, sha) if keep_site_changes and latest is not None else None
    if replaced is not None and latest is not None and not latest.undeployed:
        return replaced  # a designer deployed a newer version of this shipped file: it stays the current one
    row = DefinitionFile(name=doc.filename, kind=doc.kind, version=(latest.version + 1) if latest else 1, sha256=sha,
                         text=doc.text, deployed_by=actor, deployed_at=now(session), undeployed=False)
    session.add(row)
    session.flush()
    return row


def deploy_files(session: Session, files: list[tuple[str, bytes]], actor: str = "system", *,
                 forms_dir: Path | None = None, keep_site_changes: bool = False) -> DeployResult:
    """Validate and deploy a bundle; unchanged processes stay as they are, changed ones get version N+1.

    ``files`` holds BPMN/DMN files, catalogues and forms. A form the processes use but the files do not carry comes
    from ``forms_dir`` (deploys from disk only) or else from the process's latest deployed version.
    ``keep_site_changes`` (the shipped processes, deployed on every ``make run``): a process or file whose content
    was deployed before and has since been replaced by a newer version (a designer's) keeps that newer version, with
    a warning, instead of going back to the shipped one.
    """
    ctx = context_of(session)
    files = with_bpmn_using_forms(session, _with_stored_bpmn(session, files))
    names = {name for name, _ in files}
    groups = group_names(session)
    given_forms, _form_problems = read_forms([f for f in files if is_form_file(f[0])], ctx.config.max_definition_bytes)
    resolver = FormResolver(session, given_forms, forms_dir, process_ids_in(files))
    given, parsed, documents = check_files(
        files, known_groups=groups, form_keys=resolver.keys(),
        max_bytes=ctx.config.max_definition_bytes, others=_stored_documents(session, names), refuse_documentation=True)
    clashes = _clashes(session, given) + resolver.problems(keys_used(given))
    if clashes:
        raise DefinitionError(clashes)
    _definitions, catalogues, _problems = split_catalogues(files)
    catalogues = {**_stored_catalogues(session, {d.filename for d in documents} - set(catalogues)), **catalogues}
    by_name = {d.filename: d for d in documents}
    file_rows = {d.filename: _store_file(session, d, actor, keep_site_changes=keep_site_changes) for d in given}
    for name, content in files:
        if name.lower().endswith(".i18n.json"):
            _store_catalogue(session, name, content, actor, keep_site_changes=keep_site_changes)
    kept: list[Problem] = []
    deployed, unchanged = [], []
    form_origins: dict[str, dict[str, str]] = {}
    for process_id, process in sorted(parsed.items()):
        doc = by_name.get(process.filename)
        if doc is None:
            continue
        stored_spec = ctx.runtime.dump_spec(process)
        version_docs = _version_documents(process, parsed, by_name)
        texts = bundle_texts(version_docs, catalogues)
        origins = resolver.origins_for(process_id, process.called_processes)
        forms = bundle_forms(version_docs, {key: form for key, (form, _origin) in origins.items()})
        sha = hashlib.sha256((doc.text + json.dumps(stored_spec, sort_keys=True, default=str)
                              + bundle_digest(texts, forms)).encode("utf-8")).hexdigest()
        latest = session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_id, ProcessDefinition.is_latest.is_(True)))
        if latest is not None and latest.sha256 == sha and latest.active:
            unchanged.append(definition_view(latest))
            continue
        if keep_site_changes and latest is not None and latest.active and _deployed_before(session, process_id, sha):
            unchanged.append(definition_view(latest))
            kept.append(plain_problem(doc.filename, None, "shipped_kept", process=process_id, version=latest.version,
                                      by=latest.deployed_by))
            continue
        file_row = file_rows.get(doc.filename) or _store_file(session, doc, actor)
        if latest is not None:
            latest.is_latest = False
        row = ProcessDefinition(
            process_key=process_id, version=(latest.version + 1) if latest else 1, name=process.name, sha256=sha,
            file_id=file_row.id, source=doc.text, spec=stored_spec, element_info=_element_info(process, parsed, by_name, groups),
            start_timer=start_timer_expression(doc, process_id), deployed_by=actor, deployed_at=now(session),
            is_latest=True, active=True, texts=texts, forms=forms,
        )
        session.add(row)
        session.flush()
        unschedule_start_timers(session, process_id)
        if row.start_timer:
            schedule_start_timer(session, row)
        audit.record(session, "definition_deployed", actor, process_key=process_id,
                     data={"version": row.version, "sha256": sha, "file": doc.filename, "definition_id": row.id})
        deployed.append(definition_view(row))
        form_origins[process_id] = {key: origins[key][1] for key in sorted(forms)}
    warnings = kept + translation_warnings(given, catalogues) + unused_form_warnings(given_forms, documents)
    return DeployResult(deployed, unchanged, warnings, form_origins)


def _deployed_before(session: Session, process_key: str, sha: str) -> bool:
    return session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key,
                                                             ProcessDefinition.sha256 == sha).limit(1)) is not None


def _version_documents(process: ParsedProcess, parsed: dict[str, ParsedProcess],
                       by_name: dict[str, SourceDocument]) -> list[SourceDocument]:
    """The files whose elements run in this process's instances: those of the processes it calls, then its own."""
    docs = [by_name[parsed[c].filename] for c in process.called_processes
            if c in parsed and parsed[c].filename in by_name and parsed[c].filename != process.filename]
    return [*docs, by_name[process.filename]]


def _element_info(
    process: ParsedProcess, parsed: dict[str, ParsedProcess], by_name: dict[str, SourceDocument],
    groups: dict[str, tuple[str, str]],
) -> dict[str, Any]:
    """Element facts of a process and of every process it calls (they run inside its instances)."""
    merged: dict[str, Any] = {}
    # Read from the file as written: parsing rewrote the parsed copies (plain tasks, timer texts).
    for called in process.called_processes:
        child = parsed.get(called)
        if child is not None and child.filename in by_name:
            merged.update(element_info(_copies([by_name[child.filename]])[0], called, groups))
    merged.update(element_info(_copies([by_name[process.filename]])[0], process.process_id, groups))
    return merged


def deploy_paths(session: Session, paths: list[Path], actor: str = "system", *,
                 keep_site_changes: bool = False) -> DeployResult:
    """Deploy files, folders and zip bundles from disk; forms they do not carry may come from the forms folder."""
    from engine.definitions.documents import read_paths

    config = context_of(session).config
    bundle_old_versions(session, config.forms_dir)  # a deploy from disk has the folder at hand: bundle the old ones
    return deploy_files(session, read_paths(paths, config.max_definition_bytes), actor, forms_dir=config.forms_dir,
                        keep_site_changes=keep_site_changes)


def list_definitions(session: Session, *, latest_only: bool = False) -> list[DefinitionView]:
    """List deployed definitions, by key and version."""
    stmt = select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version)
    if latest_only:
        stmt = stmt.where(ProcessDefinition.is_latest.is_(True))
    return [definition_view(r) for r in session.scalars(stmt)]


def definition_source(session: Session, definition_id: int) -> str:
    """Return the BPMN source of a definition version."""
    source = session.scalar(select(ProcessDefinition.source).where(ProcessDefinition.id == definition_id))
    if source is None:
        raise NotFound(f"definition {definition_id} not found")
    return source


def undeploy(session: Session, process_key: str, actor: str) -> None:
    """Stop new instances and scheduled starts of a process; running instances carry on."""
    rows = list(session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key)))
    if not rows:
        raise NotFound(f"no deployed process with key {process_key!r}")
    for row in rows:
        row.active = False
    unschedule_start_timers(session, process_key)
    audit.record(session, "definition_undeployed", actor, process_key=process_key)
    session.flush()
