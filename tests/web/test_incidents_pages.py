"""Incident pages: timers that kept failing, with their error; retry fires at once; resolve closes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.services.timers import list_incidents
from tests.web.test_portal import deploy_stand_in

FRAGILE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs_fragile" targetNamespace="http://bpm-cs.test/incidents">
  <bpmn:process id="fragile" name="Fragile reminder" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="1 minute">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer"><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="remind" name="Remind">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>reminded = reminder_target + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="remind"/>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def incident(web_engine, tmp_path, clock):
    """An instance whose timer failed on every attempt (the script reads a variable nobody set)."""
    deploy_stand_in(web_engine, tmp_path, FRAGILE, "fragile.bpmn")
    instance = web_engine.start("fragile", {}, "admin")
    clock.advance(minutes=1)
    outcomes = [r.outcome for r in web_engine.fire_due_timers()]
    for backoff in web_engine.config.retry_backoff_s:
        clock.advance(timedelta(seconds=backoff))
        outcomes += [r.outcome for r in web_engine.fire_due_timers()]
    assert outcomes[-1] == "incident", outcomes
    return instance


def _open(engine):
    with engine.transaction() as session:
        return [(i.id, i.status) for i in list_incidents(session, "open")]


def test_only_admins_see_incidents(browser, incident):
    page = browser("admin").get("/incidents/").get_data(as_text=True)
    assert "reminder_target" in page and "Retry now" in page and f'href="/instances/{incident.id}"' in page
    for user in ("rep", "head", "auditor", "designer"):
        assert browser(user).get("/incidents/").status_code == 403, user
    assert 'href="/incidents/"' not in browser("head").get("/").get_data(as_text=True)


def test_retry_fires_the_timer_at_once(browser, web_engine, incident):
    [(incident_id, _)] = _open(web_engine)
    admin = browser("admin")
    failed = admin.post(f"/incidents/{incident_id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "the timer failed again" in failed and "reminder_target" in failed
    assert _open(web_engine) == []  # retried; the timer waits for its next automatic attempt
    assert web_engine.instance(incident.id).status == "running"


def test_retry_after_fixing_the_data_completes_the_instance(browser, web_engine, incident, clock):
    [(incident_id, _)] = _open(web_engine)
    web_engine.set_data(incident.id, {"reminder_target": 41}, "admin")
    page = browser("admin").post(f"/incidents/{incident_id}/retry", follow_redirects=True).get_data(as_text=True)
    assert f"Incident #{incident_id} retried: the timer fired." in page
    view = web_engine.instance(incident.id)
    assert view.status == "completed" and view.data["reminded"] == 42
    assert "incident_retried" in [e.type for e in web_engine.history(incident.id)]


def test_resolve_closes_with_a_note(browser, web_engine, incident):
    [(incident_id, _)] = _open(web_engine)
    admin = browser("admin")
    assert admin.post(f"/incidents/{incident_id}/resolve", {"note": "customer paid by phone"}).status_code == 302
    assert _open(web_engine) == []
    resolved = admin.get("/incidents/?status=resolved").get_data(as_text=True)
    assert f"#{incident_id}" in resolved and "Retry now" not in resolved
    again = admin.post(f"/incidents/{incident_id}/resolve", {"note": "twice"})
    assert again.status_code == 409
    events = [e for e in web_engine.history(incident.id) if e.type == "incident_resolved"]
    assert events[0].actor == "admin" and events[0].data["note"] == "customer paid by phone"


def test_incident_actions_are_post_only_with_csrf(browser, web_engine, incident):
    [(incident_id, _)] = _open(web_engine)
    admin = browser("admin")
    assert admin.client.get(f"/incidents/{incident_id}/retry").status_code == 405
    assert admin.post(f"/incidents/{incident_id}/resolve", csrf=False).status_code == 400
    assert browser("auditor").post(f"/incidents/{incident_id}/resolve").status_code == 403
    assert _open(web_engine) == [(incident_id, "open")]


def test_no_incidents_is_a_calm_page(browser, web_engine, tmp_path):
    deploy_stand_in(web_engine, tmp_path)
    assert "No incidents." in browser("admin").get("/incidents/").get_data(as_text=True)
