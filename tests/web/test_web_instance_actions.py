"""Instance actions in the pages (#15 item 6): the buttons partial, each action's form, errors that keep what was typed."""

from __future__ import annotations

import json
import shutil

import pytest
from flask import render_template_string
from flask_login import login_user

from engine.config import SHIPPED_FORMS
from tests.conftest import BPMN_DIR
from web.access import WORKERS
from web.auth.accounts import load_user
from web.db import db

LABELS = {"write_off": {"zh-CN": "核销", "en": "Write off"}, "payment_received": {"zh-CN": "登记到账", "en": "Record payment"}}


def install_action_forms(engine) -> None:
    """Copy the shipped message forms into the engine's forms dir, each naming its action as the product does."""
    for key, label in LABELS.items():
        for part in ("schema", "ui"):
            shutil.copy(SHIPPED_FORMS / f"{key}.{part}.json", engine.config.forms_dir / f"{key}.{part}.json")
        ui_path = engine.config.forms_dir / f"{key}.ui.json"
        ui = json.loads(ui_path.read_text("utf-8"))
        ui["action"] = label
        ui_path.write_text(json.dumps(ui, ensure_ascii=False), "utf-8")


@pytest.fixture
def invoice(web_engine):
    install_action_forms(web_engine)
    web_engine.deploy([BPMN_DIR / "instance_actions.bpmn"], actor="designer")
    return web_engine.start("open_invoice", {"invoice_no": "INV-7"}, "fin", business_key="INV-7")


def _partial(app, username: str, instance, language: str = "en") -> str:
    headers = {"Accept-Language": language}
    with app.test_request_context("/", headers=headers):
        if username:
            login_user(load_user(db(), username))
        return render_template_string('{% include "instances/_actions.html" %}', instance=instance)


def test_the_partial_shows_my_actions_in_my_language(app, invoice):
    english = _partial(app, "fin", invoice)
    assert ">Record payment</a>" in english and ">Write off</a>" in english
    assert f'href="/instances/{invoice.id}/actions/receivable_written_off"' in english
    chinese = _partial(app, "fin", invoice, "zh-CN")
    assert ">登记到账</a>" in chinese and ">核销</a>" in chinese and "Write off" not in chinese
    assert "customer_called" in _partial(app, "rep", invoice) and "Write off" not in _partial(app, "rep", invoice)
    # Readers and people with nothing to do see no section at all.
    assert _partial(app, "auditor", invoice).strip() == ""
    assert _partial(app, "head", invoice).strip() == ""
    assert _partial(app, "", invoice).strip() == ""
    assert _partial(app, "fin", invoice.id) == english  # an id is enough


