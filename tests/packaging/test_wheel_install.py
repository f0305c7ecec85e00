"""A wheel of this checkout, installed in a new virtualenv, runs the department's processes with no source tree.

The module builds the wheel once (``pip wheel --no-deps`` on a copy of the checkout, so a stale
``build/`` folder cannot leak old files into it), installs it with its dependencies from the
package index into a fresh virtualenv, and then runs the installed ``bpm`` from an empty folder
with ``PYTHONPATH`` and every ``BPM_*`` / ``DATABASE_URL`` setting removed. It skips only when
the package index is unreachable, and says so (under ``CI=true`` that fails instead, as .ci/run
does for PostgreSQL).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

# Not part of "the checkout" a user would build: local environments, caches, build output.
_NOT_SOURCE = {".git", ".venv", "node_modules", "venv", "build", "dist", "instance", "__pycache__", ".mypy_cache", ".ruff_cache",
               ".pytest_cache", ".hypothesis", "screenshots"}
# Folders whose every file the installed package needs at run time.
_DATA_DIRS = ["department/processes", "department/forms", "department/calendars", "engine/persistence/migrations",
              "web/templates", "web/static", "web/translations"]
# The files a broken package-data glob would lose first: one per kind.
_MUST_HAVE = ["engine/persistence/migrations/env.py", "engine/persistence/migrations/script.py.mako",
              "engine/persistence/migrations/versions/0001_initial_schema.py",
              "department/processes/receivables_collection.bpmn", "department/processes/responsibility_matrix.dmn",
              "department/forms/receivables_start.schema.json", "department/forms/write_off.ui.json",
              "web/templates/base.html", "web/templates/auth/login.html", "web/static/style.css",
              "web/translations/zh_Hans_CN/LC_MESSAGES/messages.mo"]
INVOICE = {"customer": "ACME Logistics", "invoice_no": "INV-WHEEL-1", "amount": "1000.00", "currency": "CNY",
           "invoice_date": "2026-11-20", "due_date": "2026-12-04"}


@dataclass
class Installed:
    """The built wheel, the virtualenv it is installed in, and a clean environment to run it."""

    wheel: Path
    venv: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def bpm(self, workdir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the installed ``bpm`` in ``workdir``; fail with its output if it exits non-zero."""
        result = subprocess.run([str(self.bin / "bpm"), *args], cwd=workdir, env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"bpm {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result

    def bpm_json(self, workdir: Path, *args: str, stdin: str | None = None) -> object:
        """Run ``bpm ... --json`` and parse its output."""
        return json.loads(self.bpm(workdir, *args, "--json", stdin=stdin).stdout)


def _index_url() -> str:
    return os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"


def _index_unreachable() -> str | None:
    """Return why the package index cannot be reached, or None when it answers."""
    url = _index_url().rstrip("/") + "/pip/"
    try:
        with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 - the configured package index
            response.read(1)
    except (OSError, urllib.error.URLError) as exc:
        return f"{url}: {exc}"
    return None


def _pip(step: str, command: list[str], timings: dict[str, float]) -> None:
    """Run a pip command; skip loudly if it failed because the index is unreachable, fail otherwise."""
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    timings[step] = time.monotonic() - started
    if result.returncode == 0:
        return
    reason = _index_unreachable()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"package index unreachable ({reason}): CI must run the wheel install smoke test")
    if reason:
        pytest.skip(f"package index unreachable ({reason}); the wheel install smoke test did NOT run")
    pytest.fail(f"{step} failed although the package index is reachable:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def _copy_checkout(target: Path) -> Path:
    """Copy the working tree (uncommitted edits included) without environments, caches and build output."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_SOURCE or n.endswith((".egg-info", ".pyc", ".sqlite3"))}

    shutil.copytree(PROJECT_ROOT, target, ignore=ignore)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Installed]:
    """Build the checkout's wheel and install it with its dependencies into a new virtualenv."""
    root = tmp_path_factory.mktemp("wheel")
    timings: dict[str, float] = {}
    source = _copy_checkout(root / "src")
    dist = root / "dist"
    _pip("build wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source)],
         timings)
    wheels = list(dist.glob("bpm_cs-*.whl"))
    assert len(wheels) == 1, f"expected one bpm_cs wheel in {dist}, found {wheels}"
    venv = root / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    timings["create virtualenv"] = time.monotonic() - started
    # pip's cache is used on purpose: the dependencies are not what this test checks.
    _pip("install wheel + dependencies", [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])],
         timings)
    # Nothing may lead the installed code back to the checkout or to the test run's settings.
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "DATABASE_URL", "VIRTUAL_ENV"} and not k.startswith("BPM_")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv), PYTHONNOUSERSITE="1",
               LANG="C.UTF-8")
    yield Installed(wheel=wheels[0], venv=venv, env=env, timings=timings)
    # ~200 MB per run, and pytest keeps the last three runs' temporary folders.
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(source, ignore_errors=True)
    # Printed past pytest's capture so CI logs show how long packaging takes.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nwheel install smoke test: {parts}; total {sum(timings.values()):.1f} s")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working directory far from the checkout."""
    folder = tmp_path / "office"
    folder.mkdir()
    assert not (folder / "department").exists() and PROJECT_ROOT not in folder.parents
    return folder


