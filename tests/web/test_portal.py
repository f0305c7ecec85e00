"""The customer portal: report without signing in, a tracking code shown once and stored hashed,
a status page with public steps only, CSRF and a rate limit."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Engine
from engine.persistence import PortalTicket

# A small stand-in for processes/exception_escalation.bpmn: the same process id and start contract,
# a first response with a 30-minute SLA (complaints and accidents), an internal review, a general path.
EXCEPTION_STAND_IN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_exception_stand_in" targetNamespace="http://bpm-cs.test/portal">
  <bpmn:process id="exception_escalation" name="Exception escalation (stand-in)" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_rep" name="cs_rep">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>severity_gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>first_response</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>first_response_overdue</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>coordinate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_general</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_head" name="cs_head">
        <bpmn:flowNodeRef>internal_review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_done</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>escalate_first_response</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_escalated</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="severity_gw" default="f_general">
      <bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_serious</bpmn:outgoing><bpmn:outgoing>f_general</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="first_response" name="一级响应（30 分钟内）" camunda:dueDate="PT30M">
      <bpmn:incoming>f_serious</bpmn:incoming><bpmn:outgoing>f_review</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="first_response_overdue" attachedToRef="first_response" cancelActivity="false">
      <bpmn:extensionElements><camunda:properties><camunda:property name="sla" value="first_response"/></camunda:properties></bpmn:extensionElements>
      <bpmn:outgoing>f_overdue</bpmn:outgoing>
      <bpmn:timerEventDefinition id="first_response_overdue_timer"><bpmn:timeDuration>PT30M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="escalate_first_response" name="一级响应超时">
      <bpmn:incoming>f_overdue</bpmn:incoming><bpmn:outgoing>f_escalated</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_escalated"><bpmn:incoming>f_escalated</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="internal_review" name="Internal review of the complaint">
      <bpmn:incoming>f_review</bpmn:incoming><bpmn:outgoing>f_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_done"><bpmn:incoming>f_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="coordinate" name="与责任部门协调处理">
      <bpmn:incoming>f_general</bpmn:incoming><bpmn:outgoing>f_general_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_general"><bpmn:incoming>f_general_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="severity_gw"/>
    <bpmn:sequenceFlow id="f_serious" sourceRef="severity_gw" targetRef="first_response">
      <bpmn:conditionExpression>severity == "complaint" or severity == "accident"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_general" sourceRef="severity_gw" targetRef="coordinate"/>
    <bpmn:sequenceFlow id="f_review" sourceRef="first_response" targetRef="internal_review"/>
    <bpmn:sequenceFlow id="f_done" sourceRef="internal_review" targetRef="end_done"/>
    <bpmn:sequenceFlow id="f_overdue" sourceRef="first_response_overdue" targetRef="escalate_first_response"/>
    <bpmn:sequenceFlow id="f_escalated" sourceRef="escalate_first_response" targetRef="end_escalated"/>
    <bpmn:sequenceFlow id="f_general_end" sourceRef="coordinate" targetRef="end_general"/>
  </bpmn:process>
</bpmn:definitions>
"""
REPORT = {"customer": "ACME Logistics", "contact_name": "Wang Lei", "contact_phone": "+86 138 0013 8000",
          "order_no": "SO-7781", "type": "damage", "severity": "complaint", "description": "Two pallets arrived crushed"}
CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def deploy_stand_in(engine: Engine, tmp_path: Path, text: str = EXCEPTION_STAND_IN, name: str = "exception_escalation.bpmn") -> None:
    """Deploy a stand-in BPMN written to ``tmp_path``."""
    path = tmp_path / name
    path.write_text(text, "utf-8")
    engine.deploy([path], actor="designer")


@pytest.fixture
def stand_in(web_engine, tmp_path):
    deploy_stand_in(web_engine, tmp_path)


def submit(b, report=None):
    b.get("/portal/")
    return b.post("/portal/", report or REPORT)


def received_code(b) -> str:
    response = submit(b)
    assert response.status_code == 302 and response.location.endswith("/portal/submitted")
    page = b.get("/portal/submitted").get_data(as_text=True)
    match = CODE.search(page)
    assert match, page
    return match.group(0)


