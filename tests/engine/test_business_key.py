"""The business key from the start form (#15 item 7): a form names the field that identifies the case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine import ManualClock
from engine.config import SHIPPED_FORMS
from engine.definitions.forms import FormDefinition
from engine.services.instances import business_key_of
from tests.conftest import deploy_fixture, make_engine

INVOICE = {"customer": "ACME", "invoice_no": "INV-2026-042", "amount": "1200.00", "currency": "CNY",
           "invoice_date": "2026-02-20", "due_date": "2026-03-20"}


def test_the_start_form_names_the_business_key(engine):
    deploy_fixture(engine, "business_key.bpmn")
    started = engine.start("invoice_key", INVOICE, "fin")
    assert started.business_key == "INV-2026-042"
    assert engine.instances(process_key="invoice_key")[0].business_key == "INV-2026-042"
    explicit = engine.start("invoice_key", {**INVOICE, "invoice_no": "INV-2"}, "fin", business_key="CONTRACT-9")
    assert explicit.business_key == "CONTRACT-9"


def test_a_form_without_the_hint_leaves_the_key_empty(tmp_path: Path, clock: ManualClock):
    forms = tmp_path / "forms"
    shutil.copytree(SHIPPED_FORMS, forms)
    ui_path = forms / "receivables_start.ui.json"
    ui = json.loads(ui_path.read_text("utf-8"))
    ui.pop("business_key_field", None)
    ui_path.write_text(json.dumps(ui, ensure_ascii=False), "utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}", clock, forms_dir=forms)
    try:
        deploy_fixture(engine, "business_key.bpmn")
        assert engine.start("invoice_key", INVOICE, "fin").business_key is None
    finally:
        engine.close()


def test_shipped_start_forms_name_their_key():
    for key, field in {"receivables_start": "invoice_no", "order_start": "order_no", "exception_start": "order_no"}.items():
        ui = json.loads((SHIPPED_FORMS / f"{key}.ui.json").read_text("utf-8"))
        schema = json.loads((SHIPPED_FORMS / f"{key}.schema.json").read_text("utf-8"))
        assert ui["business_key_field"] == field and field in schema["required"], key


def test_only_plain_values_become_a_key():
    form = FormDefinition("f", {"type": "object"}, {"business_key_field": "no"})
    assert business_key_of(form, {"no": "  A-1 "}) == "A-1"
    assert business_key_of(form, {"no": 42}) == "42"
    assert business_key_of(form, {"no": "x" * 300}) == "x" * 255
    assert business_key_of(form, {"no": ["A"]}) is None
    assert business_key_of(form, {"no": "  "}) is None
    assert business_key_of(form, {}) is None
    assert business_key_of(None, {"no": "A"}) is None
    assert business_key_of(FormDefinition("f", {}, {"business_key_field": 3}), {"no": "A"}) is None
