"""Stop sandboxed code at its deadline, by tracing its opcodes; designer code cannot catch the stop.

CPython unsets a trace function that raises, so after the first interruption nothing traces the
script any more. The interruption is therefore a ``BaseException`` the script cannot name (the
sandbox offers no ``BaseException`` and compiles a bare ``except:`` as ``except Exception:``),
handlers may only name exception classes (no code runs to match them), and every ``finally:``
body starts with :func:`check_deadline`, which raises again once the deadline has passed.
"""

from __future__ import annotations

import sys
import threading
import time
from types import FrameType
from typing import Any

SCRIPT_FILENAME = "<bpmn-script>"
_current = threading.local()


class DeadlineHit(BaseException):
    """Raised into sandboxed code that ran past its deadline (turned into a LimitHit by the sandbox)."""


def check_deadline() -> None:
    """Raise DeadlineHit if this thread's sandboxed code is past its deadline (the ``finally:`` hook)."""
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and (deadline.expired or time.monotonic() > deadline.expires):
        deadline.expired = True
        raise DeadlineHit


class Deadline:
    """Interrupt sandboxed code that runs past ``seconds``, by tracing its opcodes."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expires = 0.0
        self.previous: Any = None
        self.outer: Deadline | None = None
        self.ticks = 0
        self.expired = False

    def __enter__(self) -> Deadline:
        self.expires = time.monotonic() + self.seconds
        self.previous = sys.gettrace()
        self.outer = getattr(_current, "deadline", None)
        _current.deadline = self
        sys.settrace(self._global_trace)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)
        _current.deadline = self.outer

    def _global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        # Per-opcode events: a one-line `while True: pass` emits no line events.
        frame.f_trace_opcodes = True
        return self._local_trace

    def _local_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.ticks += 1
        if self.ticks % 256 == 0 and time.monotonic() > self.expires:
            self.expired = True
            raise DeadlineHit
        return self._local_trace
