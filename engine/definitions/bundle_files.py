"""The files of a bundle (one deploy): BPMN/DMN documents, translation catalogues and forms.

A form travels as ``<key>.schema.json`` (JSON Schema, required) and ``<key>.ui.json`` (labels and widgets,
optional). Any other file name is refused, so a typo never silently drops a file from a deploy.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engine.definitions.catalogue import is_catalogue
from engine.definitions.forms import FormDefinition, check_form
from engine.definitions.messages import plain_problem
from engine.errors import Problem

Files = list[tuple[str, bytes]]

SCHEMA_SUFFIX = ".schema.json"
UI_SUFFIX = ".ui.json"
DOCUMENT_SUFFIXES = (".bpmn", ".dmn", ".xml")  # .xml: Flowable's .bpmn20.xml and modelers' plain XML exports
FORM_KEY = re.compile(r"[A-Za-z0-9_.-]{1,200}")


def file_kind(name: str) -> str | None:
    """Return what a bundle file is by its name: "document", "catalogue", "schema", "ui", or None (not a bundle file)."""
    lower = name.lower()
    if is_catalogue(lower):
        return "catalogue"
    if lower.endswith(SCHEMA_SUFFIX):
        return "schema"
    if lower.endswith(UI_SUFFIX):
        return "ui"
    if lower.endswith(DOCUMENT_SUFFIXES):
        return "document"
    return None


def is_form_file(name: str) -> bool:
    """Tell whether a file name is a form's schema or UI hints."""
    return file_kind(name) in ("schema", "ui")


def form_key_of(name: str) -> str:
    """Return the form key a form file name carries (``a.schema.json`` → ``a``)."""
    suffix = SCHEMA_SUFFIX if name.lower().endswith(SCHEMA_SUFFIX) else UI_SUFFIX
    return name[: -len(suffix)]


def unknown_files(files: Files) -> list[Problem]:
    """One refusal per file that is no part of a bundle, and per file name given twice."""
    problems = [plain_problem(name, None, "unknown_file_type") for name, _ in files if file_kind(name) is None]
    seen: dict[str, str] = {}
    for name, _ in files:
        if name.lower() in seen:
            problems.append(plain_problem(name, None, "duplicate_file", other=seen[name.lower()]))
        seen.setdefault(name.lower(), name)
    return problems


def _json_object(name: str, content: bytes, max_bytes: int) -> tuple[dict[str, Any] | None, list[Problem]]:
    if len(content) > max_bytes:
        return None, [plain_problem(name, None, "file_too_big", size=f"{len(content):,}", limit=f"{max_bytes:,}")]
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [plain_problem(name, getattr(exc, "lineno", None), "form_not_json", detail=_json_detail(exc))]
    if not isinstance(data, dict):
        return None, [plain_problem(name, None, "form_not_object", found=type(data).__name__.replace("NoneType", "null"))]
    return data, []


def _json_detail(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    return str(exc)


def read_forms(files: Files, max_bytes: int = 1024 * 1024) -> tuple[dict[str, FormDefinition], list[Problem]]:
    """Read the form files among ``files`` into forms by key; return them and what is wrong with them.

    A schema that is not a JSON object, is no valid JSON Schema or whose UI hints name undeclared fields is a
    problem (a form that is JSON but invalid is still returned), and so is UI hints without their schema.
    Non-form files are ignored.
    """
    schemas: dict[str, tuple[str, dict[str, Any]]] = {}
    uis: dict[str, tuple[str, dict[str, Any]]] = {}
    problems: list[Problem] = []
    for name, content in files:
        kind = file_kind(name)
        if kind not in ("schema", "ui"):
            continue
        key = form_key_of(name)
        if not FORM_KEY.fullmatch(key):
            problems.append(plain_problem(name, None, "form_bad_key", key=key))
            continue
        data, found = _json_object(name, content, max_bytes)
        problems.extend(found)
        if data is not None:
            (schemas if kind == "schema" else uis)[key] = (name, data)
    forms: dict[str, FormDefinition] = {}
    for key, (_name, schema) in schemas.items():
        form = FormDefinition(key, schema, uis.get(key, ("", {}))[1])
        problems.extend(plain_problem(_name, None, "form_invalid", detail=text) for text in check_form(form))
        forms[key] = form  # kept when invalid: the problem is reported, not a missing form on top of it
    for key, (name, _ui) in uis.items():
        if key not in schemas and not any(p.file == f"{key}{SCHEMA_SUFFIX}" for p in problems):
            problems.append(plain_problem(name, None, "form_ui_orphan", schema=f"{key}{SCHEMA_SUFFIX}"))
    return forms, problems


def without_forms(files: Files) -> Files:
    """Return the files that are not forms (documents and catalogues)."""
    return [(name, content) for name, content in files if not is_form_file(name)]


def form_files(forms: dict[str, Any]) -> Files:
    """Turn stored forms (``{key: {"schema": …, "ui": …}}`` or FormDefinitions) back into bundle files."""
    files: Files = []
    for key in sorted(forms):
        form = forms[key]
        schema, ui = (form.schema, form.ui) if isinstance(form, FormDefinition) else (form.get("schema", {}), form.get("ui", {}))
        files.append((f"{key}{SCHEMA_SUFFIX}", _dump(schema)))
        if ui:
            files.append((f"{key}{UI_SUFFIX}", _dump(ui)))
    return files


def _dump(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

