"""The web app's edge: NUL and other control characters are refused everywhere (never a 500); security headers."""

from __future__ import annotations

import pytest

from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]
NUL = "\u0000"


@pytest.mark.parametrize("path", [
    f"/api/v1/tasks?q={NUL}", f"/api/v1/tasks?process_key=a{NUL}", f"/api/v1/instances?business_key={NUL}",
    "/api/v1/definitions/x%00y",
])
def test_the_api_refuses_nul_in_query_and_path(api_as, path):
    body = assert_problem(api_as("admin").get(path.removeprefix("/api/v1")), 400, "bad-request")
    assert "U+0000" in body["detail"]


def test_the_api_refuses_control_characters_in_json_keys_and_values(api_as, web_engine):
    admin = api_as("admin")
    for payload in ({"name": f"payment{NUL}", "correlation": {}}, {"name": "x", "data": {f"k{NUL}": 1}},
                    {"name": "x", "data": {"deep": [{"v": "bell\u0007"}]}}):
        body = assert_problem(admin.post("/messages", payload), 400, "bad-request")
        assert "control character" in body["detail"]
    assert_problem(admin.post("/tokens", {"name": f"ci{NUL}"}), 400, "bad-request")
    assert web_engine.instances() == []


@pytest.mark.parametrize("raw", [
    b'{"name": "x\\b", "correlation": {}}', b'{"name": "x", "correlation": {"k": "form\\ffeed"}}',
    b'{"name": "next\\u0085line", "correlation": {}}', '{"name": "next\u0085line", "correlation": {}}'.encode(),
    b'{"name": "del\x7f", "correlation": {}}', b'{"name": "x", "data": {"\\u0007": 1}}',
])
def test_the_api_refuses_control_characters_however_the_json_text_writes_them(api_as, web_engine, raw):
    # A JSON escape (\b, \f, \u…), a C1 control written raw in UTF-8 and DEL all decode to refused characters.
    response = api_as("admin").post("/messages", data=raw, headers={"Content-Type": "application/json"})
    assert "control character" in assert_problem(response, 400, "bad-request")["detail"]
    assert web_engine.instances() == []


def test_json_that_only_looks_like_an_escape_or_nests_deeply_is_judged_by_its_decoded_text(api_as):
    admin = api_as("admin")
    # An escaped backslash before "u", "b" or "f" is plain text: checked in full, and let through.
    response = admin.post("/messages", {"name": "C:\\users\\bob\\files", "correlation": {}})
    assert response.status_code != 400, response.get_json()
    nested: dict = {"v": 1}
    for _ in range(70):
        nested = {"k": nested}
    body = assert_problem(admin.post("/messages", {"name": "x", "correlation": {}, "data": nested}), 400, "bad-request")
    assert "nested too deeply" in body["detail"]


def test_pages_without_sign_in_refuse_nul_with_a_page_not_a_500(browser):
    anonymous = browser()
    login = anonymous.post("/login", {"username": f"rep{NUL}", "password": "x"})
    assert login.status_code == 400 and "U+0000" in login.get_data(as_text=True)
    portal = anonymous.post("/portal/", {"customer": f"ACME{NUL}", "description": "x"})
    assert portal.status_code == 400
    # Tabs and line breaks in multi-line text are fine.
    assert anonymous.get("/login?next=/%0A").status_code in (200, 302)


def test_every_response_carries_the_security_headers(browser, api_as):
    for response in (browser().get("/login"), browser("rep").get("/"), api_as("rep").get("/me"),
                     browser().get("/no-such-page")):
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
