"""Rate limits shared by every web process (Flask-Limiter): counted in the database by default, or in Redis."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from engine import Engine
from tests.web.conftest import PASSWORD, Browser
from tests.web.test_api_fixtures import ApiClient, assert_problem, issue_token
from web import create_app
from web.rate_limits import DatabaseStorage


def _app(engine: Engine, **config: object) -> Flask:
    return create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, **config})


def _sign_in_wrongly(app: Flask) -> int:
    """Try a wrong password for a new name each time (so no account lockout gets in the way): 401, or 429."""
    browser = Browser(app.test_client())
    browser.get("/login")
    return browser.post("/login", {"username": f"guess-{uuid.uuid4().hex[:6]}", "password": "wrong"}).status_code


def test_two_web_processes_count_sign_in_attempts_together(web_engine) -> None:
    first, second = (_app(web_engine, SIGNIN_RATE_LIMIT="3 per 10 minutes") for _ in range(2))
    assert [_sign_in_wrongly(first), _sign_in_wrongly(second), _sign_in_wrongly(first)] == [401, 401, 401]
    refused = Browser(second.test_client())
    refused.get("/login")
    response = refused.post("/login", {"username": "rep", "password": PASSWORD})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    assert response.headers["Retry-After"], "the client is told when to come back"


def test_a_limit_left_empty_is_off(web_engine) -> None:
    app = _app(web_engine, SIGNIN_RATE_LIMIT="")
    assert {_sign_in_wrongly(app) for _ in range(6)} == {401}


def test_the_api_is_limited_per_token_only_when_configured(web_engine) -> None:
    unlimited = ApiClient(_app(web_engine), issue_token(web_engine, "rep"))
    assert {unlimited.get("/tasks").status_code for _ in range(8)} == {200}
    app = _app(web_engine, API_RATE_LIMIT="3 per minute")
    rep, head = ApiClient(app, issue_token(web_engine, "rep")), ApiClient(app, issue_token(web_engine, "head"))
    assert [rep.get("/tasks").status_code for _ in range(3)] == [200, 200, 200]
    body = assert_problem(rep.get("/tasks"), 429, "too-many-requests")
    assert "3 per 1 minute" in body["detail"]
    assert head.get("/tasks").status_code == 200, "another token has its own allowance"


def test_requests_no_limit_applies_to_skip_the_limiter_but_every_configured_limit_holds(web_engine) -> None:
    app = _app(web_engine)
    rep = ApiClient(app, issue_token(web_engine, "rep"))
    assert {rep.get("/tasks").status_code for _ in range(4)} == {200}
    assert "X-RateLimit-Limit" not in rep.get("/tasks").headers, "no limit applies: none was checked"
    app.config["API_RATE_LIMIT"] = "2 per minute"  # read per request, as the limits themselves are
    assert [rep.get("/tasks").status_code for _ in range(3)] == [200, 200, 429]
    # A limit an operator sets for every route (Flask-Limiter's own settings) reaches pages and the API alike.
    wide = _app(web_engine, RATELIMIT_DEFAULT="2 per minute")
    client = wide.test_client()
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 429]
    assert [ApiClient(wide, issue_token(web_engine, "head")).get("/me").status_code for _ in range(3)][-1] == 429


def test_counters_live_in_fixed_windows_in_the_database(web_engine) -> None:
    now = [1000.0]
    storage = DatabaseStorage("bpmdb://", engine=web_engine.db, clock=lambda: now[0])
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") == 1060.0
    now[0] = 1060.0
    assert storage.get("k") == 0, "the window ended"
    assert storage.incr("k", 60) == 1 and storage.get_expiry("k") == 1120.0, "a new window starts with the next hit"
    storage.incr("other", 10)
    now[0] = 1071.0
    assert storage.forget_expired() == 1 and storage.get("k") == 1
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def _redis_url() -> str:
    redis = pytest.importorskip("redis", reason="the Redis store needs the redis package (pip install redis)")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {url}: {exc} — the Redis rate-limit store is not tested here")
    return url


def test_redis_is_used_when_configured_and_shared_too(web_engine) -> None:
    url, prefix = _redis_url(), f"bpm-test-{uuid.uuid4().hex[:8]}"
    settings = {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix, "SIGNIN_RATE_LIMIT": "2 per minute"}
    first, second = _app(web_engine, **settings), _app(web_engine, **settings)
    assert [_sign_in_wrongly(first), _sign_in_wrongly(second), _sign_in_wrongly(first)] == [401, 401, 429]
    with web_engine.transaction() as session:
        from sqlalchemy import func, select

        from engine.persistence import RateLimitCounter

        assert session.scalar(select(func.count()).select_from(RateLimitCounter)) == 0, "nothing counted in the database"


def test_a_store_that_does_not_answer_does_not_lock_people_out(web_engine) -> None:
    pytest.importorskip("redis", reason="needs the redis package")
    app = _app(web_engine, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", SIGNIN_RATE_LIMIT="1 per minute")
    assert [_sign_in_wrongly(app) for _ in range(3)] == [401, 401, 401]


@pytest.mark.postgres
def test_the_database_store_counts_on_postgresql_too(pg_engine) -> None:
    now = [50.0]
    storage = DatabaseStorage("bpmdb://", engine=pg_engine.db, clock=lambda: now[0])
    assert [storage.incr("pg", 30, amount=2) for _ in range(2)] == [2, 4]
    now[0] = 81.0
    assert storage.get("pg") == 0 and storage.incr("pg", 30) == 1
