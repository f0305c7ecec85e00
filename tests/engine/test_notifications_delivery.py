"""Delivering the outbox to a real SMTP server (aiosmtpd) and a local robot receiver: once, signed, retried, held."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select

from engine import Engine, ManualClock
from engine.persistence import Incident, NotificationDelivery
from engine.services.delivery import retry_delivery
from engine.services.notify_settings import set_group_webhook, set_preferences
from engine.services.users import set_locale
from tests.backends import database_url
from tests.conftest import deploy_fixture, make_engine

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class _Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(m["Subject"]))) for m in self.messages]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class _Robots(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        parts = urlsplit(self.path)
        self.received.append((parts.path, parse_qs(parts.query), body))
        answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def robots() -> Iterator[tuple[list[Any], int]]:
    _Robots.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Robots)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield _Robots.received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """The outbox's database: SQLite, or PostgreSQL (SKIP LOCKED leases) under BPM_TEST_BACKEND=postgres."""
    with database_url(tmp_path / "notify.sqlite3") as url:
        yield url


def _engine(db_url: str, clock: ManualClock, port: int, **extra: Any) -> Engine:
    settings = {"smtp_url": f"smtp://127.0.0.1:{port}", "notify_backoff_s": (10.0, 60.0), **extra}
    engine = make_engine(db_url, clock, **settings)
    deploy_fixture(engine, "gateways.bpmn")
    return engine


def _transfer_to_head(engine: Engine) -> tuple[int, str]:
    instance = engine.start("gateways", {"amount": 50}, actor="rep", business_key="ORD-7")
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.transfer(task.id, "rep", to_user="head", reason="请尽快处理")
    return instance.id, task.id


def test_an_email_goes_out_once_in_the_recipients_language(db_url: str, clock: ManualClock, smtp: Any) -> None:
    inbox, port = smtp
    engine = _engine(db_url, clock, port)
    with engine.transaction() as s:
        set_preferences(s, "head", email="head@example.com")
        set_preferences(s, "rep2", email="rep2@example.com")
        set_locale(s, "rep2", "en")
    instance_id, task_id = _transfer_to_head(engine)
    results = engine.deliver_notifications()
    assert sorted(r.outcome for r in results) == ["sent", "sent"]
    assert engine.deliver_notifications() == [], "nothing goes out twice"
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"head@example.com", "rep2@example.com"}
    head = by_to["head@example.com"]
    subject = str(make_header(decode_header(head["Subject"])))
    assert subject.startswith("rep 转办给你：Enter order") and f"#{instance_id}" in subject
    body = head.get_payload(decode=True).decode()
    assert "请尽快处理" in body and f"http://127.0.0.1:5000/tasks/{task_id}" in body
    [note] = engine.notifications("head")
    assert head["Message-ID"] == f"<email.{note.id}@bpm>"
    assert note.to_json()["channels"] == {"email": "sent"}
    english = str(make_header(decode_header(by_to["rep2@example.com"]["Subject"])))
    assert english.startswith("New task for your group: Enter order")


def test_failures_retry_with_backoff_then_raise_an_incident_that_can_be_retried(
        db_url: str, clock: ManualClock, smtp: Any) -> None:
    inbox, port = smtp
    engine = _engine(db_url, clock, port, smtp_url="smtp://127.0.0.1:1")  # nothing listens there
    with engine.transaction() as s:
        set_preferences(s, "head", email="head@example.com")
    _transfer_to_head(engine)
    assert [r.outcome for r in engine.deliver_notifications()] == ["retry"]
    assert engine.deliver_notifications() == [], "not before its backoff"
    clock.advance(dt.timedelta(seconds=10))
    assert [r.outcome for r in engine.deliver_notifications()] == ["retry"]
    clock.advance(dt.timedelta(seconds=60))
    assert [r.outcome for r in engine.deliver_notifications()] == ["failed"]
    assert engine.notifications("head")[0].channels == {"email": "failed"}
    with engine.transaction() as s:
        [incident] = s.scalars(select(Incident).where(Incident.status == "open"))
        assert "failed 3 times" in incident.error and incident.notification_delivery_id
        incident_id = incident.id
    # The operator fixes the server and retries the incident: the message goes out.
    engine.config = engine.context.config = type(engine.config)(**{**engine.config.__dict__,
                                                                  "smtp_url": f"smtp://127.0.0.1:{port}"})
    with engine.transaction() as s:
        retry_delivery(s, s.get(Incident, incident_id), "admin")
    assert [r.outcome for r in engine.deliver_notifications()] == ["sent"]
    assert len(inbox.messages) == 1 and engine.notifications("head")[0].channels == {"email": "sent"}


