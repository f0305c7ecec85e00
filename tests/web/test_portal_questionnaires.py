"""The questionnaire pages of the portal (#17): a survey or post-order questionnaire answered by its token link without
signing in; CSRF, problems marked per answer, one submission, expiry, unknown links, rate limit, no-store."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import Engine, ManualClock
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.persistence import ReturnVisitRequest
from engine.services.questionnaires import ORDER, of_instance, open_questionnaire
from engine.services.survey_processes import run_survey_jobs

ALL_SATISFIED = {item: "satisfied" for item in ("timeliness", "damage", "quantity", "information", "attitude", "billing")}
FORMS = ("survey_start", "survey_answers", "survey_overdue", "survey_rectification_start", "survey_rectify")


@pytest.fixture
def survey(web_engine: Engine) -> tuple[int, str]:
    """A satisfaction survey of ACME waiting for its answers: (instance id, token)."""
    for key in FORMS:
        for part in ("schema", "ui"):
            shutil.copy(SHIPPED_FORMS / f"{key}.{part}.json", web_engine.config.forms_dir)
    web_engine.deploy([SHIPPED_PROCESSES / "satisfaction_survey.bpmn", SHIPPED_PROCESSES / "survey_rectification.bpmn"],
                      actor="designer")
    instance_id = web_engine.start("satisfaction_survey", {"customer": "ACME Logistics", "period": "2026-H1"},
                                   "rep").id
    run_survey_jobs(web_engine.transaction)
    with web_engine.transaction() as session:
        q = of_instance(session, instance_id)
        assert q is not None
        return instance_id, q.token


def test_a_customer_answers_the_survey_by_its_link(browser, web_engine, survey):
    instance_id, token = survey
    b = browser()
    page = b.get(f"/portal/q/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="csrf_token"' in text and "ACME Logistics" in text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert all(f'name="{item}"' in text for item in ALL_SATISFIED) and "Sign out" not in text
    assert b.post(f"/portal/q/{token}", ALL_SATISFIED, csrf=False).status_code == 400

    bad = b.post(f"/portal/q/{token}", {**ALL_SATISFIED, "damage": "unsatisfied", "billing": ""})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="q-damage_comment-error">Please tell us what was not satisfactory' in text
    assert 'id="q-billing-error">Choose one of the options.' in text
    assert [t.element_id for t in web_engine.tasks(instance_id=instance_id)] == ["collect_answers"]  # nothing taken

    done = b.post(f"/portal/q/{token}", {**ALL_SATISFIED, "damage": "unsatisfied", "damage_comment": "两箱压坏"})
    assert done.status_code == 200 and "Thank you for your answers" in done.get_data(as_text=True)
    assert web_engine.tasks(instance_id=instance_id) == []
    history = web_engine.history(instance_id)
    assert [e.data["submitted"]["damage_comment"] for e in history if e.type == "task_completed"] == ["两箱压坏"]
    assert run_survey_jobs(web_engine.transaction)["survey_tasks"] == 1
    (rect,) = web_engine.instances(process_key="survey_rectification")
    assert web_engine.tasks(instance_id=rect.id)[0].group == "transport"

    again = b.get(f"/portal/q/{token}")
    assert again.status_code == 410 and "already been answered" in again.get_data(as_text=True)
    assert b.post(f"/portal/q/{token}", ALL_SATISFIED).status_code == 410


def test_unknown_and_expired_links_say_so(browser, clock: ManualClock, survey):
    _, token = survey
    b = browser()
    for wrong in ("A" * 43, "short", token[:-1] + ("A" if token[-1] != "A" else "B")):
        response = b.get(f"/portal/q/{wrong}")
        assert response.status_code == 404 and "This link does not work" in response.get_data(as_text=True)
    clock.advance(days=22)
    expired = b.get(f"/portal/q/{token}")
    assert expired.status_code == 410 and "This link has expired" in expired.get_data(as_text=True)


def test_a_poor_order_questionnaire_asks_for_a_return_visit(browser, web_engine, complaint):
    with web_engine.transaction() as session:
        q = open_questionnaire(session, ORDER, "ACME Logistics", complaint.id, period="SO-7781")
    staff = browser("rep").get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "Customer questionnaire" in staff and f"/portal/q/{q.token}" in staff  # the order's page shows its link
    b = browser()
    text = b.get(f"/portal/q/{q.token}").get_data(as_text=True)
    assert "SO-7781" in text and 'name="score"' in text
    missing = b.post(f"/portal/q/{q.token}", {"score": "1", "on_time": "no", "intact": "yes"})
    assert missing.status_code == 422 and 'id="q-comment-error"' in missing.get_data(as_text=True)
    assert b.post(f"/portal/q/{q.token}", {"score": "1", "on_time": "no", "intact": "yes",
                                           "comment": "晚到一天"}).status_code == 200
    with web_engine.transaction() as session:
        (visit,) = session.scalars(select(ReturnVisitRequest))
        assert (visit.reason, visit.customer, visit.data["order_no"], visit.data["customer_comment"]) == (
            "questionnaire", "ACME Logistics", "SO-7781", "晚到一天")


def test_questionnaire_links_are_rate_limited(app, browser, survey):
    app.config["PORTAL_TRACK_RATE_LIMIT"] = "3 per 10 minutes"
    b = browser()
    statuses = [b.get(f"/portal/q/{'Z' * 43}").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_the_link_expiry_is_shown_and_the_page_speaks_the_customers_language(browser, survey, clock: ManualClock):
    _, token = survey
    text = browser().get(f"/portal/q/{token}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="zh-CN"' in text
    assert (clock.now() + timedelta(days=21)).strftime("%Y") in text


def test_staff_find_the_link_on_the_instance_page(browser, web_engine, survey):
    instance_id, token = survey
    text = browser("rep").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f"http://localhost/portal/q/{token}" in text and "Waiting for the customer" in text
    assert token not in browser("auditor").get(f"/instances/{instance_id}").get_data(as_text=True).split(
        'id="data-title"')[0]  # auditors read the history, they do not send links
    b = browser()
    b.get(f"/portal/q/{token}")
    assert b.post(f"/portal/q/{token}", ALL_SATISFIED).status_code == 200
    text = browser("rep").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "in the portal" in text and 'id="questionnaire-link"' not in text


@pytest.mark.parametrize(("period", "said"), [("2026-H1", "the first half of 2026"), ("2025-H2", "the second half of 2025"),
                                              ("2025", "the year 2025"), ("odd", "odd")])
def test_the_period_is_said_in_words(app, period, said):
    from web.portal.questionnaires import period_label

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert period_label(period) == said


def test_the_register_page_keeps_where_questionnaires_are_e_mailed(browser, web_engine):
    from engine.services.questionnaire_mail import customer_email

    admin = browser("admin")
    admin.get("/admin/customers")
    bad = admin.post("/admin/customers", {"name": "ACME Logistics", "grade": "1", "active": "1", "email": "acme"})
    assert bad.status_code == 422 and "name@example.com" in bad.get_data(as_text=True)
    with web_engine.transaction() as session:
        assert customer_email(session, "ACME Logistics") is None  # nothing half-saved
    added = admin.post("/admin/customers", {"name": "ACME Logistics", "grade": "1", "active": "1",
                                            "email": "qa@acme.example"})
    assert added.status_code == 302
    page = admin.get(added.location).get_data(as_text=True)
    assert 'value="qa@acme.example"' in page
    customer_id = int(added.location.rstrip("/").rsplit("/", 1)[-1])
    assert admin.post(f"/admin/customers/{customer_id}", {"name": "ACME Logistics", "grade": "1", "active": "1",
                                                          "email": ""}).status_code == 302
    with web_engine.transaction() as session:
        assert customer_email(session, "ACME Logistics") is None
