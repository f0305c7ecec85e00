"""In a real browser (zh-CN), a designer changes the shipped receivables collection with nothing but the browser.

A receivable is running: its chase task is open and the chase's deadline (boundary timer `chase_payment_overdue`,
2 working days after the debt became overdue) is waiting. The designer opens version 1 in the modeler, makes
the deadline 3 working days in the properties panel, breaks the escalation condition and sees the validation
marker on that flow (checked as they edit), fixes it, saves the draft, relabels the chase form's reason field in
the form editor (into the same draft), deploys version 2 from the modeler, dry-runs and migrates the running
receivable on the migration page, and finds the new deadline on the instance (its timer now falls 3 working days
after the debt became overdue) and the new label on its chase task, which kept its id.
A second test edits every field of the properties panel on the shipped monthly settlement and checks the saved
BPMN carries each one as the engine reads it.
Screenshots: studio_modeler_zh.png, studio_timer_zh.png, studio_problem_zh.png, studio_form_zh.png,
studio_deployed_zh.png, studio_dry_run_zh.png, studio_migrated_zh.png, studio_instance_zh.png, studio_task_zh.png,
studio_panel_user_task_zh.png, studio_panel_timer_zh.png.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from engine.cli.serve import DEMO_PASSWORD
from engine.config import PROJECT_ROOT
from engine.definitions.support import BPMN, CAMUNDA
from engine.passwords import hash_password
from engine.services.definitions import definition_source, list_definitions
from engine.services.drafts import check_draft, load_draft
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
PROCESS = "receivables_collection"
SHIPPED = PROJECT_ROOT / "department"
MODELER = PROJECT_ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-modeler.development.js"
NEW_TIMER = "add_working_days(overdue_since, 3)"
OLD_LABEL, NEW_LABEL_ZH, NEW_LABEL_EN = "逾期原因", "客户拖欠的原因", "Why the customer pays late"


def _versions(engine):
    with engine.transaction() as session:
        return {d.version: d for d in list_definitions(session) if d.process_key == PROCESS}


def _select(page, element_id: str) -> None:
    page.locator(f'.djs-element[data-element-id="{element_id}"]').first.click()
    page.wait_for_selector(f'#modeler-panel .prop-id code:text-is("{element_id}")')


def _edit(page, field: str, value: str) -> None:
    page.locator(f"#prop-{field}").fill(value)
    page.locator(f"#prop-{field}").press("Tab")


@pytest.fixture(scope="module", autouse=True)
def _people(live_server):
    hashed = hash_password(DEMO_PASSWORD)
    live_server.engine.add_user("designer", ["designer"], password_hash=hashed)
    live_server.engine.add_user("fin", ["finance"], password_hash=hashed)


def _page(chromium, base, user):
    context = chromium.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, user)
    return context, page, errors


def _deploy_shipped(engine, process_key: str) -> None:
    """Deploy a shipped process as `make demo` does, with the department's forms beside it."""
    for form in (SHIPPED / "forms").glob("*.json"):
        shutil.copy(form, engine.config.forms_dir / form.name)
    engine.deploy([SHIPPED / "processes" / f"{process_key}.bpmn"], actor="designer")


def _running_receivable(live_server):
    """Deploy the shipped process with its forms and start a receivable whose due date is past."""
    engine = live_server.engine
    _deploy_shipped(engine, PROCESS)
    overdue_since = live_server.clock.now()
    due_date = (overdue_since - timedelta(days=10)).date().isoformat()
    instance = engine.start(PROCESS, {"customer": "华东冷链物流", "invoice_no": "INV-2026-118", "amount": "12800.00",
                                      "currency": "CNY", "invoice_date": "2026-01-05", "due_date": due_date},
                            actor="fin", business_key="INV-2026-118")
    [chase] = [t for t in engine.tasks(instance_id=instance.id) if t.element_id == "chase_payment"]
    [deadline] = [t for t in engine.timers(instance_id=instance.id) if t.element_id == "chase_payment_overdue"]
    calendar = engine.business_calendar()
    assert deadline.due_at == calendar.add_working_days(overdue_since, 2)
    return instance, chase, overdue_since


