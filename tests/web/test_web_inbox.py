"""The inbox: whose tasks appear, in which order, filters, pages, buttons and counts."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from engine.services import inbox as inbox_queries


def _titles(html: str) -> list[str]:
    return re.findall(r'class="task-title">([^<]+)</a>', html)


def test_rep_sees_their_groups_unclaimed_task_with_its_facts(browser, complaint):
    text = browser("rep").get("/").get_data(as_text=True)
    assert _titles(text) == ["Handle complaint"]
    assert "ACME Logistics" in text and "ORD-1001" in text and "Customer complaint" in text
    assert "in 2 hours" in text  # due relative to the engine clock
    assert "Claim" in text


def test_other_groups_do_not_see_the_task(browser, complaint):
    for user in ("assistant", "head", "auditor", "designer"):
        assert _titles(browser(user).get("/").get_data(as_text=True)) == [], user


def test_a_claimed_task_leaves_the_group_queue(browser, web_engine, complaint, task_of):
    web_engine.claim(task_of(web_engine, complaint, "handle").id, "rep")
    assert _titles(browser("rep").get("/").get_data(as_text=True)) == ["Handle complaint"]
    assert _titles(browser("rep2").get("/").get_data(as_text=True)) == []


def test_overdue_tasks_come_first_and_are_marked(browser, web_engine, clock):
    late = web_engine.start("complaint", {"customer": "Late Co", "description": "x"}, "rep", business_key="LATE")
    clock.advance(hours=1)
    web_engine.start("complaint", {"customer": "Fresh Co", "description": "x"}, "rep", business_key="FRESH")
    clock.advance(hours=1, minutes=30)  # the first is now overdue, the second is not
    text = browser("rep").get("/").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"([^\"]*)\">.*?(LATE|FRESH)", text, re.S)
    assert [key for _cls, key in rows] == ["LATE", "FRESH"]
    assert rows[0][0] == "is-overdue" and rows[1][0] == ""
    assert 'class="due overdue"' in text
    assert late.id


def test_filters_live_in_the_url(browser, web_engine, clock):
    web_engine.start("complaint", {"customer": "ACME Logistics", "description": "x"}, "rep", business_key="ORD-1")
    web_engine.start("complaint", {"customer": "Beta Foods", "description": "x"}, "rep", business_key="ORD-2")
    web_engine.start("order_check", {}, "assistant", business_key="PLAN-1")
    b = browser("rep")
    assert len(_titles(b.get("/?q=beta").get_data(as_text=True))) == 1
    assert len(_titles(b.get("/?q=ORD-1").get_data(as_text=True))) == 1
    assert len(_titles(b.get("/?q=%25").get_data(as_text=True))) == 0  # LIKE wildcards are literal
    assert len(_titles(b.get("/?process=complaint").get_data(as_text=True))) == 2
    assert len(_titles(b.get("/?group=cs_rep").get_data(as_text=True))) == 2
    assert len(_titles(b.get("/?group=cs_head").get_data(as_text=True))) == 0
    assert len(_titles(b.get("/?due=today").get_data(as_text=True))) == 2
    assert len(_titles(b.get("/?due=overdue").get_data(as_text=True))) == 0
    clock.advance(hours=3)
    assert len(_titles(b.get("/?due=overdue").get_data(as_text=True))) == 2
    assert len(_titles(b.get("/?due=bogus").get_data(as_text=True))) == 2


def test_pagination(app, browser, web_engine):
    app.config["PAGE_SIZE"] = 2
    for n in range(5):
        web_engine.start("complaint", {"customer": f"C{n}", "description": "x"}, "rep", business_key=f"K{n}")
    b = browser("rep")
    first = b.get("/").get_data(as_text=True)
    assert len(_titles(first)) == 2 and "Page 1 of 3" in first and "5 items" in first
    assert 'href="/?page=2"' in first
    last = b.get("/?page=3").get_data(as_text=True)
    assert len(_titles(last)) == 1
    beyond = b.get("/?page=9").get_data(as_text=True)
    assert _titles(beyond) == [] and "5 items" in beyond
    assert b.get("/?page=abc").status_code == 200


def test_navigation_counts_my_tasks(browser, web_engine, complaint, clock):
    web_engine.start("complaint", {"customer": "B", "description": "x"}, "rep")
    text = browser("rep").get("/instances/").get_data(as_text=True)
    assert re.search(r'<span class="count"[^>]*>2</span>', text)
    clock.advance(hours=3)
    text = browser("rep").get("/instances/").get_data(as_text=True)
    assert re.search(r'<span class="count overdue"[^>]*>2</span>', text)


def test_claim_and_unclaim_from_the_inbox(browser, web_engine, complaint, task_of):
    task = task_of(web_engine, complaint, "handle")
    b = browser("rep")
    b.get("/")
    response = b.post(f"/tasks/{task.id}/claim", {"next": "/?q=ORD"})
    assert response.status_code == 302 and response.location == "/?q=ORD"
    assert web_engine.tasks(instance_id=complaint.id)[0].assignee == "rep"
    assert "Unclaim" in b.get("/").get_data(as_text=True)
    assert b.post(f"/tasks/{task.id}/unclaim", {"next": "/"}).status_code == 302
    assert web_engine.tasks(instance_id=complaint.id)[0].assignee is None


def test_heads_may_assign_to_group_members(browser, web_engine):
    instance = web_engine.start("complaint", {"customer": "A", "description": "x"}, "rep")
    task = web_engine.tasks(instance_id=instance.id)[0]
    web_engine.claim(task.id, "rep")
    web_engine.complete(task.id, {"resolution": "needs a look", "escalate": True}, "rep")
    review = web_engine.tasks(instance_id=instance.id)[0]
    web_engine.add_user("head2", ["cs_head"])
    head = browser("head")
    text = head.get("/").get_data(as_text=True)
    assert 'name="assignee"' in text and '<option value="head2"' in text
    assert head.post(f"/tasks/{review.id}/assign", {"assignee": "head2"}).status_code == 302
    assert web_engine.tasks(instance_id=instance.id)[0].assignee == "head2"


def test_reps_get_no_assign_control_and_may_not_assign(browser, web_engine, complaint, task_of):
    rep = browser("rep")
    assert 'name="assignee"' not in rep.get("/").get_data(as_text=True)
    task = task_of(web_engine, complaint, "handle")
    assert rep.post(f"/tasks/{task.id}/assign", {"assignee": "rep2"}).status_code == 403


def test_inbox_is_one_query_and_never_touches_instances(web_engine, complaint):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with web_engine.transaction() as session:
        inbox_queries.groups_of(session, "rep")  # warm: the user row is needed to know the groups
        event.listen(web_engine.db, "before_cursor_execute", record)
        try:
            page = inbox_queries.inbox(session, "rep", inbox_queries.InboxFilter(text="ACME"), limit=10)
        finally:
            event.remove(web_engine.db, "before_cursor_execute", record)
    assert page.total == 1
    task_queries = [s for s in statements if "human_task" in s]
    assert len(task_queries) == 1
    assert not any("process_instance" in s for s in statements)


def test_inbox_due_today_uses_the_local_day(web_engine, clock):
    # 23:30 in Shanghai: a task due 01:00 the next day is not due "today".
    clock.set(clock.now().replace(hour=15, minute=30))
    web_engine.start("complaint", {"customer": "N", "description": "x"}, "rep")
    with web_engine.transaction() as session:
        today = inbox_queries.inbox(session, "rep", inbox_queries.InboxFilter(due="today"))
        everything = inbox_queries.inbox(session, "rep")
    assert today.total == 0 and everything.total == 1
    assert everything.tasks[0].due_at - clock.now() == timedelta(hours=2)


@pytest.fixture
def chinese_complaint(web_engine, tmp_path):
    """The complaint process written zh-CN first with its English catalogue, deployed as a new version and started."""
    source = (Path(__file__).parent / "bpmn" / "complaint.bpmn").read_text("utf-8")
    folder = tmp_path / "zh"
    folder.mkdir()
    (folder / "complaint.bpmn").write_text(
        source.replace('name="Customer complaint"', 'name="客户投诉"').replace('name="Handle complaint"', 'name="处理投诉"'),
        "utf-8")
    catalogue = {"source_language": "zh-CN",
                 "translations": {"en": {"complaint": "Customer complaint", "handle": "Handle complaint"}}}
    (folder / "complaint.i18n.json").write_text(json.dumps(catalogue, ensure_ascii=False), "utf-8")
    web_engine.deploy([folder], actor="designer")
    return web_engine.start("complaint", {"customer": "ACME Logistics", "description": "pallet late"}, "rep",
                            business_key="ORD-2001")


@pytest.mark.parametrize(("language", "title", "process", "other"), [
    ("zh-CN", "处理投诉", "客户投诉", "Customer complaint"), ("en", "Handle complaint", "Customer complaint", "客户投诉")])
def test_titles_and_process_names_follow_the_users_language(browser, chinese_complaint, language, title, process,
                                                             other):
    b = browser("rep")
    b.post("/language", {"language": language})
    html = b.get("/").get_data(as_text=True)
    assert _titles(html) == [title]
    row = html[html.index('class="task-title"'):html.index("</tr>", html.index('class="task-title"'))]
    assert process in row and other not in row  # one language, never "Customer complaint 客户投诉"
    options = re.findall(r'<option value="complaint"[^>]*>([^<]+)</option>', html)
    assert options == [process]
