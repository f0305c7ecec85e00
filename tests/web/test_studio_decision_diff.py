"""The decision editor's diff endpoint: the edited DMN against the deployed file, for designers only."""

from __future__ import annotations

import json

from engine.config import PROJECT_ROOT

SHIPPED_DMN = PROJECT_ROOT / "department" / "processes" / "responsibility_matrix.dmn"
BASE = "/definitions/decisions/responsibility_matrix.dmn/modeler"


def _post(b, url, payload):
    b.get("/definitions/")  # a page, for the CSRF token
    return b.client.post(url, data=json.dumps(payload), content_type="application/json",
                         headers={"X-CSRFToken": b.token})


def test_the_diff_lists_the_changed_rule_with_its_column(browser, web_engine):
    web_engine.deploy([SHIPPED_DMN], actor="designer")
    designer = browser("designer")
    source = SHIPPED_DMN.read_text("utf-8")
    edited = source.replace('<outputEntry id="rule_quantity_department"><text>"warehouse"</text>',
                            '<outputEntry id="rule_quantity_department"><text>"transport"</text>')
    body = _post(designer, f"{BASE}/diff", {"dmn": edited}).json
    assert body["version"] == 1 and body["added"] == [] and body["removed"] == []
    assert [(c["id"], c["fields"], c["before"], c["after"]) for c in body["changed"]] == [
        ("rule_quantity", ["责任部门"], {"责任部门": '"warehouse"'}, {"责任部门": '"transport"'})]
    assert _post(designer, f"{BASE}/diff", {"dmn": source}).json["changed"] == []


def test_a_broken_file_is_refused_and_only_designers_may_ask(browser, web_engine):
    web_engine.deploy([SHIPPED_DMN], actor="designer")
    broken = _post(browser("designer"), f"{BASE}/diff", {"dmn": "<definitions"})
    assert broken.status_code == 422 and "not well-formed" in broken.json["message"]
    assert _post(browser("designer"), f"{BASE}/diff", {}).status_code == 400
    assert _post(browser("auditor"), f"{BASE}/diff", {"dmn": "<x/>"}).status_code == 403
    assert _post(browser("designer"), "/definitions/decisions/nothing.dmn/modeler/diff", {"dmn": "<x/>"}).status_code == 404
