"""The web app under a real gunicorn on 127.0.0.1, and a small HTTP client for the benchmarks that call it.

The server is a subprocess started like ``bpm serve`` (``gunicorn web:create_app()``, gthread
workers keeping connections alive; ``worker_class="sync"`` for the old comparison) with
``DATABASE_URL`` pointing at the benchmark's database; it is always stopped when the
``gunicorn`` block ends. The client is ``http.client`` (stdlib): one connection per client,
reused while the server keeps it open, a cookie jar for the pages, and a bearer token for the API.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib.metadata import version
from typing import Any
from urllib.parse import urlencode

from engine.cli.serve import THREADS, gunicorn_args
from engine.config import PROJECT_ROOT

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@dataclass(frozen=True)
class Server:
    """A running gunicorn: where it listens and how it was started."""

    port: int
    workers: int
    worker_class: str = "gthread"
    threads: int = 1

    @property
    def label(self) -> str:
        """Return e.g. 'gunicorn 23.0.0, 2 gthread workers × 4 threads, keep-alive'."""
        if self.worker_class == "sync":
            return f"gunicorn {version('gunicorn')}, {self.workers} sync workers (a connection per request)"
        return f"gunicorn {version('gunicorn')}, {self.workers} gthread workers × {self.threads} threads, keep-alive"


class HttpError(RuntimeError):
    """A response the benchmark did not expect; the message carries its body."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(database_url: str, workers: int = 2, worker_class: str = "gthread") -> Iterator[Server]:
    """Serve the web app on ``database_url`` under gunicorn until the block ends; stop it even on errors."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "BPM_SECRET_KEY": secrets.token_urlsafe(32), "BPM_DEMO": "0"}
    if worker_class == "sync":
        argv = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers),
                "web:create_app()"]
    else:
        argv = gunicorn_args(HOST, port, workers, access_log=False)
    with tempfile.TemporaryFile(prefix="bpm-bench-gunicorn-") as log:
        proc = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            _wait_until_serving(proc, port, log)
            yield Server(port, workers, worker_class, THREADS if worker_class != "sync" else 1)
        finally:
            _stop(proc)


def _wait_until_serving(proc: subprocess.Popen[bytes], port: int, log: Any) -> None:
    """Poll /healthz until it answers; raise with gunicorn's log if the server exits or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{_tail(log)}")
        if _healthy(port):
            return
        time.sleep(0.1)  # gunicorn is still starting: the only wait in the benchmarks' HTTP code
    raise RuntimeError(f"gunicorn did not answer on {HOST}:{port} within {START_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _healthy(port: int) -> bool:
    """Return True if /healthz answers 200."""
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _tail(log: Any, limit: int = 4000) -> str:
    log.flush()
    log.seek(0)
    return str(log.read()[-limit:].decode("utf-8", "replace"))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM to its master), then kill its process group if it lingers."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this module started (start_new_session)
        proc.wait()


@dataclass
class Reply:
    """One HTTP response: status, headers and body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class HttpClient:
    """One client connection to the server, with its own cookies (http.client reconnects when the server closes)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        """Send one request and read the whole response."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed a kept-alive connection that sat idle past its keep-alive time (e.g. while the
            # benchmark filled the database): nothing was answered, so send it once more on a new connection.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
        reply = Reply(response.status, response.headers, response.read())
        self._keep_cookies(reply.headers)
        return reply

    def api(self, method: str, path: str, token: str, payload: Any = None) -> Reply:
        """Call the JSON API with a bearer token (and a JSON body if given)."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return self.send(method, path, body, headers)

    def sign_in(self, username: str, password: str) -> None:
        """Sign in through the sign-in form: read its CSRF token, post the credentials, expect the redirect."""
        page = self.send("GET", "/login")
        match = _CSRF_FIELD.search(page.body.decode("utf-8", "replace"))
        if page.status != 200 or match is None:
            raise HttpError(f"GET /login: {page.status}, no CSRF token: {page.body[:500]!r}")
        form = urlencode({"csrf_token": match.group(1), "username": username, "password": password, "next": "/"})
        reply = self.send("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        if reply.status != 302:
            raise HttpError(f"sign-in of {username}: {reply.status}: {reply.body[:500]!r}")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _keep_cookies(self, headers: http.client.HTTPMessage) -> None:
        for line in headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value


def expect(reply: Reply, status: int, what: str) -> Reply:
    """Return ``reply`` if it has ``status``; raise with its body otherwise."""
    if reply.status != status:
        raise HttpError(f"{what}: expected {status}, got {reply.status}: {reply.body[:1000].decode('utf-8', 'replace')}")
    return reply
