"""The BPMN 2.0 XSD that ships with SpiffWorkflow, loaded once, and its errors as readable problems."""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from engine.definitions.messages import XSD_TYPES, problem
from engine.errors import Problem
from engine.runtime import SourceDocument

XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema"
PREFIXES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://camunda.org/schema/1.0/bpmn": "camunda",
}

_CLARK = re.compile(r"\{([^}]*)\}([\w.-]+)")
_ELEMENT = re.compile(r"^Element '([^']*)'(?:, attribute '([^']*)')?: (.*)$", re.DOTALL)
_EXPECTED = re.compile(r"Expected is(?: one of)? \( ([^)]*) \)")
_ATOMIC = re.compile(r"^'(.*)' is not a valid value of the atomic type '([^']*)'\.?$", re.DOTALL)

# lxml validators keep their error log on the object; concurrent validations would mix logs.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class BpmnSchema:
    """The compiled BPMN 2.0 schema and the Clark names of every element it declares."""

    schema: etree.XMLSchema
    declared: frozenset[str]


def schema_folder() -> Path:
    """Return SpiffWorkflow's BPMN schema folder without importing SpiffWorkflow."""
    spec = importlib.util.find_spec("SpiffWorkflow")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("SpiffWorkflow is not installed; its BPMN 2.0 XSD is needed for validation")
    return Path(list(spec.submodule_search_locations)[0]) / "bpmn" / "parser" / "schema"


@cache
def bpmn_schema() -> BpmnSchema:
    """Load and compile the BPMN 2.0 XSD once (local files only, never the network)."""
    folder = schema_folder()
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)
    declared: set[str] = set()
    for path in sorted(folder.glob("*.xsd")):
        schema_root = etree.parse(str(path), parser).getroot()
        target = schema_root.get("targetNamespace", "")
        for element in schema_root.iter(f"{{{XSD_NAMESPACE}}}element"):
            if element.get("name"):
                declared.add(f"{{{target}}}{element.get('name')}")
    schema = etree.XMLSchema(etree.parse(str(folder / "BPMN20.xsd"), parser))
    return BpmnSchema(schema, frozenset(declared))


def xsd_problems(doc: SourceDocument) -> list[Problem]:
    """Validate one BPMN document against the BPMN 2.0 XSD; return one Problem per XSD error, in plain words."""
    loaded = bpmn_schema()
    with _LOCK:
        valid = loaded.schema.validate(doc.tree)
        errors = [] if valid else [(e.line, e.message) for e in loaded.schema.error_log]
    by_line = _elements_by_line(doc.tree) if errors else {}
    problems = []
    for line, raw in errors:
        tag, code, params = _readable(raw, doc.tree, loaded.declared)
        element = _element_on(by_line.get(line, []), tag)
        problems.append(problem(doc.filename, element, element, code, **params))
    return problems


def prefixed(clark: str) -> str:
    """Write a Clark name ``{ns}local`` with the usual prefix (``bpmn:local``)."""
    match = _CLARK.fullmatch(clark)
    if not match:
        return clark
    prefix = PREFIXES.get(match.group(1))
    return f"{prefix}:{match.group(2)}" if prefix else clark


def _shorten(text: str) -> str:
    return _CLARK.sub(lambda m: prefixed(m.group(0)), text)


def _plain(detail: str) -> str:
    """Drop XML Schema jargon from a libxml2 message the specific cases above did not cover."""
    detail = _shorten(detail).rstrip(".")
    for jargon, words in _JARGON:
        detail = detail.replace(jargon, words)
    return _XS.sub(lambda m: XSD_TYPES.get(m.group(0), (m.group(1), ""))[0], detail)


_JARGON = (("(strict)", ""), ("strict wildcard", "an extension element from a namespace the schema knows"),
           ("The element", "the element"), ("key-sequence", "value"), ("keyref", "reference"), ("atomic type", "type"),
           ("facet", "rule"))
_XS = re.compile(r"xs:(\w+)")


def _readable(raw: str, root: Any, declared: frozenset[str]) -> tuple[str | None, str, dict[str, str]]:
    """Return the Clark name of the element an XSD error is about, a message id and its values."""
    match = _ELEMENT.match(raw.strip())
    if not match:
        return None, "xsd_other", {"element": "the file", "detail": _plain(raw.strip())}
    tag, attribute, detail = match.group(1), match.group(2), match.group(3).strip()
    name = prefixed(tag)
    if "This element is not expected" in detail:
        if tag not in declared and etree.QName(tag).namespace in PREFIXES:
            return tag, "xsd_unknown_element", {"element": name}
        expected = _EXPECTED.search(detail)
        hint = f"; expected one of: {_plain(expected.group(1))}" if expected else ""
        return tag, "xsd_not_allowed", {"element": name, "hint": hint}
    if detail.startswith("Missing child element"):
        expected = _EXPECTED.search(detail)
        return tag, "xsd_missing_child", {"element": name, "hint": f": {_plain(expected.group(1))}" if expected else ""}
    missing = re.match(r"The attribute '([^']*)' is required but missing", detail)
    if missing:
        return tag, "xsd_missing_attribute", {"element": name, "attribute": missing.group(1)}
    if attribute and "is not allowed" in detail:
        return tag, "xsd_attribute_not_allowed", {"element": name, "attribute": _shorten(attribute)}
    atomic = _ATOMIC.match(detail)
    if attribute and atomic:
        value, type_name = atomic.group(1), atomic.group(2)
        if type_name == "xs:ID":
            if len(root.xpath("//*[@id=$v]", v=value)) > 1:
                return tag, "xsd_duplicate_id", {"value": value}
            return tag, "xsd_bad_id", {"value": value}
        en, zh = XSD_TYPES.get(type_name, (f"a valid {type_name.removeprefix('xs:')}", f"合法的 {type_name.removeprefix('xs:')}"))
        return tag, "xsd_bad_value", {"element": name, "attribute": attribute, "value": value, "type_en": en, "type_zh": zh}
    keyref = re.search(r"No match found for key-sequence \['([^']*)'\]", detail)
    if keyref:
        return tag, "xsd_dangling_reference", {"element": f"{name}{f', attribute {attribute},' if attribute else ''}",
                                               "value": keyref.group(1)}
    where = f"{name}, attribute '{attribute}'" if attribute else name
    return tag, "xsd_other", {"element": where, "detail": _plain(detail)}


def _elements_by_line(root: Any) -> dict[int, list[Any]]:
    lines: dict[int, list[Any]] = {}
    for element in root.iter(etree.Element):
        lines.setdefault(element.sourceline, []).append(element)
    return lines


def _element_on(candidates: list[Any], tag: str | None) -> Any:
    """Pick the element an error on a line is about: same tag first, else the first on the line."""
    for element in candidates:
        if tag is not None and element.tag == tag:
            return element
    return candidates[0] if candidates else None


def owner_id(element: Any) -> str | None:
    """Return the element's id, or its nearest ancestor's (an id-less child belongs to that element)."""
    while element is not None:
        if element.get("id"):
            return str(element.get("id"))
        element = element.getparent()
    return None
