"""Sign-in, lock-out, sign-out, CSRF and the session cookie."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.persistence import SignInThrottle
from engine.services.users import get_user


def test_login_page_and_successful_sign_in(browser):
    b = browser()
    page = b.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    response = b.post("/login", {"username": "rep", "password": "correct horse"})
    assert response.status_code == 302 and response.location == "/"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

def test_pages_need_sign_in(browser):
    response = browser().get("/")
    assert response.status_code == 302 and response.location.startswith("/login")

def test_wrong_password_is_refused_without_saying_which_part_was_wrong(browser):
    b = browser()
    wrong = b.post("/login", {"username": "rep", "password": "nope"})
    unknown = b.post("/login", {"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password" in wrong.get_data(as_text=True)
    assert "Wrong user name or password" in unknown.get_data(as_text=True)

ATTACKER = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
OFFICE = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}


def failures(engine, client, username):
    with engine.transaction() as session:
        row = session.scalar(select(SignInThrottle).where(SignInThrottle.client == client, SignInThrottle.username == username))
        return (row.failures, row.locked_until) if row else (0, None)


def test_five_failures_lock_this_address_out_of_the_account_for_15_minutes(browser, web_engine, clock):
    b = browser()
    for _ in range(5):
        assert b.post("/login", {"username": "rep", "password": "bad"}, **ATTACKER).status_code in (401, 429)
    locked = b.post("/login", {"username": "rep", "password": "correct horse"}, **ATTACKER)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    clock.advance(minutes=14)
    assert b.post("/login", {"username": "rep", "password": "correct horse"}, **ATTACKER).status_code == 429
    clock.advance(minutes=2)
    assert b.post("/login", {"username": "rep", "password": "correct horse"}, **ATTACKER).status_code == 302
    assert failures(web_engine, "203.0.113.9", "rep") == (0, None)


def test_an_attacker_cannot_lock_the_real_user_out(browser, web_engine, clock):
    attacker = browser()
    for _ in range(6):
        attacker.post("/login", {"username": "rep", "password": "guess"}, **ATTACKER)
    assert failures(web_engine, "203.0.113.9", "rep")[1] == clock.now() + timedelta(minutes=15)
    real = browser()
    assert real.post("/login", {"username": "rep", "password": "correct horse"}, **OFFICE).status_code == 302
    with web_engine.transaction() as session:
        assert get_user(session, "rep").locked_until is None


def test_an_address_trying_many_accounts_is_throttled(browser, web_engine, clock):
    attacker = browser()
    statuses = [attacker.post("/login", {"username": f"user{i}", "password": "guess"}, **ATTACKER).status_code
                for i in range(21)]
    assert statuses[:19] == [401] * 19 and statuses[19:] == [429, 429]  # the 20th failure locks the address
    assert attacker.post("/login", {"username": "rep", "password": "correct horse"}, **ATTACKER).status_code == 429
    assert browser().post("/login", {"username": "rep", "password": "correct horse"}, **OFFICE).status_code == 302


def test_failed_attempts_are_counted_and_reset_on_success(browser, web_engine):
    b = browser()
    for _ in range(3):
        b.post("/login", {"username": "rep", "password": "bad"}, **OFFICE)
    assert failures(web_engine, "10.1.2.3", "rep") == (3, None)
    assert b.post("/login", {"username": "rep", "password": "correct horse"}, **OFFICE).status_code == 302
    assert failures(web_engine, "10.1.2.3", "rep") == (0, None)


def test_sign_out_is_a_post_with_csrf(browser):
    b = browser("rep")
    assert b.client.get("/logout").status_code == 405
    assert b.post("/logout", csrf=False).status_code == 400
    response = b.post("/logout")
    assert response.status_code == 302 and response.location == "/login"
    assert b.get("/").status_code == 302

def test_missing_csrf_token_is_a_friendly_400(browser):
    b = browser()
    response = b.post("/login", {"username": "rep", "password": "correct horse"}, csrf=False)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "expired" in text

def test_next_only_redirects_within_the_site(browser):
    b = browser()
    b.get("/login")
    inside = b.post("/login?next=/instances/", {"username": "rep", "password": "correct horse"})
    assert inside.location == "/instances/"
    b2 = browser()
    b2.get("/login")
    outside = b2.post("/login?next=https://evil.example/", {"username": "rep", "password": "correct horse"})
    assert outside.location == "/"

def test_demo_users_are_listed_only_in_demo_mode(web_engine):
    from web import create_app

    plain = create_app({"ENGINE": web_engine, "SECRET_KEY": "x", "DEMO": False}).test_client().get("/login")
    demo = create_app({"ENGINE": web_engine, "SECRET_KEY": "x", "DEMO": True}).test_client().get("/login")
    assert "demo1234" not in plain.get_data(as_text=True)
    text = demo.get_data(as_text=True)
    assert "demo1234" in text and "<code>assistant</code>" in text

def test_demo_mode_comes_from_the_environment(web_engine, monkeypatch):
    from web import create_app

    monkeypatch.setenv("BPM_DEMO", "1")
    assert create_app({"ENGINE": web_engine, "SECRET_KEY": "x"}).config["DEMO"] is True
    monkeypatch.setenv("BPM_DEMO", "0")
    assert create_app({"ENGINE": web_engine, "SECRET_KEY": "x"}).config["DEMO"] is False

def test_inactive_user_cannot_sign_in(browser, web_engine):
    with web_engine.transaction() as session:
        get_user(session, "rep2").active = False
    assert browser().post("/login", {"username": "rep2", "password": "correct horse"}).status_code == 401