def test_group_robots_get_signed_posts(db_url: str, clock: ManualClock, smtp: Any, robots: Any) -> None:
    received, port = robots
    engine = _engine(db_url, clock, smtp[1])
    base = f"http://127.0.0.1:{port}"
    with engine.transaction() as s:
        set_group_webhook(s, "cs_rep", "dingtalk", f"{base}/robot/send?access_token=tok", "SECdd", "admin")
        set_group_webhook(s, "cs_head", "feishu", f"{base}/open-apis/bot/v2/hook/abc", "fsecret", "admin")
        set_group_webhook(s, "operations", "wecom", f"{base}/cgi-bin/webhook/send?key=wkey", None, "admin")
    instance = engine.start("gateways", {"amount": 50}, actor="rep")  # a task for cs_rep
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.transfer(task.id, "rep", to_group="cs_head", reason="升级")
    engine.transfer(task.id, "head", to_group="operations", reason="运输部处理")
    assert sorted(r.channel for r in engine.deliver_notifications()) == ["dingtalk", "feishu", "wecom"]
    by_path = {path: (query, body) for path, query, body in received}
    query, body = by_path["/robot/send"]
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(b"SECdd", f"{timestamp}\nSECdd".encode(), hashlib.sha256).digest()).decode()
    assert unquote(sign) == expected or sign == expected
    assert query["access_token"] == ["tok"] and body["msgtype"] == "text" and "组内新任务" in body["text"]["content"]
    _, body = by_path["/open-apis/bot/v2/hook/abc"]
    key = f"{body['timestamp']}\nfsecret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert "转办" in body["content"]["text"]
    query, body = by_path["/cgi-bin/webhook/send"]
    assert query == {"key": ["wkey"]} and "sign" not in body and body["msgtype"] == "text"


def test_outside_working_hours_a_digest_goes_out_the_next_morning(db_url: str, clock: ManualClock, smtp: Any) -> None:
    inbox, port = smtp
    engine = _engine(db_url, clock, port)
    with engine.transaction() as s:
        set_preferences(s, "rep2", email="rep2@example.com", digest=True)
    clock.advance(dt.timedelta(hours=11))  # Monday 20:00 in Shanghai
    engine.start("gateways", {"amount": 50}, actor="rep")
    engine.start("gateways", {"amount": 60}, actor="rep")
    assert engine.deliver_notifications() == [] and inbox.messages == []
    clock.advance(dt.timedelta(hours=13))  # Tuesday 09:00
    assert [r.outcome for r in engine.deliver_notifications()] == ["sent"]
    assert inbox.subjects() == ["工作时间外的 2 条通知"]
    assert [n.channels for n in engine.notifications("rep2")] == [{"email": "sent"}] * 2


def test_a_message_about_a_task_closed_overnight_is_not_sent_in_the_morning(
        db_url: str, clock: ManualClock, smtp: Any) -> None:
    inbox, port = smtp
    engine = _engine(db_url, clock, port)
    with engine.transaction() as s:
        set_preferences(s, "rep2", email="rep2@example.com")  # a message each, the next working morning
        set_preferences(s, "head", email="head@example.com", digest=True)
    clock.advance(dt.timedelta(hours=11))  # Monday 20:00 in Shanghai
    done = engine.start("gateways", {"amount": 50}, actor="rep")
    still_open = engine.start("gateways", {"amount": 60}, actor="rep")
    [closed_task] = engine.tasks(instance_id=done.id)
    [open_task] = engine.tasks(instance_id=still_open.id)
    for task in (closed_task, open_task):  # urged at night: head hears of both in the morning's digest
        engine.claim(task.id, "rep")
        engine.transfer(task.id, "rep", to_user="head", reason="夜间转办")
    clock.advance(dt.timedelta(hours=1))
    engine.complete(closed_task.id, {}, "head")  # head finishes one at 21:00 from home
    assert engine.deliver_notifications() == [] and inbox.messages == []
    clock.advance(dt.timedelta(hours=12))  # Tuesday 09:00
    results = engine.deliver_notifications()
    # rep2's three (two new group tasks at night, the step after the one head completed) and head's digest unit.
    assert sorted(r.outcome for r in results) == ["sent", "sent", "sent", "skipped"], results
    to_rep2 = [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages if m["To"] == "rep2@example.com"]
    # The first group task is closed now: its message is dropped, the others go out.
    assert sorted(subject.split("：")[0] for subject in to_rep2) == ["组内新任务", "组内新任务"]
    assert any(f"#{still_open.id}" in subject and "Enter order" in subject for subject in to_rep2)
    assert not any(f"#{done.id}" in subject and "Enter order" in subject for subject in to_rep2)
    [to_head] = [m for m in inbox.messages if m["To"] == "head@example.com"]
    digest_body = to_head.get_payload(decode=True).decode()
    assert str(make_header(decode_header(to_head["Subject"]))) == "工作时间外的 1 条通知"
    assert f"/tasks/{open_task.id}" in digest_body and f"/tasks/{closed_task.id}" not in digest_body
    with engine.transaction() as s:
        cancelled = s.scalars(select(NotificationDelivery).where(NotificationDelivery.status == "cancelled")).all()
    assert {(c.recipient, c.payload["task_id"]) for c in cancelled} == {("rep2", closed_task.id), ("head", closed_task.id)}
    assert all("completed, withdrawn or cancelled" in c.last_error for c in cancelled)
    assert engine.deliver_notifications() == [], "nothing left, nothing twice"


