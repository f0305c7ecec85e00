"""External tasks in the pages: the instance page shows what it waits for (topic, worker, lock), incidents retry them."""

from __future__ import annotations

from sqlalchemy import select

from engine.persistence import Incident
from engine.services import external_tasks as ext
from tests.conftest import BPMN_DIR

ERP = [{"topic": "erp_order_sync", "lock_duration_s": 600}]


def test_the_instance_page_shows_the_external_task_and_its_lock(web_engine, browser) -> None:
    web_engine.deploy([BPMN_DIR / "camunda5_external_task.bpmn"], actor="designer")
    instance = web_engine.start("erp_order_sync", {"order_no": "SO-1"}, "admin", business_key="SO-1")
    page = browser("admin").get(f"/instances/{instance.id}").get_data(as_text=True)
    assert "External tasks" in page and "<code>erp_order_sync</code>" in page and "no worker yet" in page
    assert 'class="bpmn-activity is-waiting" data-element-id="Activity_sync_erp"' in page  # the diagram marks the wait
    with web_engine.transaction() as session:
        ext.fetch_and_lock(session, "erp-sync-1", ERP, 1, "admin")
    page = browser("admin").get(f"/instances/{instance.id}").get_data(as_text=True)
    assert "erp-sync-1" in page and "until" in page and "waiting for a worker" in page
    zh = browser("admin")
    zh.post("/language", {"language": "zh-CN"})
    assert "外部任务" in zh.get(f"/instances/{instance.id}").get_data(as_text=True)


def test_an_external_task_incident_is_retried_from_the_incidents_page(web_engine, browser) -> None:
    web_engine.deploy([BPMN_DIR / "camunda5_external_task.bpmn"], actor="designer")
    instance = web_engine.start("erp_order_sync", {"order_no": "SO-2"}, "admin")
    with web_engine.transaction() as session:
        [task] = ext.fetch_and_lock(session, "erp-sync-1", ERP, 1, "admin")
        ext.handle_failure(session, task.id, "erp-sync-1", "ERP rejected SO-2", 0, 0, "admin")
    admin = browser("admin")
    listing = admin.get("/incidents/").get_data(as_text=True)
    assert "erp_order_sync: ERP rejected SO-2" in listing and "Retry now" in listing
    page = admin.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert "incident" in page and "ERP rejected SO-2" in page
    with web_engine.transaction() as session:
        incident_id = session.scalars(select(Incident.id).where(Incident.external_task_id == task.id)).one()
    response = admin.post(f"/incidents/{incident_id}/retry")
    assert response.status_code == 302
    assert "waits for its workers again" in admin.get("/incidents/").get_data(as_text=True)
    with web_engine.transaction() as session:
        [again] = ext.fetch_and_lock(session, "erp-sync-2", ERP, 1, "admin")
    assert (again.id, again.retries) == (task.id, 1)
