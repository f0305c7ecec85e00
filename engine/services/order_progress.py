"""The order plans in transit (dispatched, arrival not yet reported), for the 16:00 progress update to customers
(三(三)3): the in-engine external-task topic ``orders.in_transit`` that ``customer_progress_update`` waits on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, ProcessInstance, Timer
from engine.services.context import plain
from engine.services.reports.common import start_data

ORDER_PROCESS = "order_plan"
IN_TRANSIT_TOPIC = "orders.in_transit"
# order_plan's steps between the dispatch and the arrival report (its element ids are the contract here).
IN_TRANSIT_TASKS = ("confirm_on_schedule", "give_earliest_time", "agree_new_time", "report_arrival")
IN_TRANSIT_TIMERS = ("wait_arrival_check",)


@dataclass(frozen=True)
class InTransitOrder:
    """One order plan on its way: whose, which order, when it is due to arrive."""

    instance_id: int
    customer: str
    order_no: str
    required_arrival: str
    route: str

    def to_json(self) -> dict[str, Any]:
        """Return the plain shape stored in the progress update's data."""
        return dict(plain(asdict(self)))


def in_transit_orders(session: Session) -> list[InTransitOrder]:
    """Return the running order plans that are dispatched and not yet arrived, by customer and order no."""
    running = select(ProcessInstance.id).where(ProcessInstance.process_key == ORDER_PROCESS,
                                               ProcessInstance.status == "running")
    by_task = session.scalars(select(HumanTask.instance_id).where(
        HumanTask.process_key == ORDER_PROCESS, HumanTask.element_id.in_(IN_TRANSIT_TASKS),
        HumanTask.status == "open", HumanTask.instance_id.in_(running)))
    by_timer = session.scalars(select(Timer.instance_id).where(
        Timer.process_key == ORDER_PROCESS, Timer.element_id.in_(IN_TRANSIT_TIMERS), Timer.status == "waiting",
        Timer.instance_id.in_(running)))
    ids = {int(i) for i in [*by_task, *by_timer] if i is not None}
    started = start_data(session, ids)
    orders = []
    for instance_id in ids:
        data = started.get(instance_id, {})
        orders.append(InTransitOrder(instance_id, str(data.get("customer") or ""), str(data.get("order_no") or ""),
                                     str(data.get("required_arrival") or ""), str(data.get("route") or "")))
    return sorted(orders, key=lambda o: (o.customer, o.order_no, o.instance_id))


def in_transit_variables(session: Session, _variables: dict[str, Any]) -> dict[str, Any]:
    """Complete ``orders.in_transit``: the orders in transit, grouped by customer, and a readable summary."""
    orders = in_transit_orders(session)
    customers = sorted({o.customer for o in orders})
    lines = [f"{o.customer} · {o.order_no} · {o.route} · {o.required_arrival}" for o in orders]
    return {"in_transit_orders": [o.to_json() for o in orders], "in_transit_count": len(orders),
            "in_transit_customers": customers, "in_transit_summary": "\n".join(lines)}
