"""In a real browser (zh-CN): a designer opens a deployed process in the browser modeler, changes a timer's duration
and a task's name in the properties panel, breaks a gateway condition (validate marks that flow on the diagram and
lists it), fixes it, compares with the deployed version, and deploys version 2.
Screenshots: modeler_open_zh.png, modeler_problem_zh.png, modeler_diff_zh.png, modeler_deployed_zh.png,
modeler_version_diff_zh.png."""

from __future__ import annotations

import re

import pytest

from engine.cli.serve import DEMO_PASSWORD
from engine.config import PROJECT_ROOT
from engine.passwords import hash_password
from engine.services.definitions import definition_source, list_definitions
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
MODELER = PROJECT_ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-modeler.development.js"


def _select(page, element_id: str) -> None:
    page.locator(f'.djs-element[data-element-id="{element_id}"]').first.click()
    page.wait_for_selector("#modeler-panel #prop-name")


def _versions(engine):
    with engine.transaction() as session:
        return {d.version: d for d in list_definitions(session) if d.process_key == "complaint"}


def test_a_designer_edits_validates_and_deploys_in_the_browser(live_server, chromium, screenshots):
    if not MODELER.is_file():
        pytest.skip(f"the browser modeler's npm packages are not installed ({MODELER} is missing): run `make modeler`")
    from playwright.sync_api import expect

    engine, base = live_server.engine, live_server.url
    engine.add_user("designer", ["designer"], password_hash=hash_password(DEMO_PASSWORD))
    v1 = _versions(engine)[1]
    context = chromium.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, "designer")
    page.goto(f"{base}/definitions/{v1.id}")
    page.locator("#open-modeler").click()
    page.wait_for_selector('#modeler-canvas[data-ready="true"]')
    assert re.match("(在浏览器中编辑|Edit in the browser)", page.locator("h1").inner_text())
    page.screenshot(path=str(screenshots / "modeler_open_zh.png"), full_page=True)

    _select(page, "handle_late")
    assert page.locator("#prop-timer").input_value() == "PT4H"
    page.locator("#prop-timer").fill("PT6H")
    page.locator("#prop-timer").press("Tab")
    _select(page, "review")
    assert page.locator("#prop-formKey").input_value() == "review_complaint"
    page.locator("#prop-name").fill("复核投诉（加急）")
    page.locator("#prop-name").press("Tab")
    page.locator('.djs-element[data-element-id="f_gw_review_label"]').click()
    page.wait_for_selector("#modeler-panel #prop-condition")
    assert page.locator("#prop-condition").input_value() == "escalate == True"
    page.locator("#prop-condition").fill("escalate ==")
    page.locator("#prop-condition").press("Tab")

    page.locator('[data-action="validate"]').click()
    page.wait_for_selector('.djs-element[data-element-id="f_gw_review"].has-problem')
    problem = page.locator('#modeler-results li[data-element="f_gw_review"]')
    assert "f_gw_review" in problem.inner_text() and "条件" in problem.inner_text()
    assert page.locator(".djs-overlay .problem-badge").count() == 1
    page.screenshot(path=str(screenshots / "modeler_problem_zh.png"), full_page=True)

    problem.click()  # selects the offending flow
    page.wait_for_selector("#modeler-panel #prop-condition")
    page.locator("#prop-condition").fill("escalate == True")
    page.locator("#prop-condition").press("Tab")
    page.locator('[data-action="validate"]').click()
    page.wait_for_selector("#modeler-results .flash.success")
    assert page.locator(".has-problem").count() == 0

    page.locator('[data-action="save"]').click()
    expect(page.locator("#modeler-status")).to_contain_text(re.compile("草稿|Draft"))  # no wait_for_function: CSP
    page.locator('[data-action="diff"]').click()
    page.wait_for_selector('#modeler-results .diff-changed li[data-element="review"]')
    assert page.locator('.djs-element[data-element-id="handle_late"].diff-changed').count() == 1
    assert re.search("计时器时长|timer duration", page.locator('#modeler-results li[data-element="handle_late"]').inner_text())
    page.screenshot(path=str(screenshots / "modeler_diff_zh.png"), full_page=True)

    page.locator('[data-action="deploy"]').click()
    page.wait_for_selector("#deployed-note")
    assert re.search("(版本 2|version 2)", page.locator("#deployed-note").inner_text())
    page.screenshot(path=str(screenshots / "modeler_deployed_zh.png"), full_page=True)
    versions = _versions(engine)
    assert set(versions) == {1, 2} and versions[2].deployed_by == "designer"
    with engine.transaction() as session:
        source = definition_source(session, versions[2].id)
    assert "PT6H" in source and "复核投诉（加急）" in source and "escalate == True" in source

    page.locator("#deployed-note a").click()
    page.wait_for_url(f"{base}/definitions/{versions[2].id}")
    page.locator("#version-diff").click()
    page.wait_for_selector('li[data-element="review"]')
    page.screenshot(path=str(screenshots / "modeler_version_diff_zh.png"), full_page=True)
    assert errors == []
    context.close()


