"""The audit pages: every event filtered and paged, a streamed CSV of any filter, the chain check;
auditors read everything and change nothing."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import url_for
from sqlalchemy import text

from web.access import ANYONE


def _seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'<td data-label="No\." class="nowrap"><code>(\d+)</code>', page)]


def test_only_auditors_and_admins_read_the_audit_trail(browser, complaint):
    for user in ("auditor", "admin"):
        assert browser(user).get("/audit/").status_code == 200, user
        assert browser(user).get("/audit/verify").status_code == 200, user
    for user in ("rep", "head", "vp", "designer"):
        assert browser(user).get("/audit/").status_code == 403, user
        assert browser(user).get("/audit/export.csv").status_code == 403, user
    assert browser().get("/audit/").status_code == 302  # to the sign-in page
    assert 'href="/audit/"' in browser("auditor").get("/").get_data(as_text=True)
    assert 'href="/audit/"' not in browser("rep").get("/").get_data(as_text=True)


def test_filters_by_type_user_process_instance_and_date(browser, web_engine, complaint, order_check, task_of, clock):
    clock.advance(days=1)
    web_engine.complete(task_of(web_engine, complaint, "handle").id, {"resolution": "Sent a new pallet", "escalate": False},
                        "rep")
    auditor = browser("auditor")
    page = auditor.get("/audit/").get_data(as_text=True)
    for label in ("Definition deployed", "Process started", "Task created", "Task completed"):
        assert f'<span class="event-label">{label}' in page, label

    completed = auditor.get("/audit/?type=task_completed").get_data(as_text=True)
    assert completed.count('<span class="event-label">') == 1 and "Sent a new pallet" in completed
    by_assistant = auditor.get("/audit/?actor=assistant").get_data(as_text=True)
    assert "Beta Foods" in by_assistant and "ACME" not in by_assistant
    by_process = auditor.get("/audit/?process=order_check&type=instance_started").get_data(as_text=True)
    assert f'href="/instances/{order_check.id}"' in by_process and f'href="/instances/{complaint.id}"' not in by_process
    by_instance = auditor.get(f"/audit/?instance={complaint.id}").get_data(as_text=True)
    assert f'href="/instances/{order_check.id}"' not in by_instance and "Task completed" in by_instance
    next_day = auditor.get("/audit/?from=2026-03-03&to=2026-03-03").get_data(as_text=True)
    assert next_day.count('<span class="event-label">') >= 1 and '<span class="event-label">Process started' not in next_day
    assert "No events match." in auditor.get("/audit/?to=2026-03-01").get_data(as_text=True)
    assert '<span class="event-label">Process started' in auditor.get("/audit/?from=junk&instance=x").get_data(as_text=True)


def test_pages_look_one_row_ahead(app, browser, complaint, order_check):
    app.config["PAGE_SIZE"] = 2  # six events: two deploys, two starts, two tasks created
    auditor = browser("auditor")
    first = auditor.get("/audit/").get_data(as_text=True)
    assert _seqs(first) == [1, 2] and 'rel="next"' in first and 'rel="prev"' not in first
    third = auditor.get("/audit/?page=3").get_data(as_text=True)
    assert _seqs(third) == [5, 6] and 'rel="prev"' in third and 'rel="next"' not in third
    filtered = auditor.get("/audit/?type=task_created&page=1").get_data(as_text=True)
    assert _seqs(filtered) == [4, 6] and 'rel="next"' not in filtered
    started = auditor.get("/audit/?type=instance_started&page=1&actor=rep").get_data(as_text=True)
    assert _seqs(started) == [3]


def _csv(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_streams_every_event_of_the_filter(app, browser, web_engine, complaint, order_check):
    app.config["PAGE_SIZE"] = 2  # the export ignores pages
    response = browser("auditor").client.get(f"/audit/export.csv?instance={complaint.id}")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["seq", "at", "actor", "type", "process_key", "instance_id", "business_key", "task_id", "element_id",
                       "element_name", "data"]
    assert all(r[1].endswith("+08:00") for r in rows[1:]), "local times of the deployment, with the offset"
    history = web_engine.history(complaint.id)
    assert [int(r[0]) for r in rows[1:]] == [e.seq for e in history] and len(history) >= 2
    assert {r[5] for r in rows[1:]} == {str(complaint.id)}
    assert json.loads(rows[1][-1])["data"]["customer"] == "ACME Logistics"
    everything = _csv(browser("admin").get("/audit/export.csv"))
    assert len(everything) - 1 > len(history)


def test_csv_export_crosses_batches(monkeypatch, browser, complaint, order_check):
    from web.audit import views

    monkeypatch.setattr(views, "EXPORT_BATCH", 2)
    rows = _csv(browser("auditor").get("/audit/export.csv"))
    seqs = [int(r[0]) for r in rows[1:]]
    assert rows[0][0] == "seq" and seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 6
    assert sum(1 for r in rows if r[0] == "seq") == 1


def test_verify_shows_ok_or_the_first_broken_row(browser, web_engine, complaint):
    auditor = browser("auditor")
    ok = auditor.get("/audit/verify").get_data(as_text=True)
    assert "The audit chain is intact." in ok
    with web_engine.db.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3"))
    broken = auditor.get("/audit/verify").get_data(as_text=True)
    assert "The audit chain is broken at row 3." in broken and "mallory" in broken and "does not match its hash" in broken


def test_auditors_read_every_instance_and_task(browser, web_engine, complaint, order_check, task_of):
    auditor = browser("auditor")
    assert auditor.get(f"/instances/{order_check.id}").status_code == 200
    task = task_of(web_engine, complaint, "handle")
    page = auditor.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Handle complaint" in page and ">Claim<" not in page and ">Complete<" not in page


def _post_routes(app):
    """Every POST route of the pages that names who may use it (the API authenticates by token)."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            groups = getattr(view, "required_groups", frozenset())
            if "POST" not in (rule.methods or ()) or rule.rule.startswith("/api/") or not groups or groups == ANYONE:
                continue
            yield rule.rule, url_for(rule.endpoint, **{name: _sample(rule._converters[name]) for name in rule.arguments})


def _sample(converter):
    """A value the route's converter accepts: its first choice, its minimum, else "1"."""
    if getattr(converter, "items", None):
        return sorted(converter.items)[0]
    return converter.min if getattr(converter, "min", None) is not None else "1"


def test_every_post_is_refused_for_an_auditor(app, browser, web_engine, complaint):
    before = web_engine.verify_audit().checked
    auditor = browser("auditor")
    routes = list(_post_routes(app))
    assert len(routes) >= 20 and any(r.startswith("/admin/") for r, _ in routes)
    for rule, url in routes:
        assert auditor.post(url, {"reason": "x", "note": "x"}).status_code == 403, rule
    assert web_engine.verify_audit().checked == before


def test_auditor_membership_makes_anyone_read_only(browser, web_engine, complaint, task_of, password_hash):
    web_engine.add_user("rep", ["auditor"])  # rep is now cs_rep and auditor
    rep = browser("rep")
    task = task_of(web_engine, complaint, "handle")
    assert rep.post(f"/tasks/{task.id}/claim").status_code == 403
    assert web_engine.tasks(instance_id=complaint.id)[0].assignee is None
    assert rep.post("/logout").status_code == 302  # signing out still works


def test_audit_page_in_chinese(browser, complaint):
    b = browser("auditor")
    b.post("/language", {"language": "zh-CN"})
    page = b.get("/audit/").get_data(as_text=True)
    assert "审计" in page and "导出" in page and '<span class="event-label">流程已启动' in page
