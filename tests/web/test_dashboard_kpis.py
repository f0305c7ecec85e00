"""The KPIs on the dashboard, in the API and in the CLI (#17): value, target, definition, drill-down to the instances.

The orders come from ``tests/processes/test_kpi_definitions.three_orders`` (shipped order_plan through the real engine):
A in time, B late to the required time and damaged with an overdue receipt, C clarified and dispatched late.
"""

from __future__ import annotations

import importlib.util
import json
import re
from html import unescape

import pytest
from click.testing import CliRunner

from engine import Engine, ManualClock
from engine.cli import cli
from engine.passwords import hash_password
from tests.processes.kpi_scenes import three_orders
from tests.web.conftest import PASSWORD, Browser
from tests.web.test_api_fixtures import ApiClient, assert_problem, issue_token
from web import create_app

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def orders(engine: Engine, clock: ManualClock) -> dict[str, int]:
    for name, group in (("head", "cs_head"), ("rep", "cs_rep")):
        engine.add_user(name, [group], password_hash=hash_password(PASSWORD))
    return three_orders(engine, clock)


def card(page: str, key: str) -> str:
    """Return the text of one KPI card of the dashboard."""
    found = re.search(rf'<article class="kpi-card" id="kpi-{key}".*?</article>', page, re.S)
    assert found, key
    return unescape(found.group(0))


def test_the_dashboard_shows_each_kpi_with_target_definition_and_drill_down(engine: Engine, orders: dict[str, int]) -> None:
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True})
    head = Browser(app.test_client())
    assert head.login("head").status_code == 302
    page = head.get(f"/dashboard/?{MARCH}").get_data(as_text=True)
    pd = card(page, "on_time_delivery")
    assert "67%" in pd and "2 of 3" in pd and "target ≥ 98%" in pd and "Pd = Nd / Nt" in pd
    assert 'kpi-value bad' in pd and "Assumption to confirm" in pd
    damage = card(page, "damage_rate")
    assert "33%" in damage and "target ≤ 0.1%" in damage
    for key, module in (("answer_rate", "calls"), ("satisfaction", "surveys")):  # other helpers' modules, if present
        recorded = importlib.util.find_spec(f"engine.services.reports.{module}") is not None
        assert ("not recorded yet" in card(page, key)) is not recorded, key
    link = re.search(r'href="([^"]*figure=kpi[^"]*kpi=on_time_delivery[^"]*outcome=late[^"]*)"', pd) or re.search(
        r'href="([^"]*outcome=late[^"]*kpi=on_time_delivery[^"]*)"', pd)
    assert link, pd
    listed = head.get(unescape(link.group(1))).get_data(as_text=True)
    assert f"/instances/{orders['B']}" in listed and f"/instances/{orders['A']}\"" not in listed
    assert head.get(f"/dashboard/instances?figure=kpi&kpi=no_such&outcome=late&{MARCH}").status_code == 404
    empty = head.get("/dashboard/?from=2026-01-01&to=2026-01-31").get_data(as_text=True)
    assert "67%" not in card(empty, "on_time_delivery") and "—" in card(empty, "on_time_delivery")
    assert head.get("/dashboard/?from=0001-01-01&to=0001-01-02").status_code == 200  # ignored like a bad date
    rep = Browser(app.test_client())
    assert rep.login("rep").status_code == 302
    assert rep.get(f"/dashboard/?{MARCH}").status_code == 403


