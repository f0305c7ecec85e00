"""表单设计: the form editor of a designer's draft — fields, types, labels in both languages, rules, live preview.

The page (templates/definitions/form_editor.html + static/form_editor.js) edits a form's JSON Schema and UI hints
without typing JSON (a JSON view is there for power users). Every edit asks the server for a preview: the form is
drawn by the task page's own code (web.formview.field_views and the ``field`` macro of macros.html) in the chosen
language, and checked by the engine's ``check_form`` with each problem placed next to its field or rule. Sample
input in the preview is checked as a task completion would be. Saving keeps the form in the draft bundle
(engine.services.drafts); the draft deploys BPMN and forms together from the modeler.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from flask_login import current_user
from jsonschema import Draft202012Validator
from werkzeug.datastructures import MultiDict

from engine.definitions.forms import RULE_OPERATORS, FormDefinition, FormErrors, validate_submission
from engine.errors import EngineError
from engine.services.definitions import definition_source
from engine.services.draft_forms import FORM_KEY, form_problems, form_users
from engine.services.drafts import load_draft, remove_draft_form, save_draft_form, version_forms
from engine.services.form_diff import diff_forms
from engine.services.texts import process_texts
from web.access import DESIGNERS, requires
from web.db import db, get_engine
from web.definitions.modeler import _error
from web.definitions.views import _definition, bp
from web.formview import deployment_today, field_views, form_error_messages, raw_values, read_submission
from web.i18n import LANGUAGES, form_language, pick

CURRENCIES = ("CNY", "USD", "EUR", "HKD")
# The rule words of engine.definitions.forms by the kind of field they compare.
OPERATORS = {"date": [w for w in RULE_OPERATORS if w in ("after", "not_before", "before", "not_after")],
             "number": [w for w in RULE_OPERATORS if w in ("greater_than", "at_least", "less_than", "at_most")]}
_LANGS = ("zh-CN", "en")


def _empty_form(key: str) -> dict[str, Any]:
    return {"schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": [],
                       "properties": {}},
            "ui": {"title": {"zh-CN": "", "en": ""}, "order": [], "fields": {}}}


def _bundle(definition_id: int, process_key: str) -> tuple[dict[str, Any], dict[str, list[tuple[str, str]]], Any]:
    """Return the forms being edited (the draft's, else the version's own), the steps naming each form key, the draft."""
    session = db()
    draft = load_draft(session, current_user.username, process_key)
    if draft is not None:
        return draft.forms, form_users(draft.bpmn), draft
    return version_forms(session, definition_id), form_users(definition_source(session, definition_id)), None


def _changes(draft: Any) -> dict[str, dict[str, Any]]:
    """What the saved draft changed in each form against the version it started from (engine.services.form_diff)."""
    if draft is None or draft.based_on_id is None:
        return {}
    diff = diff_forms(version_forms(db(), draft.based_on_id), draft.forms)
    changes = {c["key"]: c for c in diff["changed"]}
    changes.update({key: {"key": key, "new": True} for key in diff["added"]})
    return changes


def _step_names(definition_id: int, steps: list[tuple[str, str]]) -> list[str]:
    """Name the steps using a form in this language (the version's catalogue; the name as written otherwise)."""
    texts = process_texts(db(), definition_id)
    return [texts.element(element_id, form_language(), default=name or element_id) for element_id, name in steps]


def _labels() -> dict[str, str]:
    """The texts form_editor.js shows, in this request's language."""
    return {
        "name": gettext("Field name"), "type": gettext("Type"), "required": gettext("Required"),
        "label_zh": gettext("Label (Chinese)"), "label_en": gettext("Label (English)"),
        "help_zh": gettext("Help text (Chinese)"), "help_en": gettext("Help text (English)"),
        "value": gettext("Value"), "option_zh": gettext("Chinese"), "option_en": gettext("English"),
        "add_option": gettext("Add option"), "remove": gettext("Remove"), "move_up": gettext("Move up"),
        "move_down": gettext("Move down"), "max_length": gettext("Maximum length"), "minimum": gettext("Minimum"),
        "maximum": gettext("Maximum"), "default": gettext("Default value"), "default_checked": gettext("Ticked by default"),
        "no_default": gettext("(no default)"), "add_currency": gettext("Add a currency field"),
        "currency_note": gettext("Amounts are in the currency field %(name)s."),
        "rule_field": gettext("Field"), "rule_op": gettext("must be"), "rule_against": gettext("Compared with"),
        "rule_other": gettext("another field"), "rule_today": gettext("today"), "rule_value": gettext("a value"),
        "message_zh": gettext("Message (Chinese)"), "message_en": gettext("Message (English)"),
        "no_rules": gettext("No rules. A rule compares a date or number field with another field, today or a value."),
        "no_comparable": gettext("Add a date, number or amount field to write rules."),
        "saved": gettext("Saved into your draft at %(time)s."),
        "save_problems": gettext("Saved into your draft, but a deploy refuses it until these are fixed:"),
        "json_invalid": gettext("Not valid JSON: %(error)s"), "json_applied": gettext("JSON applied."),
        "failed": gettext("The request failed: %(error)s"), "unsaved": gettext("Unsaved changes"),
        "confirm_remove": gettext("Remove this form from your draft?"),
        "name_taken": gettext("Another field already has this name."),
        "name_invalid": gettext("Start with a letter; use only letters, digits and _."),
        "working": gettext("Working…"), "changed": gettext("changed in your draft"), "no_fields": gettext("This form has no fields yet. Add the first one."),
        **{f"type_{k}": v for k, v in _type_names().items()},
        **{f"op_{k}": v for k, v in _op_names().items()},
    }


def _type_names() -> dict[str, str]:
    return {"text": gettext("Text"), "textarea": gettext("Long text"), "number": gettext("Number"),
            "integer": gettext("Whole number"), "money": gettext("Amount of money"), "date": gettext("Date"),
            "datetime": gettext("Date and time"), "boolean": gettext("Yes / no"), "enum": gettext("Choice from a list"),
            "list": gettext("List of texts (one per line)")}


def _op_names() -> dict[str, str]:
    return {"after": gettext("after"), "not_before": gettext("not before"), "before": gettext("before"),
            "not_after": gettext("not after"), "greater_than": gettext("greater than"), "at_least": gettext("at least"),
            "less_than": gettext("less than"), "at_most": gettext("at most")}


@bp.get("/<int:definition_id>/forms")
@bp.get("/<int:definition_id>/forms/<form_key>")
@requires(DESIGNERS)
def form_editor(definition_id: int, form_key: str | None = None) -> ResponseReturnValue:
    """Edit one form of the designer's draft (the first form the BPMN uses when none is named)."""
    definition = _definition(definition_id)
    forms, users, draft = _bundle(definition_id, definition.process_key)
    used = sorted(users)
    keys = sorted(set(forms) | set(used))
    if form_key is None:
        form_key = next((k for k in used if k in forms), keys[0] if keys else None)
    if form_key is not None and not FORM_KEY.fullmatch(form_key):
        abort(404)
    form = forms.get(form_key) if form_key else None
    is_new = form_key is not None and form is None
    changes = _changes(draft)
    entries = [{"key": k, "title": pick((forms.get(k) or {}).get("ui", {}).get("title"), k), "used": k in used,
                "missing": k not in forms, "changed": k in changes, "url": url_for("definitions.form_editor", definition_id=definition_id,
                                                          form_key=k)} for k in keys]
    data: dict[str, Any] = {
        "key": form_key, "form": form or (_empty_form(form_key) if form_key else None), "is_new": is_new,
        "types": list(_type_names()), "operators": OPERATORS,
        "currencies": list(CURRENCIES), "labels": _labels(), "language": form_language(),
        "urls": {"preview": url_for("definitions.form_preview", definition_id=definition_id, form_key=form_key or "_"),
                 "save": url_for("definitions.form_save", definition_id=definition_id, form_key=form_key or "_"),
                 "remove": url_for("definitions.form_remove", definition_id=definition_id, form_key=form_key or "_"),
                 "base": url_for("definitions.form_editor", definition_id=definition_id)},
    }
    steps = _step_names(definition_id, users.get(form_key, [])) if form_key else []
    return render_template("definitions/form_editor.html", definition=definition, draft=draft, entries=entries,
                           form_key=form_key, is_new=is_new, used=bool(steps), steps=steps, data=data,
                           change=changes.get(form_key) if form_key else None)


def _posted_form() -> tuple[dict[str, Any], dict[str, Any]]:
    limit = 2 * get_engine().config.max_definition_bytes  # a schema and its UI hints, each at most a file's size
    if (request.content_length or 0) > limit:
        abort(413)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("schema"), dict) or not isinstance(payload.get("ui"), dict):
        abort(400)
    return payload["schema"], payload["ui"]