def test_a_designer_changes_the_receivables_process_and_migrates_a_running_instance(live_server, chromium,
                                                                                   screenshots):
    if not MODELER.is_file():
        pytest.skip(f"the browser modeler's npm packages are not installed ({MODELER} is missing): run `make modeler`")
    from playwright.sync_api import expect

    engine, base = live_server.engine, live_server.url
    instance, chase, overdue_since = _running_receivable(live_server)
    v1 = _versions(engine)[1]

    # The designer opens version 1 from the definitions page.
    context, page, errors = _page(chromium, base, "designer")
    page.goto(f"{base}/definitions/{v1.id}")
    page.locator("#open-modeler").click()
    page.wait_for_selector('#modeler-canvas[data-ready="true"]')
    assert "应收账款催收" in page.locator("h1").inner_text()
    page.screenshot(path=str(screenshots / "studio_modeler_zh.png"), full_page=True)

    # The chase deadline: a boundary timer with its SLA; the panel offers the business-calendar helpers.
    _select(page, "chase_payment_overdue")
    assert page.locator("#prop-timerKind").input_value() == "timeDate"
    assert page.locator("#prop-timer").input_value() == "collection_due"
    assert page.locator("#prop-sla").input_value() == "chase_payment"
    helpers = page.locator("#modeler-timer-examples option").evaluate_all("(os) => os.map((o) => o.value)")
    assert any(h.startswith("add_working_days(") for h in helpers), helpers
    _edit(page, "name", "3 个工作日")
    _edit(page, "timer", NEW_TIMER)
    page.screenshot(path=str(screenshots / "studio_timer_zh.png"), full_page=True)

    # A broken escalation condition is marked on its flow; the list item selects it; fixed, the draft is valid.
    page.locator('.djs-element[data-element-id="f_gw_head_label"]').click()
    page.wait_for_selector("#modeler-panel #prop-condition")
    assert page.locator("#prop-condition").input_value() == "escalation_level == 1"
    _edit(page, "condition", "escalation_level = = 1")
    # Checked as the designer edits: the marker comes without pressing Validate.
    page.wait_for_selector('.djs-element[data-element-id="f_gw_head"].has-problem')
    problem = page.locator('#modeler-results .problems li[data-element="f_gw_head"]')
    assert "条件" in problem.inner_text()
    page.screenshot(path=str(screenshots / "studio_problem_zh.png"), full_page=True)
    marked = page.locator(".has-problem").evaluate_all("(ns) => ns.map((n) => n.getAttribute('data-element-id'))")
    assert set(marked) == {"f_gw_head"}, (marked, page.locator("#modeler-results").inner_text())
    problem.click()
    page.wait_for_selector("#modeler-panel #prop-condition")
    _edit(page, "condition", "escalation_level == 1")
    expect(page.locator(".has-problem")).to_have_count(0)  # the live check clears the marker
    page.locator('[data-action="validate"]').click()
    page.wait_for_selector("#modeler-results .flash.success")
    assert page.locator(".has-problem").count() == 0

    # Save, then relabel the chase form's reason field in the form editor (saved into the same draft).
    page.locator('[data-action="save"]').click()
    expect(page.locator("#modeler-status")).to_contain_text("草稿")
    page.locator("#edit-forms").click()
    page.locator('.form-list a[data-form-key="chase_payment"]').click()
    page.wait_for_selector('#form-preview label[for="f-reason"]')
    assert OLD_LABEL in page.locator('#form-preview label[for="f-reason"]').inner_text()
    card = page.locator('.field-card[data-field="reason"]')
    card.locator('[data-role="label-zh-CN"]').fill(NEW_LABEL_ZH)
    card.locator('[data-role="label-en"]').fill(NEW_LABEL_EN)
    expect(page.locator('#form-preview label[for="f-reason"]')).to_contain_text(NEW_LABEL_ZH)
    page.locator('[data-action="save-form"]').click()
    expect(page.locator("#form-status")).to_have_class("muted status-ok")
    page.screenshot(path=str(screenshots / "studio_form_zh.png"), full_page=True)

    # Back in the modeler the draft keeps the new deadline; compare (the timer is listed as changed), deploy v2.
    page.locator('.crumbs a[href$="/modeler"]').click()
    page.wait_for_selector('#modeler-canvas[data-ready="true"]')
    _select(page, "chase_payment_overdue")
    assert page.locator("#prop-timer").input_value() == NEW_TIMER
    page.locator('[data-action="diff"]').click()
    page.wait_for_selector('#modeler-results .diff-changed li[data-element="chase_payment_overdue"]')
    assert page.locator('#modeler-results li[data-element="f_gw_head"]').count() == 0
    page.locator('[data-action="deploy"]').click()
    page.wait_for_selector("#deployed-note")
    assert "版本 2" in page.locator("#deployed-note").inner_text()
    page.screenshot(path=str(screenshots / "studio_deployed_zh.png"), full_page=True)
    v2 = _versions(engine)[2]
    with engine.transaction() as session:
        source = definition_source(session, v2.id)
    assert NEW_TIMER in source and "escalation_level == 1" in source and v2.deployed_by == "designer"
    assert engine.form(v2.id, "chase_payment").ui["fields"]["reason"]["label"]["zh-CN"] == NEW_LABEL_ZH

    # The migration page: the dry run lists the receivable as able to move; confirming moves it.
    page.goto(f"{base}/definitions/")
    page.locator(f'a[href="/definitions/processes/{PROCESS}/migrate"]').click()
    assert page.locator("#from").input_value() == "1" and page.locator("#to").input_value() == "2"
    page.locator("form.migration-plan button[type=submit]").click()
    row = page.locator(f'table.migration-result tr:has(a[href="/instances/{instance.id}"])')
    expect(row).to_have_class("ok")
    assert "催收付款" in row.inner_text()
    page.screenshot(path=str(screenshots / "studio_dry_run_zh.png"), full_page=True)
    assert engine.instance(instance.id).version == 1, "the dry run changed nothing"
    page.locator("form.confirm-migration button[type=submit]").click()
    page.wait_for_selector("table.migration-result")
    assert re.search("已迁移|migrated", page.locator("main").inner_text())
    page.screenshot(path=str(screenshots / "studio_migrated_zh.png"), full_page=True)
    assert engine.instance(instance.id).version == 2
    assert errors == []
    context.close()

    # The receivable's chase task kept its id; its deadline is 3 working days after the debt became overdue.
    due = engine.business_calendar().add_working_days(overdue_since, 3)
    [deadline] = [t for t in engine.timers(instance_id=instance.id) if t.element_id == "chase_payment_overdue"]
    assert deadline.due_at == due
    assert chase.id in {t.id for t in engine.tasks(instance_id=instance.id)}
    context, page, errors = _page(chromium, base, "head")
    page.goto(f"{base}/instances/{instance.id}")
    timers = page.locator("main").inner_text()
    shown = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert "3 个工作日" in timers and shown in timers, timers
    page.screenshot(path=str(screenshots / "studio_instance_zh.png"), full_page=True)
    assert errors == []
    context.close()

    # The rep's chase task, same id, now reads the form of version 2: the new label.
    context, page, errors = _page(chromium, base, "rep")
    page.goto(f"{base}/tasks/{chase.id}")
    label = page.locator('label[for="f-reason"]').inner_text()
    assert NEW_LABEL_ZH in label and OLD_LABEL not in label, label
    diagram = re.sub(r"\s", "", page.locator(".bpmn-diagram").first.text_content())
    assert "3个工作日" in diagram  # the renamed deadline on the task's diagram
    page.screenshot(path=str(screenshots / "studio_task_zh.png"), full_page=True)
    assert errors == []
    context.close()


