"""What managers measure (DOMAIN.md), computed from rows: SLA breaches, response rates, handling and
cycle times, receivables ageing, workload; and the instance lists behind each figure.

Every measure reads projection and audit rows (``sla_breach``, ``human_task``, ``process_instance``,
``audit_event``) and never loads a workflow. Durations and ageing are computed in Python from the
fetched timestamps, so SQLite and PostgreSQL give the same numbers.

The measures live in one module per subject (``common``, ``exceptions``, ``receivables``, ``work``; the KPIs with
their definitions in ``kpis``, computed in ``deliveries`` and ``settlements``); this
package names them all, so ``from engine.services import reports`` keeps working.
"""

from engine.services.reports.common import (
    AGEING_BUCKETS,
    COMPLAINT_CLOSED,
    COMPLAINT_TARGET,
    ESCALATION_LEVELS,
    EXCEPTION_PROCESS,
    FIRST_RESPONSE,
    RECEIVABLES_PROCESS,
    SERIOUS,
    SEVERITIES,
    Durations,
    Period,
    start_data,
)
from engine.services.reports.customer_targets import CustomerTargets, customer_targets
from engine.services.reports.exceptions import (
    ComplaintStats,
    ExceptionCount,
    ResponseRate,
    SlaCount,
    complaint_handling,
    exceptions_by_type,
    first_response_rate,
    severity_of,
    sla_breach_instance_ids,
    sla_breaches,
)
from engine.services.reports.kpis import CATALOGUE as KPI_CATALOGUE
from engine.services.reports.kpis import Kpi, KpiValue, kpi_instance_ids, kpi_value, kpi_values
from engine.services.reports.receivables import AmountRow, Receivable, ageing, escalation, open_receivables
from engine.services.reports.shares import Share
from engine.services.reports.work import (
    CycleTime,
    GroupQueue,
    PersonLoad,
    completed_instance_ids,
    instance_counts_by_definition,
    instances_by_ids,
    instances_on_definition,
    open_queues,
    open_task_instance_ids,
    process_cycle_times,
    step_cycle_times,
    workload,
)

__all__ = [
    "AGEING_BUCKETS", "COMPLAINT_CLOSED", "COMPLAINT_TARGET", "ESCALATION_LEVELS", "EXCEPTION_PROCESS", "FIRST_RESPONSE",
    "RECEIVABLES_PROCESS", "SERIOUS", "SEVERITIES", "AmountRow", "ComplaintStats", "CycleTime", "Durations",
    "GroupQueue", "Period", "PersonLoad", "Receivable", "ResponseRate", "SlaCount", "ageing", "completed_instance_ids",
    "complaint_handling", "escalation", "ExceptionCount", "exceptions_by_type", "first_response_rate",
    "instance_counts_by_definition", "instances_by_ids",
    "instances_on_definition", "open_queues", "open_receivables", "open_task_instance_ids", "process_cycle_times",
    "severity_of", "sla_breach_instance_ids", "sla_breaches", "start_data", "step_cycle_times", "workload",
    "KPI_CATALOGUE", "Kpi", "KpiValue", "Share", "kpi_instance_ids", "kpi_value", "kpi_values",
    "CustomerTargets", "customer_targets",
]
