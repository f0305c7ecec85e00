"""The browser modeler: its page (designers only, degrading without npm), the JSON endpoints behind save draft,
validate, diff and deploy (session + CSRF header), the vendor files, and the version diff page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.services.definitions import list_definitions

HERE = Path(__file__).resolve().parent
COMPLAINT = (HERE / "bpmn" / "complaint.bpmn").read_text("utf-8")
CHANGED = COMPLAINT.replace("PT4H", "PT6H").replace('name="Review complaint"', 'name="Review the complaint"')
BROKEN = COMPLAINT.replace("escalate == True", "escalate ==")
TOKEN = re.compile(r'id="modeler-csrf" value="([^"]+)"')


def _complaint_v1(engine):
    with engine.transaction() as session:
        return next(d for d in list_definitions(session) if d.process_key == "complaint" and d.version == 1).id


@pytest.fixture
def v1(web_engine):
    return _complaint_v1(web_engine)


@pytest.fixture
def installed(app, tmp_path):
    """A node_modules folder with every file the page loads (stand-ins: these tests do not run the JavaScript)."""
    from web.static_files import VENDOR_FILES

    root = tmp_path / "node_modules"
    for name in VENDOR_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}" if name.endswith(".json") else f"/* {name} */", "utf-8")
    app.config["NODE_MODULES_DIR"] = str(root)
    return root


def _open(b, v1):
    page = b.get(f"/definitions/{v1}/modeler")
    match = TOKEN.search(page.get_data(as_text=True))
    return page, (match.group(1) if match else b.token)


def _post(b, url, token, payload):
    return b.client.post(url, data=json.dumps(payload), content_type="application/json",
                         headers={"X-CSRFToken": token} if token else {})


def test_the_page_is_for_designers_and_carries_groups_forms_and_the_source(browser, v1, installed):
    page, token = _open(browser("designer"), v1)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and token
    data = json.loads(re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>', html, re.S).group(1))
    assert data["process_key"] == "complaint" and "PT4H" in data["bpmn"]
    assert {"cs_rep", "cs_head"} <= {g["id"] for g in data["groups"]}
    assert "handle_complaint" in data["form_keys"] and any("add_working_days" in h for h in data["calendar_helpers"])
    assert "/vendor/bpmn-js/dist/bpmn-modeler.development.js" in html and "/vendor/bpmn-js/LICENSE" in html
    assert "style-src 'self' 'unsafe-inline'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    for user in ("auditor", "rep", "head"):
        assert browser(user).get(f"/definitions/{v1}/modeler").status_code == 403, user
    show = browser("designer").get(f"/definitions/{v1}").get_data(as_text=True)
    assert f'href="/definitions/{v1}/modeler"' in show
    assert "/modeler" not in browser("auditor").get(f"/definitions/{v1}").get_data(as_text=True)


def test_without_npm_packages_the_page_says_the_modeler_is_not_installed(app, browser, v1, tmp_path):
    app.config["NODE_MODULES_DIR"] = str(tmp_path / "nowhere")
    page = browser("designer").get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    assert 'id="modeler-missing"' in page and "npm" in page and "bpmn-modeler" not in page
    assert browser("designer").get("/vendor/bpmn-js/LICENSE").status_code == 404


def test_vendor_serves_only_the_allow_list_and_the_licences(browser, installed):
    b = browser("designer")
    licence = b.get("/vendor/bpmn-js/LICENSE")
    assert licence.status_code == 200 and licence.mimetype == "text/plain"
    assert b.get("/vendor/bpmn-js/dist/bpmn-modeler.development.js").mimetype == "text/javascript"
    (installed / "bpmn-js" / "package.json").write_text("{}", "utf-8")
    for name in ("bpmn-js/package.json", "bpmn-js/dist/bpmn-modeler.production.min.js", "../package.json",
                 "bpmn-js/../../secret"):
        assert b.get(f"/vendor/{name}").status_code == 404, name
    assert browser("rep").get("/vendor/bpmn-js/LICENSE").status_code == 403


def test_save_load_and_discard_a_draft_per_designer(browser, v1, installed):
    designer = browser("designer")
    _page, token = _open(designer, v1)
    saved = _post(designer, f"/definitions/{v1}/modeler/draft", token, {"bpmn": CHANGED})
    assert saved.status_code == 200 and saved.json["draft"]["based_on_version"] == 1
    page = designer.get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    assert 'id="draft-note"' in page and "PT6H" in page
    admin_page = browser("admin").get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    assert "PT6H" not in admin_page and "PT4H" in admin_page
    discarded = _post(designer, f"/definitions/{v1}/modeler/discard", token, {})
    assert discarded.json["discarded"] is True and "PT4H" in discarded.json["bpmn"]
    assert "PT6H" not in designer.get(f"/definitions/{v1}/modeler").get_data(as_text=True)


def test_json_posts_need_the_csrf_header_and_a_designer(browser, v1, installed):
    designer = browser("designer")
    _open(designer, v1)
    for action in ("draft", "validate", "diff", "deploy", "discard"):
        assert _post(designer, f"/definitions/{v1}/modeler/{action}", None, {"bpmn": CHANGED}).status_code == 400, action
    auditor = browser("auditor")
    token = auditor.token
    for action in ("draft", "validate", "diff", "deploy", "discard"):
        assert _post(auditor, f"/definitions/{v1}/modeler/{action}", token, {"bpmn": CHANGED}).status_code == 403
    _page, token = _open(designer, v1)
    assert _post(designer, f"/definitions/{v1}/modeler/draft", token, {"xml": "x"}).status_code == 400


def test_validate_returns_problems_with_element_ids(browser, v1, installed, web_engine):
    designer = browser("designer")
    _page, token = _open(designer, v1)
    broken = _post(designer, f"/definitions/{v1}/modeler/validate", token, {"bpmn": BROKEN}).json
    assert broken["ok"] is False and broken["problems"]
    assert [p["element_id"] for p in broken["problems"]] == ["f_gw_review"]
    assert all(p["text"].startswith("complaint.bpmn") for p in broken["problems"])
    fine = _post(designer, f"/definitions/{v1}/modeler/validate", token, {"bpmn": CHANGED}).json
    assert fine == {"ok": True, "problems": [], "warnings": fine["warnings"]}
    with web_engine.transaction() as session:
        assert [d.version for d in list_definitions(session) if d.process_key == "complaint"] == [1]


def test_validate_in_chinese(browser, v1, installed):
    designer = browser("designer")
    designer.post("/language", {"language": "zh-CN"})
    _page, token = _open(designer, v1)
    body = _post(designer, f"/definitions/{v1}/modeler/validate", token, {"bpmn": BROKEN}).json
    assert re.search(r"[\u4e00-\u9fff]", body["problems"][0]["message"])


def test_diff_lists_changed_elements(browser, v1, installed):
    designer = browser("designer")
    _page, token = _open(designer, v1)
    body = _post(designer, f"/definitions/{v1}/modeler/diff", token, {"bpmn": CHANGED}).json
    assert body["version"] == 1 and not body["added"] and not body["removed"]
    changed = {c["id"]: c["fields"] for c in body["changed"]}
    assert changed["review"] == ["name"] and list(changed.values()).count(["timer:timeDuration"]) == 1


def test_deploy_makes_version_two_and_refuses_a_broken_draft(browser, v1, installed, web_engine):
    designer = browser("designer")
    _page, token = _open(designer, v1)
    _post(designer, f"/definitions/{v1}/modeler/draft", token, {"bpmn": CHANGED})
    refused = _post(designer, f"/definitions/{v1}/modeler/deploy", token, {"bpmn": BROKEN})
    assert refused.status_code == 422 and refused.json["problems"]
    deployed = _post(designer, f"/definitions/{v1}/modeler/deploy", token, {"bpmn": CHANGED})
    assert deployed.status_code == 200, deployed.get_data(as_text=True)
    [new] = deployed.json["deployed"]
    assert new["version"] == 2 and new["url"] == f"/definitions/{new['id']}"
    with web_engine.transaction() as session:
        versions = {d.version: d for d in list_definitions(session) if d.process_key == "complaint"}
    assert set(versions) == {1, 2} and versions[2].deployed_by == "designer"
    assert 'id="draft-note"' not in designer.get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    again = _post(designer, f"/definitions/{v1}/modeler/deploy", token, {"bpmn": CHANGED}).json
    assert again["deployed"] == [] and again["unchanged"] == [2]


def test_version_diff_page_lists_and_marks_the_changes(browser, v1, installed):
    designer = browser("designer")
    _page, token = _open(designer, v1)
    _post(designer, f"/definitions/{v1}/modeler/deploy", token, {"bpmn": CHANGED})
    page = browser("auditor").get("/definitions/complaint/diff?from=1&to=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-element="review"' in html and "Review the complaint" in html and "PT6H" in html
    assert "is-waiting" in html  # changed elements are marked on both diagrams
    zh = browser("auditor").get("/definitions/complaint/diff?from=1&to=2", headers={"Accept-Language": "zh-CN"})
    assert '<span class="muted element-kind">用户任务 <code>userTask</code></span>' in zh.get_data(as_text=True)
    assert browser("auditor").get("/definitions/complaint/diff?from=1&to=7").status_code == 404
    assert browser("auditor").get("/definitions/nothing/diff").status_code == 404
    assert browser("rep").get("/definitions/complaint/diff").status_code == 403
    same = browser("auditor").get("/definitions/complaint/diff?from=2&to=2").get_data(as_text=True)
    assert 'id="no-changes"' in same
    show = browser("designer").get(f"/definitions/{v1}").get_data(as_text=True)
    assert "/definitions/complaint/diff?from=1&amp;to=2" in show


def test_an_older_version_warns_that_its_deploy_drops_later_changes(browser, v1, installed):
    designer = browser("designer")
    _page, token = _open(designer, v1)
    assert 'id="not-latest"' not in designer.get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    _post(designer, f"/definitions/{v1}/modeler/deploy", token, {"bpmn": CHANGED})
    page = designer.get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    assert 'id="not-latest"' in page and "version 3" in page


SHIPPED_DMN = (Path(__file__).resolve().parents[2] / "department" / "processes" / "responsibility_matrix.dmn")


@pytest.fixture
def dmn_installed(installed):
    from web.static_files import DMN_FILES

    for name in DMN_FILES:
        (installed / name).parent.mkdir(parents=True, exist_ok=True)
        (installed / name).write_text(f"/* {name} */", "utf-8")
    return installed


def test_decision_tables_open_validate_and_deploy(browser, web_engine, dmn_installed):
    web_engine.deploy([SHIPPED_DMN], actor="designer")
    designer = browser("designer")
    index = designer.get("/definitions/").get_data(as_text=True)
    assert 'href="/definitions/decisions/responsibility_matrix.dmn/modeler"' in index
    assert "decision-files" not in browser("auditor").get("/definitions/").get_data(as_text=True)
    page = designer.get("/definitions/decisions/responsibility_matrix.dmn/modeler")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "dmn-modeler.development.js" in html and "/vendor/dmn-js/LICENSE" in html
    token = TOKEN.search(html).group(1)
    base = "/definitions/decisions/responsibility_matrix.dmn/modeler"
    source = SHIPPED_DMN.read_text("utf-8")
    changed = source.replace('name="', 'name="Draft ', 1)
    assert _post(designer, f"{base}/draft", token, {"dmn": changed}).status_code == 200
    assert 'name=\\"Draft ' in designer.get(base).get_data(as_text=True)
    assert _post(designer, f"{base}/validate", token, {"dmn": changed}).json["ok"] is True
    broken = _post(designer, f"{base}/validate", token, {"dmn": "<definitions"}).json
    assert broken["ok"] is False and broken["problems"]
    deployed = _post(designer, f"{base}/deploy", token, {"dmn": changed})
    assert deployed.status_code == 200 and deployed.json["file_version"] == 2
    assert 'id="draft-note"' not in designer.get(base).get_data(as_text=True)
    assert designer.get("/definitions/decisions/nothing.dmn/modeler").status_code == 404
    assert browser("auditor").get(base).status_code == 403
    assert _post(browser("auditor"), f"{base}/deploy", token, {"dmn": changed}).status_code in (400, 403)