def test_a_designer_opens_and_validates_a_decision_table(live_server, chromium, screenshots):
    if not (PROJECT_ROOT / "node_modules" / "dmn-js" / "dist" / "dmn-modeler.development.js").is_file():
        pytest.skip("the decision editor's npm package dmn-js is not installed: run `make modeler`")
    engine, base = live_server.engine, live_server.url
    engine.add_user("designer2", ["designer"], password_hash=hash_password(DEMO_PASSWORD))
    engine.deploy([PROJECT_ROOT / "department" / "processes" / "responsibility_matrix.dmn"], actor="designer")
    context = chromium.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, "designer2")
    page.goto(f"{base}/definitions/")
    page.locator('#decision-files a[href$="/responsibility_matrix.dmn/modeler"]').click()
    page.wait_for_selector('#dmn-canvas[data-ready="true"] .tjs-table')
    # dmn-js's own labels come from the page's catalogue (each dmn-js view gets the translate module).
    header = page.locator("#dmn-canvas .tjs-table thead").inner_text()
    assert "当" in header and "则" in header and "Then" not in header and "When" not in header, header
    assert "命中策略" in page.locator("#dmn-canvas .hit-policy").inner_text()
    assert "View DRD" not in page.locator("#dmn-canvas").inner_text()
    # A broken cell is marked where it is and listed; fixed, the table is valid.
    cell = page.locator('#dmn-canvas td.input-cell[data-row-id="rule_damage"]')
    cell.click()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.locator("#dmn-canvas h3, #dmn-canvas .decision-table-name").first.click()
    page.locator('[data-action="validate"]').click()
    page.wait_for_selector('#dmn-canvas td.has-problem[data-row-id="rule_damage"]')
    assert "rule_damage" in page.locator("#modeler-results .problems li").inner_text()
    page.screenshot(path=str(screenshots / "modeler_decision_problem_zh.png"), full_page=True)
    cell.click()
    page.keyboard.press("End")
    page.keyboard.type('"')
    page.locator("#dmn-canvas .decision-table-name").first.click()
    page.locator('[data-action="validate"]').click()
    page.wait_for_selector("#modeler-results .flash.success")
    assert page.locator("#dmn-canvas .has-problem").count() == 0
    page.screenshot(path=str(screenshots / "modeler_decision_table_zh.png"), full_page=True)

    # Compared with the deployed file: the rule whose annotation changed is listed and coloured.
    page.locator('#dmn-canvas td.annotation[data-row-id="rule_quantity"]').click()
    page.keyboard.press("End")
    page.keyboard.type("（含错发）")
    page.locator("#dmn-canvas .decision-table-name").first.click()
    page.locator('[data-action="diff"]').click()
    page.wait_for_selector('#dmn-canvas td.diff-changed[data-row-id="rule_quantity"]')
    changed = page.locator('#modeler-results .diff-changed li[data-element="rule_quantity"]').inner_text()
    assert "注释" in changed or "Annotations" in changed, changed
    page.screenshot(path=str(screenshots / "modeler_decision_diff_zh.png"), full_page=True)
    assert errors == []
    context.close()
