"""The KPIs of issue #17 with their definitions (docs/kpis.md), computed from instances run through the real engine.

Orders, settlements and contract renewals are driven with the shipped processes; time moves only with the
ManualClock (fixture: Monday 2026-03-02 09:00 Shanghai). Every formula is checked on a mix of outcomes, and on an
empty period, where it has no value (None), not a division by zero.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.services import reports
from engine.services.reports import kpis as kpi_module
from tests.processes import test_contract_renewal as renewal
from tests.processes import test_monthly_settlement as settlement
from tests.processes import test_order_plan as order
from tests.processes.kpi_scenes import do, fire_at, task, three_orders

MARCH = reports.Period(datetime(2026, 2, 28, 16, tzinfo=timezone.utc), datetime(2026, 3, 31, 16, tzinfo=timezone.utc))
FEBRUARY = reports.Period(datetime(2026, 1, 31, 16, tzinfo=timezone.utc), datetime(2026, 2, 28, 16, tzinfo=timezone.utc))
sh = order.sh



def test_order_kpis_pd_pi_pw_pn_damage_receipts_and_plan_accuracy(engine: Engine, clock: ManualClock) -> None:
    ids = three_orders(engine, clock)
    a, b, c = ids["A"], ids["B"], ids["C"]
    with engine.transaction() as session:
        values = {v.kpi.key: v for v in reports.kpi_values(session, MARCH)}
    pd = values["on_time_delivery"]
    assert (pd.numerator, pd.denominator, pd.ids["on_time"], pd.ids["late"]) == (2, 3, sorted([a, c], reverse=True), [b])
    assert pd.value == pytest.approx(2 / 3) and pd.meets_target is False  # target 98 %
    pn = values["on_time_to_agreed"]  # B arrived after the required 16:00 but before the agreed 19:00
    assert (pn.value, pn.ids["late"]) == (1.0, [])
    pi = values["on_time_pickup"]
    assert (pi.ids["on_time"], pi.ids["late"], pi.value) == (sorted([a, b], reverse=True), [c], pytest.approx(2 / 3))
    pw = values["on_schedule_in_transit"]  # B's first check was behind; its second (on schedule) does not count
    assert (pw.ids["behind"], pw.numerator, pw.denominator) == ([b], 2, 3)
    damage = values["damage_rate"]
    assert (damage.ids["damaged"], damage.value, damage.meets_target) == ([b], pytest.approx(1 / 3), False)
    receipts = values["receipt_timeliness"]
    assert (receipts.ids["on_time"], receipts.ids["late"], receipts.ids["lost"], receipts.ids["pending"]) == (
        [a], [b], [c], [])
    assert receipts.value == pytest.approx(1 / 3)
    accuracy = values["plan_accuracy"]
    assert (accuracy.ids["clarified"], accuracy.value) == ([c], pytest.approx(2 / 3))
    with engine.transaction() as session:
        assert reports.kpi_instance_ids(session, "on_time_delivery", "late", MARCH) == [b]
        assert reports.kpi_instance_ids(session, "no_such_kpi", "late", MARCH) == []


def test_a_receipt_not_due_yet_is_pending_and_an_undispatched_order_before_pickup_too(
        engine: Engine, clock: ManualClock) -> None:
    instance_id = order.arrived(engine, clock, sh(2026, 3, 3, 15, 45))
    do(engine, instance_id, "confirm_with_consignee", order.ALL_FINE, "assistant")
    waiting = order.start(engine, order_no="SO-W", pickup_time="2026-03-20T14:00:00+08:00",
                          required_arrival="2026-03-21T16:00:00+08:00")
    do(engine, waiting, "check_order", order.PLAN_OK, "assistant")
    with engine.transaction() as session:
        receipts = reports.kpi_value(session, "receipt_timeliness", MARCH)
        pickup = reports.kpi_value(session, "on_time_pickup", MARCH)
        late_pickup = reports.kpi_value(session, "on_time_pickup", MARCH, at=sh(2026, 3, 20, 14, 1))
    assert (receipts.ids["pending"], receipts.value, receipts.denominator) == ([instance_id], None, 0)
    assert (pickup.ids["pending"], pickup.ids["on_time"]) == ([waiting], [instance_id])
    assert late_pickup.ids["late"] == [waiting]  # still not dispatched after the pickup time


def test_settlement_on_time_rate_counts_the_5th_and_the_10th(engine: Engine, clock: ManualClock) -> None:
    settlement.deploy(engine)
    in_time = settlement.start(engine, "ACME Logistics")
    late = settlement.start(engine, "Beta Foods")
    open_one = settlement.start(engine, "Gamma Retail")
    settlement.finish(engine, in_time, "prepare_sheet", settlement.SHEET, "assistant")
    settlement.finish(engine, in_time, "reconcile_invoice", settlement.INVOICE, "fin")
    with engine.transaction() as session:
        before = reports.kpi_value(session, "settlement_on_time", MARCH)
    assert (before.ids["on_time"], sorted(before.ids["pending"]), before.value) == (
        [in_time], sorted([late, open_one]), 1.0)
    fire_at(engine, clock, sh(2026, 3, 5, 17, 31))  # the sheets of the other two were due at 17:30 on the 5th
    assert [b[0] for b in settlement.breaches(engine, late)] == ["settlement_sheet"]
    clock.set(sh(2026, 3, 6, 9, 0))
    settlement.finish(engine, late, "prepare_sheet", settlement.SHEET, "assistant")
    with engine.transaction() as session:
        after = reports.kpi_value(session, "settlement_on_time", MARCH)
        empty = reports.kpi_value(session, "settlement_on_time", FEBRUARY)
    assert (after.ids["on_time"], sorted(after.ids["late"]), after.ids["pending"]) == (
        [in_time], sorted([late, open_one]), [])
    assert after.value == pytest.approx(1 / 3)
    assert (empty.value, empty.denominator, empty.numerator) == (None, 0, 0)


def test_renewal_rate_counts_each_decided_term_once_by_its_decision(engine: Engine, clock: ManualClock) -> None:
    renewal.deploy(engine)
    renewed = renewal.add_contract(engine, "HT-1", "2026-06-30")
    ended = renewal.add_contract(engine, "HT-2", "2026-06-30")
    undecided = renewal.add_contract(engine, "HT-3", "2026-06-30")
    fire_at(engine, clock, sh(2026, 4, 30, 9, 0))
    do(engine, renewed, "discuss_renewal", {"decision": "reprice", "new_expires_on": "2027-06-30"}, "rep")
    do(engine, ended, "discuss_renewal", {"decision": "end"}, "rep")
    assert task(engine, undecided, "discuss_renewal")
    may = reports.Period(datetime(2026, 4, 30, 16, tzinfo=timezone.utc), datetime(2026, 5, 31, 16, tzinfo=timezone.utc))
    april = reports.Period(datetime(2026, 3, 31, 16, tzinfo=timezone.utc), datetime(2026, 4, 30, 16, tzinfo=timezone.utc))
    with engine.transaction() as session:
        rate = reports.kpi_value(session, "renewal_rate", april)
        none = reports.kpi_value(session, "renewal_rate", may)
    assert (rate.ids["renewed"], rate.ids["ended"], rate.value) == ([renewed], [ended], 0.5)
    assert (none.value, none.denominator) == (None, 0)


def test_an_empty_period_has_no_value_for_any_kpi_never_a_division_by_zero(engine: Engine) -> None:
    with engine.transaction() as session:
        values = reports.kpi_values(session, FEBRUARY)
    assert [v.kpi.key for v in values] == [k.key for k in reports.KPI_CATALOGUE]
    for value in values:
        assert value.value is None and value.meets_target is None, value.kpi.key
        assert value.denominator in (0, None) and all(ids == [] for ids in value.ids.values()), value.kpi.key
        assert value.to_json()["value"] is None


def test_a_kpi_whose_module_is_missing_is_not_recorded_rather_than_zero(engine: Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kpi_module._ELSEWHERE, "answer_rate", ("no_such_calls_module", "answer_rate"))
    with engine.transaction() as session:
        value = reports.kpi_value(session, "answer_rate", MARCH)
    assert (value.recorded, value.value, value.numerator) == (False, None, None)
    assert value.to_json()["recorded"] is False and value.to_json()["target"] == 0.95


def test_every_kpi_states_its_formula_and_source_and_assumptions_are_marked() -> None:
    for kpi in reports.KPI_CATALOGUE:
        assert kpi.formula and kpi.source, kpi.key
    assumed = {k.symbol for k in reports.KPI_CATALOGUE if k.assumption}
    assert {"Pd", "Pi", "Pw", "Pn"} <= assumed


def test_the_answer_rate_comes_from_the_call_log_with_the_missed_calls_call_backs_behind_it(
        engine: Engine, clock: ManualClock) -> None:
    from engine.services.calls import record_call
    from tests.processes.test_daily import deploy

    deploy(engine, "missed_call_return")
    clock.set(sh(2026, 3, 2, 11, 5))
    with engine.transaction() as session:
        for minute in range(3):
            record_call(session, {"caller": f"13800000{minute:03d}", "at": f"2026-03-02T10:{minute:02d}:00+08:00",
                                  "outcome": "answered", "agent": "rep"}, "assistant")
        missed, _new = record_call(session, {"caller": "13900000000", "at": "2026-03-02T11:00:00+08:00",
                                             "outcome": "missed"}, "assistant")
    with engine.transaction() as session:
        value = reports.kpi_value(session, "answer_rate", MARCH)
        empty = reports.kpi_value(session, "answer_rate", FEBRUARY)
    assert (value.recorded, value.value, value.numerator, value.denominator, value.meets_target) == (
        True, 0.75, 3, 4, False)  # target 95 %
    assert value.ids == {"missed": [missed.return_instance_id]} and missed.return_instance_id
    assert (empty.recorded, empty.value, empty.denominator, empty.meets_target) == (True, None, 0, None)


def test_the_24h_reply_rate_pairs_each_complaint_with_its_signed_answer(engine: Engine, clock: ManualClock) -> None:
    from tests.processes import test_exception_escalation as exc

    exc.deploy(engine)
    in_time = exc.start(engine, order_no="SO-1").id
    exc.answer_in_time(engine, in_time)  # signed at 09:00, received 09:00
    late = exc.start(engine, order_no="SO-2").id
    exc.complete(engine, late, "first_response", {"response": "Checking."}, "rep")
    exc.complete(engine, late, "handling_plan", {"plan": "Re-deliver."}, "rep")
    exc.complete(engine, late, "exception_feedback", {"cause": "Truck", "handling_result": "Re-delivered",
                                                      "corrective_measures": "Spare truck"}, "rep")
    waiting = exc.start(engine, order_no="SO-3").id
    general = exc.start(engine, order_no="SO-4", severity="general").id  # no first response: not a complaint
    with engine.transaction() as session:
        early = reports.kpi_value(session, "reply_within_24h", MARCH)
    assert (early.ids["on_time"], early.ids["pending"], early.value) == ([in_time], sorted([late, waiting],
                                                                                           reverse=True), 1.0)
    fire_at(engine, clock, sh(2026, 3, 3, 9, 1))  # 24 h passed: the answer timer records the breach
    exc.complete(engine, late, "sign_feedback", {"sign_decision": "signed", "high_impact": False}, "head")
    with engine.transaction() as session:
        value = reports.kpi_value(session, "reply_within_24h", MARCH)
        empty = reports.kpi_value(session, "reply_within_24h", FEBRUARY)
    assert (value.ids["on_time"], sorted(value.ids["late"]), value.ids["pending"]) == (
        [in_time], sorted([late, waiting]), [])
    assert value.value == pytest.approx(1 / 3) and general not in sum(value.ids.values(), [])
    assert (empty.value, empty.denominator) == (None, 0)


def test_one_time_resolution_counts_a_second_attempt_against_it(engine: Engine, clock: ManualClock) -> None:
    from tests.processes import test_exception_escalation as exc

    engine.add_user("wh", ["warehouse"])
    exc.deploy(engine)
    first = exc.start(engine, order_no="SO-1", severity="general", type="quantity").id
    exc.complete(engine, first, "coordinate", {"actions_taken": "Shipped", "requirement_met": True}, "rep")
    second = exc.start(engine, order_no="SO-2", severity="general", type="quantity").id
    exc.complete(engine, second, "coordinate", {"actions_taken": "Recount", "requirement_met": False}, "rep")
    open_one = exc.start(engine, order_no="SO-3", severity="general").id
    exc.complete(engine, second, "coordinate", {"actions_taken": "Shipped", "requirement_met": True}, "rep")
    complaint = exc.start(engine, order_no="SO-5", type="quantity").id
    exc.answer_in_time(engine, complaint)
    exc.complete(engine, complaint, "organise_rectification", {"rectification_order": "Retrain"}, "gm")
    exc.complete(engine, complaint, "rectify", {"rectification_done": "Done", "rectified_on": "2026-03-02"}, "wh")
    exc.complete(engine, complaint, "verify_rectification", {"customer_satisfied": True, "customer_feedback": "ok"},
                 "rep")
    with engine.transaction() as session:
        value = reports.kpi_value(session, "first_time_resolution", MARCH)
        empty = reports.kpi_value(session, "first_time_resolution", FEBRUARY)
    assert (sorted(value.ids["first_time"]), value.ids["repeated"]) == (sorted([first, complaint]), [second])
    assert value.value == pytest.approx(2 / 3) and open_one not in sum(value.ids.values(), [])
    assert (empty.value, empty.denominator) == (None, 0)


def test_survey_satisfaction_comes_from_the_answered_surveys_with_the_unhappy_ones_behind_it(engine: Engine) -> None:
    from tests.processes import test_satisfaction_survey as survey

    for group, user in survey.DEPARTMENT_USERS.items():
        engine.add_user(user, [group])
    engine.deploy([SHIPPED_PROCESSES / "satisfaction_survey.bpmn", SHIPPED_PROCESSES / "survey_rectification.bpmn"],
                  actor="designer")
    unhappy = survey.start(engine)
    survey.answer_in_portal(engine, unhappy, {**survey.ALL_SATISFIED, "damage": "unsatisfied", "damage_comment": "压坏"})
    survey.jobs(engine)
    happy = survey.start(engine, customer="Beta Foods", period="2025")
    engine.complete(task(engine, happy, "collect_answers").id, {**survey.ALL_SATISFIED, "answered_via": "phone"}, "rep")
    survey.jobs(engine)  # the survey pass records the answers
    with engine.transaction() as session:
        value = reports.kpi_value(session, "satisfaction", MARCH)
        empty = reports.kpi_value(session, "satisfaction", FEBRUARY)
    assert (value.recorded, value.numerator, value.denominator, value.value) == (True, 11, 12, pytest.approx(11 / 12))
    assert value.ids == {"satisfied": [happy], "unsatisfied": [unhappy]}
    assert (empty.recorded, empty.value, empty.denominator) == (True, None, 0)


def test_plan_accuracy_counts_the_first_check_of_a_plan_sent_through_the_api(engine: Engine, clock: ManualClock) -> None:
    accurate = order.start(engine, order_no="SO-API-1", received_at="2026-03-02T08:50:00+08:00", received_via="api")
    do(engine, accurate, "check_api_order", order.PLAN_OK, "assistant")
    unclear = order.start(engine, order_no="SO-API-2", received_at="2026-03-02T08:50:00+08:00", received_via="api")
    do(engine, unclear, "check_api_order", {"in_scope": True, "data_complete": False}, "assistant")
    do(engine, unclear, "clarify_with_customer", {"clarification_outcome": "corrected", "customer_reply": "fixed",
                                                  "weight_kg": 4700}, "assistant")
    do(engine, unclear, "check_order", order.PLAN_OK, "assistant")  # the re-check does not make it accurate
    with engine.transaction() as session:
        value = reports.kpi_value(session, "plan_accuracy", MARCH)
    assert (value.ids["accurate"], value.ids["clarified"], value.value) == ([accurate], [unclear], 0.5)


def test_each_customers_orders_are_held_against_its_own_requirements(engine: Engine, clock: ManualClock) -> None:
    from tests.processes import test_onboarding as onboarding

    onboarding.deploy(engine)
    acme = engine.start("new_business_onboarding", dict(onboarding.START), actor="rep").id
    do(engine, acme, "write_requirements", {**onboarding.REQUIREMENTS, "kpi_on_time_target_pct": 60,
                                            "kpi_damage_max_pct": 0.1}, "rep")
    beta = engine.start("new_business_onboarding", {**onboarding.START, "customer": "Beta Foods"}, actor="rep").id
    do(engine, beta, "write_requirements", onboarding.REQUIREMENTS, "rep")
    ids = three_orders(engine, clock)  # all three for ACME Logistics
    with engine.transaction() as session:
        found = {c.customer: c for c in reports.customer_targets(session, MARCH)}
        late = reports.kpi_instance_ids(session, "on_time_delivery", "late", MARCH, customer="ACME Logistics")
        none = reports.kpi_instance_ids(session, "on_time_delivery", "late", MARCH, customer="Beta Foods")
        empty = reports.customer_targets(session, FEBRUARY)
    acme_kpis, beta_kpis = found["ACME Logistics"], found["Beta Foods"]
    assert (acme_kpis.onboarding_id, acme_kpis.on_time_target, acme_kpis.damage_max) == (acme, 0.6, 0.001)
    assert (acme_kpis.on_time.numerator, acme_kpis.on_time.denominator, acme_kpis.meets_on_time) == (2, 3, True)
    assert (acme_kpis.damage.ids["damaged"], acme_kpis.meets_damage) == ([ids["B"]], False)
    assert (beta_kpis.on_time_target, beta_kpis.on_time.rate, beta_kpis.meets_on_time, beta_kpis.meets_damage) == (
        0.98, None, None, None)
    assert (late, none) == ([ids["B"]], [])
    assert [c.on_time.denominator for c in empty] == [0, 0]
