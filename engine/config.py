"""Explicit, typed engine configuration; nothing reads the environment at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from department import shipped_dir

# The source checkout (tests and docs use it); an installed engine never needs it.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_PROCESSES = shipped_dir("processes")
SHIPPED_FORMS = shipped_dir("forms")
SHIPPED_CALENDARS = shipped_dir("calendars")


def default_database_url() -> str:
    """Return the embedded default: a SQLite file under ``instance/`` of the working directory."""
    return f"sqlite:///{Path.cwd() / 'instance' / 'bpm.sqlite3'}"


@dataclass(frozen=True)
class EngineConfig:
    """Settings of one engine: database, time zone, where forms and calendars live."""

    database_url: str = field(default_factory=default_database_url)
    timezone: str = "Asia/Shanghai"
    forms_dir: Path = SHIPPED_FORMS
    calendars_dir: Path = SHIPPED_CALENDARS
    max_definition_bytes: int = 5 * 1024 * 1024
    script_timeout_s: float = 2.0
    script_memory_mb: int = 256  # how much the process may grow while designer code runs (RLIMIT_AS)
    max_instance_bytes: int = 1024 * 1024  # one serialized instance document
    worker_interval_s: float = 1.0
    # PostgreSQL: the longest the worker sleeps without a notification (a safety net; notifications wake it sooner).
    worker_max_sleep_s: float = 60.0
    timer_lease_s: float = 60.0
    timer_batch_size: int = 100
    retry_backoff_s: tuple[float, ...] = (10.0, 60.0, 300.0)
    sql_echo: bool = False
    # The audit head's Ed25519 keys live outside the database (docs/audit.md): a PEM file path or PEM text.
    audit_signing_key_file: Path | None = None
    audit_signing_key: str | None = field(default=None, repr=False)
    audit_verify_key: str | None = None  # PEM public key(s); old keys stay here after a rotation
    audit_sign_interval_s: float = 300.0
    audit_checkpoint_interval_s: float = 60.0  # the worker's Merkle checkpoint over all audit chain heads (0: never)
    # Notifications (docs/notifications.md): where e-mail goes out, links point, and how deliveries retry.
    smtp_url: str | None = field(default=None, repr=False)  # smtp://user:pass@host:port[?starttls=1] or smtps://
    smtp_from: str = "bpm@localhost"
    base_url: str = "http://127.0.0.1:5000"
    notify_backoff_s: tuple[float, ...] = (30.0, 120.0, 600.0, 3600.0)
    notify_lease_s: float = 120.0
    notify_pause_after_send_s: float = 0.0  # tests only: hold a delivery between sending and marking it sent
    # Attachments (docs/attachments.md): where their bytes go ("db" or "s3") and how large one may be.
    attachments_storage: str = "db"
    attachment_max_bytes: int = 20 * 1024 * 1024
    s3_endpoint_url: str | None = None  # an S3-compatible server (MinIO …); None: AWS itself
    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> EngineConfig:
        """Build a config from ``BPM_*`` / ``DATABASE_URL`` environment variables."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        if env.get("DATABASE_URL"):
            kwargs["database_url"] = env["DATABASE_URL"]
        if env.get("BPM_TIMEZONE"):
            kwargs["timezone"] = env["BPM_TIMEZONE"]
        if env.get("BPM_FORMS_DIR"):
            kwargs["forms_dir"] = Path(env["BPM_FORMS_DIR"])
        if env.get("BPM_CALENDARS_DIR"):
            kwargs["calendars_dir"] = Path(env["BPM_CALENDARS_DIR"])
        if env.get("BPM_WORKER_INTERVAL"):
            kwargs["worker_interval_s"] = float(env["BPM_WORKER_INTERVAL"])
        if env.get("BPM_WORKER_MAX_SLEEP"):
            kwargs["worker_max_sleep_s"] = float(env["BPM_WORKER_MAX_SLEEP"])
        if env.get("BPM_TIMER_LEASE"):
            kwargs["timer_lease_s"] = float(env["BPM_TIMER_LEASE"])
        if env.get("BPM_TIMER_BATCH"):
            kwargs["timer_batch_size"] = int(env["BPM_TIMER_BATCH"])
        if env.get("BPM_MAX_INSTANCE_BYTES"):
            kwargs["max_instance_bytes"] = int(env["BPM_MAX_INSTANCE_BYTES"])
        if env.get("BPM_SCRIPT_MEMORY_MB"):
            kwargs["script_memory_mb"] = int(env["BPM_SCRIPT_MEMORY_MB"])
        if env.get("BPM_RETRY_BACKOFF"):
            kwargs["retry_backoff_s"] = tuple(float(x) for x in env["BPM_RETRY_BACKOFF"].split(","))
        if env.get("BPM_AUDIT_SIGNING_KEY_FILE"):
            kwargs["audit_signing_key_file"] = Path(env["BPM_AUDIT_SIGNING_KEY_FILE"])
        if env.get("BPM_AUDIT_SIGNING_KEY"):
            kwargs["audit_signing_key"] = env["BPM_AUDIT_SIGNING_KEY"]
        if env.get("BPM_AUDIT_VERIFY_KEY"):
            kwargs["audit_verify_key"] = env["BPM_AUDIT_VERIFY_KEY"]
        if env.get("BPM_AUDIT_SIGN_INTERVAL"):
            kwargs["audit_sign_interval_s"] = float(env["BPM_AUDIT_SIGN_INTERVAL"])
        if env.get("BPM_AUDIT_CHECKPOINT_INTERVAL"):
            kwargs["audit_checkpoint_interval_s"] = float(env["BPM_AUDIT_CHECKPOINT_INTERVAL"])
        if env.get("BPM_ATTACHMENTS_STORAGE"):
            kwargs["attachments_storage"] = env["BPM_ATTACHMENTS_STORAGE"].strip().lower()
        if env.get("BPM_ATTACHMENT_MAX_MB"):
            kwargs["attachment_max_bytes"] = int(float(env["BPM_ATTACHMENT_MAX_MB"]) * 1024 * 1024)
        for name in ("s3_endpoint_url", "s3_bucket", "s3_region", "s3_access_key_id", "s3_secret_access_key"):
            if env.get(f"BPM_{name.upper()}"):
                kwargs[name] = env[f"BPM_{name.upper()}"]
        if env.get("BPM_SMTP_URL"):
            kwargs["smtp_url"] = env["BPM_SMTP_URL"]
        if env.get("BPM_SMTP_FROM"):
            kwargs["smtp_from"] = env["BPM_SMTP_FROM"]
        if env.get("BPM_BASE_URL"):
            kwargs["base_url"] = env["BPM_BASE_URL"].rstrip("/")
        if env.get("BPM_NOTIFY_BACKOFF"):
            kwargs["notify_backoff_s"] = tuple(float(x) for x in env["BPM_NOTIFY_BACKOFF"].split(","))
        if env.get("BPM_NOTIFY_LEASE"):
            kwargs["notify_lease_s"] = float(env["BPM_NOTIFY_LEASE"])
        if env.get("BPM_NOTIFY_PAUSE_AFTER_SEND"):
            kwargs["notify_pause_after_send_s"] = float(env["BPM_NOTIFY_PAUSE_AFTER_SEND"])
        return cls(**kwargs)  # type: ignore[arg-type]
