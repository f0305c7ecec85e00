"""satisfaction_survey 满意度调查与整改 (manual 五.5; rules 第四条(三), 第十条) through the service layer, one test per rule.

Time moves only with the ManualClock (fixture: Monday 2026-03-02 09:00 Shanghai) and ``engine.fire_due_timers()``;
the worker's survey pass (``run_survey_jobs``) does the survey's in-engine tasks (open the questionnaire, record the
results and open the rectifications) and the register's starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from steps import open_tasks

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from engine.errors import Conflict, InvalidInput, NotFound
from engine.services.customers import save_customer
from engine.services.questionnaires import by_token, of_instance, submit_survey
from engine.services.register_processes import first_working_day
from engine.services.reports.common import Period
from engine.services.reports.surveys import satisfaction
from engine.services.survey_processes import run_survey_jobs

SH = ZoneInfo("Asia/Shanghai")
ALL_SATISFIED = {item: "satisfied" for item in ("timeliness", "damage", "quantity", "information", "attitude", "billing")}
DEPARTMENT_USERS = {"transport": "trans", "warehouse": "wh", "it": "itdept"}


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


@pytest.fixture(autouse=True)
def setup(engine: Engine) -> None:
    for group, user in DEPARTMENT_USERS.items():
        engine.add_user(user, [group])
    engine.deploy([SHIPPED_PROCESSES / "satisfaction_survey.bpmn", SHIPPED_PROCESSES / "survey_rectification.bpmn"],
                  actor="designer")


def register(engine: Engine) -> None:
    with engine.transaction() as session:
        save_customer(session, "ACME Logistics", "admin", grade=1, owner="rep")
        save_customer(session, "Beta Foods", "admin", grade=4)
        save_customer(session, "Gamma Retail", "admin", grade=2, active=False)


def jobs(engine: Engine) -> dict[str, int]:
    return run_survey_jobs(engine.transaction)


def start(engine: Engine, customer: str = "ACME Logistics", period: str = "2026-H1") -> int:
    instance_id = engine.start("satisfaction_survey", {"customer": customer, "period": period}, actor="rep").id
    assert jobs(engine)["survey_tasks"] == 1  # the questionnaire is opened
    return instance_id


def token_of(engine: Engine, instance_id: int) -> str:
    with engine.transaction() as session:
        q = of_instance(session, instance_id)
        assert q is not None
        return q.token


def answer_in_portal(engine: Engine, instance_id: int, answers: dict) -> None:
    token = token_of(engine, instance_id)
    with engine.transaction() as session:
        submit_survey(session, token, answers)


def breaches(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in engine.history(instance_id) if e.type == "sla_breached"]


def rectifications(engine: Engine) -> dict[str, object]:
    """Open rectification tasks by item."""
    out = {}
    for inst in engine.instances(process_key="survey_rectification", status="running"):
        (task,) = engine.tasks(instance_id=inst.id)
        out[engine.instance(inst.id).data["item"]] = task
    return out


# -- start: key accounts half-yearly, everyone yearly ---------------------------------------------------------


def test_the_register_starts_key_accounts_twice_a_year_and_everyone_in_january(engine: Engine, clock: ManualClock) -> None:
    register(engine)
    with engine.transaction() as session:
        january, july = first_working_day(session, 2027, 1), first_working_day(session, 2026, 7)
    clock.set(sh(july.year, july.month, july.day, 8, 59))
    assert jobs(engine)["surveys"] == 0
    clock.set(sh(july.year, july.month, july.day, 9, 0))
    assert jobs(engine)["surveys"] == 1  # July: the key account only (Gamma is a key account but inactive)
    assert jobs(engine)["surveys"] == 0  # once
    clock.set(sh(january.year, january.month, january.day, 10, 0))
    assert jobs(engine)["surveys"] == 2  # January: the key account's second half and everyone's year
    runs = sorted((i.business_key, i.started_by) for i in engine.instances(process_key="satisfaction_survey"))
    assert runs == [("ACME Logistics 2026-H1", "scheduler"), ("ACME Logistics 2026-H2", "scheduler"),
                    ("Beta Foods 2026", "scheduler")]
    clock.set(sh(2027, 3, 1, 10, 0))  # not a survey month
    assert jobs(engine)["surveys"] == 0
    # The customer's own cs_rep gets the task (the register's owner); an unowned customer's stays with the group.
    assignees = {engine.instance(i.id).business_key: open_tasks(engine, i.id)["collect_answers"].assignee
                 for i in engine.instances(process_key="satisfaction_survey")}
    assert assignees == {"ACME Logistics 2026-H1": "rep", "ACME Logistics 2026-H2": "rep", "Beta Foods 2026": None}


def test_a_worker_down_catches_up_within_5_days_only(engine: Engine, clock: ManualClock) -> None:
    register(engine)
    with engine.transaction() as session:
        july = first_working_day(session, 2026, 7)
    clock.set(sh(july.year, july.month, july.day, 9, 0) + timedelta(days=6))
    assert jobs(engine)["surveys"] == 0
    clock.set(sh(july.year, july.month, july.day, 9, 0) + timedelta(days=5))
    assert jobs(engine)["surveys"] == 1


def test_cs_rep_starts_one_by_hand_and_the_period_is_checked(engine: Engine) -> None:
    with pytest.raises(FormErrors):
        engine.start("satisfaction_survey", {"customer": "ACME Logistics", "period": "H1 2026"}, actor="rep")
    instance_id = start(engine)
    task = open_tasks(engine, instance_id)["collect_answers"]
    assert (task.title, task.group, task.due_at) == ("收集客户调查答复", "cs_rep", sh(2026, 3, 16, 17, 30))
    d = engine.instance(instance_id).data
    assert d["questionnaire_link"].startswith("/portal/q/") and d["recheck_items"] == []
    assert d["questionnaire_expires_at"] == sh(2026, 3, 23, 9, 0)  # 21 days


# -- answers: in the portal or by phone ------------------------------------------------------------------------


def test_the_customer_answers_in_the_portal_and_each_unsatisfied_item_goes_to_its_department(
        engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine)
    clock.set(sh(2026, 3, 3, 10, 0))
    answer_in_portal(engine, instance_id, {**ALL_SATISFIED, "damage": "unsatisfied", "damage_comment": "两箱压坏",
                                           "billing": "unsatisfied", "billing_comment": "账单晚到"})
    assert open_tasks(engine, instance_id) == {}
    assert jobs(engine)["survey_tasks"] == 1
    survey = engine.instance(instance_id)
    assert survey.status == "completed"
    assert (survey.data["answered_via"], survey.data["satisfied_count"], survey.data["unsatisfied_count"]) == (
        "portal", 4, 2)
    tasks = rectifications(engine)
    assert {item: (t.title, t.group, t.due_at) for item, t in tasks.items()} == {
        "damage": ("整改不满意项", "transport", sh(2026, 3, 10, 17, 30)),  # 5 working days
        "billing": ("整改不满意项", "finance", sh(2026, 3, 10, 17, 30))}
    assert sorted(survey.data["rectification_instance_ids"]) == sorted(t.instance_id for t in tasks.values())
    rect = engine.instance(tasks["damage"].instance_id).data
    assert (rect["customer"], rect["customer_comment"], rect["survey_instance_id"]) == (
        "ACME Logistics", "两箱压坏", instance_id)
    engine.complete(tasks["damage"].id, {"root_cause": "叉车操作", "measures": "培训", "completed_on": "2026-03-05"},
                    "trans")
    assert engine.instance(tasks["damage"].instance_id).status == "completed"


def test_cs_rep_records_the_answers_by_phone_and_the_link_dies(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine)
    token = token_of(engine, instance_id)
    task = open_tasks(engine, instance_id)["collect_answers"]
    with pytest.raises(FormErrors):  # an unsatisfied item needs its comment
        engine.complete(task.id, {**ALL_SATISFIED, "attitude": "unsatisfied", "answered_via": "phone"}, "rep")
    engine.complete(task.id, {**ALL_SATISFIED, "attitude": "unsatisfied", "attitude_comment": "司机态度差",
                              "answered_via": "phone", "respondent": "王经理"}, "rep")
    jobs(engine)
    assert {item: t.group for item, t in rectifications(engine).items()} == {"attitude": "operations"}
    with engine.transaction() as session:
        q = by_token(session, token)
        assert (q.answered_via, q.answers["attitude"]) == ("phone", {"rating": "unsatisfied", "comment": "司机态度差"})
        with pytest.raises(Conflict, match="already been answered"):
            submit_survey(session, token, ALL_SATISFIED)


def test_the_link_is_single_use_expires_and_refuses_bad_answers(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine)
    token = token_of(engine, instance_id)
    with engine.transaction() as session:
        with pytest.raises(NotFound):
            by_token(session, "x" * 43)
        with pytest.raises(NotFound):
            by_token(session, "../../etc/passwd")
        with pytest.raises(InvalidInput, match="damage_comment"):
            submit_survey(session, token, {**ALL_SATISFIED, "damage": "unsatisfied"})
        with pytest.raises(InvalidInput, match="billing: choose"):
            submit_survey(session, token, {**ALL_SATISFIED, "billing": "meh"})
    clock.advance(days=21)
    with engine.transaction() as session, pytest.raises(Conflict, match="expired"):
        submit_survey(session, token, ALL_SATISFIED)
    clock.advance(days=-1)
    answer_in_portal(engine, instance_id, ALL_SATISFIED)
    with engine.transaction() as session, pytest.raises(Conflict, match="already been answered"):
        submit_survey(session, token, ALL_SATISFIED)


# -- the re-check in the next survey -------------------------------------------------------------------------------


def test_the_next_survey_rechecks_last_times_unsatisfied_items_and_records_the_result(
        engine: Engine, clock: ManualClock) -> None:
    first = start(engine, period="2025-H2")
    answer_in_portal(engine, first, {**ALL_SATISFIED, "damage": "unsatisfied", "damage_comment": "两箱压坏",
                                     "information": "unsatisfied", "information_comment": "无在途信息"})
    jobs(engine)
    clock.advance(days=30)
    second = start(engine, period="2026-H1")
    d = engine.instance(second).data
    assert d["recheck_items"] == ["damage", "information"] and "两箱压坏" in d["recheck_notes"]
    token = token_of(engine, second)
    with engine.transaction() as session, pytest.raises(InvalidInput, match="recheck_damage"):
        submit_survey(session, token, ALL_SATISFIED)  # the open items must be asked about
    answer_in_portal(engine, second, {**ALL_SATISFIED, "recheck_damage": "resolved",
                                      "recheck_information": "not_resolved"})
    assert jobs(engine)["survey_tasks"] == 1
    d = engine.instance(second).data
    assert d["recheck_log"] == [{"item": "damage", "result": "resolved"},
                                {"item": "information", "result": "not_resolved"}]
    with engine.transaction() as session:
        assert by_token(session, token).recheck_results == {"damage": "resolved", "information": "not_resolved"}
    # Not put right: rectified again by its department, although rated satisfied this time.
    again = [engine.instance(i).data for i in d["rectification_instance_ids"]]
    assert [(r["item"], r["responsible_department"]) for r in again] == [("information", "it")]


# -- deadlines ------------------------------------------------------------------------------------------------------


def test_answers_not_in_after_10_working_days_are_a_breach_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine)
    clock.set(sh(2026, 3, 16, 17, 29))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 16, 17, 30))
    assert [r.element_id for r in engine.fire_due_timers()] == ["answers_late"]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"collect_answers", "survey_overdue"}  # the answers stay with cs_rep
    assert (tasks["survey_overdue"].title, tasks["survey_overdue"].group) == ("调查超时处理", "cs_head")
    assert breaches(engine, instance_id) == [("survey_answers", "cs_rep", sh(2026, 3, 16, 17, 30))]
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_by"], d["overdue_by"]) == ("collect_answers", "cs_rep", 0)


def test_a_rectification_not_done_in_5_working_days_is_the_departments_breach(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine)
    answer_in_portal(engine, instance_id, {**ALL_SATISFIED, "quantity": "unsatisfied", "quantity_comment": "短少"})
    jobs(engine)
    (task,) = rectifications(engine).values()
    assert task.group == "warehouse"
    clock.set(sh(2026, 3, 9, 17, 30))
    assert [r.element_id for r in engine.fire_due_timers()] == ["rectify_late"]
    assert breaches(engine, task.instance_id) == [("survey_rectification", "warehouse", sh(2026, 3, 9, 17, 30))]
    assert engine.instance(task.instance_id).data["missed_by"] == "warehouse"
    tasks = open_tasks(engine, task.instance_id)
    assert {k: t.group for k, t in tasks.items()} == {"rectify_item": "warehouse", "rectification_overdue": "cs_head"}


# -- the KPI ----------------------------------------------------------------------------------------------------------


def test_survey_satisfaction_counts_the_items_answered_in_the_period(engine: Engine, clock: ManualClock) -> None:
    period = Period(sh(2026, 3, 1), sh(2026, 4, 1))
    with engine.transaction() as session:
        empty = satisfaction(session, period)
    assert (empty.answered, empty.items, empty.rate) == (0, 0, None)
    a = start(engine)
    answer_in_portal(engine, a, {**ALL_SATISFIED, "damage": "unsatisfied", "damage_comment": "压坏"})
    jobs(engine)
    b = start(engine, customer="Beta Foods", period="2025")
    task = open_tasks(engine, b)["collect_answers"]
    engine.complete(task.id, {**ALL_SATISFIED, "answered_via": "phone"}, "rep")
    jobs(engine)
    start(engine, customer="Delta", period="2025")  # not answered: not counted
    with engine.transaction() as session:
        stats = satisfaction(session, period)
        later = satisfaction(session, Period(sh(2026, 4, 1), sh(2026, 5, 1)))
    assert (stats.answered, stats.items, stats.satisfied_items, stats.rate) == (2, 12, 11, 11 / 12)
    assert (stats.per_item["damage"].answered, stats.per_item["damage"].satisfied, stats.per_item["damage"].rate) == (
        2, 1, 0.5)
    assert stats.ids == {"satisfied": [b], "unsatisfied": [a]}
    assert later.answered == 0


# -- the link goes out by e-mail when the register has the customer's address ----------------------------------


def test_the_link_is_e_mailed_when_the_register_has_the_customers_address(tmp_path, clock: ManualClock) -> None:
    import socket
    from email import message_from_bytes
    from email.header import decode_header, make_header

    from aiosmtpd.controller import Controller

    from engine.scheduling.delivery import deliver_due
    from engine.services.questionnaire_mail import set_customer_email
    from tests.conftest import make_engine

    received: list = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'mail.sqlite3'}", clock, smtp_url=f"smtp://127.0.0.1:{port}",
                             base_url="https://cs.example.com")
        engine.deploy([SHIPPED_PROCESSES / "satisfaction_survey.bpmn"], actor="designer")
        with engine.transaction() as session:
            save_customer(session, "ACME Logistics", "admin", grade=1)
            save_customer(session, "Beta Foods", "admin", grade=4)
            set_customer_email(session, "ACME Logistics", "qa@acme.example", "admin")
            with pytest.raises(InvalidInput):
                set_customer_email(session, "Beta Foods", "not-an-address", "admin")
        acme = start(engine)
        start(engine, customer="Beta Foods", period="2025")  # no address: nothing to send, cs_rep sends the link
        results = deliver_due(engine.session, engine.config, "test-worker")
        assert [r.outcome for r in results] == ["sent"]
        assert deliver_due(engine.session, engine.config, "test-worker") == []  # once
        ((to, mail),) = received
        body = mail.get_payload(decode=True).decode("utf-8")
        assert to == ["qa@acme.example"] and f"https://cs.example.com/portal/q/{token_of(engine, acme)}" in body
        assert str(make_header(decode_header(mail["Subject"]))) == "客户满意度调查 / Customer satisfaction survey"
        with engine.transaction() as session:
            assert of_instance(session, acme).emailed_to == "qa@acme.example"
        engine.close()
    finally:
        controller.stop()
