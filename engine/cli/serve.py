"""``bpm serve`` (the web app under gunicorn), ``bpm run`` (web + worker), ``bpm demo-users``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, engine_errors

DEMO_PASSWORD = "demo1234"  # noqa: S105 - demo mode only, printed on the sign-in page
DEMO_USERS = {
    "rep": ["cs_rep"], "assistant": ["cs_assistant"], "head": ["cs_head"], "vp": ["vp"], "ops": ["operations"],
    "gm": ["gm_office"], "finance": ["finance"], "designer": ["designer"], "auditor": ["auditor"], "admin": ["admin"],
    # The departments of the responsibility matrix: each rectifies the exceptions it is responsible for.
    "transport": ["transport"], "warehouse": ["warehouse"], "it": ["it"],
}


THREADS = 4
KEEP_ALIVE_S = 5
# gunicorn's worker heartbeat touches a file in this directory on every turn of a worker's loop (each request and
# each finished response): on a disk-backed /tmp that is a metadata write; gunicorn's docs advise a tmpfs.
HEARTBEAT_DIR = "/dev/shm"  # noqa: S108 - gunicorn makes its own mkstemp file there and unlinks it


def gunicorn_args(host: str, port: int, workers: int, threads: int = THREADS, *, access_log: bool = True) -> list[str]:
    """Return the gunicorn command line: threaded workers that keep client connections alive between requests.

    Sync workers close every connection after one response, so an API client pays a TCP handshake per call;
    gthread workers keep it open for ``KEEP_ALIVE_S`` and serve ``threads`` requests at once each.
    """
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", str(KEEP_ALIVE_S)]
    if os.path.isdir(HEARTBEAT_DIR) and os.access(HEARTBEAT_DIR, os.W_OK):
        argv += ["--worker-tmp-dir", HEARTBEAT_DIR]
    return [*argv, "--access-logfile", "-", "web:create_app()"] if access_log else [*argv, "web:create_app()"]


@cli.command(help="Serve the web app under gunicorn (production WSGI server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=THREADS, show_default=True, type=click.IntRange(1, 64),
              help="requests each worker serves at once (gthread; connections are kept alive)")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run gunicorn in the foreground."""
    os.execv(sys.executable, gunicorn_args(host, port, workers, threads))  # noqa: S606 - fixed argv, no shell


@cli.command(help="Run the web app and the scheduler worker together; Ctrl-C stops both.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Run web + worker as two processes."""
    names = ["the web server (gunicorn)", "the timer worker"]
    procs = [
        subprocess.Popen(gunicorn_args(host, port, 2)),
        subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"]),
    ]
    click.echo(f"web on http://{host}:{port}/ and the timer worker are running; Ctrl-C stops both")

    stopping: list[bool] = []

    def request_stop(*_args: object) -> None:
        stopping.append(True)

    # Installed explicitly: a process started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stopping and all(p.poll() is None for p in procs):
        time.sleep(0.5)
    failed = [] if stopping else [p for p in procs if p.poll() is not None]
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    # After Ctrl-C the children's own exit codes say nothing: a gunicorn worker interrupted while it was still
    # importing the app exits with "failed to boot", and the master passes that on. Only a child that stopped
    # by itself, before anyone asked, is a failure.
    for name, proc in zip(names, procs, strict=True):
        if proc in failed:
            click.echo(f"{name} stopped by itself with exit code {proc.returncode}; stopped the other", err=True)
    sys.exit(1 if failed else 0)


@cli.command("demo-users", help=f"Create one demo user per role (password {DEMO_PASSWORD!r}); for `make run` only.")
@engine_errors
def demo_users() -> None:
    """Create demo users."""
    from engine.passwords import hash_password
    from engine.services.users import add_user, get_user

    engine = build_engine()
    hashed = hash_password(DEMO_PASSWORD)
    with engine.transaction() as session:
        for name, groups in DEMO_USERS.items():
            if get_user(session, name) is None:
                add_user(session, name, groups, password_hash=hashed)
    click.echo(f"demo users: {', '.join(DEMO_USERS)} (password {DEMO_PASSWORD})")
    _demo_register(engine)


def _demo_register(engine: Any) -> None:
    """Put two demo customers with a contract and a quote in the register (their renewals start if deployed)."""
    from datetime import timedelta

    from engine.services.customers import list_contracts, list_customers, save_contract, save_customer
    from engine.services.users import get_user

    with engine.transaction() as session:
        if list_customers(session):
            return
        today = engine.clock.now().date()
        owner = "rep" if get_user(session, "rep") is not None else None
        save_customer(session, "华东物流有限公司", "system", grade=1, owner=owner)
        save_customer(session, "南方食品有限公司", "system", grade=3)
        if not list_contracts(session):
            save_contract(session, "HT-2026-001", "system", customer="华东物流有限公司", kind="contract",
                          expires_on=today + timedelta(days=70))
            save_contract(session, "BJ-2026-007", "system", customer="南方食品有限公司", kind="quote",
                          expires_on=today + timedelta(days=365))
    click.echo("demo register: 2 customers (settled monthly), a contract and a quote (renewal reminders)")
