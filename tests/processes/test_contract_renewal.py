"""contract_renewal 合同续签与价格报备 (manual 五.6) through the service layer, one test per rule.

A contract registered in the customer register starts its term's renewal instance (once per number and expiry); the
instance waits until two months before expiry (09:00, next working day); cs_rep discusses it; unhandled after 14
days cs_head takes over; still undecided when it expires, the vp decides. A new price is filed with finance; the
decision is written back to the register by the register worker's pass, which starts the next term.
Clock: ManualClock from Monday 2026-03-02 09:00 Shanghai.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from steps import open_tasks

from engine import Engine, ManualClock, ScriptError
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from engine.services.customers import list_contracts, list_customers, save_contract, save_customer
from engine.services.register_processes import run_register_jobs

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine) -> None:
    engine.deploy([SHIPPED_PROCESSES / "contract_renewal.bpmn"], actor="designer")


def add_contract(engine: Engine, number: str = "HT-2026-001", expires_on: str = "2026-06-30", kind: str = "contract") -> int:
    """Register a customer's contract and return the renewal instance it started."""
    with engine.transaction() as session:
        if not any(c.name == "ACME Logistics" for c in list_customers(session)):
            save_customer(session, "ACME Logistics", "admin", grade=2, owner="rep")
        save_contract(session, number, "admin", customer="ACME Logistics", kind=kind, expires_on=expires_on)
    [inst] = [i for i in engine.instances(process_key="contract_renewal") if i.business_key == f"{number} {expires_on}"]
    return inst.id


def jobs(engine: Engine) -> dict[str, int]:
    return run_register_jobs(engine.transaction)


def breaches(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in engine.history(instance_id) if e.type == "sla_breached"]


def fire_at(engine: Engine, clock: ManualClock, at: datetime) -> list[str]:
    clock.set(at)
    return [r.element_id for r in engine.fire_due_timers()]


def contract(engine: Engine, number: str = "HT-2026-001"):
    with engine.transaction() as session:
        return [c for c in list_contracts(session) if c.number == number][0]


def test_registering_a_contract_starts_its_renewal_which_waits_until_two_months_before_expiry(
        engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine)
    d = engine.instance(instance_id).data
    assert (d["customer"], d["contract_no"], d["contract_kind"], d["expires_on"]) == (
        "ACME Logistics", "HT-2026-001", "contract", date(2026, 6, 30))
    assert d["renewal_opens_at"] == sh(2026, 4, 30, 9, 0) and d["expiry_at"] == sh(2026, 7, 1, 9, 0)
    assert [(t.element_id, t.due_at) for t in engine.timers(instance_id=instance_id)] == [
        ("renewal_opens", sh(2026, 4, 30, 9, 0))]
    assert open_tasks(engine, instance_id) == {}
    with engine.transaction() as session:  # saving it again (a note) starts nothing new
        save_contract(session, "HT-2026-001", "admin", note="盖章版已归档")
    assert jobs(engine)["renewals"] == 0
    assert len(engine.instances(process_key="contract_renewal")) == 1
    assert fire_at(engine, clock, sh(2026, 4, 30, 8, 59)) == []
    assert fire_at(engine, clock, sh(2026, 4, 30, 9, 0)) == ["renewal_opens"]
    task = open_tasks(engine, instance_id)["discuss_renewal"]
    assert (task.title, task.group, task.form_key, task.due_at) == (
        "与客户商谈续签", "cs_rep", "renewal_decision", sh(2026, 5, 14, 9, 0))  # 14 days


@pytest.mark.parametrize(("expires_on", "opens_at"), [
    ("2026-04-30", sh(2026, 2, 28, 9, 0)),  # Feb has no 30th: its last day, a make-up working Saturday (already past)
    ("2026-12-31", sh(2026, 11, 2, 9, 0)),  # 31 Oct is a Saturday: the next working day
    ("2026-07-06", sh(2026, 5, 6, 9, 0)),   # 6 May: the first working day after Labour Day
])
def test_the_reminder_falls_on_a_working_day(engine: Engine, clock: ManualClock, expires_on: str, opens_at: datetime) -> None:
    deploy(engine)
    instance_id = add_contract(engine, expires_on=expires_on)
    assert engine.instance(instance_id).data["renewal_opens_at"] == opens_at


