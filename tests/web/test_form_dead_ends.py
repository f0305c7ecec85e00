"""No dead ends (#15): every error of a start or a completion brings the same form back, values kept, message shown.

The shipped receivables process is deployed with the shipped forms (copied, so one test can deploy a version whose
start form lacks its rules and reach the script's own check). The clock starts Monday 2026-01-05 09:00 Shanghai.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, EngineConfig, ManualClock
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.errors import LimitExceeded
from engine.services.users import ensure_groups
from tests.web.conftest import USERS
from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]

RECEIVABLES = SHIPPED_PROCESSES / "receivables_collection.bpmn"
INVOICE = {"customer": "华东物流", "invoice_no": "INV-2026-001", "amount": "12,800.00", "currency": "CNY",
           "invoice_date": "2026-01-05", "due_date": "2026-02-04", "business_key": "INV-2026-001"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}

# A process whose task completion runs a script that refuses what the form lets through.
CHECKED_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_checked" targetNamespace="http://bpm-cs.test/web">
  <bpmn:process id="checked_step" name="Checked step" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_rep" name="cs_rep">
      <bpmn:flowNodeRef>cs_start</bpmn:flowNodeRef><bpmn:flowNodeRef>cs_fill</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>cs_check</bpmn:flowNodeRef><bpmn:flowNodeRef>cs_end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="cs_start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="cs_fill" name="Fill in the quantity" camunda:formKey="fill_quantity">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="cs_check" name="Check the quantity"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>if quantity &gt; 10:
    raise ValueError("quantity over the contract, got " + str(quantity))</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="cs_end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="cs_start" targetRef="cs_fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="cs_fill" targetRef="cs_check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="cs_check" targetRef="cs_end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FILL_FORM = {"type": "object", "required": ["quantity"],
             "properties": {"quantity": {"type": "integer"}, "remark": {"type": "string"}}}


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-01-05 09:00 in Shanghai."""
    return ManualClock(datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc))


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    """A copy of the shipped forms plus the checked step's form."""
    forms = tmp_path / "forms"
    shutil.copytree(SHIPPED_FORMS, forms)
    (forms / "fill_quantity.schema.json").write_text(json.dumps(FILL_FORM), "utf-8")
    return forms


