"""In a real browser (zh-CN), a designer relabels a field of the shipped receivables chase form and deploys it.

A receivable is running on version 1 with its chase task open. The designer opens the modeler, follows "edit
forms" to the chase form, changes the label of the reason field in Chinese and English, sees the preview (drawn
by the server with the task page's own code) follow in both languages, tries sample input, saves into the draft and
deploys from the modeler. A receivable started afterwards (version 2) shows the new label on its chase task; the
running one keeps the label of its own version.
Screenshots: form_editor_zh.png, form_editor_en_preview_zh.png, form_editor_rule_zh.png, form_editor_json_zh.png,
form_editor_task_v2_zh.png, form_editor_task_v1_zh.png.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from engine.cli.serve import DEMO_PASSWORD
from engine.config import PROJECT_ROOT
from engine.passwords import hash_password
from engine.services.definitions import list_definitions
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
PROCESS = "receivables_collection"
SHIPPED = PROJECT_ROOT / "department"
MODELER = PROJECT_ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-modeler.development.js"
NEW_ZH, NEW_EN = "客户拖欠的原因", "Why the customer pays late"
OLD_ZH = "逾期原因"


@pytest.fixture(scope="module", autouse=True)
def _people(live_server):
    hashed = hash_password(DEMO_PASSWORD)
    live_server.engine.add_user("designer", ["designer"], password_hash=hashed)
    live_server.engine.add_user("fin", ["finance"], password_hash=hashed)


def _versions(engine):
    with engine.transaction() as session:
        return {d.version: d for d in list_definitions(session) if d.process_key == PROCESS}


def _page(chromium, base, user):
    context = chromium.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, user)
    return context, page, errors


def _receivable(live_server, invoice_no: str):
    """Start a receivable whose due date is past; return it and its open chase task."""
    engine = live_server.engine
    due_date = (live_server.clock.now() - timedelta(days=10)).date().isoformat()
    instance = engine.start(PROCESS, {"customer": "华东冷链物流", "invoice_no": invoice_no, "amount": "12800.00",
                                      "currency": "CNY", "invoice_date": "2026-01-05", "due_date": due_date},
                            actor="fin", business_key=invoice_no)
    [chase] = [t for t in engine.tasks(instance_id=instance.id) if t.element_id == "chase_payment"]
    return instance, chase


def _preview_label(page) -> str:
    return page.locator('#form-preview label[for="f-reason"]').inner_text()


def test_a_designer_relabels_the_chase_form_and_only_the_new_version_shows_it(live_server, chromium, screenshots):
    if not MODELER.is_file():
        pytest.skip(f"the browser modeler's npm packages are not installed ({MODELER} is missing): run `make modeler`")
    from playwright.sync_api import expect

    engine, base = live_server.engine, live_server.url
    for form in (SHIPPED / "forms").glob("*.json"):  # as `make demo` deploys the shipped process
        shutil.copy(form, engine.config.forms_dir / form.name)
    engine.deploy([SHIPPED / "processes" / f"{PROCESS}.bpmn", SHIPPED / "processes" / f"{PROCESS}.i18n.json"],
                  actor="designer")
    old_instance, old_chase = _receivable(live_server, "INV-2026-201")
    v1 = _versions(engine)[1]

    context, page, errors = _page(chromium, base, "designer")
    page.goto(f"{base}/definitions/{v1.id}/modeler")
    page.wait_for_selector('#modeler-canvas[data-ready="true"]')
    page.locator("#edit-forms").click()
    page.locator('.form-list a[data-form-key="chase_payment"]').click()
    page.wait_for_selector('#form-preview label[for="f-reason"]')
    assert OLD_ZH in _preview_label(page)
    assert page.locator("#title-zh").input_value() == "催收"

    # Relabel the reason field in both languages: the preview follows in the chosen language.
    card = page.locator('.field-card[data-field="reason"]')
    card.locator('[data-role="label-zh-CN"]').fill(NEW_ZH)
    expect(page.locator('#form-preview label[for="f-reason"]')).to_contain_text(NEW_ZH)
    card.locator('[data-role="label-en"]').fill(NEW_EN)
    expect(page.locator("#form-status")).to_have_class("muted status-dirty")
    page.screenshot(path=str(screenshots / "form_editor_zh.png"), full_page=True)
    page.locator('[data-lang="en"]').click()
    expect(page.locator('#form-preview label[for="f-reason"]')).to_contain_text(NEW_EN)
    page.screenshot(path=str(screenshots / "form_editor_en_preview_zh.png"), full_page=True)
    page.locator('[data-lang="zh-CN"]').click()
    expect(page.locator('#form-preview label[for="f-reason"]')).to_contain_text(NEW_ZH)

    # The shipped rule (promised date not before today) is shown as a rule; a sample date in the past is refused by
    # the engine's own check, with the rule's Chinese message under the field.
    rule = page.locator('.rule-card[data-rule="0"]')
    assert rule.locator('[data-role="rule-field"]').input_value() == "promised_date"
    assert rule.locator('[data-role="rule-against"]').input_value() == "today"
    page.locator("#f-reason").fill("客户资金周转困难")
    page.locator("#f-promised_date").fill("2020-01-01")
    page.locator('#form-preview [data-action="check-sample"]').click()
    expect(page.locator("#f-promised_date-error")).to_contain_text("承诺付款日期不能早于今天")
    page.screenshot(path=str(screenshots / "form_editor_rule_zh.png"), full_page=True)

    # A rule comparing with a value not given yet: the engine's problem shows on that rule; a date fixes it.
    page.locator('[data-action="add-rule"]').click()
    added = page.locator('.rule-card[data-rule="1"]')
    added.locator('[data-role="rule-field"]').select_option("promised_date")
    added.locator('[data-role="rule-against"]').select_option("value")
    expect(added.locator(".card-problems li.problem")).to_have_count(1)
    assert page.locator(".rule-card.has-problem").count() == 1
    added.locator('[data-role="rule-value"]').fill("2026-03-01")
    expect(page.locator(".card-problems li.problem")).to_have_count(0)
    added.locator(".rule-line button.icon").click()
    expect(page.locator(".rule-card")).to_have_count(1)

    # The JSON view shows the form as stored.
    page.locator('[data-view="json"]').click()
    assert NEW_EN in page.locator("#json-ui").input_value()
    page.screenshot(path=str(screenshots / "form_editor_json_zh.png"), full_page=True)
    page.locator('[data-view="design"]').click()

    page.locator('[data-action="save-form"]').click()
    expect(page.locator("#form-status")).to_have_class("muted status-ok")

    # Deploy from the modeler: BPMN and forms become version 2 together.
    page.goto(f"{base}/definitions/{v1.id}/modeler")
    page.wait_for_selector('#modeler-canvas[data-ready="true"]')
    page.locator('[data-action="deploy"]').click()
    page.wait_for_selector("#deployed-note")
    assert "版本 2" in page.locator("#deployed-note").inner_text() or "version 2" in page.locator("#deployed-note").inner_text()
    assert sorted(_versions(engine)) == [1, 2]
    assert errors == []
    context.close()

    new_instance, new_chase = _receivable(live_server, "INV-2026-202")
    assert new_instance.definition_id == _versions(engine)[2].id and old_instance.definition_id == v1.id
    context, page, errors = _page(chromium, base, "rep")
    page.goto(f"{base}/tasks/{new_chase.id}")
    assert NEW_ZH in page.locator('label[for="f-reason"]').inner_text()
    page.screenshot(path=str(screenshots / "form_editor_task_v2_zh.png"), full_page=True)
    page.goto(f"{base}/tasks/{old_chase.id}")
    label = page.locator('label[for="f-reason"]').inner_text()
    assert OLD_ZH in label and NEW_ZH not in label
    page.screenshot(path=str(screenshots / "form_editor_task_v1_zh.png"), full_page=True)
    assert errors == []
    context.close()

    # In English the new version's task reads the English label.
    english = chromium.new_context(viewport={"width": 1500, "height": 1000}, locale="en-US")
    page = english.new_page()
    sign_in(page, base, "rep2")
    page.goto(f"{base}/tasks/{new_chase.id}")
    assert NEW_EN in page.locator('label[for="f-reason"]').inner_text()
    english.close()


def test_a_designer_writes_a_new_form_without_typing_json(live_server, chromium, screenshots):
    """Fields, types, options with both languages, a default, an amount with its currency and a rule — all by
    clicking and typing into the designer view; the saved draft holds the JSON Schema and UI hints the engine reads."""
    if not MODELER.is_file():
        pytest.skip(f"the browser modeler's npm packages are not installed ({MODELER} is missing): run `make modeler`")
    from playwright.sync_api import expect

    from engine.services.drafts import load_draft

    engine, base = live_server.engine, live_server.url
    if PROCESS not in {d.process_key for d in _versions(engine).values()}:
        engine.deploy([SHIPPED / "processes" / f"{PROCESS}.bpmn"], actor="designer")
    latest = _versions(engine)[max(_versions(engine))]
    context, page, errors = _page(chromium, base, "designer")
    page.goto(f"{base}/definitions/{latest.id}/forms")
    page.locator("#new-form-key").fill("chase_visit")
    page.locator("#new-form button[type=submit]").click()
    page.wait_for_url("**/forms/chase_visit")
    page.locator("#title-zh").fill("上门催收记录")
    page.locator("#title-en").fill("Collection visit")

    def add_field(name: str, type_: str, zh: str, en: str):
        page.locator('[data-action="add-field"]').click()
        card = page.locator('.field-card[data-field="new_field"]')
        card.locator('[data-role="name"]').fill(name)
        card.locator('[data-role="name"]').press("Tab")
        card = page.locator(f'.field-card[data-field="{name}"]')
        card.locator('[data-role="type"]').select_option(type_)
        card.locator('[data-role="label-zh-CN"]').fill(zh)
        card.locator('[data-role="label-en"]').fill(en)
        return card

    add_field("visit_date", "date", "拜访日期", "Visit date").locator('[data-role="required"]').check()
    outcome = add_field("outcome", "enum", "拜访结果", "Outcome")
    for index, (value, zh, en) in enumerate([("reached", "已见到负责人", "Met the person in charge"),
                                             ("no_answer", "无人接待", "Nobody there")]):
        if index:
            outcome.locator('[data-action="add-option"]').click()
        outcome.locator('[data-role="option-value"]').nth(index).fill(value)
        outcome.locator('[data-role="option-value"]').nth(index).press("Tab")
        outcome.locator('[data-role="option-zh-CN"]').nth(index).fill(zh)
        outcome.locator('[data-role="option-en"]').nth(index).fill(en)
    outcome.locator('[data-role="default"]').select_option("reached")
    add_field("collected", "money", "当场收款", "Collected on site").locator('[data-action="add-currency"]').click()
    page.locator('[data-action="add-rule"]').click()
    rule = page.locator('.rule-card[data-rule="0"]')
    assert rule.locator('[data-role="rule-field"]').input_value() == "visit_date"
    rule.locator('[data-role="rule-op"]').select_option("not_after")

    expect(page.locator('#form-preview label[for="f-outcome"]')).to_contain_text("拜访结果")
    expect(page.locator("#form-preview #f-outcome option:checked")).to_have_text("已见到负责人")
    expect(page.locator("#form-preview #f-currency option:checked")).to_have_text("人民币")
    expect(page.locator("#form-problems li.problem")).to_have_count(0)
    page.locator('[data-action="save-form"]').click()
    expect(page.locator("#form-status")).to_have_class("muted status-ok")
    expect(page.locator('.form-list li.current a[data-form-key="chase_visit"]')).to_contain_text("上门催收记录")
    page.screenshot(path=str(screenshots / "form_editor_new_form_zh.png"), full_page=True)
    assert errors == []
    context.close()

    with engine.transaction() as session:
        form = load_draft(session, "designer", PROCESS).forms["chase_visit"]
    schema, ui = form["schema"], form["ui"]
    assert schema["properties"] == {
        "visit_date": {"type": "string", "format": "date"},
        "outcome": {"type": "string", "enum": ["reached", "no_answer"], "default": "reached"},
        "collected": {"type": "string", "format": "money"},
        "currency": {"type": "string", "enum": ["CNY", "USD", "EUR", "HKD"], "default": "CNY"}}
    assert schema["required"] == ["visit_date"]
    assert schema["x-rules"] == [{"field": "visit_date", "not_after": "today"}]
    assert ui["order"] == ["visit_date", "outcome", "collected", "currency"]
    assert ui["title"] == {"zh-CN": "上门催收记录", "en": "Collection visit"}
    assert ui["fields"]["outcome"]["options"]["no_answer"] == {"zh-CN": "无人接待", "en": "Nobody there"}
    assert ui["fields"]["collected"]["label"] == {"zh-CN": "当场收款", "en": "Collected on site"}