def test_the_api_returns_the_kpis_of_a_period_to_managers_only(engine: Engine, orders: dict[str, int]) -> None:
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True})
    head = ApiClient(app, issue_token(engine, "head"))
    body = head.get(f"/reports/kpis?{MARCH}").get_json()
    assert (body["from"], body["to"]) == ("2026-03-01", "2026-03-31")
    pd = {k["key"]: k for k in body["kpis"]}["on_time_delivery"]
    assert (pd["symbol"], pd["numerator"], pd["denominator"], pd["target"], pd["target_kind"], pd["meets_target"]) == (
        "Pd", 2, 3, 0.98, "min", False)
    assert pd["counts"] == {"on_time": 2, "late": 1, "unknown": 0} and pd["formula"].startswith("Pd = Nd / Nt")
    empty = {k["key"]: k for k in head.get("/reports/kpis?from=2026-01-01&to=2026-01-31").get_json()["kpis"]}
    assert empty["on_time_delivery"]["value"] is None and empty["on_time_delivery"]["denominator"] == 0
    assert_problem(head.get("/reports/kpis?from=2026-03-31&to=2026-03-01"), 400, "bad-request")
    assert head.get("/reports/kpis?from=March").status_code == 422
    assert_problem(head.get("/reports/kpis?from=0001-01-01&to=0001-01-02"), 400, "bad-request")
    assert ApiClient(app, issue_token(engine, "rep")).get(f"/reports/kpis?{MARCH}").status_code == 403


def test_bpm_kpis_prints_and_exports_the_same_numbers(engine: Engine, orders: dict[str, int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engine.cli.kpis.build_engine", lambda: engine)
    runner = CliRunner()
    shown = runner.invoke(cli, ["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--definitions"])
    assert shown.exit_code == 0, shown.output
    assert "Pd On-time delivery rate: 66.7% (2/3)  target ≥ 98.0%" in shown.output
    assert "formula: Pd = Nd / Nt" in shown.output and "assumption (to confirm)" in shown.output
    exported = runner.invoke(cli, ["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--json"])
    data = json.loads(exported.output)
    assert {k["key"]: k["counts"] for k in data["kpis"]}["receipt_timeliness"] == {
        "on_time": 1, "late": 1, "lost": 1, "pending": 0}
    wrong = runner.invoke(cli, ["kpis", "--from", "2026-04-01", "--to", "2026-03-01"])
    assert wrong.exit_code != 0 and "starts (2026-04-01) after it ends" in wrong.output


def test_each_customers_own_targets_on_the_dashboard_and_in_the_api(engine: Engine, orders: dict[str, int]) -> None:
    from tests.processes import test_onboarding as onboarding

    onboarding.deploy(engine)
    acme = engine.start("new_business_onboarding", dict(onboarding.START), actor="rep").id
    (task,) = engine.tasks(instance_id=acme)
    engine.complete(task.id, {**onboarding.REQUIREMENTS, "kpi_on_time_target_pct": 60}, "rep")
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True})
    head = Browser(app.test_client())
    assert head.login("head").status_code == 302
    page = head.get(f"/dashboard/?{MARCH}").get_data(as_text=True)
    row = unescape(re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/instances/\d+\">ACME Logistics</a>.*?</tr>", page,
                             re.S).group(0))
    assert "67%" in row and "≥ 60%" in row and "≤ 0.1%" in row and "kpi-rate ok" in row and "kpi-rate bad" in row
    link = re.search(r'href="([^"]*kpi=on_time_delivery[^"]*)"', row).group(1)
    listed = head.get(unescape(link)).get_data(as_text=True)
    assert "ACME Logistics" in listed and f"/instances/{orders['B']}" in listed
    assert f"/instances/{orders['A']}\"" not in listed
    other = head.get(unescape(link).replace("ACME", "Nobody")).get_data(as_text=True)
    assert f"/instances/{orders['B']}" not in other
    body = ApiClient(app, issue_token(engine, "head")).get(f"/reports/kpis?{MARCH}").get_json()
    assert body["customers"] == [{
        "customer": "ACME Logistics", "onboarding_instance_id": acme, "on_time_target": 0.6, "on_time": 2 / 3,
        "on_time_counts": [2, 3], "meets_on_time": True, "damage_max": 0.001, "damage": 1 / 3,
        "damage_counts": [1, 3], "meets_damage": False}]
