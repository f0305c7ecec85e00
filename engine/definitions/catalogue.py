"""Translation catalogues: ``<stem>.i18n.json`` beside ``<stem>.bpmn`` gives a process's texts in every language.

The BPMN ``name`` attributes are the texts in the catalogue's ``source_language``; ``translations`` gives, per
language, the text of each named element by its id; ``fields`` gives labels, value labels and kinds of data fields
that no form declares (DMN outputs, script results, message data). A catalogue is deployed with its BPMN file and
belongs to the process versions built from it, so an instance always shows the texts of its own version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.definitions.messages import plain_problem
from engine.errors import DefinitionError, Problem
from engine.runtime import SourceDocument

SUFFIX = ".i18n.json"
LANGUAGES = ("zh-CN", "en")
FIELD_KINDS = ("text", "number", "money", "date", "datetime", "flag", "table", "list", "duration")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class Catalogue:
    """A process file's texts: its source language, translations by element id, and data-field texts."""

    filename: str
    source_language: str
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)


def catalogue_name(bpmn_name: str) -> str:
    """Return the catalogue file name that belongs beside a BPMN/DMN file."""
    stem = bpmn_name.rsplit(".", 1)[0] if "." in bpmn_name else bpmn_name
    return stem + SUFFIX


def is_catalogue(name: str) -> bool:
    """Tell whether a file name is a translation catalogue."""
    return name.lower().endswith(SUFFIX)


def read_catalogue(name: str, content: bytes) -> Catalogue:
    """Parse and check a catalogue file; raise DefinitionError naming each problem."""
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise DefinitionError([plain_problem(name, line, "catalogue_not_json", detail=str(exc))]) from exc
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise DefinitionError([plain_problem(name, None, "catalogue_shape", detail="the top level must be an object")])
    source = data.get("source_language")
    if not isinstance(source, str) or not _LANGUAGE.match(source):
        problems.append(plain_problem(name, None, "catalogue_shape",
                                      detail="source_language must be a language tag such as zh-CN or en"))
    translations = data.get("translations", {})
    if not isinstance(translations, dict) or not all(
            isinstance(lang, str) and _LANGUAGE.match(lang) and isinstance(texts, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items())
            for lang, texts in translations.items()):
        problems.append(plain_problem(name, None, "catalogue_shape",
                                      detail='translations must map a language to {"element id": "text"}'))
        translations = {}
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        problems.append(plain_problem(name, None, "catalogue_shape", detail="fields must be an object"))
        fields = {}
    for field_name, spec in fields.items():
        problems.extend(_field_problems(name, field_name, spec))
    unknown = sorted(set(data) - {"source_language", "translations", "fields", "$schema", "comment"})
    if unknown:
        problems.append(plain_problem(name, None, "catalogue_shape", detail=f"unknown keys {', '.join(unknown)}"))
    if problems:
        raise DefinitionError(problems)
    return Catalogue(name, str(source), {k: dict(v) for k, v in translations.items()}, dict(fields))


def _is_texts(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()))


def _field_problems(filename: str, name: str, spec: Any) -> list[Problem]:
    where = f"field {name}: "
    if not isinstance(spec, dict):
        return [plain_problem(filename, None, "catalogue_shape", detail=where + "must be an object")]
    problems = []
    if "label" in spec and not _is_texts(spec["label"]):
        problems.append(plain_problem(filename, None, "catalogue_shape", detail=where + 'label must be {"zh-CN": …, "en": …}'))
    for key in ("values", "columns"):
        if key in spec and not (isinstance(spec[key], dict) and all(_is_texts(v) for v in spec[key].values())):
            problems.append(plain_problem(filename, None, "catalogue_shape",
                                          detail=where + f'{key} must map each one to {{"zh-CN": …, "en": …}}'))
    if "kind" in spec and spec["kind"] not in FIELD_KINDS:
        problems.append(plain_problem(filename, None, "catalogue_shape",
                                      detail=where + f"kind must be one of {', '.join(FIELD_KINDS)}"))
    if "currency_field" in spec and not isinstance(spec["currency_field"], str):
        problems.append(plain_problem(filename, None, "catalogue_shape", detail=where + "currency_field must be a field name"))
    return problems


def named_elements(doc: SourceDocument) -> dict[str, tuple[str, int | None]]:
    """Return each element with a ``name`` (or a text annotation's text) by id: its text and line."""
    named: dict[str, tuple[str, int | None]] = {}
    for node in doc.tree.iter(etree.Element):
        element_id = node.get("id")
        if not element_id:
            continue
        text = node.get("name")
        if text is None and etree.QName(node).localname == "textAnnotation":
            text = next((t.text for t in node if etree.QName(t).localname == "text"), None)
        text = " ".join((text or "").split())
        if text and not text.startswith("__"):  # modelers' placeholders such as __targetRef_placeholder
            named[str(element_id)] = (text, node.sourceline)
    return named


def element_texts(doc: SourceDocument, catalogue: Catalogue | None) -> dict[str, dict[str, str]]:
    """Return every named element's text in every language the catalogue has (the BPMN name as its source language)."""
    source = catalogue.source_language if catalogue else None
    out: dict[str, dict[str, str]] = {}
    for element_id, (text, _line) in named_elements(doc).items():
        texts = {source: text} if source else {"*": text}
        if catalogue:
            for language, translated in catalogue.translations.items():
                if translated.get(element_id):  # also for the source language: a message's name is its contract
                    texts[language] = translated[element_id]
        out[element_id] = texts
    return out


def catalogue_warnings(doc: SourceDocument, catalogue: Catalogue | None,
                       languages: tuple[str, ...] = LANGUAGES) -> list[Problem]:
    """Return one warning per language whose texts are missing (listing the element ids), or that there is no catalogue."""
    # Lanes name groups, which have their own names in every language (the groups table); translating them is optional.
    named = {k: v for k, v in named_elements(doc).items() if k not in _lane_ids(doc)}
    if doc.kind != "bpmn" or not named:
        return []
    if catalogue is None:
        return [plain_problem(doc.filename, None, "catalogue_missing", catalogue=catalogue_name(doc.filename),
                              languages=", ".join(languages))]
    warnings = []
    for language in languages:
        if language == catalogue.source_language:
            continue
        have = catalogue.translations.get(language, {})
        missing = [element_id for element_id in named if not have.get(element_id)]
        if missing:
            warnings.append(plain_problem(catalogue.filename, None, "catalogue_incomplete", language=language,
                                          count=len(missing), keys=", ".join(missing)))
    unknown = sorted(k for texts in catalogue.translations.values() for k in texts
                     if k not in named and k not in _lane_ids(doc))
    if unknown:
        warnings.append(plain_problem(catalogue.filename, None, "catalogue_unknown_keys", keys=", ".join(sorted(set(unknown)))))
    return warnings


def _lane_ids(doc: SourceDocument) -> set[str]:
    return {str(n.get("id")) for n in doc.tree.iter(etree.Element) if etree.QName(n).localname == "lane" and n.get("id")}