def test_every_panel_field_reaches_the_saved_bpmn_as_the_engine_reads_it(live_server, chromium, screenshots):
    """Round trip on the shipped monthly settlement: panel → saved draft → the attribute the engine reads → valid."""
    if not MODELER.is_file():
        pytest.skip(f"the browser modeler's npm packages are not installed ({MODELER} is missing): run `make modeler`")
    from playwright.sync_api import expect

    engine, base = live_server.engine, live_server.url
    _deploy_shipped(engine, "monthly_settlement")
    with engine.transaction() as session:
        v1 = next(d for d in list_definitions(session) if d.process_key == "monthly_settlement")
    context, page, errors = _page(chromium, base, "designer")
    page.goto(f"{base}/definitions/{v1.id}/modeler")
    page.wait_for_selector('#modeler-canvas[data-ready="true"]')

    _select(page, "prepare_sheet")  # a user task: people, form, priority, dates
    page.locator('#prop-candidateGroups input[value="finance"]').check()
    _edit(page, "assignee", "rep2")
    page.locator("#prop-formKey").select_option("settlement_invoice")
    _edit(page, "priority", "75")
    page.locator("#prop-dueDate-helpers summary").click()
    page.locator('#prop-dueDate-helpers .chip:text-is("add_working_days(now(), 2)")').click()
    page.locator("#prop-followUpDate-helpers summary").click()
    page.locator('#prop-followUpDate-helpers .chip:text-is("next_working_time(now(), \\"09:00\\")")').click()
    assert page.locator("#prop-followUpDate").input_value() == 'next_working_time(now(), "09:00")'
    page.screenshot(path=str(screenshots / "studio_panel_user_task_zh.png"), full_page=True)

    _select(page, "sheet_late")  # a boundary timer with its SLA: a cycle helper, then back to a date helper
    page.locator("#prop-timerKind").select_option("timeCycle")
    page.locator("#prop-timer-helpers summary").click()
    page.wait_for_selector('#prop-timer-helpers .chip:text-is("every_working_day(\\"17:30\\")")')
    page.locator("#prop-timerKind").select_option("timeDate")
    page.locator("#prop-timer-helpers summary").click()
    page.locator('#prop-timer-helpers .chip:text-is("add_working_hours(now(), 4)")').click()
    _edit(page, "sla", "settlement_sheet")
    page.screenshot(path=str(screenshots / "studio_panel_timer_zh.png"), full_page=True)

    _select(page, "open_receivable")  # an external task
    _edit(page, "topic", "register.open_receivable_v2")
    _select(page, "settlement_window")  # a script
    script = page.locator("#prop-script").input_value()
    _edit(page, "script", script + "\nsettlement_note = \"月结\"")

    page.locator('[data-action="validate"]').click()
    page.wait_for_selector("#modeler-results .flash.success")
    page.locator('[data-action="save"]').click()
    expect(page.locator("#modeler-status")).to_contain_text("草稿")
    assert errors == []
    context.close()

    with engine.transaction() as session:
        saved = load_draft(session, "designer", "monthly_settlement").bpmn
    tree = etree.fromstring(saved.encode("utf-8"))

    def one(element_id):
        [node] = tree.xpath(f"//*[@id='{element_id}']")
        return node

    task = one("prepare_sheet")
    assert "finance" in task.get(f"{{{CAMUNDA}}}candidateGroups").split(",")
    assert task.get(f"{{{CAMUNDA}}}assignee") == "rep2"
    assert task.get(f"{{{CAMUNDA}}}formKey") == "settlement_invoice"
    assert task.get(f"{{{CAMUNDA}}}priority") == "75"
    assert task.get(f"{{{CAMUNDA}}}dueDate") == "add_working_days(now(), 2)"
    assert task.get(f"{{{CAMUNDA}}}followUpDate") == 'next_working_time(now(), "09:00")'
    timer = one("sheet_late").find(f"{{{BPMN}}}timerEventDefinition")
    assert timer.findtext(f"{{{BPMN}}}timeDate") == "add_working_hours(now(), 4)"
    assert timer.find(f"{{{BPMN}}}timeCycle") is None
    assert one("sheet_late").xpath("string(.//*[local-name()='property'][@name='sla']/@value)") == "settlement_sheet"
    service = one("open_receivable")
    assert service.get(f"{{{CAMUNDA}}}type") == "external"
    assert service.get(f"{{{CAMUNDA}}}topic") == "register.open_receivable_v2"
    assert one("settlement_window").findtext(f"{{{BPMN}}}script").endswith('settlement_note = "月结"')
    with engine.transaction() as session:
        problems, _warnings = check_draft(session, "monthly_settlement", saved, "designer")
    assert problems == []
