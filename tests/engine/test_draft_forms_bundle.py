"""Drafts hold the whole bundle: the BPMN and the forms the designer edits, deployed together as one new version."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine import Engine
from engine.config import SHIPPED_PROCESSES
from engine.errors import DefinitionError, InvalidInput, NotFound
from engine.services.definitions import definition_source, list_definitions
from engine.services.draft_forms import form_files, form_keys_in
from engine.services.drafts import (
    check_draft,
    deploy_draft,
    load_draft,
    remove_draft_form,
    save_draft,
    save_draft_bundle,
    save_draft_form,
)
from engine.services.texts import form_of

KEY = "receivables_collection"
INVOICE = {"customer": "ACME Logistics", "invoice_no": "INV-2026-001", "amount": "1000.00",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}


@pytest.fixture
def v1(engine: Engine) -> int:
    engine.deploy([SHIPPED_PROCESSES / f"{KEY}.bpmn", SHIPPED_PROCESSES / f"{KEY}.i18n.json"], actor="designer")
    with engine.transaction() as session:
        return next(d.id for d in list_definitions(session) if d.process_key == KEY)


def _chase(engine: Engine, definition_id: int) -> dict[str, Any]:
    with engine.transaction() as session:
        form = form_of(session, definition_id, "chase_payment")
        assert form is not None
        return {"schema": copy.deepcopy(form.schema), "ui": copy.deepcopy(form.ui)}


def _relabel(form: dict[str, Any], zh: str, en: str) -> dict[str, Any]:
    changed = copy.deepcopy(form)
    changed["ui"]["fields"]["reason"]["label"] = {"zh-CN": zh, "en": en}
    return changed


def test_a_draft_starts_from_the_forms_of_its_version(engine: Engine, v1: int) -> None:
    deployed = _chase(engine, v1)
    with engine.transaction() as session:
        draft = save_draft(session, "designer", KEY, definition_source(session, v1), v1)
        assert "chase_payment" in draft.forms and "receivables_start" in draft.forms
        assert draft.forms["chase_payment"] == deployed
        assert "chase_payment" in draft.form_keys_used and "chase_payment" in draft.to_json()["forms"]


def test_a_form_edited_in_the_draft_deploys_with_the_bpmn_as_one_new_version(engine: Engine, v1: int) -> None:
    old = _chase(engine, v1)
    with engine.transaction() as session:
        draft, problems = save_draft_form(session, "designer", KEY, "chase_payment", **_relabel(old, "拖欠原因", "Why late"),
                                          based_on_id=v1)
        assert problems == []
        assert draft.based_on_version == 1 and draft.bpmn == definition_source(session, v1)
    with engine.transaction() as session:
        assert check_draft(session, KEY, load_draft(session, "designer", KEY).bpmn, "designer")[0] == []
    with engine.transaction() as session:
        result = deploy_draft(session, "designer", KEY, load_draft(session, "designer", KEY).bpmn)
        assert [d.version for d in result.deployed] == [2]
        v2 = result.deployed[0].id
        assert load_draft(session, "designer", KEY) is None
    new, kept = _chase(engine, v2), _chase(engine, v1)
    assert new["ui"]["fields"]["reason"]["label"] == {"zh-CN": "拖欠原因", "en": "Why late"}
    assert kept == old  # the running version keeps its own form


def test_other_designers_forms_stay_out_of_a_check(engine: Engine, v1: int) -> None:
    broken = _chase(engine, v1)
    broken["schema"]["x-rules"] = [{"field": "nowhere", "not_before": "today"}]
    with engine.transaction() as session:
        _draft, problems = save_draft_form(session, "designer", KEY, "chase_payment", **broken, based_on_id=v1)
        assert any("nowhere" in p for p in problems)
        bpmn = load_draft(session, "designer", KEY).bpmn
        found, _warnings = check_draft(session, KEY, bpmn, "designer")
        assert any("nowhere" in p.message and p.file == "chase_payment.schema.json" for p in found)
        assert check_draft(session, KEY, bpmn, "admin")[0] == []
        with pytest.raises(DefinitionError):
            deploy_draft(session, "designer", KEY, bpmn)


def test_bad_forms_are_refused_with_the_reason(engine: Engine, v1: int) -> None:
    with engine.transaction() as session:
        with pytest.raises(InvalidInput, match="form key"):
            save_draft_form(session, "designer", KEY, "../etc", {"type": "object"}, {}, v1)
        with pytest.raises(InvalidInput, match="schema must be a JSON object"):
            save_draft_form(session, "designer", KEY, "new_form", ["x"], {}, v1)
        with pytest.raises(NotFound):
            save_draft_form(session, "designer", "order_plan", "x", {"type": "object"}, {}, v1)
        _draft, problems = save_draft_form(session, "designer", KEY, "new_form",
                                           {"type": "object", "properties": {"1st": {"type": "string"}}}, {}, v1)
        assert any("field name '1st'" in p for p in problems)
        _draft, problems = save_draft_form(session, "designer", KEY, "new_form", {"type": "object", "properties": {
            "when": {"type": "string", "format": "date", "default": "tomorrow"},
            "kind": {"type": "string", "enum": ["a", "b"], "default": "b"},
            "count": {"type": "integer", "minimum": 1, "default": 0}}}, {}, v1)
        assert sorted(p.split("'")[1] for p in problems) == ["count", "when"], problems
        with pytest.raises(NotFound):
            remove_draft_form(session, "designer", KEY, "not_there")
        assert "new_form" not in remove_draft_form(session, "designer", KEY, "new_form").forms


def test_a_bundle_is_put_whole_and_a_new_form_named_by_the_bpmn_deploys(engine: Engine, v1: int) -> None:
    with engine.transaction() as session:
        source = definition_source(session, v1)
        forms = load_draft(session, "designer", KEY) or save_draft(session, "designer", KEY, source, v1)
        bundle = dict(forms.forms)
        bundle["chase_note"] = {"schema": {"type": "object", "required": ["note"],
                                           "properties": {"note": {"type": "string", "minLength": 1}}},
                                "ui": {"title": {"zh-CN": "催收备注", "en": "Chase note"},
                                       "fields": {"note": {"label": {"zh-CN": "备注", "en": "Note"}}}}}
        bpmn = source.replace('camunda:formKey="chase_payment"', 'camunda:formKey="chase_note"')
        draft = save_draft_bundle(session, "designer", KEY, bpmn=bpmn, forms=bundle, based_on_id=v1)
        assert "chase_note" in draft.form_keys_used and "chase_payment" not in draft.form_keys_used
        with pytest.raises(InvalidInput):
            save_draft_bundle(session, "designer", KEY, bpmn=None, forms={"x": "not a form"}, based_on_id=v1)
    with engine.transaction() as session:
        v2 = deploy_draft(session, "designer", KEY, bpmn).deployed[0].id
    instance = engine.start(KEY, INVOICE, actor="fin", business_key=INVOICE["invoice_no"])
    with engine.transaction() as session:
        assert form_of(session, v2, "chase_note").label("note", "zh-CN") == "备注"
        assert form_of(session, instance.definition_id, "chase_note") is not None


def test_form_files_and_keys_read_as_the_bundle_expects() -> None:
    files = dict(form_files({"a": {"schema": {"type": "object"}, "ui": {"title": {"en": "A"}}}}))
    assert set(files) == {"a.schema.json", "a.ui.json"} and b'"object"' in files["a.schema.json"]
    assert form_keys_in('<x xmlns:camunda="http://camunda.org/schema/1.0/bpmn"><t camunda:formKey="k"/></x>') == {"k"}
    assert form_keys_in("<broken") == set()


def test_the_drafts_own_form_checks_stop_its_deploy(engine: Engine, v1: int) -> None:
    chase = _chase(engine, v1)
    chase["schema"]["properties"]["promised_date"]["default"] = "next week"
    with engine.transaction() as session:
        _draft, problems = save_draft_form(session, "designer", KEY, "chase_payment", **chase, based_on_id=v1)
        assert any("default 'next week'" in p for p in problems)
        bpmn = load_draft(session, "designer", KEY).bpmn
        found, _warnings = check_draft(session, KEY, bpmn, "designer")
        assert [(p.file, "promised_date" in p.message) for p in found] == [("chase_payment.schema.json", True)]
        with pytest.raises(DefinitionError) as refused:
            deploy_draft(session, "designer", KEY, bpmn)
        assert "next week" in str(refused.value.problems[0].message)


@pytest.mark.postgres
def test_two_forms_saved_into_one_draft_at_the_same_moment_are_both_kept(pg_engine: Engine) -> None:
    """Designer saves form A; before that commits, a second save of form B starts. B must wait for A and keep it,
    not read the draft's forms before A's commit and write them back without A (a lost update)."""
    import threading
    import time

    import sqlalchemy as sa

    pg_engine.deploy([SHIPPED_PROCESSES / f"{KEY}.bpmn", SHIPPED_PROCESSES / f"{KEY}.i18n.json"], actor="designer")
    with pg_engine.transaction() as session:
        v1 = next(d.id for d in list_definitions(session) if d.process_key == KEY)
        save_draft(session, "designer", KEY, definition_source(session, v1), v1)
    old = _chase(pg_engine, v1)
    failures: list[BaseException] = []

    def save_b() -> None:
        try:
            with pg_engine.transaction() as session:
                save_draft_form(session, "designer", KEY, "chase_payment_copy", **old)
        except BaseException as exc:  # reported below
            failures.append(exc)

    second = threading.Thread(target=save_b)
    with pg_engine.transaction() as session:
        save_draft_form(session, "designer", KEY, "chase_payment", **_relabel(old, "拖欠原因", "Why late"))
        second.start()
        watcher = sa.create_engine(pg_engine.config.database_url)
        try:
            deadline = time.monotonic() + 30
            with watcher.connect() as conn:
                while not conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                              "AND datname = current_database()")):
                    assert time.monotonic() < deadline, "the second save never reached the draft's row"
                    time.sleep(0.02)  # waiting for another real transaction to block on the row, not for a timer
        finally:
            watcher.dispose()
    second.join(30)
    assert failures == []
    with pg_engine.transaction() as session:
        forms = load_draft(session, "designer", KEY).forms
    assert {"chase_payment", "chase_payment_copy"} <= set(forms)
    assert forms["chase_payment"]["ui"]["fields"]["reason"]["label"]["en"] == "Why late", "the first save was lost"