def _key(form_key: str) -> str:
    if not FORM_KEY.fullmatch(form_key):
        abort(404)
    return form_key


_RULE = re.compile(r"x-rules\[(\d+)\]")
_QUOTED = re.compile(r"'([^']+)'")
# The engine's check_form findings (English, for logs and the CLI) → text for people in this language.
_READABLE: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"the value of '(\w+)' must be a field name"), lambda m: gettext("Choose what to compare with: a field, today or a value.")),
    (re.compile(r"unknown field '([^']*)'"), lambda m: gettext("Unknown field %(name)s.", name=m.group(1))),
    (re.compile(r"field '([^']+)' is neither a date nor a number"),
     lambda m: gettext("%(name)s is neither a date nor a number, so it cannot be compared.", name=m.group(1))),
    (re.compile(r"'([^']+)' and '([^']+)' are not of the same kind"),
     lambda m: gettext("%(a)s and %(b)s are not of the same kind (dates, numbers).", a=m.group(1), b=m.group(2))),
    (re.compile(r"is compared with itself"), lambda m: gettext("A field cannot be compared with itself.")),
    (re.compile(r'only dates compare with "today"'), lambda m: gettext("Only dates compare with today.")),
    (re.compile(r"'([^']*)' is neither a declared field, \"today\" nor a literal number"),
     lambda m: gettext("%(value)s is not a number.", value=m.group(1))),
    (re.compile(r"'([^']*)' is neither a declared field, \"today\" nor a literal date"),
     lambda m: gettext("%(value)s is not a date (YYYY-MM-DD).", value=m.group(1))),
    (re.compile(r"give exactly one operator"), lambda m: gettext("Give exactly one comparison.")),
    (re.compile(r"hints for undeclared field '([^']+)'"),
     lambda m: gettext("UI hints for a field the schema does not declare: %(name)s.", name=m.group(1))),
    (re.compile(r"invalid JSON Schema: (.*)$"), lambda m: gettext("Not a valid JSON Schema: %(detail)s", detail=m.group(1))),
    (re.compile(r"the top-level type must be object"), lambda m: gettext("The form's schema must have the type object.")),
    (re.compile(r"field name '([^']*)' must start with a letter"),
     lambda m: gettext("Field name %(name)s: start with a letter; use only letters, digits and _.", name=m.group(1))),
    (re.compile(r"field '[^']+': the default (.*) does not fit the field"),
     lambda m: gettext("The default value %(value)s does not fit this field.", value=m.group(1))),
    (re.compile(r"field '([^']+)' is a choice without options"),
     lambda m: gettext("%(name)s is a choice without options; give it at least one.", name=m.group(1))),
]


