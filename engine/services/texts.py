"""The texts and forms a process version was deployed with: names in every language, field labels, value labels.

Versions are immutable, so what is read for one is kept in the engine context by definition id and never re-read.
Versions deployed before bundles existed (migration 0010) fall back to their BPMN names and the forms on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.catalogue import LANGUAGES
from engine.definitions.forms import FormDefinition, load_form
from engine.errors import NotFound
from engine.persistence import ProcessDefinition
from engine.services.context import context_of

ANY_LANGUAGE = "*"
_FORMAT_KINDS = {"money": "money", "decimal": "number", "date": "date", "date-time": "datetime"}
_TYPE_KINDS = {"boolean": "flag", "integer": "number", "number": "number", "array": "list"}


def _pick(texts: dict[str, str] | str | None, language: str, source: str | None) -> str | None:
    """Pick ``language``'s text; else the source language's, else English, else any."""
    if texts is None or isinstance(texts, str):
        return texts
    for key in (language, ANY_LANGUAGE, source, "en"):
        if key and texts.get(key):
            return texts[key]
    return next((t for t in texts.values() if t), None)


@dataclass(frozen=True)
class FieldText:
    """How a data field is shown: its label and value labels per language, its kind and table columns."""

    label: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    kind: str = "text"
    currency_field: str | None = None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    declared: bool = True


@dataclass(frozen=True)
class ProcessTexts:
    """A process version's texts: element names per language and its data fields."""

    process_key: str
    source_language: str | None
    elements: dict[str, dict[str, str]] = field(default_factory=dict)
    fields: dict[str, FieldText] = field(default_factory=dict)
    message_ids: dict[str, str] = field(default_factory=dict)  # message name → id of its bpmn:message

    def element(self, element_id: str, language: str, default: str | None = None) -> str:
        """Return an element's name in ``language`` (falling back to its name as written, then ``default``/the id)."""
        return _pick(self.elements.get(element_id), language, self.source_language) or default or element_id

    def element_names(self, element_id: str, default: str | None = None) -> dict[str, str]:
        """Return an element's name in each UI language ({"zh-CN": …, "en": …}, falling back as ``element`` does)."""
        return {language: self.element(element_id, language, default) for language in LANGUAGES}

    def process_name(self, language: str) -> str:
        """Return the process's name in ``language``."""
        return self.element(self.process_key, language, self.process_key)

    def process_name_texts(self) -> dict[str, str]:
        """Return the process's name in each UI language."""
        return self.element_names(self.process_key, self.process_key)

    def message(self, message_name: str, language: str) -> str:
        """Return a message's text in ``language`` by its name (the BPMN message element that has that name)."""
        return self.element(self.message_ids.get(message_name, message_name), language, message_name)

    def field(self, name: str) -> FieldText | None:
        """Return how a data field is shown, or None when no form or catalogue declares it (technical data)."""
        return self.fields.get(name)

    def field_label(self, name: str, language: str) -> str | None:
        """Return a data field's label in ``language``, or None when it is undeclared."""
        spec = self.fields.get(name)
        return _pick(spec.label, language, self.source_language) if spec else None

    def value_label(self, name: str, value: Any, language: str) -> str | None:
        """Return the label of one value of an enumerated field (``wechat`` → 微信), or None."""
        spec = self.fields.get(name)
        if spec is None or isinstance(value, (dict, list)):
            return None
        key = str(value).lower() if isinstance(value, bool) else str(value)
        return _pick(spec.values.get(key), language, self.source_language)


def _form_fields(forms: dict[str, FormDefinition]) -> dict[str, FieldText]:
    """Derive field texts from forms: ui.json labels and select options, schema formats and types."""
    out: dict[str, FieldText] = {}
    for form in forms.values():
        props = form.schema.get("properties", {})
        hints = form.ui.get("fields", {})
        for name, prop in props.items():
            if not isinstance(prop, dict):
                continue
            hint = hints.get(name, {}) if isinstance(hints.get(name), dict) else {}
            label = hint.get("label") or {}
            options = hint.get("options") or {}
            kind = _FORMAT_KINDS.get(str(prop.get("format")), _TYPE_KINDS.get(str(prop.get("type")), "text"))
            items: dict[str, Any] = prop["items"] if isinstance(prop.get("items"), dict) else {}
            columns = {}
            if kind == "list" and items.get("type") == "object":
                kind = "table"
                item_hints = hint.get("columns") or hint.get("fields") or {}
                columns = {c: _texts((item_hints.get(c) or {}).get("label") if isinstance(item_hints.get(c), dict)
                                     else item_hints.get(c)) or {ANY_LANGUAGE: c} for c in items.get("properties", {})}
            found = FieldText(
                label=_texts(label) or {ANY_LANGUAGE: name},
                values={str(k): _texts(v) for k, v in options.items() if _texts(v)} if isinstance(options, dict) else {},
                kind=kind, currency_field="currency" if kind == "money" and "currency" in props else None,
                columns=columns)
            # Several forms may declare one field (the start form, a later task's form): each adds what it knows.
            out[name] = _merge(found, out[name]) if name in out else found
    return out


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {ANY_LANGUAGE: value}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}
    return {}


