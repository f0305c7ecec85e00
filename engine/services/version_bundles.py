"""A deployed version as the bundle it came from: its BPMN file, its translation catalogue, the DMN files of the
decisions its business rule tasks use, and its forms.

The files are what was deployed (the catalogue and the decision tables as they stood when the version was made), so
deploying the bundle of the latest version again changes nothing; a designer edits them and deploys them as the next
version.
"""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.definitions.bundle_files import Files, form_files
from engine.definitions.catalogue import catalogue_name
from engine.definitions.documents import read_document
from engine.definitions.support import decision_ids, decision_refs
from engine.errors import NotFound
from engine.persistence import DefinitionFile, ProcessDefinition
from engine.runtime import SourceDocument


def version_files(session: Session, definition_id: int) -> Files:
    """Return the files of a version's bundle: ``<file>.bpmn``, ``<file>.i18n.json`` (if any), the DMN files it
    uses, forms."""
    row = session.scalar(select(ProcessDefinition).options(undefer(ProcessDefinition.source),
                                                           undefer(ProcessDefinition.forms))
                         .where(ProcessDefinition.id == definition_id))
    if row is None:
        raise NotFound(f"definition {definition_id} not found")
    bpmn_name = session.scalar(select(DefinitionFile.name).where(DefinitionFile.id == row.file_id)) or f"{row.process_key}.bpmn"
    files: Files = [(bpmn_name, row.source.encode("utf-8"))]
    catalogue = session.scalar(
        select(DefinitionFile).options(undefer(DefinitionFile.text))
        .where(DefinitionFile.name == catalogue_name(bpmn_name), DefinitionFile.kind == "i18n",
               DefinitionFile.deployed_at <= row.deployed_at)
        .order_by(DefinitionFile.version.desc()).limit(1))
    if catalogue is not None:
        files.append((catalogue.name, catalogue.text.encode("utf-8")))
    return [*files, *_decision_files(session, row, bpmn_name), *form_files(row.forms or {})]


def _decision_files(session: Session, row: ProcessDefinition, bpmn_name: str) -> Files:
    """The DMN files (each as it stood when the version was deployed) that hold a decision the version's business
    rule tasks use; the deploy built the version from exactly these."""
    wanted = decision_refs(_stored(bpmn_name, row.source))
    if not wanted:
        return []
    rows = session.scalars(select(DefinitionFile).options(undefer(DefinitionFile.text))
                           .where(DefinitionFile.kind == "dmn", DefinitionFile.deployed_at <= row.deployed_at)
                           .order_by(DefinitionFile.name, DefinitionFile.version.desc()))
    found: Files = []
    seen: set[str] = set()
    for dmn in rows:
        if dmn.name in seen:
            continue  # an older version of a file whose version of that time came first
        seen.add(dmn.name)
        if decision_ids(_stored(dmn.name, dmn.text)) & wanted:
            found.append((dmn.name, dmn.text.encode("utf-8")))
    return found


def _stored(name: str, text: str) -> SourceDocument:
    return read_document(name, text.encode("utf-8"), 1 << 30)  # the deploy's own (safe) parser; it was deployed


def version_zip(session: Session, definition_id: int) -> bytes:
    """Return a version's bundle as a zip (forms in ``forms/``), ready to edit and deploy again."""
    files = version_files(session, definition_id)
    deployed_at = session.scalar(select(ProcessDefinition.deployed_at).where(ProcessDefinition.id == definition_id))
    stamp = deployed_at.timetuple()[:6] if deployed_at is not None else (1980, 1, 1, 0, 0, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:  # dated when the version was deployed: the same version, the same bytes
            folder = "forms/" if name.endswith((".schema.json", ".ui.json")) else ""
            info = zipfile.ZipInfo(folder + name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()
