"""What every service needs besides the session: config, clock, runtime — carried in ``session.info``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.config import EngineConfig
from engine.runtime import Runtime

CONTEXT_KEY = "bpm_context"


@dataclass
class EngineContext:
    """The engine's collaborators, shared by all sessions of one Engine."""

    config: EngineConfig
    clock: Clock
    runtime: Runtime
    # Deployed versions never change, so what is read from one (texts, forms) is kept here by definition id.
    versions: dict[int, Any] = field(default_factory=dict)


def context_of(session: Session) -> EngineContext:
    """Return the engine context a session was created with."""
    ctx = session.info.get(CONTEXT_KEY)
    if ctx is None:
        raise RuntimeError("session was not created by engine.Engine (no engine context in session.info)")
    return ctx  # type: ignore[no-any-return]


def now(session: Session) -> datetime:
    """Return the engine clock's current time."""
    return context_of(session).clock.now()


def local_today(session: Session) -> date:
    """Return today's date where the deployment is (the engine clock in the engine's time zone): forms' "today"."""
    ctx = context_of(session)
    return ctx.clock.now().astimezone(ZoneInfo(ctx.config.timezone)).date()


def plain(value: Any) -> Any:
    """Turn data into plain JSON values: Decimal → string, date/datetime → ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
