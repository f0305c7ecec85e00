"""What is deployed with a process besides its BPMN: the translation catalogue and the forms it uses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from engine.definitions.bundle_files import is_form_file
from engine.definitions.catalogue import (
    Catalogue,
    catalogue_warnings,
    element_texts,
    is_catalogue,
    read_catalogue,
)
from engine.definitions.forms import FormDefinition, check_form, load_form
from engine.definitions.messages import plain_problem
from engine.definitions.support import BPMN, CAMUNDA, documentation_only
from engine.errors import DefinitionError, Problem
from engine.runtime import SourceDocument

Files = list[tuple[str, bytes]]


def split_catalogues(files: Files) -> tuple[Files, dict[str, Catalogue], list[Problem]]:
    """Separate catalogues from BPMN/DMN files (forms are left out); return the files, the catalogues by their BPMN
    file name, problems."""
    documents: Files = []
    catalogues: dict[str, Catalogue] = {}
    problems: list[Problem] = []
    names = {name for name, _ in files if not is_catalogue(name)}
    for name, content in files:
        if is_form_file(name):
            continue
        if not is_catalogue(name):
            documents.append((name, content))
            continue
        bpmn = name[: -len(".i18n.json")] + ".bpmn"
        if bpmn not in names:
            problems.append(plain_problem(name, None, "catalogue_orphan", bpmn=bpmn))
            continue
        try:
            catalogues[bpmn] = read_catalogue(name, content)
        except DefinitionError as exc:
            problems.extend(exc.problems)
    return documents, catalogues, problems


def orphan_catalogues(files: Files) -> list[str]:
    """Return the BPMN file names of catalogues given without their BPMN file."""
    names = {name for name, _ in files if not is_catalogue(name)}
    bpmn_names = [name[: -len(".i18n.json")] + ".bpmn" for name, _ in files if is_catalogue(name)]
    return [b for b in bpmn_names if b not in names]


def translation_warnings(documents: list[SourceDocument], catalogues: dict[str, Catalogue]) -> list[Problem]:
    """Return the warnings about missing or stray translations of the given BPMN files."""
    warnings: list[Problem] = []
    for doc in documents:
        if doc.kind == "bpmn" and not documentation_only(doc):  # a drawing is never shown to users
            warnings.extend(catalogue_warnings(doc, catalogues.get(doc.filename)))
    return warnings


def bundle_texts(docs: list[SourceDocument], catalogues: dict[str, Catalogue]) -> dict[str, Any]:
    """Return the texts stored with a version: element names per language and data-field texts of its files
    (the process's own file last, so its texts win over those of the processes it calls)."""
    elements: dict[str, dict[str, str]] = {}
    fields: dict[str, Any] = {}
    source = None
    for doc in docs:
        catalogue = catalogues.get(doc.filename)
        elements.update(element_texts(doc, catalogue))
        if catalogue is not None:
            fields.update(catalogue.fields)
            source = catalogue.source_language
    messages = {str(m.get("name")): str(m.get("id")) for doc in docs for m in doc.tree.iter(f"{{{BPMN}}}message")
                if m.get("name") and m.get("id")}
    return {"source_language": source, "elements": elements, "fields": fields, "messages": messages}


def form_keys_used(doc: SourceDocument) -> set[str]:
    """Return the form keys a file's start events, user tasks and message contracts name."""
    keys = {str(node.get(f"{{{CAMUNDA}}}formKey")).strip() for node in doc.tree.iter(etree.Element)
            if node.get(f"{{{CAMUNDA}}}formKey")}
    keys |= {str(p.get("value")).strip() for p in doc.tree.iter(f"{{{CAMUNDA}}}property")
             if p.get("name") == "formKey" and p.get("value")}
    return keys - {""}


FormSource = Mapping[str, FormDefinition] | Path


def _form(source: FormSource, key: str) -> FormDefinition | None:
    return load_form(source, key) if isinstance(source, Path) else source.get(key)


def keys_used(docs: list[SourceDocument]) -> set[str]:
    """Return the form keys any of the files use."""
    return set().union(*(form_keys_used(d) for d in docs))


def bundle_forms(docs: list[SourceDocument], forms: FormSource) -> dict[str, Any]:
    """Return the forms the files use, as deployed now ({key: {"schema": …, "ui": …}}), from ``forms``
    (the bundle's forms by key, or a forms folder)."""
    found: dict[str, Any] = {}
    for key in sorted(keys_used(docs)):
        form = _form(forms, key)
        if form is not None:
            found[key] = {"schema": form.schema, "ui": form.ui}
    return found


def unused_form_warnings(forms: Mapping[str, FormDefinition], docs: list[SourceDocument]) -> list[Problem]:
    """One warning per form given in a bundle that none of its processes uses (it is not stored)."""
    used = keys_used(docs)
    return [plain_problem(f"{key}.schema.json", None, "form_unused", key=key) for key in sorted(forms) if key not in used]


def bundle_digest(texts: dict[str, Any], forms: dict[str, Any]) -> str:
    """Return the bundle's part of a version's content hash: a changed text or form makes a new version."""
    return json.dumps({"texts": texts, "forms": forms}, sort_keys=True, ensure_ascii=False)


def form_problems(docs: list[SourceDocument], forms: FormSource) -> list[Problem]:
    """Return what is wrong with the forms the files use (invalid schema, malformed rules), one problem each;
    ``forms`` is a forms folder or the forms by key."""
    problems = []
    for key in sorted(keys_used(docs)):
        form = _form(forms, key)
        for text in check_form(form) if form is not None else []:
            problems.append(plain_problem(f"{key}.schema.json", None, "form_invalid", detail=text))
    return problems
