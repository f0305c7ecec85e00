"""Form data in HTML: widgets from the schema, submitted text to JSON types, messages for people."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from engine.definitions.forms import FormDefinition
from web.formview import field_views, raw_values, read_submission, readable_error, widget_of

FORM = FormDefinition("f", {
    "type": "object", "required": ["name", "ok"],
    "properties": {
        "name": {"type": "string", "maxLength": 20}, "ok": {"type": "boolean"}, "count": {"type": "integer", "minimum": 1},
        "rate": {"type": "number"}, "amount": {"type": "string", "format": "money"},
        "day": {"type": "string", "format": "date"}, "at": {"type": "string", "format": "date-time"},
        "kind": {"type": "string", "enum": ["a", "b"]}, "tags": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "string"},
    }}, {"fields": {"notes": {"widget": "textarea", "label": {"en": "Notes", "zh-CN": "备注"}}}})


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


def test_widgets_follow_the_schema_unless_the_ui_says_otherwise():
    assert [widget_of(FORM, n) for n in FORM.fields] == [
        "text", "checkbox", "number", "number", "money", "date", "datetime", "select", "list", "textarea"]
    views = {v.name: v for v in field_views(FORM, {"count": 3}, {"name": "Required."})}
    assert views["notes"].label == "Notes" and views["name"].required and not views["ok"].required
    assert views["count"].step == "1" and views["rate"].step == "any" and views["count"].minimum == 1
    assert views["name"].error == "Required." and views["count"].value == "3" and views["name"].max_length == 20
    assert views["kind"].options == [("a", "a"), ("b", "b")]


def test_submitted_text_becomes_json_types():
    data, errors = read_submission(FORM, MultiDict({
        "name": " Ann ", "ok": "on", "count": "3", "rate": "2.5", "amount": "1,234.50", "day": "2026-03-02",
        "at": "2026-03-02T09:30", "kind": "a", "tags": "x\r\n\r\n y \n", "notes": "line 1\r\nline 2\r\n"}))
    assert errors == {}
    assert data == {"name": "Ann", "ok": True, "count": 3, "rate": 2.5, "amount": "1234.50", "day": "2026-03-02",
                    "at": "2026-03-02T09:30:00+08:00", "kind": "a", "tags": ["x", "y"], "notes": "line 1\nline 2"}


def test_empty_fields_are_left_out_and_unchecked_boxes_are_false():
    data, errors = read_submission(FORM, MultiDict({"name": "", "count": ""}))
    assert data == {"ok": False} and errors == {}


def test_unparseable_numbers_and_times_are_field_errors():
    _data, errors = read_submission(FORM, MultiDict({"count": "1.5", "rate": "abc", "at": "tomorrow"}))
    assert errors == {"count": "Enter a whole number.", "rate": "Enter a number.", "at": "Enter a date and time."}


def test_raw_values_keep_what_was_typed():
    assert raw_values(FORM, MultiDict({"count": "many", "ok": "on", "tags": "a\r\nb"}))["tags"] == "a\nb"
    assert raw_values(FORM, MultiDict({}))["ok"] is False


@pytest.mark.parametrize(("engine_message", "shown"), [
    ("required", "Required."),
    ("0 is less than the minimum of 1", "Must be at least 1."),
    ("'x' is too short", "Too short."),
    ("'x' should be non-empty", "Too short."),
    ("'abc' does not match '^[0-9]+$'", "Not in the expected format."),
    ("'c' is not one of ['a', 'b']", "Choose one of the options."),
    ("something new", "something new"),
])
def test_engine_messages_are_readable(engine_message, shown):
    assert readable_error(engine_message) == shown
