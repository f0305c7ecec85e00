"""The header of a results file: machine, versions, git commit, date."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import datetime, timezone
from importlib.metadata import version

from bench.backends import Backend
from bench.harness import BENCH_DIR


def _meminfo_total() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def load_average() -> str:
    """Return the 1/5/15-minute load averages from /proc/loadavg."""
    try:
        with open("/proc/loadavg") as f:
            return " / ".join(f.read().split()[:3])
    except OSError:
        return "?"


def git_commit() -> str:
    """Return the short HEAD commit, marked ``+dirty`` when the working tree has changes (read-only git calls)."""
    root = BENCH_DIR.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        status = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain"], cwd=root, capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty (uncommitted changes in the working tree)" if status.strip() else head


def header_lines(backends: list[Backend], backend_notes: list[str], mode: str, started: datetime, seconds: float,
                 load_at_start: str, commit_at_start: str) -> list[str]:
    """Return the markdown bullet lines describing this run (the commit is the one the run started on)."""
    commit_now = git_commit()
    moved = "" if commit_now == commit_at_start else f" (HEAD moved to {commit_now} during the run; the code was " \
                                                      "imported at the start)"
    lines = [
        f"- Date: {started.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} (run took {seconds / 60:.1f} min, "
        f"mode: {mode})",
        f"- Git commit: {commit_at_start}{moved}",
        f"- Machine: {os.cpu_count()} CPU cores ({_cpu_model()}), {_meminfo_total()} memory, {platform.system()} "
        f"{platform.release()}",
        f"- Load average (1/5/15 min) at start: {load_at_start}; at end: {load_average()}. Other processes share this "
        f"machine's {os.cpu_count()} cores, so compare runs made under similar load",
        f"- Python {platform.python_version()}, SpiffWorkflow {version('SpiffWorkflow')}, "
        f"SQLAlchemy {version('SQLAlchemy')}, SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL, as the engine "
        f"sets it)",
    ]
    pg = next((b for b in backends if b.is_postgres), None)
    if pg is None:
        lines += [f"- {note}" for note in backend_notes] or ["- PostgreSQL: not used"]
    else:
        lines.append(f"- PostgreSQL {pg.version()} on the same machine ({_pg_settings(pg)}), psycopg {version('psycopg')}")
    return lines


def _pg_settings(pg: Backend) -> str:
    engine = getattr(pg, "server", None)
    if engine is None:
        return "?"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, setting FROM pg_settings WHERE name IN "
                                    "('fsync', 'synchronous_commit', 'shared_buffers')").fetchall()
    return ", ".join(f"{name}={setting}" for name, setting in rows)