def test_wheel_holds_migrations_processes_forms_calendars_pages_and_translations(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    missing = [path for path in _MUST_HAVE if path not in names]
    for folder in _DATA_DIRS:
        files = [p for p in (PROJECT_ROOT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
        assert files, f"{folder} is empty in the checkout"
        missing += [str(p.relative_to(PROJECT_ROOT)) for p in files if str(p.relative_to(PROJECT_ROOT)) not in names]
    assert not missing, f"the wheel lacks {len(missing)} file(s) the installed package needs: {missing[:20]}"
    assert any(n.startswith("department/calendars/") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "bench/", "docs/"))], "tests, benchmarks or docs leaked into the wheel"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "bpm = engine.cli:main" in zipfile.ZipFile(installed.wheel).read(entry_points).decode()


def test_installed_code_and_data_come_from_the_virtualenv(installed: Installed, workdir: Path) -> None:
    probe = ("import json, engine, web, department; from engine.config import EngineConfig;"
             "c = EngineConfig.from_env();"
             "print(json.dumps({'engine': engine.__file__, 'web': web.__file__, 'processes': str(department.shipped_dir('processes')),"
             " 'forms': str(c.forms_dir), 'calendars': str(c.calendars_dir), 'database': c.database_url}))")
    result = subprocess.run([str(installed.bin / "python"), "-c", probe], cwd=workdir, env=installed.env,
                            capture_output=True, text=True, timeout=120, check=True)
    where = json.loads(result.stdout)
    site_packages = installed.venv / "lib"
    for name in ("engine", "web", "processes", "forms", "calendars"):
        path = Path(where[name])
        assert site_packages in path.parents and "site-packages" in path.parts, f"{name} is loaded from {path}, not the virtualenv"
        assert path.exists(), f"{name}: {path} does not exist in the installed package"
    assert where["database"] == f"sqlite:///{workdir / 'instance' / 'bpm.sqlite3'}"


def test_installed_bpm_runs_a_receivable_from_start_to_completion(installed: Installed, workdir: Path) -> None:
    started = time.monotonic()
    out = installed.bpm(workdir, "init").stdout
    assert "schema up to date at sqlite:///" in out and "groups created: cs_rep" in out and "finance" in out
    assert (workdir / "instance" / "bpm.sqlite3").is_file()

    out = installed.bpm(workdir, "deploy", "--shipped", "--user", "designer").stdout
    for key in ("receivables_collection", "exception_escalation", "new_business_onboarding", "order_plan",
                "daily_plan_summary", "daily_tracking_check"):
        assert f"deployed {key} v1" in out, out
    assert "unchanged receivables_collection v1" in installed.bpm(workdir, "deploy", "--shipped").stdout

    assert "(password demo1234)" in installed.bpm(workdir, "demo-users").stdout
    assert installed.bpm_json(workdir, "users", "add", "alice", "--group", "finance", "--password-stdin",
                              stdin="alice-secret-1\n") == {"user": "alice", "groups": ["finance"]}

    instance = installed.bpm_json(workdir, "start", "receivables_collection", "--user", "finance",
                                  "--business-key", INVOICE["invoice_no"], "--data", json.dumps(INVOICE))
    # The demo register's contracts have started their renewal instances: the receivable's id comes after them.
    assert isinstance(instance, dict) and isinstance(instance["id"], int)
    number = str(instance["id"])
    assert instance == {"id": instance["id"], "process_key": "receivables_collection", "version": 1,
                        "status": "running", "business_key": INVOICE["invoice_no"]}

    # No standing task: finance writes the receivable off with an action of the instance.
    assert installed.bpm_json(workdir, "tasks", "--user", "alice") == []
    actions = installed.bpm_json(workdir, "actions", number, "--user", "alice")
    assert isinstance(actions, list)
    assert sorted(a["name"] for a in actions) == ["payment_received", "receivable_written_off"]
    done = installed.bpm_json(workdir, "actions", number, "receivable_written_off", "--user", "alice",
                              "--data", json.dumps({"reason": "Customer insolvent; written off"}))
    assert done == {"action": "receivable_written_off", "instance_id": instance["id"], "status": "completed"}

    shown = installed.bpm_json(workdir, "show", number)
    assert isinstance(shown, dict)
    assert (shown["status"], shown["business_key"], shown["tasks"], shown["timers"]) == ("completed", "INV-WHEEL-1", [], [])
    assert shown["data"]["outcome"] == "written_off" and shown["data"]["written_off_amount"] == "1000.00"
    assert installed.bpm_json(workdir, "tasks", "--user", "alice") == []
    assert "chain intact" in installed.bpm(workdir, "audit", "verify").stdout
    installed.timings["bpm commands"] = time.monotonic() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_installed_web_app_serves_translated_pages_and_a_task_form(installed: Installed, workdir: Path) -> None:
    started = time.monotonic()
    installed.bpm(workdir, "init")
    installed.bpm(workdir, "deploy", "--shipped", "--user", "designer")
    installed.bpm(workdir, "demo-users")
    receivable = installed.bpm_json(workdir, "start", "receivables_collection", "--user", "finance", "--business-key",
                                    INVOICE["invoice_no"], "--data", json.dumps(INVOICE))
    assert isinstance(receivable, dict)
    case_url = f"/instances/{receivable['id']}"  # after the demo register's renewal instances
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(installed.bin / "bpm"), "serve", "--port", str(port), "--workers", "1"], cwd=workdir,
                                env={**installed.env, "BPM_DEMO": "1"}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def get(path: str, language: str = "en") -> tuple[int, str, str]:
            request = urllib.request.Request(base + path, headers={"Accept-Language": language})  # noqa: S310 - our http server
            with opener.open(request, timeout=10) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read().decode()

        deadline = time.monotonic() + 60
        while True:
            try:
                assert get("/healthz")[0] == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)  # gunicorn is a real process starting up

        status, _, zh = get("/login", "zh-CN")
        assert status == 200 and "<h1>登录</h1>" in zh and "demo1234" in zh, zh  # the .mo catalogue is installed
        status, _, en = get("/login")
        assert status == 200 and "<h1>Sign in</h1>" in en
        status, content_type, css = get("/static/style.css")
        assert status == 200 and content_type.startswith("text/css") and len(css) > 100

        token = re.search(r'name="csrf_token" value="([^"]+)"', en)
        assert token, en
        form = urllib.parse.urlencode({"csrf_token": token.group(1), "username": "finance", "password": "demo1234",
                                       "next": "/"}).encode()
        with opener.open(urllib.request.Request(base + "/login", data=form), timeout=10) as response:  # noqa: S310
            inbox = response.read().decode()
        assert "/logout" in inbox and "/tasks/" not in inbox, inbox  # signed in; no standing write-off task
        status, _, case = get(case_url, "zh-CN")
        assert status == 200 and "应收账款催收" in case and "INV-WHEEL-1" in case, case  # names from the catalogue
        action = re.search(rf'href="({case_url}/actions/receivable_written_off)"', case)
        assert action, case
        status, _, page = get(action.group(1), "zh-CN")
        assert status == 200 and 'name="reason"' in page, page  # the shipped write_off form renders
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    installed.timings["web checks"] = time.monotonic() - started
