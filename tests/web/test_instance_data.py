"""Data people can read (#15): the instance page, its history and its CSV on the shipped processes, zh-CN and English.

The main content shows labels and value labels, money with its currency, local dates, tables and sentences; the raw
keys (snake_case field names, element ids, lag_s, submitted.x) appear only in the collapsed technical sections.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from engine import Engine, InstanceView
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.persistence import User

INVOICE = {"customer": "华东物流有限公司", "invoice_no": "INV-2026-001", "amount": "12000.50", "currency": "CNY",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}
COMPLAINT = {"channel": "wechat", "customer": "Beta Foods", "order_no": "SO-7781", "type": "damage",
             "severity": "complaint", "description": "两箱外包装破损"}
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def shipped(web_engine: Engine) -> Engine:
    """The web engine with every shipped process and form deployed, and people with display names."""
    for source in SHIPPED_FORMS.iterdir():
        shutil.copy(source, web_engine.config.forms_dir / source.name)
    web_engine.deploy([SHIPPED_PROCESSES], actor="designer")
    with web_engine.transaction() as session:
        session.execute(update(User).where(User.username == "rep").values(display_name="张三"))
        session.execute(update(User).where(User.username == "fin").values(display_name="李会计"))
    return web_engine


@pytest.fixture
def chased(shipped: Engine, clock) -> InstanceView:
    """A receivable that went overdue (its timer fired 12 minutes late), was chased, then partly paid."""
    invoice = shipped.start("receivables_collection", INVOICE, "fin", business_key=INVOICE["invoice_no"])
    # Due Friday 2026-03-06: collection starts Monday 09:00 Shanghai (01:00 UTC); the worker runs at 09:12.
    clock.set(datetime(2026, 3, 9, 1, 12, tzinfo=timezone.utc))
    shipped.fire_due_timers()
    [chase] = [t for t in shipped.tasks(instance_id=invoice.id) if t.element_id == "chase_payment"]
    shipped.complete(chase.id, {"reason": "客户资金周转困难", "promised_date": "2026-03-20"}, "rep")
    shipped.message("payment_received", {"invoice_no": INVOICE["invoice_no"]}, {"amount": "2000.00"}, actor="fin")
    return invoice


@pytest.fixture
def exception(shipped: Engine) -> InstanceView:
    """A complaint by WeChat about damage: the responsibility matrix (DMN) names the transport department."""
    return shipped.start("exception_escalation", COMPLAINT, "rep", business_key=COMPLAINT["order_no"])


def _main(html: str) -> str:
    """Return the page's visible main content without the collapsed technical sections and the diagram's markup."""
    main = html.split('<main', 1)[1].split("</main>", 1)[0] if "<main" in html else html
    main = re.sub(r"<details class=\"(technical|raw)\">.*?</details>", "", main, flags=re.S)
    main = re.sub(r"<svg.*?</svg>", "", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main)


def _section(html: str, title_id: str) -> str:
    return html.split(f'id="{title_id}"', 1)[1].split("</section>", 1)[0]


def test_receivable_page_in_chinese_shows_labels_money_tables_and_local_times(browser, shipped, chased):
    shipped.set_data(chased.id, {"erp_sync_ref": "X-77"}, "admin")  # a field no form or catalogue declares
    html = browser("head").get(f"/instances/{chased.id}", headers=ZH).get_data(as_text=True)
    data = _section(html, "data-title")
    text = _main(data)
    for shown in ("客户", "华东物流有限公司", "发票金额", "¥12,000.50", "未收金额", "¥10,000.50", "开票日期",
                  "2026年2月20日", "已逾期", "是", "升级级别", "客服代表催收"):
        assert shown in text, shown
    # A field is labelled by the form that wrote it: the start form's amount is the invoice amount, whereas the
    # payment form (which also has an "amount") calls it 收款金额.
    assert "<dt>发票金额</dt><dd>¥12,000.50</dd>" in data and "<dt>收款金额</dt><dd>¥12,000.50</dd>" not in data
    # The collection log is a table with labelled columns and labelled events, times in Shanghai.
    log = data.split("催收记录", 1)[1].split("</table>", 1)[0]
    assert "<th scope=\"col\">事件</th>" in log and "<th scope=\"col\">时间</th>" in log
    assert "逾期" in log and "付款承诺" in log and "到账" in log and "客户资金周转困难" in log
    assert "2026年3月9日 09:12" in log
    # Payments are a table too.
    payments = data.split("付款记录", 1)[1].split("</table>", 1)[0]
    assert "¥2,000.00" in payments and "到账时间" in payments
    # Technical data is collapsed; no raw key appears in the main content.
    assert '<details class="technical">' in data and "技术数据" in data
    assert "erp_sync_ref" in data.split('<details class="technical">', 1)[1] and "erp_sync_ref" not in text
    for raw in ("collection_log", "invoice_amount", "open_amount", "escalation_level", "overdue_since",
                "'event'", "2026-03-09T"):
        assert raw not in text, raw


def test_receivable_history_in_chinese_is_sentences(browser, shipped, chased):
    html = browser("head").get(f"/instances/{chased.id}", headers=ZH).get_data(as_text=True)
    history = _section(html, "history-title")
    text = _main(history)
    assert "李会计 发起了 应收账款催收" in text
    assert "定时器触发：已过到期日（次一工作日 09:00），超时 12分钟" in text
    assert "张三 完成了 催收付款" in text
    assert "逾期原因" in text and "客户资金周转困难" in text and "承诺付款日期" in text and "2026年3月20日" in text
    assert "收到消息：到账" in text and "¥2,000.00" in text  # the payment in the invoice's currency
    assert "发票金额 ¥12,000.50" in " ".join(text.split())  # the start form's own label for its amount
    for raw in ("element_id", "lag_s", "submitted.", "chase_payment", "due_date_passed", "2026-03-09T", "+00:00"):
        assert raw not in text, raw
    # The raw record stays available, collapsed, for auditors.
    assert '<details class="raw">' in history and "lag_s" in history and "chase_payment" in history


def test_receivable_page_in_english(browser, shipped, chased):
    shipped.set_data(chased.id, {"erp_sync_ref": "X-77"}, "admin")  # a field no form or catalogue declares
    html = browser("head").get(f"/instances/{chased.id}", headers=EN).get_data(as_text=True)
    text = _main(_section(html, "data-title"))
    for shown in ("Customer", "Invoice amount", "CN¥12,000.50", "Feb 20, 2026", "Overdue", "yes", "Collection log",
                  "Promise", "Mar 9, 2026 09:12", "Payments"):
        assert shown in text, shown
    history = _main(_section(html, "history-title"))
    assert "张三 completed Chase payment" in history and "Reason for late payment" in history
    assert ", 12 minutes late" in history and "Message received: Payment received" in history
    assert "Technical data" in html


def test_exception_page_shows_dmn_output_and_timers_by_name(browser, shipped, exception):
    zh = browser("rep").get(f"/instances/{exception.id}", headers=ZH).get_data(as_text=True)
    text = _main(_section(zh, "data-title"))
    for shown in ("渠道", "微信", "严重程度", "投诉", "责任部门", "运输部", "影响重大", "否", "受理时间",
                  "2026年3月2日 09:00"):
        assert shown in text, shown
    for raw in ("high_impact", "responsible_department", "reported_severity", "wechat", "transport"):
        assert raw not in text, raw
    tasks = _main(_section(zh, "tasks-title"))
    assert "一级响应（30 分钟内）" in tasks
    assert "first_response" not in tasks  # timers and tasks by their names, never by id
    en = browser("rep").get(f"/instances/{exception.id}", headers=EN).get_data(as_text=True)
    text = _main(_section(en, "data-title"))
    assert "Responsible department" in text and "Transport" in text and "WeChat" in text
    assert "First response (30 min)" in _main(_section(en, "tasks-title"))


def test_every_engine_event_type_is_told_as_a_sentence():
    from pathlib import Path

    from web.instances.timeline import told_types

    engine_dir = Path(__file__).resolve().parents[2] / "engine"
    recorded = set()
    for source in engine_dir.rglob("*.py"):
        recorded |= set(re.findall(r'audit\.record\(\s*session,\s*"(\w+)"', source.read_text(encoding="utf-8")))
    # Events of people, groups, calendars and definitions belong to no instance (the audit page tells those).
    instance_events = {t for t in recorded if not t.startswith(("user_", "group_", "membership_", "password_",
                                                                "calendar_", "definition_", "token_", "sessions_"))}
    assert instance_events and instance_events <= told_types(), instance_events - told_types()


def test_instance_history_csv_has_local_times_and_a_column_per_common_field(browser, shipped, chased):
    response = browser("head").get(f"/instances/{chased.id}/history.csv", headers=ZH)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    assert list(rows[0]) == ["seq", "at", "actor", "type", "process_key", "instance_id", "business_key", "task_id",
                             "element_id", "element_name", "data"]
    assert all(r["at"].endswith("+08:00") for r in rows)
    assert all(r["business_key"] == "INV-2026-001" for r in rows)
    fired = next(r for r in rows if r["type"] == "timer_fired")
    assert fired["at"] == "2026-03-09T09:12:00+08:00" and fired["element_id"] == "due_date_passed"
    assert fired["element_name"] == "已过到期日（次一工作日 09:00）"
    rest = json.loads(fired["data"])
    assert rest["due_at"] == "2026-03-09T09:00:00+08:00" and "element_id" not in rest
    completed = [r for r in rows if r["type"] == "task_completed"]
    assert completed and completed[0]["element_id"] == "chase_payment" and completed[0]["element_name"] == "催收付款"
    assert browser("ops").get(f"/instances/{chased.id}/history.csv").status_code == 403


def test_audit_csv_export_has_local_times_and_element_names(browser, shipped, chased):
    body = browser("auditor").get(f"/audit/export.csv?instance={chased.id}", headers=EN).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    assert rows and all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$", r["at"]) for r in rows)
    completed = next(r for r in rows if r["type"] == "task_completed")
    assert completed["element_name"] == "Chase payment" and completed["business_key"] == "INV-2026-001"
    assert json.loads(completed["data"])["submitted"]["reason"] == "客户资金周转困难"


def test_a_formula_in_the_data_stays_text_in_the_csv(browser, shipped):
    started = shipped.start("exception_escalation", {**COMPLAINT, "description": "=HYPERLINK(\"http://x\")"}, "rep",
                            business_key="=cmd")
    body = browser("head").get(f"/instances/{started.id}/history.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    assert all(r["business_key"] == "'=cmd" for r in rows)


def test_instance_lists_show_customer_and_current_step(browser, shipped, chased, exception):
    overdue = shipped.start("receivables_collection", {**INVOICE, "customer": "西南冷链", "invoice_no": "INV-2026-002"},
                            "fin", business_key="INV-2026-002")
    shipped.fire_due_timers()  # due last Friday: the chase starts now
    zh = browser("head").get("/instances/", headers=ZH).get_data(as_text=True)
    assert "<th>客户</th>" in zh and "<th>当前步骤</th>" in zh
    row = zh.split(f'href="/instances/{exception.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Beta Foods" in row and "一级响应（30 分钟内）" in row and "张三" in row  # started by, by name
    row = zh.split(f'href="/instances/{overdue.id}"', 1)[1].split("</tr>", 1)[0]
    assert "西南冷链" in row and "催收付款" in row and "李会计" in row
    row = zh.split(f'href="/instances/{chased.id}"', 1)[1].split("</tr>", 1)[0]
    # No task open: the case waits for the promised date (its timer, by name).
    assert "华东物流有限公司" in row and "等待：已过承诺付款日（次一工作日 09:00）" in row and "promise_broken" not in row
    en = browser("auditor").get("/instances/", headers=EN).get_data(as_text=True)
    assert "<th>Customer</th>" in en and "<th>Current step</th>" in en and "First response (30 min)" in en


def test_the_instance_list_reads_projections_not_workflows(browser, shipped, chased, exception, monkeypatch):
    from engine.services import loading

    def refuse(*args, **kwargs):
        raise AssertionError("a list must not load a workflow")

    monkeypatch.setattr(loading, "load_instance", refuse)
    assert browser("head").get("/instances/").status_code == 200


def test_cli_history_csv_has_local_times(shipped, chased, monkeypatch):
    from click.testing import CliRunner

    from engine.cli.commands import cli

    monkeypatch.setenv("DATABASE_URL", shipped.config.database_url)
    monkeypatch.setenv("BPM_FORMS_DIR", str(shipped.config.forms_dir))
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = CliRunner().invoke(cli, ["history", str(chased.id), "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and all(r["at"].endswith("+08:00") for r in rows)
    assert {r["element_name"] for r in rows if r["element_id"] == "chase_payment"} == {"催收付款"}
    as_json = json.loads(CliRunner().invoke(cli, ["history", str(chased.id), "--json"]).output)
    assert set(as_json[0]) == {"seq", "at", "actor", "type", "instance_id", "task_id", "data"}


def test_lag_in_human_units(app):
    from web.instances.presenting import duration_text

    with app.test_request_context(headers=ZH):
        assert duration_text(timedelta(seconds=2878271.096)) == "33天"
    with app.test_request_context(headers=EN):
        assert duration_text(timedelta(minutes=12)) == "12 minutes"


SAMPLE_EVENTS = {
    "instance_started": {"version": 1, "business_key": "SO-1", "data": {"channel": "wechat", "severity": "complaint"}},
    "instance_completed": {"data": {}},
    "instance_cancelled": {"reason": "重复登记"},
    "task_created": {"element_id": "first_response", "title": "一级响应", "group": "cs_rep", "assignee": "rep",
                     "due_at": "2026-03-02T01:30:00+00:00"},
    "task_claimed": {}, "task_unclaimed": {"previous_assignee": "rep"},
    "task_assigned": {"assignee": "rep", "previous_assignee": None},
    "task_transferred": {"element_id": "chase_payment", "from": {"assignee": "rep", "groups": ["cs_rep"]},
                         "to_user": "head", "to_group": None, "reason": "休假"},
    "task_delegated": {"element_id": "chase_payment", "delegate": "head"},
    "task_sent_back": {"element_id": "head_collection", "to_element": "chase_payment", "to_task_id": "t-1",
                       "to_user": "rep", "reason": "请补充催收记录"},
    "task_withdrawn": {"element_id": "chase_payment", "cancelled": ["t-2"]},
    "instance_copied": {"to": ["cs_head"], "recipients": ["head"], "note": "请关注"},
    "attachment_added": {"attachment_id": 1, "filename": "破损照片.jpg", "media_type": "image/jpeg", "size": 204800,
                         "sha256": "ab" * 32, "task_id": None},
    "task_urged": {"element_id": "chase_payment", "recipients": ["head"], "groups": [], "note": "客户在等"},
    "task_delegation_returned": {"element_id": "chase_payment", "owner": "rep", "submitted": {"reason": "资金紧张"}},
    "task_completed": {"element_id": "first_response", "submitted": {"response": "已致电客户"}},
    "task_cancelled": {}, "task_commented": {"body": "客户要求今天回电"},
    "task_passed": {"element_id": "first_response", "title": "一级响应", "kind": "manualTask"},
    "timer_fired": {"element_id": "first_response_overdue", "kind": "boundary_non_interrupting",
                    "due_at": "2026-03-02T01:30:00+00:00", "fired_at": "2026-03-02T01:42:00+00:00", "lag_s": 720.0},
    "timer_retry_scheduled": {"timer_id": 1, "element_id": "first_response_overdue", "attempt": 2,
                              "run_at": "2026-03-02T01:45:00+00:00", "error": "database is locked"},
    "timer_rescheduled": {"element_id": "first_response_overdue", "old": "2026-03-02T01:30:00+00:00",
                          "new": "2026-03-03T01:30:00+00:00"},
    "due_rescheduled": {"element_id": "first_response", "old": "2026-03-02T01:30:00+00:00",
                        "new": "2026-03-03T01:30:00+00:00"},
    "message_correlated": {"message": "payment_received", "correlation": {}, "payload": {"amount": "5.00"}},
    "sla_breached": {"step": "first_response", "group": "cs_rep", "element_id": "first_response_overdue",
                     "deadline": "2026-03-02T01:30:00+00:00", "actual": "2026-03-02T01:42:00+00:00"},
    "incident_raised": {"incident_id": 1, "timer_id": 1, "element_id": "first_response_overdue", "error": "boom"},
    "incident_retried": {"incident_id": 1, "timer_id": 1}, "incident_resolved": {"incident_id": 1, "note": "已修复"},
    "external_task_locked": {"topic": "sms", "worker_id": "w1", "locked_until": "2026-03-02T01:35:00+00:00"},
    "external_task_lock_extended": {"worker_id": "w1", "locked_until": "2026-03-02T01:40:00+00:00"},
    "external_task_failed": {"worker_id": "w1", "error_message": "SMS gateway down"},
    "external_task_completed": {"element_id": "first_response", "topic": "sms", "worker_id": "w1",
                                "variables": {"response": "短信已发"}},
    "data_changed": {"before": {"severity": "general"}, "after": {"severity": "complaint"}},
    "customer_saved": {"customer": "ACME 物流", "before": {}, "after": {"name": "ACME 物流", "grade": 1}},
    "contract_saved": {"contract": "HT-2026-001", "customer": "ACME 物流", "before": {},
                       "after": {"number": "HT-2026-001", "expires_on": "2026-12-31"}},
    "call_recorded": {"call_id": 7, "caller": "13800001111", "outcome": "missed", "at": "2026-03-02T02:00:00+00:00",
                      "agent": None},
    "questionnaire_answered": {"questionnaire": 3, "kind": "survey", "customer": "ACME 物流", "via": "portal",
                               "unsatisfied": ["damage"], "recheck": {}},
    "instance_migrated": {"from_version": 1, "to_version": 2, "from_definition_id": 1, "to_definition_id": 2,
                          "mapping": {"chase_payment": "head_collection"}, "elements": ["head_collection"],
                          "timers": [{"element_id": "first_response_overdue", "old_due_at": "2026-03-02T01:30:00+00:00",
                                      "new_due_at": "2026-03-02T02:30:00+00:00"}]},
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_each_event_type_reads_as_a_sentence_without_raw_keys(app, shipped, exception, language):
    from engine.services.audit import HistoryEntry
    from web.instances.timeline import timeline, told_types

    assert set(SAMPLE_EVENTS) == told_types()
    at = datetime(2026, 3, 2, 1, 42, tzinfo=timezone.utc)
    by_scheduler = {"timer_fired", "timer_retry_scheduled", "sla_breached", "incident_raised"}
    entries = [HistoryEntry(n, at, "scheduler" if kind in by_scheduler else "rep", kind, exception.id, "t-1",
                            "exception_escalation", data) for n, (kind, data) in enumerate(SAMPLE_EVENTS.items(), 1)]
    texts = shipped.texts(shipped.instance(exception.id).definition_id)
    with app.test_request_context(headers={"Accept-Language": language}):
        told = timeline(entries, texts, {"rep": "张三"}, language)
    for entry in told:
        shown = entry.sentence + " ".join(f"{k} {v}" for k, v in entry.fields)
        assert entry.sentence and entry.type not in shown, entry
        for raw in ("element_id", "lag_s", "submitted", "first_response", "2026-03-02T", "scheduler", "'"):
            assert raw not in shown, (raw, shown)
    by_type = {e.type: e for e in told}
    if language == "en":
        # The deadline timer is named by the step its breach names, and by how late the worker fired it.
        assert by_type["timer_fired"].sentence == "Timer fired: First response (30 min) is due (30 minutes), 12 minutes late"
        assert by_type["message_correlated"].fields == []  # undeclared payload keys stay in the raw record
        assert '"amount": "5.00"' in by_type["message_correlated"].raw
        assert by_type["sla_breached"].sentence.startswith("Deadline missed: First response (30 min) (Customer")
        assert by_type["task_completed"].sentence == "张三 completed First response (30 min)"
        assert by_type["data_changed"].fields == [("Severity", "General → Complaint")]


def test_the_task_page_shows_the_same_readable_data_and_names(browser, shipped, exception):
    [task] = [t for t in shipped.tasks(instance_id=exception.id) if t.element_id == "first_response"]
    zh = browser("rep").get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    panel = _main(_section(zh, "data-title"))
    for shown in ("渠道", "微信", "责任部门", "运输部", "受理时间", "2026年3月2日 09:00"):
        assert shown in panel, shown
    for raw in ("high_impact", "responsible_department", "wechat", "transport", "T01:00:00"):
        assert raw not in panel, raw
    head = zh.split("<header class=\"page-head\">", 1)[1].split("</header>", 1)[0]
    assert "异常处理 #" in head and "exception_escalation" not in head, "the breadcrumb names the process"
    assert "<h1>一级响应（30 分钟内）</h1>" in head
    en = browser("rep").get(f"/tasks/{task.id}", headers=EN).get_data(as_text=True)
    assert "<h1>First response (30 min)</h1>" in en and "Responsible department" in en


def test_an_escalation_task_says_who_missed_which_deadline_by_how_much(browser, shipped, clock):
    invoice = shipped.start("receivables_collection", INVOICE, "fin", business_key=INVOICE["invoice_no"])
    clock.set(datetime(2026, 3, 9, 1, 12, tzinfo=timezone.utc))  # collection starts Monday 09:12 Shanghai
    shipped.fire_due_timers()
    clock.set(datetime(2026, 3, 11, 1, 42, tzinfo=timezone.utc))  # nobody chased: 2 working days + 30 minutes
    shipped.fire_due_timers()
    [escalation] = [t for t in shipped.tasks(instance_id=invoice.id) if t.group == "cs_head"]
    page = browser("head").get(f"/tasks/{escalation.id}", headers=ZH).get_data(as_text=True)
    facts = page.split('<dl class="data display-facts">', 1)[1].split("</dl>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", facts)
    for shown in ("催收付款", "客服代表", "2026年3月11日 09:12", "30分钟", "华东物流有限公司", "¥12,000.50"):
        assert shown in text, (shown, text)
    assert "cs_rep" not in text and "chase_payment" not in text
