"""In a real browser: cs_head opens the dashboard for March, reads the KPI cards (value, target, definition) and
follows the late deliveries to the order behind them (#17). Orders run through the shipped order_plan."""

from __future__ import annotations

import pytest

from engine import Engine, ManualClock
from engine.cli.serve import DEMO_PASSWORD
from engine.passwords import hash_password
from tests.e2e.browser import sign_in
from tests.e2e.conftest import serve
from tests.processes.kpi_scenes import three_orders

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_head_reads_the_kpis_and_opens_the_late_delivery(engine: Engine, clock: ManualClock, chromium, screenshots,
                                                         locale: str) -> None:
    from tests.processes import test_onboarding as onboarding
    from web import create_app

    engine.add_user("head", ["cs_head"], password_hash=hash_password(DEMO_PASSWORD))
    onboarding.deploy(engine)  # ACME's operation requirements: on time at least 60 %, damage at most 0.1 %
    acme = engine.start("new_business_onboarding", dict(onboarding.START), actor="rep").id
    (requirements,) = engine.tasks(instance_id=acme)
    engine.complete(requirements.id, {**onboarding.REQUIREMENTS, "kpi_on_time_target_pct": 60}, "rep")
    orders = three_orders(engine, clock)
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    page = context.new_page()
    try:
        with serve(create_app({"ENGINE": engine, "SECRET_KEY": "e2e-secret"})) as base:
            sign_in(page, base, "head")
            page.goto(f"{base}/dashboard/?from=2026-03-01&to=2026-03-31")
            pd = page.locator("#kpi-on_time_delivery")
            assert pd.locator(".kpi-value").inner_text() == "67%"
            assert "Pd = Nd / Nt" in pd.inner_text() and "98%" in pd.inner_text()
            assert page.locator("#kpi-damage_rate .kpi-value").inner_text() == "33%"
            assert page.locator("#kpi-receipt_timeliness .kpi-value").inner_text() == "33%"
            customer = page.locator("table.kpi-customers tbody tr", has_text="ACME Logistics")
            assert customer.locator(".kpi-rate.ok").inner_text() == "67%"  # meets its own 60 %
            assert customer.locator(".kpi-rate.bad").inner_text() == "33%"  # over its 0.1 % damage ceiling
            page.locator("#kpis").screenshot(path=str(screenshots / f"dashboard-kpis-{locale}.png"))
            page.screenshot(path=str(screenshots / f"dashboard-{locale}.png"), full_page=True)
            late = pd.locator("a[href*='outcome=late']")
            assert late.inner_text().split()[-1] == "1"
            late.click()
            page.wait_for_load_state()
            assert page.locator(f"a[href$='/instances/{orders['B']}']").count() >= 1
            assert page.locator(f"a[href$='/instances/{orders['A']}']").count() == 0
            page.screenshot(path=str(screenshots / f"dashboard-kpi-late-{locale}.png"), full_page=True)
    finally:
        context.close()
