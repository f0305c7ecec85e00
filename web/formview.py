"""Forms as data, in HTML: field views for the templates, and submitted text turned into typed data.

The engine validates (JSON Schema and the form's ``x-rules``) and converts; here the browser's strings
become the JSON types the schema expects, the engine's error codes become messages in this language,
and the rules are handed to ``static/forms.js`` as data attributes so the browser checks them too.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from engine.definitions.forms import TODAY, FieldError, FormDefinition, FormErrors, form_rules
from engine.errors import LimitExceeded, ScriptError
from engine.services.texts import process_texts
from web.db import db, get_engine, now
from web.i18n import form_language, pick, user_zone

log = logging.getLogger(__name__)
WIDGETS = ("text", "textarea", "number", "money", "date", "datetime", "select", "checkbox", "list")
Values = dict[str, Any]


@dataclass(frozen=True)
class FieldView:
    """One form field as a template draws it."""

    name: str
    label: str
    widget: str
    value: Any
    required: bool = False
    error: str | None = None
    help: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    minimum: Any = None
    maximum: Any = None
    step: str | None = None
    max_length: int | None = None
    rules: str = ""  # the field's x-rules as JSON for static/forms.js ("" when it has none)


def widget_of(form: FormDefinition, name: str) -> str:
    """Return a field's widget: the UI hint, else one that fits its schema type."""
    hint = form.ui.get("fields", {}).get(name, {}).get("widget")
    if hint in WIDGETS:
        return str(hint)
    prop = form.schema.get("properties", {}).get(name, {})
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        return "list"
    if "enum" in prop:
        return "select"
    return {"date": "date", "date-time": "datetime", "money": "money"}.get(fmt or "", "text")


def field_views(form: FormDefinition, values: Values | None = None, errors: dict[str, str] | None = None) -> list[FieldView]:
    """Return the fields of ``form`` in display order with values, messages and the rules the browser checks.

    ``values`` None (a form not filled in yet) shows the schema's defaults.
    """
    if values is None:
        values = {name: prop["default"] for name, prop in form.schema.get("properties", {}).items()
                  if isinstance(prop, dict) and "default" in prop}
    errors = errors or {}
    client_rules = browser_rules(form)
    props: dict[str, Any] = form.schema.get("properties", {})
    required = set(form.schema.get("required", []))
    views = []
    for name in form.fields:
        prop, hints = props.get(name, {}), form.ui.get("fields", {}).get(name, {})
        widget = widget_of(form, name)
        option_labels = hints.get("options", {})
        options = [(str(v), pick(option_labels.get(str(v)), str(v))) for v in prop.get("enum", [])]
        step = None
        if widget == "number":
            step = "1" if prop.get("type") == "integer" else "any"
        views.append(FieldView(
            name=name, label=form.label(name, form_language()), widget=widget,
            value=_display(values.get(name), widget), required=name in required and widget != "checkbox",
            error=errors.get(name), help=pick(hints.get("help")), options=options,
            minimum=prop.get("minimum"), maximum=prop.get("maximum"), step=step, max_length=prop.get("maxLength"),
            rules=json.dumps(client_rules[name], ensure_ascii=False) if name in client_rules else "",
        ))
    return views


def _display(value: Any, widget: str) -> Any:
    """Turn a stored or submitted value back into what the input shows."""
    if widget == "checkbox":
        return value is True or value in ("on", "true", "1", 1)
    if value is None:
        return ""
    if widget == "list" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if widget == "datetime" and isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(user_zone())
        return parsed.strftime("%Y-%m-%dT%H:%M")
    return str(value)


def raw_values(form: FormDefinition, formdata: MultiDict[str, str]) -> Values:
    """Return the submitted text of each declared field, as typed (for drafts and re-showing the form)."""
    values: Values = {}
    for name in form.fields:
        if widget_of(form, name) == "checkbox":
            values[name] = name in formdata
        else:
            values[name] = formdata.get(name, "").replace("\r\n", "\n")
    return values


def read_submission(form: FormDefinition, formdata: MultiDict[str, str]) -> tuple[Values, dict[str, str]]:
    """Turn submitted text into the JSON types of the schema; return the data and per-field errors."""
    props: dict[str, Any] = form.schema.get("properties", {})
    data: Values = {}
    errors: dict[str, str] = {}
    for name in form.fields:
        prop, widget = props.get(name, {}), widget_of(form, name)
        if widget == "checkbox":
            data[name] = name in formdata
            continue
        text = formdata.get(name, "")
        text = text.strip() if widget != "textarea" else text.strip("\r\n ").replace("\r\n", "\n")
        if not text:
            continue
        try:
            data[name] = _typed(text, widget, prop)
        except ValueError as exc:
            errors[name] = str(exc)
    return data, errors


