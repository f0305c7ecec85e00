"""The forms of a designer's draft, without the draft: which keys a BPMN text names and where, the forms as bundle
files, and what stops an edited form from deploying (the engine's ``check_form`` and the editor's own checks)."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from lxml import etree

from engine.definitions.forms import FORMATS, FormDefinition, check_form
from engine.definitions.support import CAMUNDA
from engine.errors import Problem

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
FORM_KEY = re.compile(r"[A-Za-z0-9_.-]{1,200}")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


def form_keys_in(bpmn: str) -> set[str]:
    """Return the form keys a BPMN text names (start events, user tasks, message contracts); none when it is broken."""
    return set(form_users(bpmn))


def form_users(bpmn: str) -> dict[str, list[tuple[str, str]]]:
    """Return, per form key the BPMN text names, the elements naming it as (id, name); {} when the text is broken."""
    try:
        root = etree.fromstring(bpmn.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return {}
    users: dict[str, list[tuple[str, str]]] = {}
    for node in root.iter(etree.Element):
        key = node.get(f"{{{CAMUNDA}}}formKey")
        owner = node
        if key is None and node.tag == f"{{{CAMUNDA}}}property" and node.get("name") == "formKey":
            key = node.get("value")
            while owner is not None and owner.get("id") is None:  # the message (or element) the property belongs to
                owner = owner.getparent()
        if key and key.strip() and owner is not None:
            users.setdefault(key.strip(), []).append((str(owner.get("id") or ""), " ".join((owner.get("name") or "").split())))
    return users


def form_files(forms: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Return a draft's forms as bundle files: ``<key>.schema.json`` and ``<key>.ui.json``."""
    files = []
    for key, form in sorted(forms.items()):
        files.append((f"{key}.schema.json", json_bytes(form.get("schema", {}))))
        files.append((f"{key}.ui.json", json_bytes(form.get("ui", {}))))
    return files


def json_bytes(value: Any) -> bytes:
    """Return a JSON value as the UTF-8 text of a bundle file."""
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def form_problems(key: str, schema: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    """Return what stops a form of a draft from deploying: the engine's ``check_form`` findings and the draft's own."""
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        return [f"{key}.schema.json: properties must be an object"]
    return _draft_only_problems(key, props, ui) + check_form(FormDefinition(key, schema, ui))


def _draft_only_problems(key: str, props: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    """What a form edited in a draft must also get right: field names, a choice's options, defaults, the order."""
    problems = [f"{key}.schema.json: field name {name!r} must start with a letter and use only letters, digits and _"
                for name in props if not FIELD_NAME.fullmatch(str(name))]
    problems += [f"{key}.schema.json: field {name!r} is a choice without options; give it at least one"
                 for name, prop in props.items() if isinstance(prop, dict) and prop.get("enum") == []]
    problems += [found for name, prop in props.items()
                 if isinstance(prop, dict) and "default" in prop and (found := _default_problem(key, name, prop))]
    if not isinstance(ui.get("order", []), list):
        problems.append(f"{key}.ui.json: order must be a list of field names")
    return problems


def draft_form_problems(forms: dict[str, Any]) -> list[Problem]:
    """The draft's own form problems as deploy problems (``check_form``'s come from the deploy itself)."""
    found = []
    for key, form in sorted(forms.items()):
        props = (form.get("schema") or {}).get("properties", {})
        for text in _draft_only_problems(key, props if isinstance(props, dict) else {}, form.get("ui") or {}):
            file, _sep, message = text.partition(": ")
            found.append(Problem(file, None, None, message))
    return found


def _default_problem(key: str, name: str, prop: dict[str, Any]) -> str:
    """Return why a field's default does not fit the field ("" when it fits, or the schema itself is broken)."""
    try:
        error = next(Draft202012Validator(prop, format_checker=FORMATS).iter_errors(prop["default"]), None)
    except Exception:  # noqa: BLE001 - an invalid field schema is check_form's finding, not this one
        return ""
    return f"{key}.schema.json: field {name!r}: the default {prop['default']!r} does not fit the field ({error.message})" \
        if error is not None else ""
