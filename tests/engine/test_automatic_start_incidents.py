"""A start the worker makes on its own (the register's settlements, a return visit) that fails is rolled back alone,
the others of the pass still start, and it becomes one open incident an operator retries or resolves.

The failure is the realistic one: a designer tightened a start form (customer names of at most 40 characters) and one
customer of the register has a longer name. Clock: ManualClock from Monday 2026-03-02 09:00 Shanghai, March's first
working day (the settlements' start window: 09:00 and 5 days after).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import Engine, ManualClock
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.errors import Conflict
from engine.persistence import AuditEvent, Incident, RegisterStart, ReturnVisitRequest
from engine.services.customers import find_customer, save_customer
from engine.services.questionnaires import request_return_visit
from engine.services.register_processes import run_register_jobs
from engine.services.survey_processes import run_survey_jobs
from engine.services.timers import list_incidents, resolve_incident, retry_incident
from tests.engine.test_cli import bpm  # noqa: F401  (the CLI runner fixture)

SH = ZoneInfo("Asia/Shanghai")
LONG = "Alpha International Freight Forwarding and Warehousing Co."  # 58 characters; sorts first
GOOD = ("Beta Foods", "Gamma Retail")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine, folder: Path, bpmn: str, form: str, *, max_name: int | None) -> None:
    """Deploy a shipped process with its start form, the customer's name limited to ``max_name`` characters."""
    folder.mkdir(exist_ok=True)
    shutil.copy(SHIPPED_PROCESSES / bpmn, folder / bpmn)
    schema = json.loads((SHIPPED_FORMS / f"{form}.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["customer"]["maxLength"] = max_name or 200
    (folder / f"{form}.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    shutil.copy(SHIPPED_FORMS / f"{form}.ui.json", folder / f"{form}.ui.json")
    engine.deploy([folder / bpmn, folder / f"{form}.schema.json", folder / f"{form}.ui.json"], actor="designer")


@pytest.fixture
def settlements(engine: Engine, tmp_path: Path) -> Engine:
    """monthly_settlement whose start form takes customer names of up to 40 characters, and a register with one
    customer whose name is longer among two good ones."""
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    deploy(engine, tmp_path / "v2", "monthly_settlement.bpmn", "settlement_start", max_name=40)
    with engine.transaction() as session:
        for name in (LONG, *GOOD):
            save_customer(session, name, "admin", grade=3)
    return engine


def register_pass(engine: Engine) -> dict[str, int]:
    return run_register_jobs(engine.transaction)


def started(engine: Engine, process_key: str = "monthly_settlement") -> list[str]:
    return sorted(i.business_key or "" for i in engine.instances(process_key=process_key))


def incidents(engine: Engine, status: str | None = "open") -> list[Incident]:
    with engine.transaction() as session:
        rows = list_incidents(session, status)
        session.expunge_all()
    return rows


def audit_types(engine: Engine, process_key: str) -> list[str]:
    with engine.transaction() as session:
        return list(session.scalars(select(AuditEvent.type).where(AuditEvent.process_key == process_key,
                                                                  AuditEvent.type.like("incident_%"))
                                    .order_by(AuditEvent.seq)))


def test_a_customer_whose_start_fails_does_not_hold_up_the_others_and_raises_one_incident(
        settlements: Engine) -> None:
    engine = settlements
    assert register_pass(engine)["settlements"] == 2
    assert started(engine) == ["Beta Foods 2026-02", "Gamma Retail 2026-02"]
    (incident,) = incidents(engine)
    assert (incident.process_key, incident.element_id, incident.instance_id, incident.status) == (
        "monthly_settlement", "start", None, "open")
    assert incident.error.startswith(f"could not start monthly_settlement for customer {LONG} (2026-02): FormErrors: "
                                     "form settlement_start: customer:")
    assert audit_types(engine, "monthly_settlement") == ["incident_raised"]
    # The next passes leave it alone: no second incident, no second try, until an operator acts.
    assert register_pass(engine)["settlements"] == 0
    assert register_pass(engine)["settlements"] == 0
    assert [i.id for i in incidents(engine, None)] == [incident.id]
    assert started(engine) == ["Beta Foods 2026-02", "Gamma Retail 2026-02"]


def test_retried_after_the_cause_is_fixed_the_next_pass_starts_it_once(settlements: Engine) -> None:
    engine = settlements
    register_pass(engine)
    (incident,) = incidents(engine)
    with engine.transaction() as session:  # the register's name is shortened to what the invoices carry
        save_customer(session, "Alpha Freight", "admin", customer_id=find_customer(session, LONG).id)
        retried = retry_incident(session, incident.id, "admin")
        assert (retried.status, retried.resolved_by) == ("retried", "admin")
    assert register_pass(engine)["settlements"] == 1
    assert started(engine) == ["Alpha Freight 2026-02", "Beta Foods 2026-02", "Gamma Retail 2026-02"]
    assert register_pass(engine)["settlements"] == 0
    assert [(i.id, i.status) for i in incidents(engine, None)] == [(incident.id, "retried")]
    assert audit_types(engine, "monthly_settlement") == ["incident_raised", "incident_retried"]
    with engine.transaction() as session, pytest.raises(Conflict):
        retry_incident(session, incident.id, "admin")


def test_retried_without_a_fix_it_fails_once_more_as_a_new_incident(settlements: Engine) -> None:
    engine = settlements
    register_pass(engine)
    (first,) = incidents(engine)
    with engine.transaction() as session:
        retry_incident(session, first.id, "admin")
    assert register_pass(engine)["settlements"] == 0
    (second,) = incidents(engine)
    assert second.id != first.id and second.start_key == first.start_key
    assert register_pass(engine)["settlements"] == 0
    assert [i.id for i in incidents(engine)] == [second.id]


def test_retried_after_the_start_window_closed_the_next_pass_still_starts_it(
        settlements: Engine, clock: ManualClock) -> None:
    engine = settlements
    register_pass(engine)
    (incident,) = incidents(engine)
    clock.set(sh(2026, 3, 16, 10, 0))  # two weeks later: the regular starts of March are over
    with engine.transaction() as session:
        save_customer(session, "Alpha Freight", "admin", customer_id=find_customer(session, LONG).id)
        retry_incident(session, incident.id, "admin")
    register_pass(engine)
    assert started(engine) == ["Alpha Freight 2026-02", "Beta Foods 2026-02", "Gamma Retail 2026-02"]
    register_pass(engine)
    assert len(started(engine)) == 3 and incidents(engine) == []


def test_resolved_it_is_never_tried_again(settlements: Engine) -> None:
    engine = settlements
    register_pass(engine)
    (incident,) = incidents(engine)
    with engine.transaction() as session:
        save_customer(session, "Alpha Freight", "admin", customer_id=find_customer(session, LONG).id)
        resolved = resolve_incident(session, incident.id, "admin", "settled by hand this month")
        assert resolved.status == "resolved"
    assert register_pass(engine)["settlements"] == 0
    assert started(engine) == ["Beta Foods 2026-02", "Gamma Retail 2026-02"]
    assert [(i.id, i.status) for i in incidents(engine, None)] == [(incident.id, "resolved")]
    with engine.transaction() as session:  # the marker without an instance is the record that it was tried
        marker = session.scalar(select(RegisterStart).where(RegisterStart.start_key == incident.start_key))
        assert marker is not None and marker.instance_id is None
    assert audit_types(engine, "monthly_settlement") == ["incident_raised", "incident_resolved"]


# -- return visits --------------------------------------------------------------------------------------------------


def test_a_return_visit_that_cannot_start_is_an_incident_and_retried_it_starts(engine: Engine, tmp_path: Path) -> None:
    deploy(engine, tmp_path / "v2", "customer_return_visit.bpmn", "return_visit_start", max_name=40)
    with engine.transaction() as session:
        request_return_visit(session, "exception:11", "exception", LONG, {"source_ref": "ORD-11"})
        request_return_visit(session, "exception:12", "exception", "Beta Foods", {"source_ref": "ORD-12"})
    assert run_survey_jobs(engine.transaction)["visits"] == 1
    assert started(engine, "customer_return_visit") == ["Beta Foods exception:12"]
    (incident,) = incidents(engine)
    assert (incident.process_key, incident.element_id, incident.instance_id, incident.start_key) == (
        "customer_return_visit", "start", None, "exception:11")
    assert incident.error.startswith(f"could not start customer_return_visit for customer {LONG} (exception "
                                     "exception:11): FormErrors: form return_visit_start: customer:")
    assert run_survey_jobs(engine.transaction)["visits"] == 0
    assert len(incidents(engine, None)) == 1
    # The designer takes the limit back; the operator retries; the next pass starts the visit.
    deploy(engine, tmp_path / "v3", "customer_return_visit.bpmn", "return_visit_start", max_name=None)
    with engine.transaction() as session:
        retry_incident(session, incident.id, "admin")
    assert run_survey_jobs(engine.transaction)["visits"] == 1
    assert started(engine, "customer_return_visit") == [f"{LONG} exception:11", "Beta Foods exception:12"]
    with engine.transaction() as session:
        request = session.scalar(select(ReturnVisitRequest).where(ReturnVisitRequest.source_key == "exception:11"))
        assert request is not None and request.instance_id is not None and request.error is None
    assert [(i.id, i.status) for i in incidents(engine, None)] == [(incident.id, "retried")]
    assert audit_types(engine, "customer_return_visit") == ["incident_raised", "incident_retried"]


def test_a_resolved_return_visit_is_not_started(engine: Engine, tmp_path: Path) -> None:
    deploy(engine, tmp_path / "v2", "customer_return_visit.bpmn", "return_visit_start", max_name=40)
    with engine.transaction() as session:
        request_return_visit(session, "exception:11", "exception", LONG, {"source_ref": "ORD-11"})
    assert run_survey_jobs(engine.transaction)["visits"] == 0
    (incident,) = incidents(engine)
    deploy(engine, tmp_path / "v3", "customer_return_visit.bpmn", "return_visit_start", max_name=None)
    with engine.transaction() as session:
        resolve_incident(session, incident.id, "admin", "visited by phone")
    assert run_survey_jobs(engine.transaction)["visits"] == 0
    assert started(engine, "customer_return_visit") == []
    assert incidents(engine) == []


# -- a process error at the first step -------------------------------------------------------------------------------

REVIEW_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="review_defs" targetNamespace="http://bpm.test">
  <bpmn:process id="monthly_review" name="Monthly review" isExecutable="true">
    <bpmn:startEvent id="review_start"/>
    <bpmn:sequenceFlow id="r1" sourceRef="review_start" targetRef="review_day"/>
    <bpmn:scriptTask id="review_day" name="Review day" scriptFormat="python">
      <bpmn:script>review_day = review_month.split("-")[2]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="r2" sourceRef="review_day" targetRef="review_end"/>
    <bpmn:endEvent id="review_end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_start_failing_at_its_first_step_leaves_no_trace_but_its_incident(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "monthly_review.bpmn").write_text(REVIEW_BPMN, encoding="utf-8")
    engine.deploy([tmp_path / "monthly_review.bpmn"], actor="designer")
    assert register_pass(engine)["reviews"] == 0
    (incident,) = incidents(engine)
    assert incident.error.startswith("could not start monthly_review for 2026-02: ScriptError:")
    assert engine.instances(process_key="monthly_review") == []
    with engine.transaction() as session:  # what the failed start recorded went with its savepoint
        events = list(session.scalars(select(AuditEvent.type).where(AuditEvent.instance_id.is_not(None))))
    assert events == []
    assert engine.verify_audit().ok
    assert register_pass(engine)["reviews"] == 0 and len(incidents(engine, None)) == 1


def test_the_cli_lists_a_failed_start_and_retries_it(bpm, tmp_path: Path) -> None:  # noqa: F811
    engine = Engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}")  # the database the CLI fixture initialised
    deploy(engine, tmp_path / "v2", "customer_return_visit.bpmn", "return_visit_start", max_name=40)
    with engine.transaction() as session:
        request_return_visit(session, "exception:11", "exception", LONG, {"source_ref": "ORD-11"})
    run_survey_jobs(engine.transaction)
    listed = bpm("incidents").output
    assert f"instance=-  customer_return_visit:start  open  could not start customer_return_visit for customer {LONG}" \
        in listed
    [row] = json.loads(bpm("incidents", "--json").output)
    assert bpm("incidents", "retry", str(row["id"])).output.strip() == f"incident {row['id']} retried: queued"
    with engine.transaction() as session:
        request = session.scalar(select(ReturnVisitRequest).where(ReturnVisitRequest.source_key == "exception:11"))
        assert request is not None and request.error is None  # the next pass tries it again
    engine.close()