def _typed(text: str, widget: str, prop: dict[str, Any]) -> Any:
    kind = prop.get("type")
    if widget == "list":
        items = [line.strip() for line in text.splitlines() if line.strip()]
        item_kind = (prop.get("items") or {}).get("type")
        return [_number(i, item_kind) if item_kind in ("integer", "number") else i for i in items]
    if widget == "money":
        return text.replace(",", "").replace(" ", "")
    if widget == "datetime":
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(gettext("Enter a date and time.")) from None
        return (when if when.tzinfo else when.replace(tzinfo=user_zone())).isoformat()
    if kind in ("integer", "number"):
        return _number(text, kind)
    if kind == "boolean":
        return text.lower() in ("on", "true", "1", "yes")
    return text


def _number(text: str, kind: str | None) -> int | float:
    text = text.replace(",", "")
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(gettext("Enter a whole number."))
        return int(text)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(gettext("Enter a number.")) from None
    return int(number) if number.is_integer() and "." not in text else number


# The engine's (English, JSON Schema) messages → readable text in this language.
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"is less than the minimum of (.+)$"), lambda m: gettext("Must be at least %(n)s.", n=m.group(1))),
    (re.compile(r"is less than or equal to the minimum of (.+)$"),
     lambda m: gettext("Must be more than %(n)s.", n=m.group(1))),
    (re.compile(r"is greater than the maximum of (.+)$"), lambda m: gettext("Must be at most %(n)s.", n=m.group(1))),
    (re.compile(r"is greater than or equal to the maximum of (.+)$"),
     lambda m: gettext("Must be less than %(n)s.", n=m.group(1))),
    (re.compile(r"(should be non-empty|is too short)$"), lambda m: gettext("Too short.")),
    (re.compile(r"(is expected to be empty|is too long)$"), lambda m: gettext("Too long.")),
    (re.compile(r"does not match "), lambda m: gettext("Not in the expected format.")),
    (re.compile(r"is not one of "), lambda m: gettext("Choose one of the options.")),
    (re.compile(r"is not of type "), lambda m: gettext("Wrong kind of value.")),
    (re.compile(r"is not a multiple of (.+)$"), lambda m: gettext("Must be a multiple of %(n)s.", n=m.group(1))),
]


def readable_error(message: str) -> str:
    """Return an engine validation message as text for people, in this language."""
    fixed = {
        "required": gettext("Required."),
        "must be an amount with at most 2 decimals, e.g. 1234.50":
            gettext("Enter an amount with at most 2 decimals, e.g. 1234.50."),
        "must be a date YYYY-MM-DD": gettext("Enter a date (YYYY-MM-DD)."),
        "must be a date and time": gettext("Enter a date and time."),
        "must be a number": gettext("Enter a number."),
    }
    if message in fixed:
        return fixed[message]
    for pattern, render in _PATTERNS:
        match = pattern.search(message)
        if match:
            return str(render(match))
    return message


def readable_errors(errors: dict[str, str]) -> dict[str, str]:
    """Translate every message of a FormErrors mapping."""
    return {name: readable_error(text) for name, text in errors.items()}


# -- the engine's error codes in this language --------------------------------------------------------------------

def deployment_today() -> date:
    """Return today's date where the deployment is (the engine clock in the engine's time zone)."""
    return now().astimezone(ZoneInfo(get_engine().config.timezone)).date()


def _rule_subject(form: FormDefinition, other: str | None, than: str) -> str:
    """Name what a rule compares with: the other field's label, "today", or the literal."""
    if other:
        return form.label(other, form_language())
    return gettext("today") if than == TODAY else than


def _rule_message(form: FormDefinition, code: str, other: str | None, than: str, texts: dict[str, str]) -> str:
    if texts.get(form_language()):
        return texts[form_language()]
    subject = _rule_subject(form, other, than)
    return {
        "after": lambda: gettext("Must be after %(other)s.", other=subject),
        "not_before": lambda: gettext("Must not be before %(other)s.", other=subject),
        "before": lambda: gettext("Must be before %(other)s.", other=subject),
        "not_after": lambda: gettext("Must not be after %(other)s.", other=subject),
        "greater_than": lambda: gettext("Must be more than %(n)s.", n=subject),
        "at_least": lambda: gettext("Must be at least %(n)s.", n=subject),
        "less_than": lambda: gettext("Must be less than %(n)s.", n=subject),
        "at_most": lambda: gettext("Must be at most %(n)s.", n=subject),
    }[code]()


