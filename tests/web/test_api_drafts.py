"""/api/v1/drafts: a designer's draft bundle (BPMN + forms) over REST with a token — list, get, put, put/remove one
form, discard, validate (problems with element ids), diff against its version (elements and forms), deploy."""

from __future__ import annotations

import copy

from engine.services.definitions import list_definitions
from engine.services.texts import form_of
from tests.web.test_api_fixtures import INVOICE, assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]
KEY = "receivables_collection"


def _send(client, method, path, json=None):
    return client.client.open(f"/api/v1{path}", method=method, json=json, headers=client._headers(None))


def _v1(engine):
    with engine.transaction() as session:
        return next(d.id for d in list_definitions(session) if d.process_key == KEY and d.version == 1)


def test_only_designers_and_admins_with_a_token(api_as, receivables):
    assert_problem(api_as(None).get("/drafts"), 401, "unauthorized")
    assert_problem(api_as("rep").get("/drafts"), 403, "forbidden")
    assert api_as("admin").get("/drafts").get_json() == {"items": []}
    assert_problem(api_as("designer").get(f"/drafts/{KEY}"), 404, "not-found")


def test_a_draft_starts_from_its_versions_forms_and_a_changed_form_deploys_with_the_bpmn(api_as, receivables):
    designer = api_as("designer")
    source = designer.get(f"/definitions/{_v1(receivables)}/source").get_data(as_text=True)
    put = _send(designer, "PUT", f"/drafts/{KEY}", {"bpmn": source, "based_on_version": 1})
    assert put.status_code == 200, put.get_json()
    draft = put.get_json()
    assert draft["based_on_version"] == 1 and "chase_payment" in draft["forms"] and "chase_payment" in draft["form_keys_used"]
    chase = copy.deepcopy(draft["forms"]["chase_payment"])
    chase["ui"]["fields"]["reason"]["label"] = {"zh-CN": "拖欠原因", "en": "Why late"}
    saved = _send(designer, "PUT", f"/drafts/{KEY}/forms/chase_payment", chase)
    assert saved.status_code == 200 and saved.get_json()["problems"] == []
    assert [d["process_key"] for d in designer.get("/drafts").get_json()["items"]] == [KEY]

    diff = designer.get(f"/drafts/{KEY}/diff").get_json()
    assert diff["based_on_version"] == 1 and diff["elements"] == {"added": [], "removed": [], "changed": []}
    assert diff["forms"]["changed"] == [{"key": "chase_payment", "fields_added": [], "fields_removed": [],
                                         "fields_changed": ["reason"], "parts_changed": []}]
    checked = designer.post(f"/drafts/{KEY}/validate").get_json()
    assert checked["ok"] is True and checked["problems"] == []

    deployed = designer.post(f"/drafts/{KEY}/deploy")
    assert deployed.status_code == 201, deployed.get_json()
    [v2] = deployed.get_json()["deployed"]
    assert v2["version"] == 2
    assert_problem(designer.get(f"/drafts/{KEY}"), 404, "not-found")  # deployed drafts are forgotten
    instance = receivables.start(KEY, INVOICE, actor="fin", business_key=INVOICE["invoice_no"])
    with receivables.transaction() as session:
        assert instance.definition_id == v2["id"]
        assert form_of(session, v2["id"], "chase_payment").label("reason", "zh-CN") == "拖欠原因"
        assert form_of(session, _v1(receivables), "chase_payment").label("reason", "zh-CN") == "逾期原因"


def test_validate_names_the_element_and_the_form_and_deploy_refuses(api_as, receivables):
    designer = api_as("designer")
    source = designer.get(f"/definitions/{_v1(receivables)}/source").get_data(as_text=True)
    broken = source.replace("escalation_level == 1", "escalation_level = = 1", 1)
    assert broken != source
    assert _send(designer, "PUT", f"/drafts/{KEY}", {"bpmn": broken}).status_code == 200
    bad_form = {"schema": {"type": "object", "properties": {"reason": {"type": "string"}},
                           "x-rules": [{"field": "reason", "after": "today"}]}, "ui": {}}
    saved = _send(designer, "PUT", f"/drafts/{KEY}/forms/chase_payment", bad_form).get_json()
    assert any("neither a date nor a number" in p for p in saved["problems"])
    checked = designer.post(f"/drafts/{KEY}/validate").get_json()
    assert checked["ok"] is False
    assert any(p["element_id"] for p in checked["problems"])
    assert any(p["file"] == "chase_payment.schema.json" for p in checked["problems"])
    assert_problem(designer.post(f"/drafts/{KEY}/deploy"), 422, "invalid-definition")
    assert designer.get(f"/drafts/{KEY}").status_code == 200  # a refused deploy keeps the draft


def test_bad_input_and_removing(api_as, receivables):
    designer = api_as("designer")
    assert_problem(_send(designer, "PUT", f"/drafts/{KEY}", {}), 400, "bad-request")
    assert_problem(_send(designer, "PUT", f"/drafts/{KEY}", {"forms": {"x": {"ui": {}}}}), 422, "validation")
    assert_problem(_send(designer, "PUT", f"/drafts/{KEY}", {"forms": {}, "based_on_version": 9}), 404, "not-found")
    assert_problem(_send(designer, "PUT", "/drafts/never_deployed", {"forms": {}}), 404, "not-found")
    assert_problem(_send(designer, "PUT", f"/drafts/{KEY}/forms/bad key!", {"schema": {}}), 400, "bad-request")
    new = {"schema": {"type": "object", "properties": {"note": {"type": "string"}}},
           "ui": {"fields": {"note": {"label": {"zh-CN": "备注", "en": "Note"}}}}}
    assert _send(designer, "PUT", f"/drafts/{KEY}/forms/chase_note", new).status_code == 200
    assert "chase_note" in designer.get(f"/drafts/{KEY}").get_json()["forms"]
    assert_problem(_send(designer, "PUT", f"/drafts/{KEY}", {"forms": {}, "based_on_version": 1}), 400, "bad-request")
    assert designer.get(f"/drafts/{KEY}/diff").get_json()["forms"]["added"] == ["chase_note"]
    assert _send(designer, "DELETE", f"/drafts/{KEY}/forms/chase_note").status_code == 204
    assert_problem(_send(designer, "DELETE", f"/drafts/{KEY}/forms/chase_note"), 404, "not-found")
    assert api_as("admin").get("/drafts").get_json() == {"items": []}  # drafts are per designer
    assert _send(designer, "DELETE", f"/drafts/{KEY}").status_code == 204
    assert_problem(_send(designer, "DELETE", f"/drafts/{KEY}"), 404, "not-found")
