"""`bpm run` starts the web server and the timer worker as two processes; one Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from engine.config import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "BPM_SECRET_KEY": "test"}
    subprocess.run([sys.executable, "-m", "engine.cli", "init"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--port", str(port)], env=env, cwd=PROJECT_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)  # gunicorn is a real process starting up
        assert body == b'{"status":"ok"}\n' or b'"ok"' in body, (tmp_path / "run.log").read_text()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        assert proc.wait(30) == 0, (tmp_path / "run.log").read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = (tmp_path / "run.log").read_text()
    assert "polling every" in text and "stopped" in text


def test_ctrl_c_while_starting_still_exits_cleanly(tmp_path: Path) -> None:
    """Ctrl-C before the web workers finished importing the app: gunicorn reports a worker that 'failed to
    boot', but nothing failed; the user asked to stop, so `bpm run` exits 0."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "BPM_SECRET_KEY": "test"}
    subprocess.run([sys.executable, "-m", "engine.cli", "init"], env=env, check=True, capture_output=True)
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--port", str(_free_port())], env=env,
                            cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"Booting worker" not in (tmp_path / "run.log").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)  # gunicorn is a real process starting up
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0, (tmp_path / "run.log").read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_child_that_dies_by_itself_fails_the_run(tmp_path: Path) -> None:
    """The port is taken: gunicorn gives up, `bpm run` stops the worker too, names the culprit and exits 1."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "BPM_SECRET_KEY": "test"}
    subprocess.run([sys.executable, "-m", "engine.cli", "init"], env=env, check=True, capture_output=True)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "engine.cli", "run", "--port", str(port)], env=env,
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the web server (gunicorn) stopped by itself" in done.stderr
