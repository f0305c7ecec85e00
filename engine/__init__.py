"""A BPMN process engine for service operations, on SpiffWorkflow.

The public API: :class:`Engine` (one object per database), its configuration and clocks,
the views it returns, and the errors it raises.
"""

from engine.clock import ManualClock, SystemClock
from engine.config import EngineConfig
from engine.errors import Conflict, DefinitionError, EngineError, InvalidInput, NotAllowed, NotFound, Problem, ScriptError
from engine.facade import Engine
from engine.services.views import DefinitionView, DeployResult, InstanceView, TaskView, TimerView

__all__ = [
    "Conflict", "DefinitionError", "DefinitionView", "DeployResult", "Engine", "EngineConfig", "EngineError",
    "InstanceView", "InvalidInput", "ManualClock", "NotAllowed", "NotFound", "Problem", "ScriptError", "SystemClock",
    "TaskView", "TimerView",
]
