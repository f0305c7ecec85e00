"""Instance actions (#15 item 6): the messages an instance waits for now that the user may send, and sending one.

The fixture ``open_invoice`` (tests/bpmn/instance_actions.bpmn) waits at "Chase payment" for three messages:
payment_received and receivable_written_off (declared: finance, with forms) and customer_called (undeclared:
the lane's group, cs_rep, may send it without data).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine import Engine, ManualClock, NotAllowed, NotFound
from engine.config import SHIPPED_FORMS
from engine.definitions.forms import FormErrors
from engine.errors import Conflict
from engine.services.instance_actions import find_action, list_actions, perform_action
from tests.conftest import deploy_fixture, make_engine


@pytest.fixture
def invoices(engine: Engine):
    deploy_fixture(engine, "instance_actions.bpmn")
    first = engine.start("open_invoice", {"invoice_no": "INV-1"}, "fin", business_key="INV-1")
    second = engine.start("open_invoice", {"invoice_no": "INV-2"}, "fin", business_key="INV-2")
    return first, second


def _actions(engine: Engine, instance_id: int, user: str) -> dict[str, dict[str, str]]:
    with engine.transaction() as session:
        return {a.name: a.labels for a in list_actions(session, instance_id, user)}


def test_each_user_sees_the_messages_they_may_send(engine, invoices):
    first, _second = invoices
    finance = _actions(engine, first.id, "fin")
    assert list(finance) == ["payment_received", "receivable_written_off"]
    # No "action" label in these forms: the form's title names the action.
    assert finance["receivable_written_off"] == {"zh-CN": "坏账核销", "en": "Write off the debt"}
    assert finance["payment_received"]["zh-CN"] == "收到付款"
    # An undeclared message: the waiting element's lane (cs_rep) may send it; it is named by the event.
    assert _actions(engine, first.id, "rep") == {"customer_called": {"zh-CN": "Customer called", "en": "Customer called"}}
    assert _actions(engine, first.id, "head") == {}
    assert set(_actions(engine, first.id, "admin")) == {"payment_received", "receivable_written_off", "customer_called"}


def test_an_action_delivers_to_that_instance_only_and_is_audited(engine, invoices):
    first, second = invoices
    with engine.transaction() as session:
        action = perform_action(session, first.id, "receivable_written_off", {"reason": "customer went bankrupt"}, "fin")
    assert action.form is not None and action.form.key == "write_off"
    assert engine.instance(first.id).status == "completed"
    assert engine.instance(second.id).status == "running"
    assert "receivable_written_off" in _actions(engine, second.id, "fin")
    event = [h for h in engine.history(first.id) if h.type == "message_correlated"][0]
    assert event.actor == "fin"
    assert event.data["message"] == "receivable_written_off"
    assert event.data["payload"] == {"reason": "customer went bankrupt"}
    assert event.data["correlation"] == {"instance_id": first.id}
    # Done: nothing is waiting any more, so there is nothing left to do.
    assert _actions(engine, first.id, "fin") == {}
    with engine.transaction() as session, pytest.raises(NotFound):
        perform_action(session, first.id, "payment_received", {"amount": "1.00"}, "fin")


def test_the_form_refuses_bad_data_and_nothing_changes(engine, invoices):
    first, _second = invoices
    before = len(engine.history(first.id))
    with engine.transaction() as session, pytest.raises(FormErrors) as refused:
        perform_action(session, first.id, "receivable_written_off", {"reason": "x"}, "fin")
    assert set(refused.value.errors) == {"reason"}
    with engine.transaction() as session, pytest.raises(FormErrors) as undeclared:
        perform_action(session, first.id, "receivable_written_off", {"reason": "bankrupt", "amount": "5"}, "fin")
    assert set(undeclared.value.errors) == {"amount"}
    assert engine.instance(first.id).status == "running"
    assert len(engine.history(first.id)) == before


def test_who_may_not_send_is_refused(engine, invoices):
    first, _second = invoices
    with engine.transaction() as session, pytest.raises(NotAllowed):
        perform_action(session, first.id, "receivable_written_off", {"reason": "customer went bankrupt"}, "rep")
    with engine.transaction() as session, pytest.raises(NotAllowed):
        find_action(session, first.id, "customer_called", "fin")
    with engine.transaction() as session, pytest.raises(NotFound):
        find_action(session, first.id, "no_such_message", "fin")
    with engine.transaction() as session, pytest.raises(NotFound):
        list_actions(session, 999_999, "fin")
    with engine.transaction() as session, pytest.raises(NotAllowed):
        list_actions(session, first.id, "nobody")
    assert engine.instance(first.id).status == "running"


def test_a_data_free_action_runs_the_branch_it_starts(engine, invoices):
    first, _second = invoices
    with engine.transaction() as session:
        perform_action(session, first.id, "customer_called", None, "rep")
    assert {t.element_id for t in engine.tasks(instance_id=first.id)} == {"chase", "call_back"}
    # Non-interrupting: "Chase payment" stays open and still waits for payment and write-off (the caught
    # boundary event is spent, so customer_called is no longer offered).
    assert set(_actions(engine, first.id, "admin")) == {"payment_received", "receivable_written_off"}
    with engine.transaction() as session, pytest.raises(NotFound):
        perform_action(session, first.id, "customer_called", None, "rep")


def test_a_message_without_a_form_takes_no_data(engine, invoices):
    first, _second = invoices
    with engine.transaction() as session, pytest.raises(FormErrors):
        perform_action(session, first.id, "customer_called", {"note": "x"}, "rep")
    assert engine.instance(first.id).status == "running"


def test_a_cancelled_instance_offers_no_actions(engine, invoices):
    first, _second = invoices
    engine.cancel(first.id, "admin", "duplicate")
    assert _actions(engine, first.id, "fin") == {}
    with engine.transaction() as session, pytest.raises((NotFound, Conflict)):
        perform_action(session, first.id, "receivable_written_off", {"reason": "customer went bankrupt"}, "fin")


def test_a_form_names_its_action(tmp_path: Path, clock: ManualClock):
    forms = tmp_path / "forms"
    shutil.copytree(SHIPPED_FORMS, forms)
    ui_path = forms / "write_off.ui.json"
    ui = json.loads(ui_path.read_text("utf-8"))
    ui["action"] = {"zh-CN": "核销", "en": "Write off"}
    ui_path.write_text(json.dumps(ui, ensure_ascii=False), "utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}", clock, forms_dir=forms)
    try:
        deploy_fixture(engine, "instance_actions.bpmn")
        started = engine.start("open_invoice", {"invoice_no": "INV-9"}, "fin")
        with engine.transaction() as session:
            action = find_action(session, started.id, "receivable_written_off", "fin")
        assert action.labels == {"zh-CN": "核销", "en": "Write off"}
        assert action.label("zh-CN") == "核销" and action.label("fr") == "Write off"
    finally:
        engine.close()


def test_bpm_actions_lists_and_takes_an_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from engine.cli.commands import cli
    from tests.conftest import BPMN_DIR

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    runner = CliRunner()

    def bpm(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    bpm("init")
    bpm("users", "add", "fin", "--group", "finance")
    bpm("users", "add", "rep", "--group", "cs_rep")
    bpm("deploy", str(BPMN_DIR / "instance_actions.bpmn"))
    instance = json.loads(bpm("start", "open_invoice", "--user", "fin", "--json"))["id"]
    listed = bpm("actions", str(instance), "--user", "fin")
    assert "receivable_written_off" in listed and "坏账核销" in listed and "(reason)" in listed
    as_json = json.loads(bpm("actions", str(instance), "--user", "fin", "--json"))
    assert [a["name"] for a in as_json] == ["payment_received", "receivable_written_off"]
    assert as_json[1]["form"] == {"key": "write_off", "fields": ["reason"], "required": ["reason"]}
    assert "no actions for rep" not in bpm("actions", str(instance), "--user", "rep")
    refused = runner.invoke(cli, ["actions", str(instance), "receivable_written_off", "--user", "fin",
                                  "--data", '{"reason": "x"}'])
    assert refused.exit_code == 1 and "reason" in refused.output
    denied = runner.invoke(cli, ["actions", str(instance), "receivable_written_off", "--user", "rep",
                                 "--data", '{"reason": "Customer insolvent"}'])
    assert denied.exit_code == 1 and "may not send" in denied.output
    done = json.loads(bpm("actions", str(instance), "receivable_written_off", "--user", "fin",
                          "--data", '{"reason": "Customer insolvent"}', "--json"))
    assert done == {"action": "receivable_written_off", "instance_id": instance, "status": "completed"}
    assert f"instance {instance}: no actions for fin" in bpm("actions", str(instance), "--user", "fin")
    missing = runner.invoke(cli, ["actions", "999", "--user", "fin"])
    assert missing.exit_code == 1 and "no instance 999" in missing.output
