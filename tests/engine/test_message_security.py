"""Issue #13 findings 1-2: data from outside never becomes a serializer type tag; messages name who may send them.

Every JSON value round-trips exactly through a saved and reloaded instance; the exact attack
(``{"note": {"typename": "date", "value": "garbage"}}``) leaves the instance loadable and working;
a cs_assistant cannot pay someone else's invoice, and a refusal changes nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine import Engine, NotAllowed, NotFound
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from engine.persistence import ProcessDefinition, ProcessInstance
from engine.services.context import context_of
from engine.services.loading import spec_bundle
from tests.conftest import BPMN_DIR

ATTACK = {"note": {"typename": "date", "value": "garbage"}, "spec": {"typename": "BpmnWorkflow"}}
INVOICE = {"customer": "ACME", "invoice_no": "INV-A1", "amount": "1200.00", "invoice_date": "2026-02-20",
           "due_date": "2026-03-06"}
# Keys and tag names the serializers give meaning to, mixed into generated data.
RESERVED = ["typename", "items", "value", "days", "seconds", "bpm:dict", "__bpm_type", "__class__", "spec", "data",
            "delta", "updates", "payload", "result_var"]
TYPENAMES = ["date", "datetime", "Decimal", "UUID", "timedelta", "bpm:dict", "BpmnWorkflow", "BpmnEvent", "Task",
             "MessageEventDefinition", "nonsense"]

keys = st.one_of(st.sampled_from(RESERVED), st.text(max_size=6))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=10), st.sampled_from(TYPENAMES))
tagged = st.fixed_dictionaries({"typename": st.sampled_from(TYPENAMES)})
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.builds(lambda tag, rest: {**rest, **tag}, tagged, st.dictionaries(keys, children, max_size=3)),
    ),
    max_leaves=20,
)
json_data = st.dictionaries(keys, json_values, max_size=5)


def _reload(engine: Engine, instance_id: int) -> dict[str, Any]:
    """Return the instance's data as read back from its stored document (never from a cache)."""
    return engine.instance(instance_id).data


def _state(engine: Engine, instance_id: int) -> tuple[int, str]:
    with engine.transaction() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row.version, row.state


# -- the serializer: any JSON round-trips ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_data, message=json_data)
def test_any_json_round_trips_through_a_saved_workflow(engine: Engine, data: dict, message: dict) -> None:
    engine.deploy([BPMN_DIR / "message_senders.bpmn"], actor="designer")  # identical content: deployed once
    with engine.transaction() as session:
        runtime = context_of(session).runtime
        bundle = spec_bundle(session, session.scalar(select(ProcessDefinition.id).limit(1)))
    run = runtime.new_run(bundle, data)
    run.advance()
    restored = runtime.restore(bundle, runtime.dump(run))
    assert {k: restored.data()[k] for k in data} == data
    restored.catch_message("truck_arrived", message)
    again = runtime.restore(bundle, runtime.dump(restored))
    assert {k: again.data()[k] for k in {**data, **message}} == {**data, **message}
    assert json.loads(runtime.dump(again))["document"] == "bpm-2"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_data)
def test_any_json_start_and_message_data_survive_a_stored_instance(engine: Engine, data: dict) -> None:
    engine.deploy([BPMN_DIR / "message_senders.bpmn"], actor="designer")
    instance = engine.start("truck_arrival", data, actor="system")
    assert {k: v for k, v in _reload(engine, instance.id).items() if k in data} == data
    engine.message("truck_arrived", {"instance_id": instance.id}, data, actor="admin")
    assert {k: v for k, v in _reload(engine, instance.id).items() if k in data} == data
    (task,) = engine.instance(instance.id).tasks
    engine.complete(task.id, {}, actor="system")
    assert engine.instance(instance.id).status == "completed"


def test_the_attack_as_message_and_start_data_leaves_the_instance_working(engine: Engine) -> None:
    engine.deploy([BPMN_DIR / "message_senders.bpmn"], actor="designer")
    instance = engine.start("truck_arrival", ATTACK, actor="system", business_key="T-1")
    engine.message("truck_arrived", {"business_key": "T-1"}, {"payload": ATTACK, "result_var": "hijacked"})
    view = engine.instance(instance.id)
    assert view.data["note"] == ATTACK["note"] and view.data["spec"] == ATTACK["spec"]
    assert "hijacked" not in view.data
    engine.complete(view.tasks[0].id, {}, actor="system")
    assert engine.instance(instance.id).status == "completed"


