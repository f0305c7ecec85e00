"""What every benchmark receives: the sizes, the databases, and a place for headline numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.backends import Backend
from bench.settings import Settings


@dataclass
class Context:
    """The run's settings and backends; ``metrics`` collects numbers the Targets section checks."""

    settings: Settings
    backends: list[Backend]
    metrics: dict[str, Any] = field(default_factory=dict)
    log_enabled: bool = True

    def log(self, message: str) -> None:
        """Print a progress line (to stderr, so stdout stays the tables)."""
        if self.log_enabled:
            import sys
            import time

            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def backend(self, name: str) -> Backend | None:
        """Return the backend called ``name`` if this run has it."""
        return next((b for b in self.backends if b.name == name), None)
