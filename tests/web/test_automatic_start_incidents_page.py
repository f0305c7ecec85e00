"""An automatic start that failed (a customer's settlement the start form rejects) on the incidents page and in the API:
labelled as an automatic start with its key and error, no instance link; retry queues it for the worker's next pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask

from engine import Engine
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.services.customers import find_customer, save_customer
from engine.services.register_processes import run_register_jobs
from engine.services.timers import list_incidents
from tests.engine.test_automatic_start_incidents import LONG, deploy
from tests.web.test_api_fixtures import ApiClient, issue_token


@pytest.fixture
def failed_start(web_engine: Engine, tmp_path: Path) -> int:
    """Run the register's pass on March's first working day with one customer the settlement's start form rejects."""
    for form in SHIPPED_FORMS.glob("*.json"):  # the shipped processes' forms, next to the web fixtures' own
        if not (web_engine.config.forms_dir / form.name).exists():
            shutil.copy(form, web_engine.config.forms_dir / form.name)
    web_engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    deploy(web_engine, tmp_path / "v2", "monthly_settlement.bpmn", "settlement_start", max_name=40)
    with web_engine.transaction() as session:
        save_customer(session, LONG, "admin")
        save_customer(session, "Beta Foods", "admin")
    assert run_register_jobs(web_engine.transaction)["settlements"] == 1
    with web_engine.transaction() as session:
        [incident] = list_incidents(session, "open")
        return incident.id


def test_the_page_shows_a_failed_automatic_start_and_retry_queues_it(browser, web_engine: Engine,
                                                                     failed_start: int) -> None:
    admin = browser("admin")
    page = admin.get("/incidents/").get_data(as_text=True)
    assert f"#{failed_start} · " in page and "Automatic start" in page and "2026-02:1" in page
    assert f"could not start monthly_settlement for customer {LONG} (2026-02)" in page and "is too long" in page
    assert "Retry now" in page and "instance #" not in page  # no instance link
    with web_engine.transaction() as session:
        save_customer(session, "Alpha Freight", "admin", customer_id=find_customer(session, LONG).id)
    done = admin.post(f"/incidents/{failed_start}/retry", follow_redirects=True).get_data(as_text=True)
    assert f"Incident #{failed_start} retried: the worker tries the start again on its next pass." in done
    assert run_register_jobs(web_engine.transaction)["settlements"] == 1
    assert sorted(i.business_key for i in web_engine.instances(process_key="monthly_settlement")) == [
        "Alpha Freight 2026-02", "Beta Foods 2026-02"]


def test_the_api_lists_it_and_resolves_it(app: Flask, web_engine: Engine, failed_start: int) -> None:
    client = ApiClient(app, issue_token(web_engine, "admin"))
    [item] = client.get("/incidents").get_json()["items"]
    assert (item["id"], item["process_key"], item["element_id"], item["instance_id"], item["timer_id"]) == (
        failed_start, "monthly_settlement", "start", None, None)
    assert (item["start_source"], item["start_key"], item["notification_delivery_id"]) == ("register", "2026-02:1", None)
    assert item["error"].startswith(f"could not start monthly_settlement for customer {LONG}")
    resolved = client.post(f"/incidents/{failed_start}/resolve", json={"note": "settled by hand"})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"
    assert run_register_jobs(web_engine.transaction)["settlements"] == 0
