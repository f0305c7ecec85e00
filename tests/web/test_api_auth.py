"""API authentication and tokens: bearer tokens only, shown once, stored hashed, expiring, revocable; problems."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from click.testing import CliRunner
from flask import request
from sqlalchemy import select

from engine.persistence import ApiToken
from tests.web.test_api_fixtures import ApiClient, assert_problem, issue_token

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_requests_without_a_valid_token_get_401_problems(api_as, app):
    for client in (api_as(None), ApiClient(app, "bpm_not-a-real-token"), ApiClient(app, "garbage")):
        response = client.get("/me")
        body = assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Bearer" in body["detail"] and body["error"] == "unauthorized"
    basic = app.test_client().get("/api/v1/me", headers={"Authorization": "Basic cmVwOnB3"})
    assert_problem(basic, 401, "unauthorized")


def test_the_session_cookie_never_authenticates_the_api(browser):
    # Why the API blueprints may skip CSRF: a signed-in browser's cookie is ignored there.
    signed_in = browser("admin")
    assert signed_in.get("/").status_code == 200
    assert_problem(signed_in.client.get("/api/v1/me"), 401, "unauthorized")
    assert_problem(signed_in.client.post("/api/v1/tokens", json={}), 401, "unauthorized")


def test_the_api_neither_reads_nor_sets_the_session_cookie(browser, app, web_engine):
    signed_in = browser("admin")
    cookie = signed_in.client.get_cookie("session")
    assert cookie is not None and signed_in.get("/").status_code == 200
    token = ApiClient(app, issue_token(web_engine, "admin"))
    token.client = signed_in.client  # the same browser, now also sending a token
    response = token.get("/me")
    assert response.status_code == 200 and response.get_json()["username"] == "admin"
    assert "Set-Cookie" not in response.headers, "an API response never touches the session"
    assert signed_in.client.get_cookie("session").value == cookie.value
    assert "Set-Cookie" not in signed_in.client.post("/api/v1/tokens", json={}).headers  # refused, and no cookie
    # The reference pages under /api/v1 are pages: the browser is still signed in there and after.
    page = signed_in.get("/api/v1/docs").get_data(as_text=True)
    assert 'action="/logout"' in page or "/logout" in page
    assert signed_in.get("/").status_code == 200
    # Not read either: the API's requests get no session at all, the pages (the reference too) the cookie's.
    interface = app.session_interface
    for path, has_session in [("/api/v1/me", False), ("/api/v1/tasks/abc/complete", False),
                              ("/api/v1/docs", True), ("/api/v1/problems/conflict", True), ("/", True), ("/tasks/x", True)]:
        with app.test_request_context(path, headers={"Cookie": f"session={cookie.value}"}):
            opened = interface.open_session(app, request)
            assert (not interface.is_null_session(opened)) == has_session, path


def test_me_tells_who_the_token_acts_as(api_as):
    response = api_as("rep").get("/me")
    assert response.status_code == 200
    assert response.get_json() == {"username": "rep", "display_name": "rep", "groups": ["cs_rep"]}


def test_tokens_are_stored_as_sha256_shown_once_and_revocable(api_as, app, web_engine):
    rep = api_as("rep")
    created = rep.post("/tokens", {"name": "ERP sync", "expires_in_days": 30})
    assert created.status_code == 201, created.get_data(as_text=True)
    issued = created.get_json()
    secret = issued["token"]
    assert secret.startswith("bpm_") and issued["username"] == "rep" and issued["name"] == "ERP sync"
    assert issued["active"] is True and issued["revoked_at"] is None
    assert issued["expires_at"].startswith("2026-04-01")  # 30 days after the test clock's Monday 2 March

    with web_engine.transaction() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.id == issued["id"]))
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {row.token_hash, row.name}

    listed = rep.get("/tokens").get_json()
    assert [t["id"] for t in listed["items"]][0] == issued["id"] and listed["total"] == 2
    assert all("token" not in t for t in listed["items"])

    new_client = ApiClient(app, secret)
    assert new_client.get("/me").get_json()["username"] == "rep"
    revoked = new_client.post(f"/tokens/{issued['id']}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    assert_problem(new_client.get("/me"), 401, "unauthorized")
    assert rep.get("/me").status_code == 200  # other tokens keep working


def test_tokens_expire(api_as, app, web_engine, clock):
    client = ApiClient(app, issue_token(web_engine, "rep", expires_in_days=1))
    assert client.get("/me").status_code == 200
    clock.advance(timedelta(days=1, seconds=1))
    assert_problem(client.get("/me"), 401, "unauthorized")


def test_users_manage_their_own_tokens_admins_anyones(api_as):
    rep, admin = api_as("rep"), api_as("admin")
    assert_problem(rep.post("/tokens", {"username": "fin"}), 403, "forbidden")
    assert_problem(rep.get("/tokens?username=fin"), 403, "forbidden")
    assert_problem(rep.get("/tokens?everyone=true"), 403, "forbidden")
    for_fin = admin.post("/tokens", {"username": "fin", "name": "by admin"})
    assert for_fin.status_code == 201 and for_fin.get_json()["username"] == "fin"
    fin_token_id = for_fin.get_json()["id"]
    assert_problem(rep.post(f"/tokens/{fin_token_id}/revoke"), 403, "forbidden")
    assert admin.get("/tokens?username=fin").get_json()["total"] == 1
    assert {t["username"] for t in admin.get("/tokens?everyone=true").get_json()["items"]} == {"rep", "admin", "fin"}
    assert admin.post(f"/tokens/{fin_token_id}/revoke").get_json()["revoked_at"] is not None
    assert_problem(admin.post("/tokens/999999/revoke"), 404, "not-found")
    body = assert_problem(rep.post("/tokens", {"expires_in_days": 0}), 422, "validation")
    assert "expires_in_days" in body["errors"]


def test_cli_creates_a_token_once_and_revokes_it(app, web_engine, monkeypatch):
    import engine.cli.tokens  # noqa: F401  (registers `bpm tokens` until commands.py imports it)
    from engine.cli.commands import cli

    monkeypatch.setenv("DATABASE_URL", web_engine.config.database_url)
    runner = CliRunner()
    created = runner.invoke(cli, ["tokens", "create", "fin", "--expires-in-days", "30", "--name", "quick start"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("bpm_") and "\n" not in secret
    assert "shown only this once" in created.stderr
    client = ApiClient(app, secret)
    assert client.get("/me").get_json()["username"] == "fin"

    listed = runner.invoke(cli, ["tokens", "list", "--user", "fin"])
    assert listed.exit_code == 0 and "active" in listed.stdout and secret not in listed.stdout
    token_id = int(listed.stdout.split()[0])
    revoked = runner.invoke(cli, ["tokens", "revoke", str(token_id)])
    assert revoked.exit_code == 0 and f"token {token_id} of fin revoked" in revoked.stdout
    assert_problem(client.get("/me"), 401, "unauthorized")

    unknown = runner.invoke(cli, ["tokens", "create", "nobody"])
    assert unknown.exit_code == 1 and "no active user 'nobody'" in unknown.stderr


def test_read_only_auditors_may_read_but_not_change(api_as, complaint):
    auditor = api_as("auditor")
    assert auditor.get(f"/instances/{complaint.id}").status_code == 200
    task_id = auditor.get(f"/tasks?instance_id={complaint.id}").get_json()["items"][0]["id"]
    assert_problem(auditor.post(f"/tasks/{task_id}/claim"), 403, "forbidden")
    assert_problem(auditor.post("/messages", {"name": "x"}), 403, "forbidden")


def test_openapi_document_and_reference_page_are_served(app):
    client = app.test_client()
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.") and spec["security"] == [{"bearerToken": []}]
    assert {"/api/v1/instances", "/api/v1/tasks/{task_id}/complete", "/api/v1/messages", "/api/v1/tokens"} <= set(spec["paths"])
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in complete["parameters"]]
    assert spec["components"]["responses"]["CONFLICT"]["content"]["application/problem+json"]
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "POST /api/v1/tasks/{task_id}/complete" in html and 'id="problem-conflict"' in html
    assert "<script" not in html and "cdn" not in html.lower()
    redirect = client.get("/api/v1/problems/conflict")
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith("/api/v1/docs#problem-conflict")
    assert_problem(client.get("/api/v1/problems/nonsense"), 404, "not-found")


def test_http_errors_are_problems_too(api_as, app):
    rep = api_as("rep")
    assert_problem(rep.get("/no-such-thing"), 404, "not-found")
    wrong_method = rep.client.delete("/api/v1/me", headers=rep._headers(None))
    assert_problem(wrong_method, 405, "method-not-allowed")
    assert "GET" in wrong_method.headers["Allow"]
    bad_json = rep.post("/messages", data="{not json", headers={"Content-Type": "application/json"})
    assert_problem(bad_json, 400, "bad-request")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    too_big = rep.post("/messages", {"name": "payment_received", "data": {"note": "x" * 2000}})
    assert_problem(too_big, 413, "payload-too-large")
