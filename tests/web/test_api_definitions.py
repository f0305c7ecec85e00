"""/api/v1/definitions: read deployed processes, validate files without deploying, deploy (designers)."""

from __future__ import annotations

from pathlib import Path

from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]

HERE = Path(__file__).resolve().parent
ORDER_CHECK = (HERE / "bpmn" / "order_check.bpmn").read_text("utf-8")
RECHECK = ORDER_CHECK.replace("order_check", "order_recheck")
BROKEN = RECHECK.replace('name="cs_assistant"', 'name="no_such_group"')


def _files(*pairs):
    return {"files": [{"name": name, "content": content} for name, content in pairs]}


def test_anyone_signed_in_reads_definitions_source_and_diagram(api_as):
    rep = api_as("rep")
    listed = rep.get("/definitions").get_json()
    assert {d["process_key"] for d in listed["items"]} == {"complaint", "order_check"} and listed["total"] == 2
    only = rep.get("/definitions?process_key=order_check&latest_only=true").get_json()["items"]
    assert [(d["process_key"], d["version"], d["is_latest"], d["deployed_by"]) for d in only] == [
        ("order_check", 1, True, "designer")]
    definition_id = only[0]["id"]
    assert rep.get(f"/definitions/{definition_id}").get_json() == only[0]
    source = rep.get(f"/definitions/{definition_id}/source")
    assert source.status_code == 200 and source.mimetype == "application/xml"
    assert 'id="order_check"' in source.get_data(as_text=True)
    diagram = rep.get(f"/definitions/{definition_id}/diagram")
    assert diagram.mimetype == "image/svg+xml" and diagram.get_data(as_text=True).lstrip().startswith("<svg")
    for suffix in ("", "/source", "/diagram"):
        assert_problem(rep.get(f"/definitions/999{suffix}"), 404, "not-found")
    assert_problem(api_as(None).get("/definitions"), 401, "unauthorized")


def test_designers_validate_files_without_deploying(api_as):
    designer = api_as("designer")
    ok = designer.post("/definitions/validate", _files(("order_recheck.bpmn", RECHECK)))
    result = ok.get_json()
    assert ok.status_code == 200 and {k: result[k] for k in ("ok", "processes", "problems")} == {
        "ok": True, "processes": ["order_recheck"], "problems": []}
    assert [w["file"] for w in result["warnings"]] == ["order_recheck.bpmn"]
    assert "no translation catalogue order_recheck.i18n.json" in result["warnings"][0]["message"]
    catalogue = '{"source_language": "en", "translations": {"zh-CN": {"order_recheck": "订单复核"}}}'
    with_catalogue = designer.post("/definitions/validate", _files(("order_recheck.bpmn", RECHECK),
                                                                   ("order_recheck.i18n.json", catalogue))).get_json()
    assert with_catalogue["ok"] is True
    assert [w["file"] for w in with_catalogue["warnings"]] == ["order_recheck.i18n.json"], "the other names lack zh-CN"
    bad = designer.post("/definitions/validate", _files(("order_recheck.bpmn", BROKEN))).get_json()
    assert bad["ok"] is False and bad["processes"] == []
    assert any("no_such_group" in p["message"] and p["file"] == "order_recheck.bpmn" for p in bad["problems"])
    not_xml = designer.post("/definitions/validate", _files(("x.bpmn", "hello"))).get_json()
    assert not_xml["problems"] == [{"file": "x.bpmn", "line": 1, "element_id": None, "element_name": None,
                                    "message": "not an XML document; save the diagram as BPMN 2.0 XML"}]
    assert {d["process_key"] for d in designer.get("/definitions").get_json()["items"]} == {"complaint", "order_check"}
    assert_problem(api_as("rep").post("/definitions/validate", _files(("order_recheck.bpmn", RECHECK))), 403, "forbidden")


def test_designers_deploy_new_versions_and_unchanged_files_stay(api_as):
    designer = api_as("designer")
    first = designer.post("/definitions", _files(("order_recheck.bpmn", RECHECK)))
    assert first.status_code == 201, first.get_data(as_text=True)
    assert [(d["process_key"], d["version"], d["deployed_by"]) for d in first.get_json()["deployed"]] == [
        ("order_recheck", 1, "designer")]
    same = designer.post("/definitions", _files(("order_recheck.bpmn", RECHECK)))
    assert same.status_code == 200 and same.get_json()["deployed"] == []
    assert ("order_recheck", 1) in [(d["process_key"], d["version"]) for d in same.get_json()["unchanged"]]
    changed = designer.post("/definitions", _files(("order_recheck.bpmn", RECHECK.replace("Check order plan", "Recheck"))))
    assert changed.status_code == 201 and changed.get_json()["deployed"][0]["version"] == 2
    assert api_as("admin").post("/definitions", _files(("order_recheck.bpmn", RECHECK))).status_code == 201


def test_deploy_errors(api_as, app):
    designer = api_as("designer")
    invalid = assert_problem(designer.post("/definitions", _files(("order_recheck.bpmn", BROKEN))), 422, "invalid-definition")
    assert any("no_such_group" in p["message"] for p in invalid["problems"]) and "no_such_group" in invalid["detail"]
    twice = assert_problem(designer.post("/definitions", _files(("a.bpmn", RECHECK), ("a.bpmn", RECHECK))), 422, "validation")
    assert "files" in twice["errors"]
    named = assert_problem(designer.post("/definitions", _files(("../etc/passwd", RECHECK))), 422, "validation")
    assert "files.0.name" in named["errors"]
    assert "files" in assert_problem(designer.post("/definitions", {"files": []}), 422, "validation")["errors"]
    assert_problem(api_as("rep").post("/definitions", _files(("order_recheck.bpmn", RECHECK))), 403, "forbidden")
    huge = RECHECK.replace("</bpmn:definitions>", "<!--" + "x" * (3 * 1024 * 1024) + "--></bpmn:definitions>")
    assert_problem(designer.post("/definitions", _files(("big.bpmn", huge))), 413, "payload-too-large")
