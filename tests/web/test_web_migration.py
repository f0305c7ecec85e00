"""The 迁移实例 page and POST /api/v1/definitions/{process}/migrations: designers and admins only, dry run first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.engine.test_migration_plan import PROCESS, deploy_version
from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def two_versions(web_engine, tmp_path: Path) -> dict[str, int]:
    """Version 1 with one instance at check and one on the old step; then version 2."""
    deploy_version(web_engine, tmp_path / "d", 1)
    at_check = web_engine.start(PROCESS, {"path": "new"}, actor="rep").id
    at_old = web_engine.start(PROCESS, {"path": "old"}, actor="rep").id
    [check] = web_engine.tasks(instance_id=at_old)
    web_engine.complete(check.id, {}, "rep")
    deploy_version(web_engine, tmp_path / "d", 2)
    return {"check": at_check, "old": at_old}


def _rows(page: str) -> dict[int, str]:
    body = page.split('<table class="list compact migration-result">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="(ok|blocked)">\s*<td data-label="#"><a href="/instances/(\d+)">', body)
    return {int(i): kind for kind, i in rows}


def test_a_designer_checks_then_migrates_on_the_page(browser, web_engine, two_versions) -> None:
    designer = browser("designer")
    index = designer.get("/definitions/").get_data(as_text=True)
    assert f"/definitions/processes/{PROCESS}/migrate" in index
    page = designer.get(f"/definitions/processes/{PROCESS}/migrate", headers=ZH).get_data(as_text=True)
    assert "迁移实例" in page or "Migrate instances" in page
    assert 'name="map-old_step"' in page and "旧的人工步骤" in page, "the steps v2 lacks can be mapped (v1 → v2 by default)"
    assert "migration-result" not in page, "nothing is checked until asked"
    checked = designer.get(f"/definitions/processes/{PROCESS}/migrate?check=1&from=1&to=2&map-close=close_case")
    text = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert _rows(text) == {two_versions["check"]: "ok", two_versions["old"]: "blocked"}
    assert "Old manual step" in text and "is not in the new version and is not mapped" in text
    assert 'name="map-old_step"' in text and '<option value="close_case" selected>' in text
    assert web_engine.instance(two_versions["check"]).version == 1, "a dry run changes nothing"
    hidden = re.findall(r'<input type="hidden" name="instance" value="(\d+)">', text)
    assert hidden == [str(two_versions["check"])]
    done = designer.post(f"/definitions/processes/{PROCESS}/migrate",
                         {"from": "1", "to": "2", "instance": hidden[0], "map-close": "close_case"})
    result = done.get_data(as_text=True)
    assert done.status_code == 200 and _rows(result) == {two_versions["check"]: "ok"}
    assert "Migrated 1 instance to version 2." in result
    assert web_engine.instance(two_versions["check"]).version == 2
    assert web_engine.instance(two_versions["old"]).version == 1
    assert web_engine.tasks(instance_id=two_versions["check"])[0].title == "Review the claim"
    [event] = [e for e in web_engine.history(two_versions["check"]) if e.type == "instance_migrated"]
    assert event.actor == "designer" and event.data["mapping"] == {"close": "close_case"}
    story = designer.get(f"/instances/{two_versions['check']}", headers=ZH)
    assert story.status_code in (200, 403)


def test_only_designers_and_admins_may_migrate(browser, two_versions) -> None:
    url = f"/definitions/processes/{PROCESS}/migrate"
    for user in ("rep", "head", "auditor"):
        assert browser(user).get(url).status_code == 403, user
    assert browser("admin").get(url).status_code == 200
    assert browser("designer").get("/definitions/processes/no_such/migrate").status_code == 404
    assert browser("auditor").post(url, {"from": "1", "to": "2", "instance": "1"}).status_code == 403


def test_the_page_names_steps_in_chinese(browser, two_versions) -> None:
    designer = browser("designer")
    designer.post("/language", {"language": "zh-CN"})
    page = designer.get(f"/definitions/processes/{PROCESS}/migrate?check=1&from=1&to=2").get_data(as_text=True)
    # Step names come from each version's catalogue (the page chrome from the zh-CN translations).
    assert "旧的人工步骤" in page and "核查索赔" in page and "复核索赔" in page


def test_the_api_dry_runs_and_migrates_with_the_cli_shape(api_as, two_versions) -> None:
    designer = api_as("designer")
    url = f"/definitions/{PROCESS}/migrations"
    dry = designer.post(url, {"from_version": 1, "to_version": 2, "dry_run": True})
    assert dry.status_code == 200
    assert dry.get_json() == {"planned": 2, "migrated": [two_versions["check"]], "blocked": [
        {"id": two_versions["old"], "reason": "current step old_step is gone from the new version and not mapped"}]}
    done = designer.post(url, {"from_version": 1, "to_version": 2, "mapping": {"old_step": "close_case"},
                               "instances": [two_versions["old"]]}).get_json()
    assert done == {"planned": 1, "migrated": [two_versions["old"]], "blocked": []}
    assert_problem(designer.post(url, {"from_version": 2, "to_version": 2}), 400, "bad-request")
    assert_problem(designer.post("/definitions/nothing/migrations", {"from_version": 1, "to_version": 2}), 404,
                   "not-found")
    assert_problem(designer.post(url, {"from_version": 1, "to_version": 2, "mapping": {"x": "y"}}), 400,
                   "bad-request")
    assert_problem(api_as("rep").post(url, {"from_version": 1, "to_version": 2}), 403, "forbidden")
