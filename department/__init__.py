"""What the engine ships for the customer-service department: processes, forms and calendars.

This package holds data, not code. The engine finds it with :func:`shipped_dir`, so an installed
wheel runs the department's processes without a source tree; ``BPM_*_DIR`` settings override it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_dir"]

_HERE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """Return the folder of shipped ``processes``, ``forms`` or ``calendars``."""
    if name not in {"processes", "forms", "calendars"}:
        raise ValueError(f"no shipped folder {name!r}; expected processes, forms or calendars")
    return _HERE / name
