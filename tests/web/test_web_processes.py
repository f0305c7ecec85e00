"""Starting processes: who may start what (the start event's lane), start forms, admin JSON."""

from __future__ import annotations

import re

from web.processes.startable import start_event_facts


def _startable(text: str) -> list[str]:
    return re.findall(r'href="/start/([a-z_]+)"', text)


def test_each_group_sees_what_its_lane_may_start(browser):
    assert set(_startable(browser("rep").get("/start/").get_data(as_text=True))) == {"complaint"}
    assert set(_startable(browser("assistant").get("/start/").get_data(as_text=True))) == {"order_check"}
    assert set(_startable(browser("admin").get("/start/").get_data(as_text=True))) == {"complaint", "order_check"}
    assert _startable(browser("auditor").get("/start/").get_data(as_text=True)) == []
    assert _startable(browser("head").get("/start/").get_data(as_text=True)) == []


def test_starting_another_lanes_process_is_refused(browser):
    rep = browser("rep")
    assert rep.get("/start/order_check").status_code == 403
    assert rep.post("/start/order_check", {}).status_code == 403
    assert browser("auditor").post("/start/complaint", {"customer": "x", "description": "y"}).status_code == 403
    assert rep.get("/start/no_such_process").status_code == 404


def test_start_form_validates_and_keeps_values(browser, web_engine):
    rep = browser("rep")
    page = rep.get("/start/complaint").get_data(as_text=True)
    assert "New complaint" in page and 'name="customer"' in page and 'name="business_key"' in page
    assert 'name="data_json"' not in page
    response = rep.post("/start/complaint", {"customer": "ACME", "description": "", "severity": "bogus",
                                             "business_key": "ORD-9"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="f-description-error">Required.' in text
    assert 'id="f-severity-error">Choose one of the options.' in text
    assert 'value="ACME"' in text and 'value="ORD-9"' in text
    assert web_engine.instances() == []


def test_start_creates_an_instance_and_shows_it(browser, web_engine):
    rep = browser("rep")
    response = rep.post("/start/complaint", {"customer": "ACME", "description": "Late", "severity": "complaint",
                                             "business_key": "ORD-9"})
    assert response.status_code == 302
    [instance] = web_engine.instances()
    assert response.location == f"/instances/{instance.id}"
    assert instance.business_key == "ORD-9" and instance.started_by == "rep"
    assert web_engine.instance(instance.id).data["severity"] == "complaint"
    assert "Handle complaint" in rep.get(response.location).get_data(as_text=True)


def test_admin_starts_a_formless_process_with_json(browser, web_engine):
    admin = browser("admin")
    page = admin.get("/start/order_check").get_data(as_text=True)
    assert 'name="data_json"' in page
    bad = admin.post("/start/order_check", {"data_json": "[1, 2]"})
    assert bad.status_code == 422 and "must be a JSON object" in bad.get_data(as_text=True)
    broken = admin.post("/start/order_check", {"data_json": "{nope"})
    assert broken.status_code == 422 and "Not valid JSON" in broken.get_data(as_text=True)
    assert admin.post("/start/order_check", {"data_json": '{"customer": "Beta"}'}).status_code == 302
    [instance] = web_engine.instances()
    assert web_engine.instance(instance.id).data["customer"] == "Beta"


def test_members_start_a_formless_process_without_json(browser, web_engine):
    assistant = browser("assistant")
    page = assistant.get("/start/order_check").get_data(as_text=True)
    assert 'name="data_json"' not in page
    assert assistant.post("/start/order_check", {"data_json": '{"sneaky": 1}'}).status_code == 302
    [instance] = web_engine.instances()
    assert "sneaky" not in web_engine.instance(instance.id).data


def test_start_event_facts_read_lane_and_form_key():
    xml = """<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
      xmlns:camunda="http://camunda.org/schema/1.0/bpmn">
      <process id="p"><laneSet><lane id="outer" name="cs_head"><flowNodeRef>s</flowNodeRef>
        <childLaneSet><lane id="inner" name="cs_rep"><flowNodeRef>s</flowNodeRef></lane></childLaneSet></lane></laneSet>
        <startEvent id="t"><timerEventDefinition/></startEvent>
        <startEvent id="s" camunda:formKey="f1"/></process></definitions>"""
    assert start_event_facts(xml, "p") == ("cs_rep", "f1", True)
    assert start_event_facts(xml, "other") == (None, None, False)
    timer_only = xml.replace('<startEvent id="s" camunda:formKey="f1"/>', "")
    assert start_event_facts(timer_only, "p") == (None, None, False)
