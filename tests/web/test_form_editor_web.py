"""The form editor of a draft: designers only, preview drawn by the task page's code in the chosen language,
problems from the engine's check_form placed on their field or rule, sample input checked like a completion,
saved into the draft and deployed with the BPMN."""

from __future__ import annotations

import copy
import json
import re

import pytest

from engine.services.definitions import list_definitions
from engine.services.drafts import load_draft
from engine.services.texts import form_of

TOKEN = re.compile(r'id="form-editor-csrf" value="([^"]+)"')
DATA = re.compile(r'<script type="application/json" id="form-editor-data">(.*?)</script>', re.S)


@pytest.fixture
def v1(web_engine):
    with web_engine.transaction() as session:
        return next(d for d in list_definitions(session) if d.process_key == "complaint" and d.version == 1).id


def _open(b, url):
    page = b.get(url)
    html = page.get_data(as_text=True)
    match = TOKEN.search(html)
    data = json.loads(DATA.search(html).group(1)) if DATA.search(html) else None
    return page, html, (match.group(1) if match else None), data


def _post(b, url, token, payload):
    return b.client.post(url, data=json.dumps(payload), content_type="application/json", headers={"X-CSRFToken": token})


def test_the_page_is_for_designers_and_opens_the_versions_own_form(browser, v1):
    assert browser("rep").get(f"/definitions/{v1}/forms").status_code == 403
    page, html, token, data = _open(browser("designer"), f"/definitions/{v1}/forms/handle_complaint")
    assert page.status_code == 200 and token
    assert data["key"] == "handle_complaint"
    assert data["form"]["ui"]["fields"]["resolution"]["label"]["zh-CN"] == "处理结果"
    assert 'data-form-key="review_complaint"' in html and "form_editor.js" in html
    used_by = re.search(r'id="form-used-by">(.*?)</p>', html, re.S).group(1)
    assert "Handle complaint" in used_by
    first, _html, _t, first_data = _open(browser("designer"), f"/definitions/{v1}/forms")
    assert first.status_code == 200 and first_data["key"] in ("complaint_start", "escalation_note", "handle_complaint",
                                                              "review_complaint")
    assert browser("designer").get(f"/definitions/{v1}/forms/bad%20key").status_code == 404


def test_the_preview_is_the_task_pages_form_in_the_chosen_language(browser, v1):
    b = browser("designer")
    _page, _html, token, data = _open(b, f"/definitions/{v1}/forms/handle_complaint")
    form = copy.deepcopy(data["form"])
    form["ui"]["fields"]["resolution"]["label"] = {"zh-CN": "处理办法", "en": "How it was solved"}
    zh = _post(b, data["urls"]["preview"], token, {**form, "language": "zh-CN"}).get_json()
    en = _post(b, data["urls"]["preview"], token, {**form, "language": "en"}).get_json()
    assert zh["ok"] and en["ok"] and zh["problems"] == []
    assert 'for="f-resolution">处理办法' in zh["html"] and "How it was solved" in en["html"]
    assert 'class="field widget-textarea' in zh["html"]  # the field macro of the task page
    assert ">破损</option>" in zh["html"] and ">Damage</option>" in en["html"]
    form["schema"]["properties"]["category"]["default"] = "damage"
    form["schema"]["properties"]["contacts"]["default"] = 99
    defaulted = _post(b, data["urls"]["preview"], token, {**form, "language": "en"}).get_json()
    assert '<option value="damage" selected>' in defaulted["html"] and 'value="99"' in defaulted["html"]
    assert [p["field"] for p in defaulted["problems"]] == ["contacts"]  # 99 is above its maximum of 20
    assert "does not fit this field" in defaulted["problems"][0]["message"]


def test_problems_from_check_form_are_placed_on_their_rule_and_field(browser, v1):
    b = browser("designer")
    _page, _html, token, data = _open(b, f"/definitions/{v1}/forms/handle_complaint")
    form = copy.deepcopy(data["form"])
    form["schema"]["x-rules"] = [{"field": "promised_date", "not_before": "today"},
                                 {"field": "resolution", "not_before": "today"}]
    form["schema"]["properties"]["category"]["enum"] = []
    form["schema"]["properties"]["contacts"]["minimum"] = "none"
    form["ui"]["fields"]["ghost"] = {"label": {"en": "Ghost"}}
    answer = _post(b, data["urls"]["preview"], token, form).get_json()
    assert not answer["ok"]
    by_place = {(p["rule"], p["field"]): p["message"] for p in answer["problems"]}
    assert "neither a date nor a number" in by_place[(1, None)]
    fields = {p["field"] for p in answer["problems"]}
    assert {"category", "contacts"} <= fields  # a choice without options; the invalid JSON Schema of one field
    assert any("ghost" in p["message"] for p in answer["problems"])
    assert (0, None) not in by_place


