"""Forms are data: ``forms/<key>.schema.json`` (JSON Schema) + ``forms/<key>.ui.json`` (labels, widgets).

A submission is validated on the server against the schema; only declared fields pass,
money (``format: money``/``decimal``) becomes Decimal, ``format: date`` a date and
``format: date-time`` an aware datetime, so they round-trip through persistence as such.

Rules JSON Schema cannot say (one field against another, or against today) are data too: the
schema's ``"x-rules"`` list, e.g. ``{"field": "due_date", "not_before": "invoice_date"}``,
``{"field": "promised_date", "not_before": "today"}``, ``{"field": "amount", "greater_than": "0"}``,
each with an optional ``"message": {"zh-CN": …, "en": …}``. Every problem found carries a code and
parameters (:class:`FieldError`) so each caller words it in its own language.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import re
from collections.abc import Mapping
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


@dataclass(frozen=True)
class FieldError:
    """One field's problem: a machine-readable ``code`` with ``params``, the English ``message``, a rule's own texts."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    texts: dict[str, str] = field(default_factory=dict)


class FormErrors(InvalidInput):
    """A submission failed validation; ``errors`` maps each field to its (English) message, ``details`` to its code."""

    def __init__(self, form_key: str, errors: Mapping[str, str | FieldError]):
        self.form_key = form_key
        self.details = {name: e if isinstance(e, FieldError) else FieldError("invalid", {}, e) for name, e in errors.items()}
        self.errors = {name: e.message for name, e in self.details.items()}
        super().__init__(f"form {form_key}: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items()))


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
    if isinstance(form.schema.get("properties"), dict):
        problems.extend(form_rules(form)[1])
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


_FORMAT_MESSAGES = {"money": "must be an amount with at most 2 decimals, e.g. 1234.50", "date": "must be a date YYYY-MM-DD",
                    "date-time": "must be a date and time", "decimal": "must be a number"}
# JSON Schema keyword → the code callers translate; its value becomes the "limit" (or another named) parameter.
_CODES = {"minimum": "minimum", "maximum": "maximum", "exclusiveMinimum": "exclusive_minimum",
          "exclusiveMaximum": "exclusive_maximum", "minLength": "min_length", "maxLength": "max_length",
          "minItems": "min_items", "maxItems": "max_items", "multipleOf": "multiple_of"}


def _schema_error(error: Any) -> FieldError:
    keyword = error.validator
    if keyword == "required":
        return FieldError("required", {}, "required")
    if keyword == "format":
        fmt = str(error.validator_value)
        return FieldError("format", {"format": fmt}, _FORMAT_MESSAGES.get(fmt, str(error.message)))
    if keyword in _CODES:
        return FieldError(_CODES[keyword], {"limit": error.validator_value}, str(error.message))
    if keyword == "enum":
        return FieldError("enum", {"options": list(error.validator_value)}, str(error.message))
    if keyword == "type":
        return FieldError("type", {"expected": error.validator_value}, str(error.message))
    if keyword == "pattern":
        return FieldError("pattern", {"pattern": error.validator_value}, str(error.message))
    return FieldError("invalid", {"keyword": str(keyword)}, str(error.message))


# -- rules between fields ("x-rules") ----------------------------------------------------------------------------
TODAY = "today"
# Rule key → comparison; date words and number words are synonyms, the code of an error uses the words of its kind.
RULE_OPERATORS = {"greater_than": "gt", "at_least": "ge", "less_than": "lt", "at_most": "le",
                  "after": "gt", "not_before": "ge", "before": "lt", "not_after": "le"}
_WORDS = {"date": {"gt": "after", "ge": "not_before", "lt": "before", "le": "not_after"},
          "number": {"gt": "greater_than", "ge": "at_least", "lt": "less_than", "le": "at_most"}}
_ENGLISH = {"after": "must be after", "not_before": "must not be before", "before": "must be before",
            "not_after": "must not be after", "greater_than": "must be greater than", "at_least": "must be at least",
            "less_than": "must be less than", "at_most": "must be at most"}
_TESTS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


@dataclass(frozen=True)
class FormRule:
    """One checked rule: ``field`` compared (``op``: gt/ge/lt/le) with another field, today, or a literal."""

    field: str
    op: str
    operand: str
    other: str | None
    kind: str
    texts: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def code(self) -> str:
        """Return the error code: the rule's word in its kind (``not_before``, ``greater_than``…)."""
        return _WORDS[self.kind][self.op]


def field_kind(form: FormDefinition, name: str) -> str | None:
    """Return how a field compares in rules: "date" (date, date-time), "number", or None (not comparable)."""
    prop = form.schema.get("properties", {}).get(name)
    if not isinstance(prop, dict):
        return None
    if prop.get("format") in ("date", "date-time"):
        return "date"
    if prop.get("format") in ("money", "decimal") or prop.get("type") in ("integer", "number"):
        return "number"
    return None


def _literal(text: str, kind: str) -> Any:
    """Parse a rule's literal operand (raises ValueError when it does not fit the kind)."""
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{text!r} is not a number")
        return number
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


def _parse_rule(form: FormDefinition, index: int, rule: Any) -> tuple[FormRule | None, list[str]]:
    where = f"{form.key}.schema.json: x-rules[{index}]"
    if not isinstance(rule, dict):
        return None, [f"{where}: a rule must be an object like {{\"field\": \"due_date\", \"not_before\": \"invoice_date\"}}"]
    problems = []
    name = rule.get("field")
    ops = [k for k in rule if k in RULE_OPERATORS]
    unknown = [k for k in rule if k not in RULE_OPERATORS and k not in ("field", "message")]
    if unknown:
        problems.append(f"{where}: unknown operator or key {', '.join(map(repr, unknown))} "
                        f"(operators: {', '.join(RULE_OPERATORS)}; keys: field, message)")
    if len(ops) != 1 and (ops or not unknown):  # an unknown operator alone is one problem, not two
        problems.append(f"{where}: give exactly one operator, not {len(ops)}")
    if not isinstance(name, str) or name not in form.schema.get("properties", {}):
        problems.append(f"{where}: unknown field {name!r} (not declared in properties)")
    elif field_kind(form, name) is None:
        problems.append(f"{where}: field {name!r} is neither a date nor a number, so it cannot be compared")
    message = rule.get("message")
    if message is not None and not isinstance(message, str) and not (
            isinstance(message, dict) and all(isinstance(v, str) for v in message.values())):
        problems.append(f"{where}: message must be a text or {{\"zh-CN\": …, \"en\": …}}")
    if problems:
        return None, problems
    kind = str(field_kind(form, str(name)))
    operand = rule[ops[0]]
    if isinstance(operand, (int, float)) and not isinstance(operand, bool) and kind == "number":
        operand = str(operand)
    if not isinstance(operand, str) or not operand:
        return None, [f"{where}: the value of {ops[0]!r} must be a field name, \"today\" or a literal"]
    other = operand if operand in form.schema.get("properties", {}) else None
    if other is not None:
        if other == name:
            return None, [f"{where}: field {name!r} is compared with itself"]
        if field_kind(form, other) != kind:
            return None, [f"{where}: {name!r} and {other!r} are not of the same kind (dates, numbers)"]
    elif operand == TODAY:
        if kind != "date":
            return None, [f"{where}: only dates compare with \"today\""]
    else:
        try:
            _literal(operand, kind)
        except ValueError:
            return None, [f"{where}: {operand!r} is neither a declared field, \"today\" nor a literal "
                          f"{'number' if kind == 'number' else 'date'}"]
    texts = {"en": message} if isinstance(message, str) else dict(message or {})
    return FormRule(str(name), RULE_OPERATORS[ops[0]], operand, other, kind, texts), []


def form_rules(form: FormDefinition) -> tuple[list[FormRule], list[str]]:
    """Return a form's well-formed rules and the problems of the malformed ones."""
    raw = form.schema.get("x-rules", [])
    if not isinstance(raw, list):
        return [], [f"{form.key}.schema.json: x-rules must be a list of rules"]
    rules, problems = [], []
    for index, rule in enumerate(raw):
        parsed, found = _parse_rule(form, index, rule)
        problems.extend(found)
        if parsed is not None:
            rules.append(parsed)
    return rules, problems


def _comparable(value: Any) -> Any:
    if isinstance(value, str):  # a value the schema accepted but _convert left as text: compare as what it stands for
        return _literal(value, "number" if MONEY.match(value) else "date")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _comparable(left), _comparable(right)
    if isinstance(left, datetime) and not isinstance(right, datetime):
        left = left.date()
    elif isinstance(right, datetime) and not isinstance(left, datetime):
        right = right.date()
    elif isinstance(left, datetime) and (left.tzinfo is None) != (right.tzinfo is None):
        left, right = left.replace(tzinfo=None), right.replace(tzinfo=None)  # a wall time compares as written
    return bool(_TESTS[op](left, right))


def _check_rules(form: FormDefinition, values: dict[str, Any], today: date | None) -> dict[str, FieldError]:
    errors: dict[str, FieldError] = {}
    for rule in form_rules(form)[0]:
        value = values.get(rule.field)
        if value is None or rule.field in errors:
            continue
        if rule.other is not None:
            right, than = values.get(rule.other), rule.other
        elif rule.operand == TODAY:
            right, than = today, TODAY
        else:
            right, than = _literal(rule.operand, rule.kind), rule.operand
        if right is None:  # the other field is empty (its own rules speak), or the caller gave no today
            continue
        try:
            holds = _compare(rule.op, value, right)
        except (TypeError, ValueError):
            continue
        if not holds:
            shown = str(right.isoformat() if isinstance(right, (date, datetime)) else right)
            params = {"other": rule.other, "than": than, "value": shown}
            english = rule.texts.get("en") or f"{_ENGLISH[rule.code]} {than}" + (f" ({shown})" if rule.other else "")
            errors[rule.field] = FieldError(rule.code, params, english, rule.texts)
    return errors


def validate_submission(form: FormDefinition, data: dict[str, Any], *, today: date | None = None) -> dict[str, Any]:
    """Validate a submission; return only declared fields, converted; raise FormErrors naming each field.

    ``today`` is the deployment's date (from the engine clock, in its zone); without it rules against today are skipped.
    """
    props: dict[str, Any] = form.schema.get("properties", {})
    declared = {k: v for k, v in data.items() if k in props and v not in (None, "")}
    validator = Draft202012Validator({**form.schema, "additionalProperties": False}, format_checker=FORMATS)
    errors: dict[str, FieldError] = {}
    for error in sorted(validator.iter_errors(declared), key=lambda e: list(e.absolute_path)):
        errors.setdefault(_field_of(error), _schema_error(error))
    converted = {k: _convert(v, props[k]) for k, v in declared.items() if k not in errors}
    for name, problem in _check_rules(form, converted, today).items():
        errors.setdefault(name, problem)
    if errors:
        raise FormErrors(form.key, errors)
    return converted