def _catalogue_fields(fields: dict[str, Any]) -> dict[str, FieldText]:
    return {name: FieldText(
        label=_texts(spec.get("label")) or {ANY_LANGUAGE: name},
        values={str(k): _texts(v) for k, v in (spec.get("values") or {}).items()},
        kind=str(spec.get("kind") or "text"), currency_field=spec.get("currency_field"),
        columns={str(k): _texts(v) for k, v in (spec.get("columns") or {}).items()},
    ) for name, spec in fields.items() if isinstance(spec, dict)}


def _merge(form_field: FieldText | None, catalogue_field: FieldText) -> FieldText:
    if form_field is None:
        return catalogue_field
    return FieldText(
        label={**form_field.label, **catalogue_field.label},
        values={**form_field.values, **catalogue_field.values},
        kind=catalogue_field.kind if catalogue_field.kind != "text" else form_field.kind,
        currency_field=catalogue_field.currency_field or form_field.currency_field,
        columns={**form_field.columns, **catalogue_field.columns})


def _version(session: Session, definition_id: int) -> dict[str, Any]:
    """Read a version's bundle once per engine."""
    cache = context_of(session).versions
    if definition_id not in cache:
        row = session.execute(select(ProcessDefinition.process_key, ProcessDefinition.name, ProcessDefinition.texts,
                                     ProcessDefinition.forms).where(ProcessDefinition.id == definition_id)).first()
        if row is None:
            raise NotFound(f"definition {definition_id} not found")
        forms_dir = context_of(session).config.forms_dir
        stored = row.forms
        forms = ({k: FormDefinition(k, v.get("schema", {}), v.get("ui", {})) for k, v in stored.items()}
                 if stored is not None else None)
        texts = row.texts or {}
        elements = texts.get("elements") or {row.process_key: {ANY_LANGUAGE: row.name}}
        field_texts = _form_fields(forms or {})
        for name, spec in _catalogue_fields(texts.get("fields") or {}).items():
            field_texts[name] = _merge(field_texts.get(name), spec)
        cache[definition_id] = {
            "forms": forms, "forms_dir": forms_dir,
            "texts": ProcessTexts(row.process_key, texts.get("source_language"), elements, field_texts,
                                  dict(texts.get("messages") or {}))}
    return cache[definition_id]  # type: ignore[no-any-return]


def process_texts(session: Session, definition_id: int) -> ProcessTexts:
    """Return the texts a process version was deployed with."""
    return _version(session, definition_id)["texts"]  # type: ignore[no-any-return]


def form_of(session: Session, definition_id: int | None, form_key: str | None) -> FormDefinition | None:
    """Return a form as deployed with a version (versions older than bundles: the form on disk), or None."""
    if not form_key:
        return None
    if definition_id is None:
        return load_form(context_of(session).config.forms_dir, form_key)
    version = _version(session, definition_id)
    forms: dict[str, FormDefinition] | None = version["forms"]
    if forms is not None:  # a version owns its forms: never the forms folder, which another server may not have
        return forms.get(form_key)
    return load_form(version["forms_dir"], form_key)


def process_names(session: Session, definition_ids: list[int]) -> dict[int, dict[str, str]]:
    """Return each version's process name in every language it has."""
    return {d: process_texts(session, d).element_names(process_texts(session, d).process_key) for d in set(definition_ids)}


def process_names_by_key(session: Session) -> dict[str, dict[str, str]]:
    """Return the latest version's name of every deployed process, in each UI language."""
    rows = session.execute(select(ProcessDefinition.process_key, ProcessDefinition.id)
                           .where(ProcessDefinition.is_latest.is_(True)))
    return {key: process_texts(session, definition_id).process_name_texts() for key, definition_id in rows}
