"""Where a deploy's forms come from: the bundle's own files first, then the process's deployed version.

A form the BPMN uses but the bundle does not carry is taken from the latest deployed version of the process
(so a BPMN-only redeploy keeps its forms, as it keeps its catalogue), else from the newest deployed version of
any process that has a form of that key (form keys name one form across processes, like Camunda's "latest"
form binding: a new process may reuse a deployed form). A deploy from disk (a folder, ``--shipped``) looks in the
forms folder before the deployed versions: the folder is the source of the shipped bundle. The web and the API
never read the forms folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.definitions.bundle_files import Files, file_kind, form_key_of, is_form_file, read_forms
from engine.definitions.forms import FormDefinition
from engine.definitions.support import BPMN
from engine.errors import Problem
from engine.persistence import DefinitionFile, ProcessDefinition


def available_form_keys(forms_dir: Path) -> set[str]:
    """Return the form keys defined in a forms folder (``<key>.schema.json``)."""
    if not forms_dir.is_dir():
        return set()
    return {p.name[: -len(".schema.json")] for p in forms_dir.glob("*.schema.json")}


def _latest_rows(session: Session) -> list[ProcessDefinition]:
    stmt = select(ProcessDefinition).options(undefer(ProcessDefinition.forms)).where(ProcessDefinition.is_latest.is_(True))
    return list(session.scalars(stmt))


def _forms_of(row: ProcessDefinition) -> dict[str, FormDefinition]:
    return {k: FormDefinition(k, v.get("schema", {}), v.get("ui", {})) for k, v in (row.forms or {}).items()}


def process_ids_in(files: Files) -> set[str]:
    """Return the ids of the processes the BPMN files among ``files`` define (unreadable files define none)."""
    ids: set[str] = set()
    for name, content in files:
        if file_kind(name) != "document":
            continue
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        except (etree.XMLSyntaxError, ValueError):
            continue
        ids |= {str(p.get("id")) for p in root.iter(f"{{{BPMN}}}process") if p.get("id")}
    return ids


class FormResolver:
    """Find each form a version uses: the bundle's files, the forms folder (deploys from disk), the previous version."""

    def __init__(self, session: Session, given: dict[str, FormDefinition], forms_dir: Path | None,
                 process_keys: Iterable[str]) -> None:
        self.given = given
        self.forms_dir = forms_dir
        self.folder, self.folder_problems = _folder_forms(forms_dir) if forms_dir is not None else ({}, [])
        rows = sorted(_latest_rows(session), key=lambda r: r.id)
        wanted = set(process_keys)
        self.previous = {row.process_key: _forms_of(row) for row in rows if row.process_key in wanted}
        self.shared: dict[str, FormDefinition] = {}  # any process's latest form by key, the newest deploy last
        for row in rows:
            self.shared.update(_forms_of(row))

    def problems(self, used: set[str]) -> list[Problem]:
        """What is wrong with the forms folder's forms that the deploy uses and does not carry itself."""
        return [p for p in self.folder_problems if form_key_of(p.file) in used and form_key_of(p.file) not in self.given]

    def keys(self) -> set[str]:
        """Every form key the deploy can resolve (for the form-key check)."""
        return set(self.given) | set(self.folder) | set(self.shared)

    def source_for(self, process_key: str, related: Iterable[str] = ()) -> dict[str, FormDefinition]:
        """Return the forms a new version of ``process_key`` may use, by key (the first source that has it wins)."""
        return {key: form for key, (form, _origin) in self.origins_for(process_key, related).items()}

    def origins_for(self, process_key: str, related: Iterable[str] = ()) -> dict[str, tuple[FormDefinition, str]]:
        """Like :meth:`source_for`, with where each form comes from: "bundle" (the deploy's files), "folder" (the
        forms folder), "version" (the process's deployed version) or "shared" (another process's)."""
        found = {key: (form, "shared") for key, form in self.shared.items()}
        for key in [*related, process_key]:  # its own previous version wins over those of the processes it calls
            found.update({k: (form, "version") for k, form in self.previous.get(key, {}).items()})
        found.update({key: (form, "folder") for key, form in self.folder.items()})
        found.update({key: (form, "bundle") for key, form in self.given.items()})
        return found


def _folder_forms(forms_dir: Path) -> tuple[dict[str, FormDefinition], list[Problem]]:
    files = [(path.name, path.read_bytes()) for path in sorted(forms_dir.iterdir())
             if path.is_file() and is_form_file(path.name)] if forms_dir.is_dir() else []
    return read_forms(files)


def with_bpmn_using_forms(session: Session, files: Files) -> Files:
    """A form deployed without any BPMN file brings the deployed BPMN files whose latest versions use it, so those
    processes get a new version with the changed form."""
    if any(file_kind(name) == "document" for name, _ in files):
        return files
    keys = {form_key_of(name) for name, _ in files if is_form_file(name)}
    if not keys:
        return files
    extra: dict[str, bytes] = {}
    for row in _latest_rows(session):
        if row.active and keys & set(row.forms or {}):
            stored = session.scalar(select(DefinitionFile).options(undefer(DefinitionFile.text))
                                    .where(DefinitionFile.id == row.file_id))
            if stored is not None and not stored.undeployed:
                extra.setdefault(stored.name, stored.text.encode("utf-8"))
    return [*files, *sorted(extra.items())]



def bundle_old_versions(session: Session, forms_dir: Path) -> int:
    """Give versions deployed before forms were bundled (``forms`` NULL, before migration 0010) the forms their BPMN
    names, from the forms folder, so no server reads that folder for them again; return how many were bundled."""
    from engine.definitions.documents import read_document
    from engine.services.bundles import keys_used

    rows = list(session.scalars(select(ProcessDefinition).options(undefer(ProcessDefinition.source))
                                .where(ProcessDefinition.forms.is_(None))))
    if not rows:
        return 0
    folder, _problems = _folder_forms(forms_dir)
    for row in rows:
        keys = keys_used([read_document(f"{row.process_key}.bpmn", row.source.encode("utf-8"), 1 << 30)])
        row.forms = {key: {"schema": folder[key].schema, "ui": folder[key].ui} for key in sorted(keys) if key in folder}
    session.flush()
    return len(rows)
