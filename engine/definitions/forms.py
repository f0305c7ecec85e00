"""Forms are data: ``forms/<key>.schema.json`` (JSON Schema) + ``forms/<key>.ui.json`` (labels, widgets).

A submission is validated on the server against the schema; only declared fields pass,
money (``format: money``/``decimal``) becomes Decimal, ``format: date`` a date and
``format: date-time`` an aware datetime, so they round-trip through persistence as such.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from engine.errors import InvalidInput

MONEY = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")
FORMATS = FormatChecker()


@FORMATS.checks("money")  # type: ignore[misc]
def _is_money(value: object) -> bool:
    return not isinstance(value, str) or bool(MONEY.match(value))


@FORMATS.checks("decimal")  # type: ignore[misc]
def _is_decimal(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


@FORMATS.checks("date")  # type: ignore[misc]
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


@FORMATS.checks("date-time")  # type: ignore[misc]
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


class FormErrors(InvalidInput):
    """A submission failed validation; ``errors`` maps each field to its message."""

    def __init__(self, form_key: str, errors: dict[str, str]):
        self.form_key = form_key
        self.errors = errors
        super().__init__(f"form {form_key}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class FormDefinition:
    """A form: its JSON Schema and its UI hints."""

    key: str
    schema: dict[str, Any]
    ui: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        """Return the declared field names in display order."""
        props = list(self.schema.get("properties", {}))
        order = [f for f in self.ui.get("order", []) if f in props]
        return order + [f for f in props if f not in order]

    def label(self, name: str, locale: str = "en") -> str:
        """Return a field's label in ``locale`` (falls back to English, then the name)."""
        labels = self.ui.get("fields", {}).get(name, {}).get("label", {})
        if isinstance(labels, str):
            return labels
        return labels.get(locale) or labels.get("en") or name  # type: ignore[no-any-return]

    def title(self, locale: str = "en") -> str:
        """Return the form's title in ``locale``."""
        title = self.ui.get("title", {})
        if isinstance(title, str):
            return title
        return title.get(locale) or title.get("en") or self.key  # type: ignore[no-any-return]


def load_form(forms_dir: Path, key: str) -> FormDefinition | None:
    """Load a form by key, or None if there is no such form."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", key or ""):
        return None
    schema_path = forms_dir / f"{key}.schema.json"
    if not schema_path.is_file():
        return None
    ui_path = forms_dir / f"{key}.ui.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    ui = json.loads(ui_path.read_text("utf-8")) if ui_path.is_file() else {}
    return FormDefinition(key, schema, ui)


def check_form(form: FormDefinition) -> list[str]:
    """Return problems with a form definition (invalid schema, UI hints for undeclared fields)."""
    problems = []
    try:
        Draft202012Validator.check_schema(form.schema)
    except SchemaError as exc:
        problems.append(f"{form.key}.schema.json: invalid JSON Schema: {exc.message}")
    if form.schema.get("type") != "object":
        problems.append(f"{form.key}.schema.json: the top-level type must be object")
    for name in form.ui.get("fields", {}):
        if name not in form.schema.get("properties", {}):
            problems.append(f"{form.key}.ui.json: hints for undeclared field {name!r}")
    return problems


def _convert(value: Any, prop: dict[str, Any]) -> Any:
    fmt = prop.get("format")
    if isinstance(value, str):
        if fmt in ("money", "decimal"):
            return Decimal(value)
        if fmt == "date":
            return date.fromisoformat(value)
        if fmt == "date-time":
            return datetime.fromisoformat(value)
    if isinstance(value, list) and isinstance(prop.get("items"), dict):
        return [_convert(v, prop["items"]) for v in value]
    return value


def _field_of(error: Any) -> str:
    if error.validator == "required":
        match = re.search(r"'([^']+)' is a required property", error.message)
        return match.group(1) if match else "_form"
    path = [p for p in error.absolute_path if isinstance(p, str)]
    return path[0] if path else "_form"


def _message(error: Any) -> str:
    if error.validator == "required":
        return "required"
    if error.validator == "format":
        return {"money": "must be an amount with at most 2 decimals, e.g. 1234.50", "date": "must be a date YYYY-MM-DD",
                "date-time": "must be a date and time", "decimal": "must be a number"}.get(error.validator_value, error.message)
    return str(error.message)


def validate_submission(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a submission; return only declared fields, converted; raise FormErrors naming each field."""
    props: dict[str, Any] = form.schema.get("properties", {})
    declared = {k: v for k, v in data.items() if k in props and v not in (None, "")}
    validator = Draft202012Validator({**form.schema, "additionalProperties": False}, format_checker=FORMATS)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(declared), key=lambda e: list(e.absolute_path)):
        errors.setdefault(_field_of(error), _message(error))
    if errors:
        raise FormErrors(form.key, errors)
    return {k: _convert(v, props[k]) for k, v in declared.items()}