def test_anyone_may_open_the_form_and_it_carries_a_csrf_token(browser, stand_in):
    b = browser()
    page = b.get("/portal/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="csrf_token"' in text and 'name="description"' in text
    assert "Sign out" not in text
    assert b.post("/portal/", REPORT, csrf=False).status_code == 400


def test_a_report_starts_an_exception_and_the_code_is_shown_once_and_stored_hashed(browser, web_engine, stand_in):
    b = browser()
    code = received_code(b)
    again = b.get("/portal/submitted")
    assert again.status_code == 302 and code not in b.get("/portal/track").get_data(as_text=True)
    instance = web_engine.instances(process_key="exception_escalation")[0]
    data = web_engine.instance(instance.id).data
    assert {k: data[k] for k in (*REPORT, "channel")} == {**REPORT, "channel": "portal"}
    assert instance.started_by == "portal" and instance.business_key == "SO-7781"
    with web_engine.transaction() as session:
        tickets = list(session.scalars(select(PortalTicket)))
    assert len(tickets) == 1 and tickets[0].instance_id == instance.id
    assert tickets[0].code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    assert code not in str(web_engine.history(instance.id))


def test_invalid_reports_are_shown_again_with_messages(browser, web_engine, stand_in):
    b = browser()
    response = submit(b, {**REPORT, "customer": " ", "type": "weather", "description": "x" * 4001})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="p-customer-error">Required.' in text and 'id="p-type-error">Choose one of the options.' in text
    assert "At most 4000 characters." in text and "SO-7781" in text  # what was typed is kept
    assert web_engine.instances(process_key="exception_escalation") == []


def test_status_shows_public_steps_only(browser, web_engine, stand_in, task_of):
    b = browser()
    code = received_code(b)
    instance = web_engine.instances(process_key="exception_escalation")[0]
    text = b.post("/portal/track", {"code": code.lower()}).get_data(as_text=True)
    assert "Being handled" in text and "Received" in text and "First response given" not in text

    first = task_of(web_engine, instance, "first_response")
    web_engine.complete(first.id, {"note": "Called Mr. Wang, secret internal remark"}, "rep")
    text = b.post("/portal/track", {"code": code}).get_data(as_text=True)
    assert "First response given" in text
    main = text.split("<main", 1)[1]
    for internal in ("Internal review", "secret internal remark", "cs_head", "Head of customer service",
                     "Two pallets arrived crushed", "ACME"):
        assert internal not in main, internal
    assert not re.search(r"\brep\b", main)

    web_engine.complete(task_of(web_engine, instance, "internal_review").id, {}, "head")
    text = b.post("/portal/track", {"code": code}).get_data(as_text=True)
    assert "Resolved" in text and "Closed" in text


def test_unknown_codes_say_so(browser, stand_in):
    b = browser()
    b.get("/portal/track")
    response = b.post("/portal/track", {"code": "AAAA-BBBB-CCCC-DDDD"})
    assert response.status_code == 404 and "No report has this tracking code" in response.get_data(as_text=True)
    assert b.post("/portal/track", {"code": "short"}).status_code == 404


def test_reports_and_lookups_are_rate_limited(app, browser, stand_in):
    app.config["PORTAL_SUBMIT_RATE_LIMIT"] = "2 per 10 minutes"
    app.config["PORTAL_TRACK_RATE_LIMIT"] = "3 per 10 minutes"
    b = browser()
    assert submit(b).status_code == 302
    assert submit(b).status_code == 302
    limited = submit(b)
    assert limited.status_code == 429 and "Too many attempts" in limited.get_data(as_text=True)
    statuses = [b.post("/portal/track", {"code": "AAAA-BBBB-CCCC-DDDD"}).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_without_the_process_the_portal_apologises(browser, web_engine):
    response = submit(browser())
    assert response.status_code == 503 and "cannot take reports online" in response.get_data(as_text=True)


def test_the_portal_speaks_chinese(browser, stand_in):
    text = browser().get("/portal/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "投诉" in text and "追踪码" in text