def test_catch_up_starts_renewals_for_contracts_registered_before_the_process_was_deployed(
        engine: Engine, clock: ManualClock) -> None:
    with engine.transaction() as session:
        save_customer(session, "ACME Logistics", "admin", grade=2)
        save_customer(session, "Old Co", "admin", active=False)
        save_contract(session, "HT-A", "admin", customer="ACME Logistics", expires_on="2026-09-30")
        save_contract(session, "HT-B", "admin", customer="Old Co", expires_on="2026-09-30")  # inactive customer
        save_contract(session, "HT-C", "admin", customer="ACME Logistics", expires_on="2026-09-30", status="ended")
    assert engine.instances(process_key="contract_renewal") == []
    deploy(engine)
    assert jobs(engine)["renewals"] == 1
    assert jobs(engine)["renewals"] == 0
    assert [i.business_key for i in engine.instances(process_key="contract_renewal")] == ["HT-A 2026-09-30"]


def test_renewed_at_the_same_price_the_register_gets_the_new_expiry_and_the_next_term_starts(
        engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine)
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    task = open_tasks(engine, instance_id)["discuss_renewal"]
    with pytest.raises(FormErrors):  # renewing names the new expiry
        engine.complete(task.id, {"decision": "renew"}, "rep")
    with pytest.raises(ScriptError):  # …after the current one
        engine.complete(task.id, {"decision": "renew", "new_expires_on": "2026-06-01"}, "rep")
    engine.complete(task.id, {"decision": "renew", "new_expires_on": "2027-06-30", "decision_note": "客户同意原价续签一年"}, "rep")
    assert open_tasks(engine, instance_id) == {}
    assert jobs(engine)["register_tasks"] == 1
    done = engine.instance(instance_id)
    assert done.status == "completed" and done.data["register_updated"] == "renewed"
    assert contract(engine).expires_on == date(2027, 6, 30)
    nxt = [i for i in engine.instances(process_key="contract_renewal") if i.id != instance_id]
    assert [i.business_key for i in nxt] == ["HT-2026-001 2027-06-30"]
    assert engine.instance(nxt[0].id).data["renewal_opens_at"] == sh(2027, 4, 30, 9, 0)
    saved = [e for e in engine.history(instance_id) if e.type == "external_task_completed"]
    assert saved and saved[0].data["variables"]["next_expires_on"] == "2027-06-30"


def test_a_new_price_is_filed_with_finance_on_the_settlement_data_form(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine)
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    task = open_tasks(engine, instance_id)["discuss_renewal"]
    clock.set(sh(2026, 5, 6, 10, 0))
    engine.complete(task.id, {"decision": "reprice", "new_expires_on": "2027-06-30"}, "rep")
    filing = open_tasks(engine, instance_id)["file_price"]
    assert (filing.title, filing.group, filing.form_key, filing.due_at) == (
        "填写结算数据报备单", "cs_rep", "price_filing", sh(2026, 5, 8, 10, 0))
    engine.complete(filing.id, {"price_terms": "干线运价上调 3%", "price_effective_from": "2026-07-01"}, "rep")
    ack = open_tasks(engine, instance_id)["acknowledge_filing"]
    assert (ack.group, ack.due_at) == ("finance", sh(2026, 5, 8, 10, 0))
    engine.complete(ack.id, {"filing_received": True}, "fin")
    assert jobs(engine)["register_tasks"] == 1
    assert contract(engine).expires_on == date(2027, 6, 30)
    assert engine.instance(instance_id).status == "completed"


def test_a_contract_not_renewed_is_ended_in_the_register(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine, kind="quote")
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    engine.complete(open_tasks(engine, instance_id)["discuss_renewal"].id, {"decision": "end"}, "rep")
    jobs(engine)
    assert contract(engine).status == "ended"
    assert len(engine.instances(process_key="contract_renewal")) == 1  # no next term


