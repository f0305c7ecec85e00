"""``bpm serve`` runs threaded gunicorn workers that keep a client's connection open between requests."""

from __future__ import annotations

import http.client
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.server import free_port
from engine.cli.serve import gunicorn_args
from engine.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "gunicorn exited"
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)  # only here: waiting for a real server's port to open
        finally:
            probe.close()
    raise AssertionError("gunicorn did not answer")


def test_one_connection_serves_many_requests(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
           "BPM_SECRET_KEY": secrets.token_urlsafe(32), "BPM_DEMO": "0"}
    subprocess.run([sys.executable, "-m", "engine.cli", "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    proc = subprocess.Popen(gunicorn_args("127.0.0.1", port, 1, threads=2, access_log=False), env=env,
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        statuses, sockets = [], set()
        for _ in range(5):
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            assert response.getheader("Connection", "").lower() != "close"
            sockets.add(id(conn.sock))
        assert statuses == [200] * 5 and len(sockets) == 1, "all five requests went over the same connection"
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_worker_heartbeats_go_to_a_tmpfs_when_the_machine_has_one(tmp_path: Path, monkeypatch) -> None:
    from engine.cli import serve

    monkeypatch.setattr(serve, "HEARTBEAT_DIR", str(tmp_path))
    argv = gunicorn_args("127.0.0.1", 8000, 2)
    assert argv[argv.index("--worker-tmp-dir") + 1] == str(tmp_path)
    monkeypatch.setattr(serve, "HEARTBEAT_DIR", str(tmp_path / "missing"))
    assert "--worker-tmp-dir" not in gunicorn_args("127.0.0.1", 8000, 2), "no such directory: gunicorn's default"
