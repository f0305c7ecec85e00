"""In a real browser (zh-CN): a designer dry-runs the migration of a running claim check from v1 to v2, migrates it,
and its task then carries v2's name, with the reminder timer of v2 (4 hours instead of 2) counted from when it began.
Screenshots: migration_dry_run_zh.png, migration_done_zh.png, migration_instance_zh.png, migration_task_zh.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.cli.serve import DEMO_PASSWORD
from engine.passwords import hash_password
from tests.e2e.browser import sign_in
from tests.engine.test_migration_plan import PROCESS, deploy_version

pytestmark = pytest.mark.slow


def test_a_designer_dry_runs_and_migrates_a_running_instance(live_server, chromium, screenshots, tmp_path: Path):
    engine, base = live_server.engine, live_server.url
    engine.add_user("designer", ["designer"], password_hash=hash_password(DEMO_PASSWORD))
    deploy_version(engine, tmp_path / "d", 1)
    started = live_server.clock.now()
    running = engine.start(PROCESS, {"path": "new"}, actor="rep", business_key="CLM-2026-07")
    stuck = engine.start(PROCESS, {"path": "old"}, actor="rep", business_key="CLM-2026-08")
    engine.complete(engine.tasks(instance_id=stuck.id)[0].id, {}, "rep")
    [task] = engine.tasks(instance_id=running.id)
    engine.claim(task.id, "rep")
    deploy_version(engine, tmp_path / "d", 2)

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "designer")
    page.goto(f"{base}/definitions/")
    page.locator(f'a[href="/definitions/processes/{PROCESS}/migrate"]').click()
    page.wait_for_url(f"{base}/definitions/processes/{PROCESS}/migrate")
    assert page.locator("#from").input_value() == "1" and page.locator("#to").input_value() == "2"
    page.locator("form.migration-plan button[type=submit]").click()
    page.wait_for_selector("table.migration-result")
    ok_row = page.locator(f'table.migration-result tr:has(a[href="/instances/{running.id}"])')
    blocked_row = page.locator(f'table.migration-result tr:has(a[href="/instances/{stuck.id}"])')
    assert ok_row.get_attribute("class") == "ok" and "核查索赔" in ok_row.inner_text()
    assert blocked_row.get_attribute("class") == "blocked" and "旧的人工步骤" in blocked_row.inner_text()
    page.screenshot(path=str(screenshots / "migration_dry_run_zh.png"), full_page=True)
    assert engine.instance(running.id).version == 1, "the dry run changed nothing"

    page.locator("form.confirm-migration button[type=submit]").click()
    page.wait_for_selector("table.migration-result")
    done_row = page.locator(f'table.migration-result tr:has(a[href="/instances/{running.id}"])')
    assert done_row.get_attribute("class") == "ok" and "复核索赔" in done_row.inner_text()
    assert page.locator(f'table.migration-result a[href="/instances/{stuck.id}"]').count() == 0
    page.screenshot(path=str(screenshots / "migration_done_zh.png"), full_page=True)
    assert engine.instance(running.id).version == 2 and engine.instance(stuck.id).version == 1
    context.close()

    # The rep's task keeps its id and assignee and reads as version 2 names it; its reminder is 4 hours now.
    due = (started + timedelta(hours=4)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    [timer] = engine.timers(instance_id=running.id)
    assert timer.due_at == started + timedelta(hours=4)
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "head")
    page.goto(f"{base}/instances/{running.id}")
    body = page.locator("main").inner_text()
    assert "复核索赔" in body and "4 小时" in body and due in body, body
    page.screenshot(path=str(screenshots / "migration_instance_zh.png"), full_page=True)
    context.close()

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "rep")
    assert page.locator(f'a[href="/tasks/{task.id}"]').first.inner_text().strip() == "复核索赔"
    page.goto(f"{base}/tasks/{task.id}")
    assert page.locator("h1").first.inner_text().strip() == "复核索赔"
    page.screenshot(path=str(screenshots / "migration_task_zh.png"), full_page=True)
    context.close()