def test_documents_written_before_the_wrapping_still_load(engine: Engine) -> None:
    """A bpm-1 document holding the attack (as the old serializer wrote it) loads: the bad tags stay plain data."""
    engine.deploy([BPMN_DIR / "message_senders.bpmn"], actor="designer")
    instance = engine.start("truck_arrival", {**ATTACK, "amount": Decimal("1.50")}, actor="system", business_key="T-2")
    _version, state = _state(engine, instance.id)

    def unwrap(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("typename") == "bpm:dict":
                return {k: unwrap(v) for k, v in value["items"].items()}
            return {k: unwrap(v) for k, v in value.items()}
        return [unwrap(v) for v in value] if isinstance(value, list) else value

    legacy = unwrap(json.loads(state))
    legacy["document"] = "bpm-1"
    assert '"typename":"date","value":"garbage"' in json.dumps(legacy, separators=(",", ":"))
    with engine.transaction() as session:
        row = session.get(ProcessInstance, instance.id)
        assert row is not None
        row.state = json.dumps(legacy)
        row.version += 1  # the committed-workflow cache no longer matches: the next command reads the document
    data = _reload(engine, instance.id)
    assert data["note"] == ATTACK["note"] and data["amount"] == Decimal("1.50")
    assert engine.message("truck_arrived", {"business_key": "T-2"}) == [instance.id]
    engine.complete(engine.instance(instance.id).tasks[0].id, {}, actor="system")
    assert engine.instance(instance.id).status == "completed"


# -- who may send a message ----------------------------------------------------------------------------------


@pytest.fixture
def receivable(engine: Engine):
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    return engine.start("receivables_collection", dict(INVOICE), actor="fin", business_key="INV-A1")


def _unchanged(engine: Engine, instance_id: int, before: tuple[int, str]) -> None:
    assert _state(engine, instance_id) == before
    assert not [e for e in engine.history(instance_id) if e.type == "message_correlated"]


def test_a_cs_assistant_cannot_pay_someone_elses_invoice(engine: Engine, receivable) -> None:
    before = _state(engine, receivable.id)
    with pytest.raises(NotFound, match="no instance is waiting for message 'payment_received'"):
        engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1199.00"}, actor="assistant")
    _unchanged(engine, receivable.id, before)
    assert _reload(engine, receivable.id)["open_amount"] == Decimal("1200.00")
    assert engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1200.00"}, actor="fin") == [receivable.id]
    assert engine.instance(receivable.id).status == "completed"


def test_who_may_send_a_declared_message(engine: Engine, receivable) -> None:
    engine.add_user("erp", [])
    before = _state(engine, receivable.id)
    for actor in ("rep", "head", "erp"):  # not finance; they may not read INV-A1 either (no task of theirs)
        with pytest.raises(NotFound):
            engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1.00"}, actor=actor)
    with pytest.raises(NotAllowed, match="unknown user 'nobody'"):
        engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1.00"}, actor="nobody")
    _unchanged(engine, receivable.id, before)
    with engine.transaction() as session:  # the token scope declared by senderScopes lets an integration in
        from engine.services.messages import correlate_message

        assert correlate_message(session, "payment_received", {"invoice_no": "INV-A1"}, {"amount": "100.00"}, "erp",
                                 scopes=frozenset({"integration"})) == [receivable.id]
    assert engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "100.00"}, actor="admin")
    assert engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "100.00"})  # operator at the server
    assert _reload(engine, receivable.id)["open_amount"] == Decimal("900.00")


def test_a_reader_who_is_no_sender_is_told_so(engine: Engine, receivable) -> None:
    engine.add_user("fin_rep", ["cs_rep"])
    with engine.transaction() as session:  # rep started an instance of their own: they may read it
        row = session.get(ProcessInstance, receivable.id)
        assert row is not None
        row.started_by = "rep"
    before = _state(engine, receivable.id)
    with pytest.raises(NotAllowed, match="rep may not send message 'payment_received' to instance"):
        engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1.00"}, actor="rep")
    _unchanged(engine, receivable.id, before)


def test_message_data_must_fit_the_declared_form(engine: Engine, receivable) -> None:
    before = _state(engine, receivable.id)
    with pytest.raises(FormErrors) as caught:
        engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1.00", **ATTACK}, actor="fin")
    assert set(caught.value.errors) == {"note", "spec"}
    with pytest.raises(FormErrors) as caught:
        engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": {"typename": "Decimal"}}, actor="fin")
    assert set(caught.value.errors) == {"amount"}
    with pytest.raises(FormErrors):  # operators too: the form is about the data, not the sender
        engine.message("payment_received", {"invoice_no": "INV-A1"}, {"amount": "1.00", "payload": 1, "result_var": "x"})
    _unchanged(engine, receivable.id, before)


def test_undeclared_messages_default_to_the_waiting_elements_lane(engine: Engine) -> None:
    engine.deploy([BPMN_DIR / "message_senders.bpmn"], actor="designer")
    first = engine.start("truck_arrival", {}, actor="system", business_key="T-3")
    before = _state(engine, first.id)
    for actor in ("assistant", "fin", "rep"):
        with pytest.raises(NotFound):
            engine.message("truck_arrived", {"business_key": "T-3"}, actor=actor)
    with pytest.raises(FormErrors) as caught:  # no form declared: senders other than admins send no data
        engine.message("truck_arrived", {"business_key": "T-3"}, {"note": "x"}, actor="ops")
    assert set(caught.value.errors) == {"note"}
    _unchanged(engine, first.id, before)
    assert engine.message("truck_arrived", {"business_key": "T-3"}, actor="ops") == [first.id]
    second = engine.start("truck_arrival", {}, actor="system", business_key="T-4")
    assert engine.message("truck_arrived", {"business_key": "T-4"}, {"note": "x"}, actor="admin") == [second.id]