@pytest.fixture
def web_engine(tmp_path: Path, clock: ManualClock, password_hash: str, forms_dir: Path) -> Iterator[Engine]:
    """The receivables process and the checked step, deployed with the forms in ``forms_dir``."""
    engine = Engine(config=EngineConfig(database_url=f"sqlite:///{tmp_path / 'web.sqlite3'}", forms_dir=forms_dir,
                                        calendars_dir=SHIPPED_CALENDARS), clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    for name, groups in USERS.items():
        engine.add_user(name, groups, password_hash=password_hash)
    checked = tmp_path / "checked_step.bpmn"
    checked.write_text(CHECKED_BPMN, "utf-8")
    engine.deploy([RECEIVABLES, RECEIVABLES.with_suffix("").with_suffix(".i18n.json"), checked], actor="designer")
    yield engine
    engine.close()


def _field_error(html: str, name: str) -> str | None:
    match = re.search(rf'<p class="error" id="f-{name}-error">([^<]+)</p>', html)
    return unescape(match.group(1)) if match else None


def _top_error(html: str) -> str:
    return " ".join(unescape(m) for m in re.findall(r'<p class="flash error" role="alert">([^<]+)</p>', html))


def _kept(html: str, name: str, value: str) -> bool:
    return bool(re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', html))


def test_negative_amount_comes_back_at_the_amount_field_with_everything_typed(browser, web_engine):
    fin = browser("fin")
    response = fin.post("/start/receivables_collection", dict(INVOICE, amount="-5"), headers=ZH)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(text, "amount") == "发票金额必须大于 0。"
    for name in ("customer", "invoice_no", "invoice_date", "due_date", "business_key"):
        assert _kept(text, name, INVOICE[name]), name
    assert _kept(text, "amount", "-5")
    assert 'action="/start/receivables_collection"' in text
    assert web_engine.instances() == []


def test_due_date_before_invoice_date_is_refused_at_the_due_date(browser, web_engine):
    response = browser("fin").post("/start/receivables_collection", dict(INVOICE, due_date="2026-01-04"), headers=EN)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(text, "due_date") == "The due date cannot be before the invoice date."
    assert _kept(text, "due_date", "2026-01-04") and _kept(text, "customer", INVOICE["customer"])
    assert web_engine.instances() == []
    assert browser("fin").post("/start/receivables_collection", dict(INVOICE, due_date="2026-01-05")).status_code == 302


def test_a_script_error_at_start_reshows_the_form_with_a_readable_message(browser, web_engine, forms_dir):
    # A version whose start form has no rules: the -5 reaches the script's own check.
    schema_path = forms_dir / "receivables_start.schema.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    schema.pop("x-rules", None)
    schema_path.write_text(json.dumps(schema), "utf-8")
    web_engine.deploy([RECEIVABLES], actor="designer")
    response = browser("fin").post("/start/receivables_collection", dict(INVOICE, amount="-5"), headers=EN)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _top_error(text) == ("Could not submit: the process step “Open receivable” reported: amount must be "
                                "positive, got -5")
    assert "422" not in text.split("<main")[1].split("</h1>")[0]  # not the error page
    assert _kept(text, "amount", "-5") and _kept(text, "customer", INVOICE["customer"])
    assert web_engine.instances() == []
    # The step is named in the user's language (the English name above comes from the catalogue).
    zh_text = browser("fin").post("/start/receivables_collection", dict(INVOICE, amount="-5"), headers=ZH)
    assert "“登记应收”" in _top_error(zh_text.get_data(as_text=True))


def _chase_task(web_engine: Engine, clock: ManualClock):
    web_engine.start("receivables_collection", {k: v.replace(",", "") for k, v in INVOICE.items() if k != "business_key"},
                     "fin", business_key=INVOICE["invoice_no"])
    clock.advance(timedelta(days=33))
    web_engine.fire_due_timers()
    [task] = [t for t in web_engine.tasks() if t.element_id == "chase_payment"]
    return task


def test_a_promised_date_in_the_past_is_refused_and_today_moves_with_the_clock(browser, web_engine, clock):
    task = _chase_task(web_engine, clock)
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    rep = browser("rep")
    rep.post(f"/tasks/{task.id}/claim")
    reason = "客户资金周转困难，月底前付款"
    response = rep.post(f"/tasks/{task.id}/complete",
                        {"reason": reason, "promised_date": (today - timedelta(days=1)).isoformat()}, headers=ZH)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(text, "promised_date") == "承诺付款日期不能早于今天。"
    assert reason in text and _kept(text, "promised_date", (today - timedelta(days=1)).isoformat())
    assert web_engine.tasks(instance_id=task.instance_id)[0].status == "open"
    response = rep.post(f"/tasks/{task.id}/complete", {"reason": reason, "promised_date": today.isoformat()})
    assert response.status_code == 302


def test_a_script_error_after_a_task_reshows_its_form(browser, web_engine):
    instance = web_engine.start("checked_step", {}, "rep")
    [task] = web_engine.tasks(instance_id=instance.id)
    rep = browser("rep")
    rep.post(f"/tasks/{task.id}/claim")
    response = rep.post(f"/tasks/{task.id}/complete", {"quantity": "12", "remark": "加急"}, headers=EN)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _top_error(text) == ("Could not submit: the process step “Check the quantity” reported: "
                                "quantity over the contract, got 12")
    assert _kept(text, "quantity", "12") and _kept(text, "remark", "加急")
    assert 'action="/tasks/' + task.id + '/complete"' in text
    assert web_engine.tasks(instance_id=instance.id)[0].status == "open"
    assert rep.post(f"/tasks/{task.id}/complete", {"quantity": "3"}).status_code == 302



def test_a_limit_hit_after_a_task_reshows_its_form(browser, web_engine, monkeypatch):
    instance = web_engine.start("checked_step", {}, "rep")
    [task] = web_engine.tasks(instance_id=instance.id)

    def over_the_limit(*args, **kwargs):
        raise LimitExceeded("limit exceeded: the script ran longer than 2 s", task="cs_check (Check the quantity)")

    monkeypatch.setattr("web.tasks.views.task_service.complete_task", over_the_limit)
    rep = browser("rep")
    rep.post(f"/tasks/{task.id}/claim")
    response = rep.post(f"/tasks/{task.id}/complete", {"quantity": "3", "remark": "x"}, headers=EN)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _top_error(text) == ("Could not submit: the process step “Check the quantity” went past a limit of the "
                                "system: limit exceeded: the script ran longer than 2 s")
    assert _kept(text, "quantity", "3")


def test_the_api_gets_the_rules_as_field_errors(api_as, web_engine):
    body = {"process_key": "receivables_collection", "business_key": "INV-9",
            "data": {k: v.replace(",", "") for k, v in dict(INVOICE, amount="-5", due_date="2026-01-01").items()
                     if k != "business_key"}}
    response = api_as("fin").post("/instances", body)
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"] == {"amount": "The invoice amount must be greater than 0.",
                                 "due_date": "The due date cannot be before the invoice date."}
    assert web_engine.instances() == []


def test_rules_go_to_the_browser_as_data(browser):
    text = browser("fin").get("/start/receivables_collection", headers=ZH).get_data(as_text=True)
    assert '<option value="CNY" selected>' in text  # the schema's default on a fresh form
    rules = re.search(r'id="f-due_date"[^>]*data-rules="([^"]+)"', text)
    assert rules is not None
    assert json.loads(unescape(rules.group(1))) == [
        {"op": "ge", "kind": "date", "message": "到期日不能早于开票日期。", "other": "f-invoice_date"}]
    assert '<script src="/static/forms.js" defer></script>' in text and "<script>" not in text


def test_relative_rules_use_the_deployments_date_from_the_clock(browser, web_engine, clock):
    task = _chase_task(web_engine, clock)
    rep = browser("rep")
    rep.post(f"/tasks/{task.id}/claim")
    text = rep.get(f"/tasks/{task.id}").get_data(as_text=True)
    rules = json.loads(unescape(re.search(r'id="f-promised_date"[^>]*data-rules="([^"]+)"', text).group(1)))
    assert rules[0]["value"] == "2026-02-07"  # 2026-02-07 09:00 in Shanghai
    clock.set(datetime(2026, 2, 7, 16, 30, tzinfo=timezone.utc))  # 00:30 on the 8th in Shanghai
    text = rep.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert json.loads(unescape(re.search(r'data-rules="([^"]+)"', text).group(1)))[0]["value"] == "2026-02-08"