def _worker(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "BPM_WORKER_INTERVAL": "0.2", "BPM_SMTP_URL": f"smtp://127.0.0.1:{port}",
           "BPM_NOTIFY_PAUSE_AFTER_SEND": "60", "BPM_NOTIFY_LEASE": "5"}
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def test_exactly_one_email_when_the_worker_is_killed_between_sending_and_marking(
        db_url: str, clock: ManualClock, smtp: Any) -> None:
    inbox, port = smtp
    engine = _engine(db_url, clock, port)
    with engine.transaction() as s:
        set_preferences(s, "head", email="head@example.com")
    _transfer_to_head(engine)
    victim = _worker(engine.config.database_url, port)
    try:
        deadline = time.monotonic() + 60
        while not inbox.messages:  # a real process is sending; poll the server (bounded)
            assert time.monotonic() < deadline and victim.poll() is None, "the worker sent nothing"
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)  # it sleeps between sending and marking the message sent
        victim.wait(30)
    finally:
        if victim.poll() is None:
            victim.kill()
    with engine.transaction() as s:
        assert [d.status for d in s.scalars(select(NotificationDelivery))] == ["sending"]
    # Another worker comes along after the dead one's lease ran out: it does not send the message again.
    clock.set(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=10))
    assert engine.deliver_notifications() == []
    assert len(inbox.messages) == 1
    assert engine.notifications("head")[0].to_json()["channels"] == {"email": "sent"}
    with engine.transaction() as s:
        [incident] = s.scalars(select(Incident).where(Incident.status == "open"))
        assert "not sent again" in incident.error


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_and_login(tmp_path: Path, db_url: str, clock: ManualClock) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"bpm" and auth_data.password == b"s3cret")

    inbox, port = _Inbox(), _free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                                                require_starttls=True, authenticator=authenticator,
                                                auth_require_tls=True)
    controller.start()
    try:
        engine = _engine(db_url, clock, port,
                         smtp_url=f"smtp://bpm:s3cret@127.0.0.1:{port}?starttls=1&cafile={cert_file}")
        with engine.transaction() as s:
            set_preferences(s, "head", email="head@example.com")
        _transfer_to_head(engine)
        assert [r.outcome for r in engine.deliver_notifications()] == ["sent"]
        assert logins == [(b"bpm", b"s3cret")] and [m["To"] for m in inbox.messages] == ["head@example.com"]
    finally:
        controller.stop()


def test_nothing_is_sent_for_a_rolled_back_command(db_url: str, clock: ManualClock, smtp: Any) -> None:
    from engine.services.task_operations import transfer_task

    inbox, port = smtp
    engine = _engine(db_url, clock, port)
    with engine.transaction() as s:
        set_preferences(s, "head", email="head@example.com")
    instance = engine.start("gateways", {"amount": 50}, actor="rep")
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    with pytest.raises(RuntimeError), engine.transaction() as s:
        transfer_task(s, task.id, "rep", to_user="head", reason="x")
        raise RuntimeError("the command fails after the transfer")
    assert engine.deliver_notifications() == [] and inbox.messages == []