def test_sample_input_is_checked_as_a_completion_would_be(browser, v1):
    b = browser("designer")
    _page, _html, token, data = _open(b, f"/definitions/{v1}/forms/handle_complaint")
    form = copy.deepcopy(data["form"])
    form["schema"]["x-rules"] = [{"field": "contacts", "at_least": "2", "message": {"zh-CN": "至少联系两次。", "en": "Call twice."}}]
    refused = _post(b, data["urls"]["preview"], token, {**form, "language": "zh-CN",
                                                        "values": {"resolution": "ok", "contacts": "1"}}).get_json()
    assert "至少联系两次。" in refused["html"] and 'aria-invalid="true"' in refused["html"]
    accepted = _post(b, data["urls"]["preview"], token, {**form, "language": "en",
                                                         "values": {"resolution": "refunded in full", "contacts": "3"}}).get_json()
    assert "This input would be accepted." in accepted["html"]


def test_saving_keeps_the_form_in_the_draft_and_the_modeler_deploys_it(browser, v1, web_engine):
    b = browser("designer")
    _page, _html, token, data = _open(b, f"/definitions/{v1}/forms/handle_complaint")
    form = copy.deepcopy(data["form"])
    form["ui"]["fields"]["resolution"]["label"] = {"zh-CN": "处理办法", "en": "How it was solved"}
    saved = _post(b, data["urls"]["save"], token, form)
    assert saved.status_code == 200 and saved.get_json()["problems"] == [] and saved.get_json()["used"]
    assert browser("rep").client.post(data["urls"]["save"], json=form).status_code in (400, 403)
    with web_engine.transaction() as session:
        draft = load_draft(session, "designer", "complaint")
        assert draft.forms["handle_complaint"]["ui"]["fields"]["resolution"]["label"]["en"] == "How it was solved"
    _page, html, _t, again = _open(b, f"/definitions/{v1}/forms/handle_complaint")
    assert again["form"]["ui"]["fields"]["resolution"]["label"]["en"] == "How it was solved"
    assert 'id="form-draft-note"' in html
    assert re.search(r'id="form-change">.*fields changed <code>resolution</code></span>', html, re.S)
    assert html.count('class="tag changed"') == 1
    deployed = _post(b, f"/definitions/{v1}/modeler/deploy", token, {"bpmn": draft.bpmn}).get_json()
    v2 = deployed["deployed"][0]["id"]
    with web_engine.transaction() as session:
        assert form_of(session, v2, "handle_complaint").label("resolution", "en") == "How it was solved"
        assert form_of(session, v1, "handle_complaint").label("resolution", "en") == "Resolution"


def test_a_new_form_and_removing_it(browser, v1, web_engine):
    b = browser("designer")
    page, html, token, data = _open(b, f"/definitions/{v1}/forms/visit_note")
    assert page.status_code == 200 and data["form"]["schema"]["properties"] == {}
    assert "No step of the diagram uses this form yet" in html
    form = {"schema": {"type": "object", "properties": {"note": {"type": "string"}}},
            "ui": {"title": {"zh-CN": "回访记录", "en": "Visit note"}, "fields": {"note": {"label": {"zh-CN": "记录", "en": "Note"}}}}}
    answer = _post(b, data["urls"]["save"], token, form).get_json()
    assert "visit_note" in answer["draft"]["forms"] and answer["used"] is False
    bad = _post(b, data["urls"]["save"], token, {"schema": [], "ui": {}})
    assert bad.status_code == 400
    huge = {"schema": {"type": "object", "description": "x" * (2 * web_engine.config.max_definition_bytes)}, "ui": {}}
    assert _post(b, data["urls"]["preview"], token, huge).status_code == 413
    removed = _post(b, data["urls"]["remove"], token, {})
    assert removed.status_code == 200 and "visit_note" not in removed.get_json()["draft"]["forms"]
    assert _post(b, data["urls"]["remove"], token, {}).status_code == 404