def field_message(form: FormDefinition | None, problem: FieldError) -> str:
    """Return one field error as text for people, in this language (by its code, not its English text)."""
    code, params = problem.code, problem.params
    if form is not None and code in ("after", "not_before", "before", "not_after", "greater_than", "at_least",
                                     "less_than", "at_most"):
        return _rule_message(form, code, params.get("other"), str(params.get("than", "")), problem.texts)
    limit = params.get("limit")
    by_code = {
        "required": lambda: gettext("Required."),
        "format": lambda: {
            "money": gettext("Enter an amount with at most 2 decimals, e.g. 1234.50."),
            "date": gettext("Enter a date (YYYY-MM-DD)."), "date-time": gettext("Enter a date and time."),
            "decimal": gettext("Enter a number."),
        }.get(str(params.get("format")), gettext("Not in the expected format.")),
        "minimum": lambda: gettext("Must be at least %(n)s.", n=limit),
        "exclusive_minimum": lambda: gettext("Must be more than %(n)s.", n=limit),
        "maximum": lambda: gettext("Must be at most %(n)s.", n=limit),
        "exclusive_maximum": lambda: gettext("Must be less than %(n)s.", n=limit),
        "min_length": lambda: gettext("Too short."), "min_items": lambda: gettext("Too short."),
        "max_length": lambda: gettext("Too long."), "max_items": lambda: gettext("Too long."),
        "pattern": lambda: gettext("Not in the expected format."),
        "enum": lambda: gettext("Choose one of the options."),
        "type": lambda: gettext("Wrong kind of value."),
        "multiple_of": lambda: gettext("Must be a multiple of %(n)s.", n=limit),
    }
    render = by_code.get(code)
    return render() if render else readable_error(problem.message)


def form_error_messages(exc: FormErrors, form: FormDefinition | None = None) -> dict[str, str]:
    """Return each field's message of a FormErrors, in this language."""
    return {name: field_message(form, problem) for name, problem in exc.details.items()}


def browser_rules(form: FormDefinition, today: date | None = None) -> dict[str, list[dict[str, str]]]:
    """Return, per field, the rules static/forms.js checks before sending: operator, what to compare, message."""
    rules: dict[str, list[dict[str, str]]] = {}
    for rule in form_rules(form)[0]:
        entry = {"op": rule.op, "kind": rule.kind, "message": _rule_message(form, rule.code, rule.other, rule.operand,
                                                                             rule.texts)}
        if rule.other:
            entry["other"] = "f-" + rule.other
        else:
            entry["value"] = (today or deployment_today()).isoformat() if rule.operand == TODAY else rule.operand
        rules.setdefault(rule.field, []).append(entry)
    return rules


def _step_of(where: str | None) -> tuple[str | None, str | None]:
    """Split the engine's "element_id (name)" into the id and the name as written."""
    if not where:
        return None, None
    match = re.fullmatch(r"(\S+) \((.*)\)", where)
    return (match.group(1), match.group(2)) if match else (where, None)


def submission_error(exc: Exception, definition_id: int | None) -> str:
    """Return why a start or completion failed, for the top of the form, in this language.

    The frame and the step's name are translated; the script's own text stays as its designer wrote it.
    """
    detail = str(exc)
    if isinstance(exc, ScriptError) and exc.task:
        element_id, name = _step_of(exc.task)
        # A designer refusing input raises ValueError (or asserts); its class name says nothing to the person typing.
        detail = re.sub(r"^(ValueError|AssertionError|Exception): ", "", detail.removeprefix(f"{exc.task}: "))
        step = name or element_id or ""
        if element_id and definition_id is not None:
            try:
                step = process_texts(db(), definition_id).element(element_id, form_language(), default=step)
            except Exception:  # noqa: BLE001 - the texts only dress the message; the error must still be shown
                log.exception("no texts for definition %s", definition_id)
        if isinstance(exc, LimitExceeded):
            return gettext("Could not submit: the process step “%(step)s” went past a limit of the system: %(detail)s",
                           step=step, detail=detail)
        return gettext("Could not submit: the process step “%(step)s” reported: %(detail)s", step=step, detail=detail)
    return gettext("Could not submit: %(detail)s", detail=detail)
