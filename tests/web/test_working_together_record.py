"""Issue #16's record: every way of working together is told on the instance timeline in English and zh-CN, and
is in the audit CSV — also when the auditor filters the export by process."""

from __future__ import annotations

import csv
import io
import json

from engine import Engine
from tests.conftest import BPMN_DIR
from tests.web.test_attachments_web import png

OPERATIONS = ("task_transferred", "task_delegated", "task_delegation_returned", "task_withdrawn", "task_sent_back",
              "instance_copied", "task_urged", "attachment_added")


def _open(engine: Engine, instance_id: int) -> dict[str, str]:
    return {t.element_id: t.id for t in engine.tasks(instance_id=instance_id)}


def _work_together(engine: Engine) -> int:
    """Transfer, delegate and hand back, withdraw, send back, copy, urge and attach on one claim."""
    engine.deploy([BPMN_DIR / "send_back.bpmn"], actor="designer")
    instance = engine.start("send_back", {"entries": 0}, actor="rep", business_key="CLM-16")
    enter = _open(engine, instance.id)["enter"]
    engine.claim(enter, "rep")
    engine.transfer(enter, "rep", to_user="rep2", reason="休假，交给同事")
    engine.delegate(enter, "rep2", "ops")
    engine.complete(enter, {"amount": 300}, "ops")  # handed back to rep2
    engine.complete(enter, {"amount": 300}, "rep2")
    engine.withdraw(enter, "rep2")
    engine.complete(enter, {"amount": 310}, "rep2")
    review = _open(engine, instance.id)["review"]
    engine.send_back(review, "head", "enter", "照片不清楚")
    engine.complete(enter, {"amount": 320}, "rep2")
    review = _open(engine, instance.id)["review"]
    engine.copy(instance.id, "rep", ["fin"], note="请关注")
    engine.urge(review, "rep", "请今天处理")
    engine.attach(instance.id, "破损.png", png(), "head", task_id=review)
    return instance.id


def test_every_operation_is_told_on_the_timeline_in_both_languages(browser, web_engine) -> None:
    instance_id = _work_together(web_engine)
    [attached] = web_engine.attachments(instance_id, "head")
    head = browser("head")
    english = head.get(f"/instances/{instance_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for sentence in ("rep transferred Enter the claim to rep2", "rep2 delegated Enter the claim to ops",
                     "ops filled Enter the claim and handed it back to rep2", "rep2 withdrew Enter the claim to change it",
                     "head sent Review the claim back to Enter the claim, for rep2", "rep copied the case to fin",
                     "rep urged head to handle Review the claim", "head attached 破损.png to Review the claim",
                     "休假，交给同事", "照片不清楚", "请关注", "请今天处理", attached.sha256, "Case copied"):
        assert sentence in english, sentence
    chinese = head.get(f"/instances/{instance_id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for sentence in ("rep 将 Enter the claim 转办给 rep2", "rep2 将 Enter the claim 委派给 ops",
                     "ops 填写了 Enter the claim 并交回给 rep2", "rep2 撤回了 Enter the claim 以便修改",
                     "head 将 Review the claim 退回到 Enter the claim，由 rep2 处理", "rep 将流程抄送给 fin",
                     "rep 催办 head 处理 Review the claim", "head 为 Review the claim 上传了附件 破损.png", "SHA-256 摘要"):
        assert sentence in chinese, sentence
    assert "抄送时间" not in chinese, "the copy event is labelled as an event, not as the copied list's date column"


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


def test_every_operation_is_in_the_audit_csv_also_filtered_by_process(browser, web_engine) -> None:
    instance_id = _work_together(web_engine)
    auditor = browser("auditor")
    by_instance = _csv(auditor.client.get(f"/audit/export.csv?instance={instance_id}"))
    by_process = [r for r in _csv(auditor.client.get("/audit/export.csv?process=send_back"))
                  if r["instance_id"] == str(instance_id)]  # not the deployment
    assert [r["seq"] for r in by_process] == [r["seq"] for r in by_instance], "no event of the case is left out"
    rows = {r["type"]: r for r in by_process}
    assert set(OPERATIONS) <= set(rows)
    assert {rows[t]["process_key"] for t in OPERATIONS} == {"send_back"}
    assert {rows[t]["business_key"] for t in OPERATIONS} == {"CLM-16"}
    attached = json.loads(rows["attachment_added"]["data"])
    [view] = web_engine.attachments(instance_id, "head")
    assert (attached["sha256"], attached["size"], attached["filename"]) == (view.sha256, view.size, "破损.png")
    assert json.loads(rows["task_sent_back"]["data"])["reason"] == "照片不清楚"
    assert json.loads(rows["instance_copied"]["data"])["note"] == "请关注"