def test_write_off_from_its_form(browser, web_engine, invoice):
    fin = browser("fin")
    page = fin.get(f"/instances/{invoice.id}/actions/receivable_written_off")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="reason"' in text and ">Write off</button>" in text and "INV-7" in text
    done = fin.post(f"/instances/{invoice.id}/actions/receivable_written_off", {"reason": "Customer went bankrupt"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/instances/{invoice.id}")
    assert web_engine.instance(invoice.id).status == "completed"
    correlated = [h for h in web_engine.history(invoice.id) if h.type == "message_correlated"]
    assert [(h.actor, h.data["payload"]) for h in correlated] == [("fin", {"reason": "Customer went bankrupt"})]
    # The case has moved on: the form is gone (404), a late submit says so and records nothing.
    assert fin.get(f"/instances/{invoice.id}/actions/receivable_written_off").status_code == 404
    assert fin.post(f"/instances/{invoice.id}/actions/payment_received", {"amount": "1"}).status_code == 404


def test_errors_show_the_form_again_with_what_was_typed(browser, web_engine, invoice):
    fin = browser("fin")
    fin.post("/language", {"language": "zh-CN"})
    fin.get(f"/instances/{invoice.id}/actions/payment_received")
    bad = fin.post(f"/instances/{invoice.id}/actions/payment_received", {"amount": " ", "currency": "USD"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert '<option value="USD" selected' in text
    assert 'id="f-amount-error"' in text and "登记到账" in text
    short = fin.post(f"/instances/{invoice.id}/actions/receivable_written_off", {"reason": "bad"})
    assert short.status_code == 422 and ">bad</textarea>" in short.get_data(as_text=True)
    assert web_engine.instance(invoice.id).status == "running"
    assert not [h for h in web_engine.history(invoice.id) if h.type == "message_correlated"]
    paid = fin.post(f"/instances/{invoice.id}/actions/payment_received", {"amount": "400.00", "currency": "CNY"})
    assert paid.status_code == 302
    assert web_engine.instance(invoice.id).status == "completed"


def test_who_may_not_take_an_action_is_refused(browser, web_engine, invoice):
    rep = browser("rep")
    assert rep.get(f"/instances/{invoice.id}/actions/receivable_written_off").status_code == 403
    assert rep.post(f"/instances/{invoice.id}/actions/receivable_written_off",
                    {"reason": "Customer went bankrupt"}).status_code == 403
    assert browser("auditor").get(f"/instances/{invoice.id}/actions/payment_received").status_code == 403
    assert browser("fin").get(f"/instances/{invoice.id}/actions/no_such_message").status_code == 404
    assert web_engine.instance(invoice.id).status == "running"


def test_an_action_without_data_is_one_button(browser, web_engine, invoice):
    rep = browser("rep")
    page = rep.get(f"/instances/{invoice.id}/actions/customer_called").get_data(as_text=True)
    assert "needs no further input" in page
    assert rep.post(f"/instances/{invoice.id}/actions/customer_called").status_code == 302
    assert {t.element_id for t in web_engine.tasks(instance_id=invoice.id)} == {"chase", "call_back"}


# -- REST: /api/v1/instances/{id}/actions --------------------------------------------------------------

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_api_lists_my_actions_with_their_forms(api_as, invoice):
    fin = api_as("fin")
    listed = fin.get(f"/instances/{invoice.id}/actions")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    body = listed.get_json()
    assert body["instance_id"] == invoice.id
    by_name = {a["name"]: a for a in body["actions"]}
    assert list(by_name) == ["payment_received", "receivable_written_off"]
    assert by_name["receivable_written_off"]["labels"] == {"zh-CN": "核销", "en": "Write off"}
    assert by_name["receivable_written_off"]["form"]["key"] == "write_off"
    assert by_name["receivable_written_off"]["form"]["schema"]["required"] == ["reason"]
    assert by_name["payment_received"]["element_id"] == "paid"
    rep = api_as("rep").get(f"/instances/{invoice.id}/actions").get_json()
    assert [(a["name"], a["form"]) for a in rep["actions"]] == [("customer_called", None)]
    assert api_as("auditor").get(f"/instances/{invoice.id}/actions").status_code == 403
    assert api_as("head").get(f"/instances/{invoice.id}/actions").get_json()["actions"] == []  # sees it, may do nothing
    assert api_as("ops").get(f"/instances/{invoice.id}/actions").status_code == 403  # may not even see it
    assert fin.get("/instances/999999/actions").status_code == 404


def test_api_takes_an_action(api_as, web_engine, invoice):
    fin = api_as("fin")
    url = f"/instances/{invoice.id}/actions/receivable_written_off"
    undeclared = fin.post(url, {"data": {"reason": "Customer insolvent", "amount": "3"}})
    assert undeclared.status_code == 422 and set(undeclared.get_json()["errors"]) == {"amount"}
    short = fin.post(url, {"data": {"reason": "no"}})
    assert short.status_code == 422 and set(short.get_json()["errors"]) == {"reason"}
    assert api_as("rep").post(url, {"data": {"reason": "Customer insolvent"}}).status_code == 403
    key = {"Idempotency-Key": "write-off-INV-7"}
    done = fin.post(url, {"data": {"reason": "Customer insolvent"}}, headers=key)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "completed" and done.get_json()["business_key"] == "INV-7"
    again = fin.post(url, {"data": {"reason": "Customer insolvent"}}, headers=key)
    assert again.status_code == 200 and again.get_json() == done.get_json()
    assert len([h for h in web_engine.history(invoice.id) if h.type == "message_correlated"]) == 1
    assert fin.post(url, {"data": {"reason": "Customer insolvent"}}).status_code == 404
    assert fin.get(f"/instances/{invoice.id}/actions").get_json()["actions"] == []


def test_api_documents_the_actions(app, browser):
    document = browser().get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    listing = paths["/api/v1/instances/{instance_id}/actions"]["get"]
    taking = paths["/api/v1/instances/{instance_id}/actions/{name}"]["post"]
    assert listing["x-required-groups"] == taking["x-required-groups"] == sorted(WORKERS)
    assert {"200", "401", "403", "404"} <= set(listing["responses"])
    assert {"200", "404", "409", "422"} <= set(taking["responses"])
    assert "ActionList" in document["components"]["schemas"] and "ActionRequest" in document["components"]["schemas"]
    reference = browser().get("/api/v1/docs")
    assert reference.status_code == 200
    assert "/api/v1/instances/{instance_id}/actions/{name}" in reference.get_data(as_text=True)


def test_the_instance_page_offers_the_actions(browser, invoice):
    page = browser("fin").get(f"/instances/{invoice.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/instances/{invoice.id}/actions/receivable_written_off"' in text and ">Write off</a>" in text
    assert 'data-action="receivable_written_off"' not in browser("auditor").get(f"/instances/{invoice.id}").get_data(as_text=True)


def test_finance_opens_a_receivable_someone_else_started_because_it_may_act_on_it(web_engine, browser, api_as):
    install_action_forms(web_engine)
    web_engine.deploy([BPMN_DIR / "instance_actions.bpmn"], actor="designer")
    started_by_rep = web_engine.start("open_invoice", {"invoice_no": "INV-8"}, "rep", business_key="INV-8")
    page = browser("fin").get(f"/instances/{started_by_rep.id}")
    assert page.status_code == 200 and f"/instances/{started_by_rep.id}/actions/receivable_written_off" in \
        page.get_data(as_text=True)
    assert api_as("fin").get(f"/instances/{started_by_rep.id}").status_code == 200
    assert browser("ops").get(f"/instances/{started_by_rep.id}").status_code == 403, "no task, no action: not visible"