def test_unhandled_after_14_days_cs_head_takes_the_renewal_over(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine)
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    assert fire_at(engine, clock, sh(2026, 5, 14, 8, 59)) == []
    assert fire_at(engine, clock, sh(2026, 5, 14, 9, 0)) == ["discussion_late"]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"head_renewal"}  # taken over: the rep's task is gone
    head = tasks["head_renewal"]
    assert (head.title, head.group, head.form_key, head.due_at) == (
        "负责人接手续签", "cs_head", "renewal_takeover", sh(2026, 7, 1, 9, 0))
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_step_name"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "discuss_renewal", "与客户商谈续签", "cs_rep", sh(2026, 5, 14, 9, 0), 0)
    assert breaches(engine, instance_id) == [("renewal_discussion", "cs_rep", sh(2026, 5, 14, 9, 0))]
    engine.complete(head.id, {"decision": "renew", "new_expires_on": "2027-06-30"}, "head")
    jobs(engine)
    assert contract(engine).expires_on == date(2027, 6, 30)


def test_expiry_without_a_decision_goes_to_the_vp_and_a_late_vp_to_gm_office(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine)
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    fire_at(engine, clock, sh(2026, 5, 14, 9, 0))
    assert fire_at(engine, clock, sh(2026, 7, 1, 9, 0)) == ["expired_at_head"]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"vp_renewal"}
    vp = tasks["vp_renewal"]
    assert (vp.title, vp.group, vp.due_at) == ("副总决定续签", "vp", sh(2026, 7, 3, 9, 0))
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_by"], d["missed_deadline"]) == ("head_renewal", "cs_head", sh(2026, 7, 1, 9, 0))
    assert fire_at(engine, clock, sh(2026, 7, 3, 9, 0)) == ["vp_late"]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"vp_renewal", "renewal_vp_overdue"}  # the vp keeps it; gm_office follows up
    assert tasks["renewal_vp_overdue"].group == "gm_office"
    assert breaches(engine, instance_id) == [("renewal_discussion", "cs_rep", sh(2026, 5, 14, 9, 0)),
                                             ("renewal_expiry", "cs_head", sh(2026, 7, 1, 9, 0)),
                                             ("renewal_vp", "vp", sh(2026, 7, 3, 9, 0))]
    engine.complete(vp.id, {"decision": "end", "decision_note": "客户已转竞争对手"}, "vp")
    jobs(engine)
    assert contract(engine).status == "ended"


def test_a_contract_registered_close_to_expiry_goes_to_the_vp_when_it_expires(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine, expires_on="2026-03-10")  # the reminder day has passed: discuss at once
    fire_at(engine, clock, sh(2026, 3, 2, 9, 0))
    rep = open_tasks(engine, instance_id)["discuss_renewal"]
    assert rep.due_at == sh(2026, 3, 16, 9, 0)
    assert fire_at(engine, clock, sh(2026, 3, 11, 9, 0)) == ["expired_at_rep"]
    assert set(open_tasks(engine, instance_id)) == {"vp_renewal"}
    assert breaches(engine, instance_id) == [("renewal_expiry", "cs_rep", sh(2026, 3, 11, 9, 0))]


def test_late_filing_and_late_acknowledgement_are_breaches_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = add_contract(engine)
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    engine.complete(open_tasks(engine, instance_id)["discuss_renewal"].id,
                    {"decision": "reprice", "new_expires_on": "2027-06-30"}, "rep")
    filing = open_tasks(engine, instance_id)["file_price"]
    assert filing.due_at == sh(2026, 5, 7, 9, 0)  # 2 working days after Labour Day
    assert fire_at(engine, clock, filing.due_at) == ["filing_late"]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"file_price", "renewal_overdue"} and tasks["renewal_overdue"].group == "cs_head"
    engine.complete(tasks["file_price"].id, {"price_terms": "新报价", "price_effective_from": "2026-07-01"}, "rep")
    ack = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "acknowledge_filing"][0]
    assert fire_at(engine, clock, ack.due_at) == ["ack_late"]
    assert [b[:2] for b in breaches(engine, instance_id)] == [("price_filing", "cs_rep"), ("price_filing_ack", "finance")]
