"""In a real browser (zh-CN): a customer opens the satisfaction survey link, is asked again about last time's
unsatisfied item, forgets a comment, fixes it and sends; cs_rep then sees the answer on the survey's page.
Screenshots: survey_portal_*.png."""

from __future__ import annotations

import re
import shutil

import pytest

from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.services.questionnaires import of_instance, submit_survey
from engine.services.survey_processes import run_survey_jobs
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
ITEMS = ("timeliness", "damage", "quantity", "information", "attitude", "billing")
FORMS = ("survey_start", "survey_answers", "survey_overdue", "survey_rectification_start", "survey_rectify")
CUSTOMER = "艾克美物流"


@pytest.fixture(scope="module")
def second_survey(live_server) -> tuple[int, str]:
    """The customer's second survey, with last time's unsatisfied "damage" to re-check: (instance id, token)."""
    engine = live_server.engine
    for key in FORMS:
        for part in ("schema", "ui"):
            shutil.copy(SHIPPED_FORMS / f"{key}.{part}.json", engine.config.forms_dir)
    engine.deploy([SHIPPED_PROCESSES / "satisfaction_survey.bpmn", SHIPPED_PROCESSES / "survey_rectification.bpmn"],
                  actor="designer")
    first = engine.start("satisfaction_survey", {"customer": CUSTOMER, "period": "2025-H2"}, "rep").id
    run_survey_jobs(engine.transaction)
    with engine.transaction() as session:
        submit_survey(session, of_instance(session, first).token,
                      {**dict.fromkeys(ITEMS, "satisfied"), "damage": "unsatisfied", "damage_comment": "两托外箱压坏"})
    run_survey_jobs(engine.transaction)
    second = engine.start("satisfaction_survey", {"customer": CUSTOMER, "period": "2026-H1"}, "rep").id
    run_survey_jobs(engine.transaction)
    with engine.transaction() as session:
        return second, of_instance(session, second).token


def test_a_customer_answers_the_survey_in_chinese(live_server, chromium, second_survey, screenshots):
    instance_id, token = second_survey
    engine, base = live_server.engine, live_server.url
    context = chromium.new_context(viewport={"width": 1000, "height": 900}, locale="zh-CN",
                                   extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    page.goto(f"{base}/portal/q/{token}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert CUSTOMER in page.content() and "两托外箱压坏" in page.content()  # last time's item, asked again
    page.screenshot(path=str(screenshots / "survey_portal_form_zh.png"), full_page=True)

    page.locator("input[name=recheck_damage][value=not_resolved]").check()
    for item in ITEMS:
        page.locator(f"input[name={item}][value={'unsatisfied' if item == 'information' else 'satisfied'}]").check()
    page.locator("form[action*='/portal/q/'] button[type=submit]").click()
    assert page.locator("#q-information_comment-error").is_visible()  # a "not satisfied" needs its comment
    assert page.locator("input[name=recheck_damage][value=not_resolved]").is_checked()  # the answers are kept
    page.screenshot(path=str(screenshots / "survey_portal_error_zh.png"), full_page=True)

    page.locator("#q-information_comment").fill("到货通知经常晚")
    page.locator("form[action*='/portal/q/'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#thanks-title").is_visible()
    page.screenshot(path=str(screenshots / "survey_portal_thanks_zh.png"), full_page=True)
    assert engine.tasks(instance_id=instance_id) == []
    run_survey_jobs(engine.transaction)
    data = engine.instance(instance_id).data
    assert data["recheck_log"] == [{"item": "damage", "result": "not_resolved"}]
    assert sorted(i["item"] for i in data["unsatisfied_items"]) == ["damage", "information"]

    page.goto(f"{base}/portal/q/{token}")  # used once: the link says so
    assert page.locator("#closed-title").is_visible()
    context.close()

    staff = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                 extra_http_headers={"Accept-Language": "zh-CN"})
    page = staff.new_page()
    sign_in(page, base, "rep")
    page.goto(f"{base}/instances/{instance_id}")
    card = page.locator("section[aria-labelledby=questionnaire-title]")
    assert card.is_visible() and re.search(r"\d{4}", card.inner_text())
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "survey_portal_staff_zh.png"), full_page=True)
    staff.close()


def test_the_questionnaire_after_an_order_in_english(live_server, chromium, screenshots):
    from engine.services.questionnaires import ORDER, open_questionnaire

    engine, base = live_server.engine, live_server.url
    host = engine.start("complaint", {"customer": "ACME Logistics", "description": "late"}, "rep", business_key="SO-9")
    with engine.transaction() as session:
        q = open_questionnaire(session, ORDER, "ACME Logistics", host.id, period="SO-9")
    context = chromium.new_context(viewport={"width": 1000, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{base}/portal/q/{q.token}")
    page.locator("input[name=score][value='2']").check()
    page.locator("input[name=on_time][value=no]").check()
    page.locator("input[name=intact][value=yes]").check()
    page.locator("form[action*='/portal/q/'] button[type=submit]").click()
    assert page.locator("#q-comment-error").is_visible()  # a poor answer says why
    page.screenshot(path=str(screenshots / "survey_portal_order_error_en.png"), full_page=True)
    page.locator("#q-comment").fill("Arrived a day late")
    page.locator("form[action*='/portal/q/'] button[type=submit]").click()
    assert page.locator("#thanks-title").is_visible()
    context.close()
