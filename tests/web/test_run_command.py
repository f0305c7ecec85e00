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
