"""The ``bpm`` command line: every command prints readable text, or JSON with ``--json``."""

from __future__ import annotations

import sys

from engine.cli import (
    actions,  # noqa: F401  (registers `bpm actions`)
    attachments,  # noqa: F401  (registers `bpm attach`, `bpm attachments`, `bpm attachment-get`)
    calls,  # noqa: F401  (registers `bpm calls`)
    customer_reviews,  # noqa: F401  (registers `bpm customers grades`, `bpm customers growth`)
    customers,  # noqa: F401  (registers `bpm customers`, `bpm contracts`, `bpm register-run`)
    kpis,  # noqa: F401  (registers `bpm kpis`)
    migration,  # noqa: F401  (registers `bpm migrate`)
    notifications,  # noqa: F401  (registers `bpm urge`, `bpm notifications`, `bpm groups-webhook`)
    surveys,  # noqa: F401  (registers `bpm surveys`)
    task_operations,  # noqa: F401  (registers `bpm transfer`, `bpm delegate`, `bpm done`)
)
from engine.cli.commands import cli


def main() -> None:
    """Entry point of the ``bpm`` console script."""
    cli(prog_name="bpm")


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