def readable_problem(text: str) -> str:
    """Return one of the engine's form problems in this language (the English text when it is not known here)."""
    for pattern, render in _READABLE:
        match = pattern.search(text)
        if match:
            return str(render(match))
    return text


def located_problems(key: str, schema: dict[str, Any], problems: list[str]) -> list[dict[str, Any]]:
    """Place each of the engine's problems: on a rule (``x-rules[i]``), on a field it names, or on the form."""
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    schema_paths = _schema_error_fields(schema)
    placed = []
    for text in problems:
        message = text.split(": ", 1)[1] if text.startswith(f"{key}.") and ": " in text else text
        rule = _RULE.search(text)
        named = [n for n in _QUOTED.findall(text) if n in props]
        entry: dict[str, Any] = {"message": readable_problem(message), "detail": text, "field": None, "rule": None}
        if rule:
            entry["rule"] = int(rule.group(1))
        elif named:
            entry["field"] = named[0]
        elif "invalid JSON Schema" in text and schema_paths:
            entry["field"] = schema_paths[0]
        placed.append(entry)
    return placed


def _schema_error_fields(schema: dict[str, Any]) -> list[str]:
    """Return the fields whose own schema the JSON Schema meta-schema rejects (to place check_form's message)."""
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    found = []
    for error in meta.iter_errors(schema):
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] == "properties" and isinstance(path[1], str):
            found.append(path[1])
    return found


