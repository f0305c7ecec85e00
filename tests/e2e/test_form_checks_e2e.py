"""In a real browser, in Chinese: the start form's rules speak before sending, and what the server refuses comes back
on the same form with everything typed (no dead end)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine import Engine, EngineConfig, ManualClock
from engine.cli.serve import DEMO_PASSWORD
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.passwords import hash_password
from engine.services.users import ensure_groups
from tests.e2e.browser import sign_in
from tests.e2e.conftest import LiveServer, _require_browser, serve

pytestmark = pytest.mark.slow
RECEIVABLES = SHIPPED_PROCESSES / "receivables_collection.bpmn"
START = "/start/receivables_collection"


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with the shipped receivables process and forms; the clock stands at Monday 2026-01-05 09:00 Shanghai."""
    _require_browser()

    from web import create_app

    tmp: Path = tmp_path_factory.mktemp("forms_e2e")
    forms = tmp / "forms"
    shutil.copytree(SHIPPED_FORMS, forms)
    clock = ManualClock(datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc))
    engine = Engine(config=EngineConfig(database_url=f"sqlite:///{tmp / 'e2e.sqlite3'}", forms_dir=forms,
                                        calendars_dir=SHIPPED_CALENDARS), clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    hashed = hash_password(DEMO_PASSWORD)
    engine.add_user("fin", ["finance"], password_hash=hashed)
    engine.add_user("rep", ["cs_rep"], password_hash=hashed)
    engine.deploy([RECEIVABLES, RECEIVABLES.with_suffix("").with_suffix(".i18n.json")], actor="designer")
    with serve(create_app({"ENGINE": engine, "SECRET_KEY": "e2e-forms"})) as base:
        yield LiveServer(base, engine, clock)
    engine.close()



def _fill(page, **values: str) -> None:
    for name, value in values.items():
        page.fill(f"#f-{name}", value)


def test_rules_speak_in_the_browser_and_the_server_keeps_what_was_typed(shipped_server, chromium, screenshots):
    base, engine = shipped_server.url, shipped_server.engine
    context = chromium.new_context(viewport={"width": 1280, "height": 1100}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, base, "fin")
        page.goto(base + START)
        _fill(page, customer="华东物流", invoice_no="INV-2026-007", amount="-5", invoice_date="2026-01-05",
              due_date="2026-01-04")
        page.locator("#f-customer").focus()  # leaving the due date checks it
        assert page.locator("#f-due_date-check").inner_text() == "到期日不能早于开票日期。"
        assert page.locator("#f-amount-check").inner_text() == "发票金额必须大于 0。"
        assert page.locator("#f-due_date").get_attribute("aria-invalid") == "true"
        page.locator("form.checked-form button[type=submit]").click()
        assert page.url == base + START and engine.instances() == []  # nothing was sent
        assert page.evaluate("document.activeElement.id") == "f-amount"
        page.screenshot(path=str(screenshots / "form_rules_browser_zh.png"), full_page=True)
        # Fixing the field the rule compares with heals the rule.
        _fill(page, invoice_date="2026-01-03")
        assert page.locator("#f-due_date-check").count() == 0
        assert page.locator("#f-due_date").get_attribute("aria-invalid") is None
    finally:
        context.close()

    # Without the script the server says the same, at the fields, with everything typed kept.
    context = chromium.new_context(viewport={"width": 1280, "height": 1100}, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, base, "fin")
        page.goto(base + START)
        _fill(page, customer="华东物流", invoice_no="INV-2026-007", amount="-5", invoice_date="2026-01-05",
              due_date="2026-01-04")
        page.locator("#business_key").fill("INV-2026-007")
        page.locator("form.checked-form button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("#f-amount-error").inner_text() == "发票金额必须大于 0。"
        assert page.locator("#f-due_date-error").inner_text() == "到期日不能早于开票日期。"
        assert page.input_value("#f-customer") == "华东物流" and page.input_value("#f-amount") == "-5"
        assert page.input_value("#f-due_date") == "2026-01-04" and page.input_value("#business_key") == "INV-2026-007"
        page.screenshot(path=str(screenshots / "form_rules_server_zh.png"), full_page=True)
        _fill(page, amount="12800.00", due_date="2026-02-04")
        page.locator("form.checked-form button[type=submit]").click()
        page.wait_for_load_state()
        [instance] = engine.instances()
        assert page.url.endswith(f"/instances/{instance.id}")
    finally:
        context.close()


def test_a_script_error_comes_back_at_the_top_and_the_task_buttons_read_right(shipped_server, chromium, screenshots):
    base, engine, clock = shipped_server.url, shipped_server.engine, shipped_server.clock
    # A version whose start form lacks its rules: the -5 reaches the process's own script.
    schema_path = engine.config.forms_dir / "receivables_start.schema.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    schema.pop("x-rules")
    schema_path.write_text(json.dumps(schema), "utf-8")
    engine.deploy([RECEIVABLES], actor="designer")
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, base, "fin")
        page.goto(base + START)
        assert page.locator("[data-rules]").count() == 0
        _fill(page, customer="华东物流", invoice_no="INV-2026-008", amount="-5", invoice_date="2026-01-05",
              due_date="2026-02-04")
        page.locator("form.checked-form button[type=submit]").click()
        page.wait_for_load_state()
        top = page.locator(".flash.error").first.inner_text()
        assert "登记应收" in top and "amount must be positive, got -5" in top and "ValueError" not in top
        assert page.input_value("#f-amount") == "-5" and page.input_value("#f-invoice_no") == "INV-2026-008"
        page.screenshot(path=str(screenshots / "form_script_error_zh.png"), full_page=True)
    finally:
        context.close()

    started = engine.start("receivables_collection", {"customer": "华东物流", "invoice_no": "INV-2026-009",
                                                      "amount": "800.00", "invoice_date": "2026-01-05",
                                                      "due_date": "2026-01-06"}, "fin", business_key="INV-2026-009")
    clock.advance(timedelta(days=3))
    engine.fire_due_timers()
    [chase] = [t for t in engine.tasks(instance_id=started.id) if t.element_id == "chase_payment"]
    engine.claim(chase.id, "rep")
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, base, "rep")
        page.goto(f"{base}/tasks/{chase.id}")
        page.fill("#f-reason", "客户资金周转困难")
        page.fill("#f-promised_date", "2026-01-07")
        page.locator("#f-reason").focus()
        assert page.locator("#f-promised_date-check").inner_text() == "承诺付款日期不能早于今天。"
        page.screenshot(path=str(screenshots / "form_task_zh.png"), full_page=True)
    finally:
        context.close()
