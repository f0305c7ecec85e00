"""The dashboard: measures computed from rows (engine.services.reports), drawn as SVG bars that
link to the instances behind them; only cs_head, vp and admin see it."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from html import unescape

import pytest

from engine.services import reports
from tests.web.test_portal import deploy_stand_in

RECEIVABLES_STAND_IN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs_receivables_stand_in" targetNamespace="http://bpm-cs.test/dashboard">
  <bpmn:process id="receivables_collection" name="Receivables (stand-in)" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_rep" name="cs_rep"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>chase_payment</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_head" name="cs_head"><bpmn:flowNodeRef>head_collection</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="chase_payment" name="催收付款"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="head_collection" name="客服部负责人接手催收"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="chase_payment"/>
    <bpmn:sequenceFlow id="f2" sourceRef="chase_payment" targetRef="head_collection"/>
    <bpmn:sequenceFlow id="f3" sourceRef="head_collection" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
EXCEPTION = {"channel": "phone", "customer": "ACME Logistics", "order_no": "SO-1", "type": "damage",
             "severity": "complaint", "description": "Crushed pallets"}
INVOICE = {"customer": "Beta Foods", "invoice_no": "INV-1", "amount": "1000.00", "currency": "CNY",
           "invoice_date": "2025-12-15", "due_date": "2026-01-15"}
PERIOD = reports.Period(datetime(2026, 2, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc))


@pytest.fixture
def scene(web_engine, tmp_path, clock, task_of):
    """Monday 2026-03-02 09:00 Shanghai: complaints answered in time, late and not yet; receivables of every age."""
    deploy_stand_in(web_engine, tmp_path)
    deploy_stand_in(web_engine, tmp_path, RECEIVABLES_STAND_IN, "receivables_collection.bpmn")
    start = web_engine.start
    in_time = start("exception_escalation", {**EXCEPTION, "order_no": "SO-1"}, "rep", business_key="SO-1")
    late = start("exception_escalation", {**EXCEPTION, "order_no": "SO-2", "severity": "accident"}, "rep", business_key="SO-2")
    general = start("exception_escalation", {**EXCEPTION, "order_no": "SO-3", "severity": "general"}, "rep", business_key="SO-3")
    repeat = start("exception_escalation", {**EXCEPTION, "order_no": "SO-5", "severity": "general", "is_repeat": True},
                   "rep", business_key="SO-5")  # the stand-in does not raise severity; the measure does
    clock.advance(minutes=10)
    web_engine.complete(task_of(web_engine, in_time, "first_response").id, {}, "rep")
    web_engine.complete(task_of(web_engine, in_time, "internal_review").id, {}, "head")
    clock.advance(minutes=10)
    pending = start("exception_escalation", {**EXCEPTION, "order_no": "SO-4"}, "rep", business_key="SO-4")
    clock.advance(minutes=11)  # 09:31: the first response of `late` is overdue, `pending`'s is not yet
    web_engine.fire_due_timers()

    old = start("receivables_collection", INVOICE, "fin", business_key="INV-1")  # 46 days overdue
    start("receivables_collection", {**INVOICE, "invoice_no": "INV-2", "amount": "500.00", "due_date": "2026-03-10"},
          "fin", business_key="INV-2")
    ancient = start("receivables_collection", {**INVOICE, "invoice_no": "INV-3", "amount": "200", "currency": "USD",
                                               "due_date": "2025-11-01"}, "fin", business_key="INV-3")
    web_engine.complete(task_of(web_engine, old, "chase_payment").id, {}, "rep")
    web_engine.claim(task_of(web_engine, ancient, "chase_payment").id, "rep2")
    web_engine.claim(task_of(web_engine, general, "coordinate").id, "rep")
    return {"in_time": in_time, "late": late, "pending": pending, "general": general, "repeat": repeat, "old": old,
            "ancient": ancient}


def test_first_response_rate_counts_in_time_late_and_pending(web_engine, scene):
    with web_engine.transaction() as session:
        rate = reports.first_response_rate(session, PERIOD)
    assert rate.ids == {"met": [scene["in_time"].id], "missed": [scene["late"].id], "pending": [scene["pending"].id]}
    assert rate.rate == 0.5


def test_sla_breaches_by_step_and_group(web_engine, scene):
    with web_engine.transaction() as session:
        counts = reports.sla_breaches(session, PERIOD)
        ids = reports.sla_breach_instance_ids(session, PERIOD, step="first_response", group="cs_rep")
    assert counts == [reports.SlaCount("exception_escalation", "first_response", "cs_rep", 1)]
    assert ids == [scene["late"].id]


def test_complaint_handling_time_reads_severity_from_the_start_data(web_engine, scene):
    with web_engine.transaction() as session:
        stats = reports.complaint_handling(session, PERIOD)
    assert sorted(stats.ids["all"]) == sorted([scene[k].id for k in ("in_time", "late", "pending", "repeat")])
    assert stats.ids["closed"] == stats.ids["within"] == [scene["in_time"].id]
    assert stats.durations.median == timedelta(minutes=10) and stats.within_rate == 1.0
    assert scene["general"].id not in stats.ids["all"]


def test_receivables_ageing_and_escalation_levels(web_engine, scene):
    with web_engine.transaction() as session:
        items = reports.open_receivables(session, date(2026, 3, 2))
    by_invoice = {r.invoice_no: r for r in items}
    assert (by_invoice["INV-1"].bucket, by_invoice["INV-1"].days_overdue, by_invoice["INV-1"].level) == ("31-60", 46, 1)
    assert (by_invoice["INV-2"].bucket, by_invoice["INV-2"].level) == ("not_due", 0)
    assert by_invoice["INV-3"].bucket == "90+" and by_invoice["INV-3"].amount == Decimal("200")
    ageing = {(r.key, r.currency): (r.count, r.amount) for r in reports.ageing(items)}
    assert ageing == {("not_due", "CNY"): (1, Decimal("500.00")), ("31-60", "CNY"): (1, Decimal("1000.00")),
                      ("90+", "USD"): (1, Decimal("200"))}
    assert [r.key for r in reports.escalation(items)] == ["0", "0", "1"]


def test_workload_and_cycle_times(web_engine, scene, clock):
    with web_engine.transaction() as session:
        loads = {p.username: p for p in reports.workload(session, PERIOD, clock.now())}
        queues = {q.group: q for q in reports.open_queues(session, clock.now())}
        processes = reports.process_cycle_times(session, PERIOD)
        steps = {(s.process_key, s.element_id): s for s in reports.step_cycle_times(session, PERIOD)}
    assert (loads["rep"].open, loads["rep"].completed) == (1, 2)
    assert (loads["rep2"].open, loads["rep2"].completed) == (1, 0)
    assert loads["rep"].completed_with_due == 1 and loads["rep"].on_time_rate == 1.0
    assert queues["cs_head"].unclaimed == 2  # the escalation of `late`, the head collection of INV-1
    assert [(p.process_key, p.durations.count, p.durations.median) for p in processes] == [
        ("exception_escalation", 1, timedelta(minutes=10))]
    assert steps[("exception_escalation", "first_response")].durations.mean == timedelta(minutes=10)


def test_only_managers_see_the_dashboard(browser, scene):
    for user in ("head", "vp", "admin"):
        assert browser(user).get("/dashboard/").status_code == 200, user
    for user in ("rep", "auditor", "designer", "fin"):
        assert browser(user).get("/dashboard/").status_code == 403, user
    assert "/dashboard/" in browser("head").get("/").get_data(as_text=True)
    assert "/dashboard/" not in browser("rep").get("/").get_data(as_text=True)


def test_dashboard_draws_bars_that_link_to_the_instances_behind_them(browser, scene):
    head = browser("head")
    text = head.get("/dashboard/?from=2026-02-01&to=2026-03-31").get_data(as_text=True)
    assert text.count('<ul class="chart"') >= 7 and '<svg class="bar"' in text
    assert "50%" in text and "10 min" in text
    assert "CNY 1,000.00" in text and "USD 200.00" in text
    links = {unescape(h) for h in re.findall(r'<a class="bar-row" href="([^"]+)"', text)}
    sla = next(link for link in links if "figure=sla" in link)
    listed = head.get(sla).get_data(as_text=True)
    assert re.findall(r'href="/instances/(\d+)"', listed) == [str(scene["late"].id)]
    ageing = next(link for link in links if "figure=ageing" in link and "key=90" in link)
    assert re.findall(r'href="/instances/(\d+)"', head.get(ageing).get_data(as_text=True)) == [str(scene["ancient"].id)]
    missed = head.get("/dashboard/instances?figure=first_response&outcome=pending&from=2026-03-01&to=2026-03-02")
    assert re.findall(r'href="/instances/(\d+)"', missed.get_data(as_text=True)) == [str(scene["pending"].id)]
    assert head.get("/dashboard/instances?figure=nonsense").status_code == 404


def test_the_period_limits_what_is_counted(browser, scene):
    text = browser("head").get("/dashboard/?from=2026-01-01&to=2026-01-31").get_data(as_text=True)
    assert "No deadline was missed in this period." in text
    assert "Receivables" in text and "CNY 1,000.00" in text  # open receivables are counted as of now


def test_an_empty_database_gives_a_calm_dashboard(browser):
    response = browser("vp").get("/dashboard/?from=nonsense")
    assert response.status_code == 200 and "No receivable is open." in response.get_data(as_text=True)


@pytest.mark.parametrize(("language", "step", "process", "other"), [
    ("en", "Chase payment", "Receivables collection", "催收付款"), ("zh-CN", "催收付款", "应收账款催收", "Chase payment")])
def test_step_and_process_names_follow_the_language(browser, web_engine, scene, tmp_path, language, step, process,
                                                    other):
    catalogue = {"source_language": "zh-CN", "translations": {"en": {
        "receivables_collection": "Receivables collection", "chase_payment": "Chase payment",
        "head_collection": "Head takes over collection"}}}
    (tmp_path / "receivables_collection.i18n.json").write_text(json.dumps(catalogue), "utf-8")
    deploy_stand_in(web_engine, tmp_path, RECEIVABLES_STAND_IN.replace("Receivables (stand-in)", "应收账款催收"),
                    "receivables_collection.bpmn")
    head = browser("head")
    head.post("/language", {"language": language})
    text = unescape(head.get("/dashboard/?from=2026-02-01&to=2026-03-31").get_data(as_text=True))
    labels = re.findall(r'<span class="bar-label">([^<]+)</span>', text)
    assert f"{step} · {process}" in labels, " | ".join(labels)
    assert not any(other in label for label in labels), labels
    drill = head.get("/dashboard/instances?figure=step_time&process=receivables_collection&step=chase_payment"
                     "&from=2026-02-01&to=2026-03-31").get_data(as_text=True)
    assert step in re.search(r"<h1>([^<]+)</h1>", drill).group(1)
