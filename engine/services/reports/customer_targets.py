"""Each customer's KPIs against its own targets (DOMAIN.md process 1 step 2): the on-time target and the damage
ceiling cs_rep wrote into the customer operation requirements (客户作业要求) at onboarding, compared with that
customer's orders in a period (Pd and the damage rate, as ``deliveries`` computes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.services.reports import deliveries
from engine.services.reports.common import Period, start_data
from engine.services.reports.shares import Share, submissions

ONBOARDING_PROCESS = "new_business_onboarding"
REQUIREMENTS_STEP = "write_requirements"


@dataclass(frozen=True)
class CustomerTargets:
    """One customer's targets (shares 0..1, None when not set) and its orders' on-time and damage shares."""

    customer: str
    onboarding_id: int  # the onboarding instance whose requirements set the targets
    on_time_target: float | None
    damage_max: float | None
    on_time: Share
    damage: Share

    @property
    def meets_on_time(self) -> bool | None:
        """Return whether Pd reaches the customer's target (None without orders or without a target)."""
        rate = self.on_time.rate
        return None if rate is None or self.on_time_target is None else rate >= self.on_time_target

    @property
    def meets_damage(self) -> bool | None:
        """Return whether the damage rate stays within the customer's ceiling (None without checks or a ceiling)."""
        rate = self.damage.rate
        return None if rate is None or self.damage_max is None else rate <= self.damage_max

    def to_json(self) -> dict[str, Any]:
        """Return the comparison as plain JSON."""
        return {"customer": self.customer, "onboarding_instance_id": self.onboarding_id,
                "on_time_target": self.on_time_target, "on_time": self.on_time.rate,
                "on_time_counts": [self.on_time.numerator, self.on_time.denominator], "meets_on_time": self.meets_on_time,
                "damage_max": self.damage_max, "damage": self.damage.rate,
                "damage_counts": [self.damage.numerator, self.damage.denominator], "meets_damage": self.meets_damage}


def _share_of_percent(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number / 100 if 0 <= number <= 100 else None


def customer_of(session: Session, instance_ids: set[int]) -> dict[int, str]:
    """Return the customer each instance was started for (its start data's ``customer``, trimmed)."""
    return {i: str(d.get("customer") or "").strip() for i, d in start_data(session, instance_ids).items()}


def customer_targets(session: Session, period: Period) -> list[CustomerTargets]:
    """Compare every customer that has operation requirements with its orders in ``period``, by customer name.

    The targets are those of the customer's latest requirements (a new scope writes them again); orders count by the
    customer named on the order plan, exactly as the requirements name it.
    """
    latest: dict[int, dict[str, Any]] = {}
    for written in submissions(session, ONBOARDING_PROCESS, [REQUIREMENTS_STEP]):
        latest[written.instance_id] = written.data
    onboarding_customer = customer_of(session, set(latest))
    by_customer: dict[str, tuple[int, dict[str, Any]]] = {}
    for instance_id in sorted(latest):  # the newest onboarding of a customer wins
        name = onboarding_customer.get(instance_id, "")
        if name:
            by_customer[name] = (instance_id, latest[instance_id])
    if not by_customer:
        return []
    on_time = deliveries.on_time_delivery(session, period)
    damage = deliveries.damage_rate(session, period)
    order_customer = customer_of(session, {i for share in (on_time, damage) for ids in share.ids.values() for i in ids})
    result = []
    for name, (instance_id, targets) in sorted(by_customer.items()):
        orders = {i for i, c in order_customer.items() if c == name}
        result.append(CustomerTargets(name, instance_id, _share_of_percent(targets.get("kpi_on_time_target_pct")),
                                      _share_of_percent(targets.get("kpi_damage_max_pct")), on_time.only(orders),
                                      damage.only(orders)))
    return result