def _warnings(schema: dict[str, Any], ui: dict[str, Any]) -> list[dict[str, Any]]:
    """What does not stop a deploy but a bilingual product needs: labels and option texts in both languages."""
    out: list[dict[str, Any]] = []
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    hints = ui.get("fields") if isinstance(ui.get("fields"), dict) else {}
    title = ui.get("title")
    if not (isinstance(title, dict) and all(title.get(lang) for lang in _LANGS)):
        out.append({"field": None, "rule": None, "message": gettext("Give the form a title in Chinese and English.")})
    for name, prop in props.items():
        hint = hints.get(name) if isinstance(hints.get(name), dict) else {}
        label = hint.get("label")
        if not (isinstance(label, dict) and all(label.get(lang) for lang in _LANGS)):
            out.append({"field": name, "rule": None, "message": gettext("Label it in Chinese and English.")})
        options = hint.get("options") if isinstance(hint.get("options"), dict) else {}
        enum = prop.get("enum") if isinstance(prop, dict) and isinstance(prop.get("enum"), list) else []
        bare = [str(v) for v in enum if not (isinstance(options.get(str(v)), dict)
                                             and all(options[str(v)].get(lang) for lang in _LANGS))]
        if bare:
            out.append({"field": name, "rule": None,
                        "message": gettext("Options without a Chinese and English label: %(values)s", values=", ".join(bare))})
    return out


@bp.post("/<int:definition_id>/forms/<form_key>/preview")
@requires(DESIGNERS)
def form_preview(definition_id: int, form_key: str) -> ResponseReturnValue:
    """Draw the edited form as the task page would, in the chosen language, with the engine's problems placed.

    With ``values`` (the preview's inputs) the input is also checked as completing a task checks it.
    """
    _definition(definition_id)
    key = _key(form_key)
    schema, ui = _posted_form()
    payload = request.get_json(silent=True) or {}
    language = payload.get("language") if payload.get("language") in LANGUAGES else form_language()
    values = payload.get("values")
    problems = located_problems(key, schema, form_problems(key, schema, ui))
    form = FormDefinition(key, schema, ui)
    with force_locale(LANGUAGES[language]):
        try:
            html = _render_preview(form, values if isinstance(values, dict) else None)
        except Exception as exc:  # noqa: BLE001 - a half-written form may not draw; the designer sees why
            html = render_template("definitions/_form_preview.html", broken=str(exc), form_title=key, fields=[])
        warnings = _warnings(schema, ui)
    return jsonify({"ok": not problems, "html": html, "problems": problems, "warnings": warnings})


def _render_preview(form: FormDefinition, values: dict[str, Any] | None) -> str:
    errors: dict[str, str] = {}
    shown = None
    checked = False
    if values is not None:
        posted = MultiDict([(str(k), str(v)) for k, v in values.items() if isinstance(v, (str, int, float, bool))])
        shown = raw_values(form, posted)
        data, errors = read_submission(form, posted)
        if not errors:
            try:
                validate_submission(form, data, today=deployment_today())
            except FormErrors as exc:
                errors = form_error_messages(exc, form)
        checked = True
    return render_template("definitions/_form_preview.html", broken=None, form_title=pick(form.ui.get("title"), form.key),
                           fields=field_views(form, shown, errors), checked=checked, accepted=checked and not errors)


@bp.post("/<int:definition_id>/forms/<form_key>/save")
@requires(DESIGNERS)
def form_save(definition_id: int, form_key: str) -> ResponseReturnValue:
    """Keep the form in the designer's draft (started from this version when there is none)."""
    definition = _definition(definition_id)
    key = _key(form_key)
    schema, ui = _posted_form()
    try:
        draft, problems = save_draft_form(db(), current_user.username, definition.process_key, key, schema, ui,
                                          definition.id)
    except EngineError as exc:
        return _error(exc)
    return jsonify({"draft": draft.to_json(), "problems": located_problems(key, schema, problems),
                    "used": key in draft.form_keys_used})


@bp.post("/<int:definition_id>/forms/<form_key>/remove")
@requires(DESIGNERS)
def form_remove(definition_id: int, form_key: str) -> ResponseReturnValue:
    """Take the form out of the designer's draft."""
    definition = _definition(definition_id)
    try:
        draft = remove_draft_form(db(), current_user.username, definition.process_key, _key(form_key))
    except EngineError as exc:
        return _error(exc)
    return jsonify({"draft": draft.to_json(), "url": url_for("definitions.form_editor", definition_id=definition_id)})
