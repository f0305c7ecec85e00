"""Form data in HTML: widgets from the schema, submitted text to JSON types, messages for people."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from engine.definitions.forms import FormDefinition, FormErrors, check_form, validate_submission
from web.formview import field_views, form_error_messages, raw_values, read_submission, readable_error, widget_of

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


RULED = FormDefinition("ruled", {
    "type": "object",
    "properties": {"start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
                   "amount": {"type": "string", "format": "money"}, "count": {"type": "integer"},
                   "at": {"type": "string", "format": "date-time"}, "note": {"type": "string"}},
    "x-rules": [{"field": "end", "not_before": "start"}, {"field": "end", "not_after": "2026-12-31"},
                {"field": "start", "not_before": "today", "message": {"zh-CN": "开始日期不能是过去的日期。"}},
                {"field": "amount", "greater_than": "0"}, {"field": "count", "at_most": 5},
                {"field": "at", "after": "today"}],
}, {"fields": {"start": {"label": {"en": "Start date", "zh-CN": "开始日期"}}}})
TODAY = date(2026, 3, 2)


def _refused(data, today=TODAY):
    with pytest.raises(FormErrors) as caught:
        validate_submission(RULED, data, today=today)
    return caught.value


def test_rules_compare_fields_today_and_literals():
    assert validate_submission(RULED, {"start": "2026-03-02", "end": "2026-03-02", "amount": "0.01", "count": 5,
                                       "at": "2026-03-03T08:00:00+08:00"}, today=TODAY)["amount"] == Decimal("0.01")
    refused = _refused({"start": "2026-03-01", "end": "2026-02-28", "amount": "-5", "count": 6,
                        "at": "2026-03-02T23:00:00+08:00"})
    assert {name: (d.code, d.params) for name, d in refused.details.items()} == {
        "start": ("not_before", {"other": None, "than": "today", "value": "2026-03-02"}),
        "end": ("not_before", {"other": "start", "than": "start", "value": "2026-03-01"}),
        "amount": ("greater_than", {"other": None, "than": "0", "value": "0"}),
        "count": ("at_most", {"other": None, "than": "5", "value": "5"}),
        "at": ("after", {"other": None, "than": "today", "value": "2026-03-02"}),
    }
    assert refused.errors["end"] == "must not be before start (2026-03-01)"  # the API's English, as before
    assert refused.errors["amount"] == "must be greater than 0"
    assert set(_refused({"end": "2027-01-01"}).errors) == {"end"}


def test_rules_skip_what_is_empty_or_already_wrong_and_today_when_not_given():
    assert validate_submission(RULED, {"end": "2026-01-01"}, today=TODAY) == {"end": date(2026, 1, 1)}
    assert validate_submission(RULED, {"start": "2020-01-01"}) == {"start": date(2020, 1, 1)}
    assert _refused({"start": "soon", "end": "2020-01-01"}).details["start"].code == "format"


def test_field_errors_are_worded_by_code_in_the_users_language(app):
    refused = _refused({"start": "2026-03-01", "end": "2026-02-28", "amount": "-5", "note": 7})
    assert form_error_messages(refused, RULED) == {
        "start": "Must not be before today.", "end": "Must not be before Start date.",
        "amount": "Must be more than 0.", "note": "Wrong kind of value."}
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        messages = form_error_messages(refused, RULED)
    assert messages["start"] == "开始日期不能是过去的日期。"  # the rule's own message in this language
    assert messages["amount"] == "必须大于 0。"


@pytest.mark.parametrize(("rules", "problem"), [
    ([{"field": "end", "later_than": "start"}], "unknown operator or key 'later_than'"),
    ([{"field": "ending", "not_before": "start"}], "unknown field 'ending'"),
    ([{"field": "end", "not_before": "begin"}], "'begin' is neither a declared field"),
    ([{"field": "note", "not_before": "start"}], "field 'note' is neither a date nor a number"),
    ([{"field": "end", "not_before": "amount"}], "are not of the same kind"),
    ([{"field": "amount", "greater_than": "today"}], "only dates compare with \"today\""),
    ([{"field": "end", "not_before": "start", "after": "start"}], "give exactly one operator, not 2"),
    ([{"field": "end"}], "give exactly one operator, not 0"),
    (["end >= start"], "a rule must be an object"),
    ({"field": "end"}, "x-rules must be a list"),
])
def test_check_form_refuses_a_malformed_rule(rules, problem):
    form = FormDefinition("bad", {**RULED.schema, "x-rules": rules})
    problems = check_form(form)
    assert len(problems) == 1 and problem in problems[0] and problems[0].startswith("bad.schema.json: x-rules"), problems
    assert check_form(RULED) == []
