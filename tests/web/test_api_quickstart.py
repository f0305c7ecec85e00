"""docs/api-quickstart.md runs as written: its shell blocks against a real server on 127.0.0.1.

The server is the app under werkzeug in a thread, on a temporary SQLite file with the shipped
receivables_collection deployed; the doc's commands (bpm CLI, curl, jq) run in one bash process
with BPM_URL and DATABASE_URL pointing there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import Engine, EngineConfig
from engine.config import PROJECT_ROOT, SHIPPED_CALENDARS, SHIPPED_FORMS
from engine.services.users import ensure_groups
from tests.web.test_api_fixtures import RECEIVABLES
from web import create_app

QUICKSTART = PROJECT_ROOT / "docs" / "api-quickstart.md"
SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def shell_blocks(markdown: str) -> list[str]:
    """Return the ```sh blocks of a markdown text, in order."""
    return SHELL_BLOCK.findall(markdown)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Engine]]:
    """Serve the app on a free port with finance user 'fin' and receivables_collection deployed.

    Yields the API root URL, the database URL (for the CLI) and the engine.
    """
    url = f"sqlite:///{tmp_path / 'quickstart.sqlite3'}"
    engine = Engine(config=EngineConfig(database_url=url, forms_dir=SHIPPED_FORMS,
                                        calendars_dir=SHIPPED_CALENDARS))
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    engine.add_user("fin", ["finance"])
    engine.deploy([RECEIVABLES], actor="designer")
    app = create_app({"ENGINE": engine, "SECRET_KEY": "quick start"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1", url, engine
    finally:
        server.shutdown()
        thread.join(5)
        engine.close()


def _bpm_on_path(tmp_path: Path) -> str:
    """Return a PATH whose `bpm` has the `tokens` commands (a shim until commands.py imports them)."""
    venv_bin = str(Path(sys.executable).parent)
    probe = subprocess.run([sys.executable, "-m", "engine.cli", "tokens", "--help"], capture_output=True, cwd=PROJECT_ROOT)
    if probe.returncode == 0 and (Path(venv_bin) / "bpm").exists():
        return f"{venv_bin}{os.pathsep}{os.environ['PATH']}"
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    shim = shim_dir / "bpm"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import engine.cli.tokens; from engine.cli import main; '
                    f'main()" "$@"\n')
    shim.chmod(0o755)
    return f"{shim_dir}{os.pathsep}{venv_bin}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
                    reason="the quick start uses bash, curl and jq")
def test_the_quickstart_runs_verbatim(served, tmp_path):
    api_url, database_url, engine = served
    blocks = shell_blocks(QUICKSTART.read_text("utf-8"))
    assert len(blocks) == 5
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, "BPM_URL": api_url, "DATABASE_URL": database_url, "PATH": _bpm_on_path(tmp_path),
           "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"

    out = run.stdout
    assert '"username": "fin"' in out.replace('":"', '": "')
    assert "started instance 1" in out
    assert '"name": "receivable_written_off"' in out and '"label": "Write off' in out
    assert '"instances":[1]' in out.replace(" ", "")
    assert '"status": "completed"' in out and '"outcome": "written_off"' in out
    assert '"paid": "400.00"' in out and '"written_off": "600.00"' in out
    assert "shown only this once" in run.stderr

    instance = engine.instance(1)
    assert instance.status == "completed" and instance.business_key == "INV-2026-001"
    assert str(instance.data["paid_amount"]) == "400.00"



def test_the_readme_quick_start_is_the_tested_one() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## API quick start"):]
    section = section[: section.index("\n## ", 3)]
    assert shell_blocks(section) == shell_blocks(QUICKSTART.read_text("utf-8"))
