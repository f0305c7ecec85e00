"""The scheduler: due-timer acquisition passes and the ``bpm worker`` process around them."""

from engine.scheduling.runner import fire_one, run_due_timers

__all__ = ["fire_one", "run_due_timers"]
