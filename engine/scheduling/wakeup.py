"""When the worker wakes: at the next timer's due time, or at once when an earlier timer is written.

The worker sleeps until the earliest due time it knows of (``next_timer_at``). A timer written meanwhile by a web
server or another worker may be due earlier: on PostgreSQL the ``timer`` table's trigger (migration 0020) notifies
channel ``bpm_timer`` when that transaction commits, and a listener thread with its own connection wakes the sleeper;
on SQLite, which has no notifications, the sleep is capped at the poll interval, so such a timer waits at most that long.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from engine.services.timers import WAKE_CHANNEL, next_timer_at

log = logging.getLogger("bpm.worker")
RECONNECT_S = 5.0


class Wakeup:
    """A sleep that ends at the next due timer, on a notification, or when the worker stops."""

    def __init__(self, engine: Any, stopping: threading.Event, *, poll_s: float, max_sleep_s: float = 60.0):
        self.engine, self.stopping = engine, stopping
        self.poll_s, self.max_sleep_s = poll_s, max_sleep_s
        self._event = threading.Event()
        self._listener: threading.Thread | None = None
        self.listening = threading.Event()  # set while the PostgreSQL listener is connected

    def start(self) -> None:
        """Start listening for timer notifications (PostgreSQL only)."""
        if self.engine.db.dialect.name == "postgresql" and self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="timer-listener", daemon=True)
            self._listener.start()

    def seconds_to_next(self) -> float:
        """Return how long to sleep: until the next timer is due, capped (at the poll interval without a listener)."""
        cap = self.max_sleep_s if self.listening.is_set() else self.poll_s
        with self.engine.session() as session:
            due = next_timer_at(session)
        if due is None:
            return cap
        left: float = (due - self.engine.clock.now()).total_seconds()
        return max(0.0, min(cap, left))

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True if woken early (a timer was written, or the worker stops)."""
        woken = self._event.wait(seconds)
        self._event.clear()
        return woken

    def wake(self) -> None:
        """End the current sleep now."""
        self._event.set()

    def _listen(self) -> None:
        import psycopg

        url = self.engine.db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self.stopping.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {WAKE_CHANNEL}")
                    self.listening.set()
                    self.wake()  # timers written while we were not listening: look again
                    while not self.stopping.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("timer listener lost its connection (%s); polling every %ss until it is back",
                            exc, self.poll_s)
                self.stopping.wait(RECONNECT_S)
        self.listening.clear()
