"""The department's KPIs in one catalogue: each with its formula, the SOP rule it comes from, its target where the
SOP gives one, and (as ``docs/kpis.md`` says) the assumptions to confirm with the department where the manual's
definition is not in the repository.

``kpi_values(session, period)`` computes them all; ``kpi_instance_ids`` lists the instances behind one outcome. Two KPIs
are computed by other modules of this package when they exist (``surveys.satisfaction``, ``calls.answer_rate``);
without them the KPI says "not recorded" and has no value, never a made-up one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.services.context import context_of, local_today, now
from engine.services.reports import deliveries, resolutions, settlements
from engine.services.reports.common import Period
from engine.services.reports.customer_targets import customer_of
from engine.services.reports.shares import Share


@dataclass(frozen=True)
class Kpi:
    """A KPI's definition: what is counted, from which rule, against which target (a share 0..1)."""

    key: str
    symbol: str
    name: str
    formula: str
    source: str
    target: float | None = None
    higher_is_better: bool = True
    assumption: str | None = None
    outcomes: tuple[str, ...] = ()


CATALOGUE: tuple[Kpi, ...] = (
    Kpi("on_time_delivery", "Pd", "On-time delivery rate",
        "Pd = Nd / Nt; Nt = orders whose arrival was reported in the period, Nd = those that arrived by the customer's "
        "required arrival time", "order_plan step 5 (DOMAIN.md process 2); KPI targets of the customer operation "
        "requirements (process 1)", target=0.98,
        assumption="Measured against the required arrival time of the order plan (as corrected in a clarification), "
                    "not against a new time agreed later (that is Pn).", outcomes=("on_time", "late", "unknown")),
    Kpi("on_time_pickup", "Pi", "On-time pickup (dispatch) rate",
        "Pi = Ni / Nt; Nt = orders whose planned pickup time lies in the period, Ni = those whose dispatch operations "
        "confirmed by the pickup time", "order_plan step 3 (confirm_dispatch, due at the pickup time)",
        assumption="Pi is read as the pickup leg (提货准时率). The manual's own definition of Pi is not in the "
                    "repository: confirm with the department.", outcomes=("on_time", "late", "pending")),
    Kpi("on_schedule_in_transit", "Pw", "In-transit on-schedule rate",
        "Pw = Nw / Nt; Nt = orders whose one-hour check before arrival was first answered in the period, Nw = those "
        "operations confirmed on schedule at that check", "order_plan step 4 (confirm_on_schedule)",
        assumption="Pw is read as the transit leg (在途准点率, w = on the way). If the manual means a warehouse "
                    "(仓储) rate, the order plan records no warehouse step yet: confirm with the department.",
        outcomes=("on_schedule", "behind")),
    Kpi("on_time_to_agreed", "Pn", "Arrival by the agreed time",
        "Pn = Nn / Nt; Nt = orders whose arrival was reported in the period, Nn = those that arrived by the time "
        "agreed with the customer (the required time, or the new time agreed at the one-hour check)",
        "order_plan step 4-5 (agree_new_time, report_arrival)",
        assumption="Pn is read as on time against the negotiated (约定) time. The manual's own definition of Pn is "
                    "not in the repository: confirm with the department.", outcomes=("on_time", "late", "unknown")),
    Kpi("damage_rate", "", "Damage rate",
        "damaged orders / orders checked with the consignee in the period", "order_plan step 5 (consignee check: "
        "damage); KPI targets of the customer operation requirements (process 1)", target=0.001,
        higher_is_better=False, assumption="Counted in orders (票), not in pieces or cargo value: the process "
                                          "records no piece counts or values.", outcomes=("damaged", "intact")),
    Kpi("receipt_timeliness", "", "Return-receipt timeliness",
        "receipts handed to the customer by their due time / receipts due in the period (lost and late ones count "
        "against)", "manual 第十六–十九条; order_plan step 6: short haul 7 days, long haul 15 working days after "
                    "arrival", outcomes=("on_time", "late", "lost", "pending")),
    Kpi("plan_accuracy", "", "Order-plan accuracy",
        "plans within scope and complete at their first check / plans first checked in the period",
        "order_plan step 2 (check_order); DOMAIN.md: what managers measure", outcomes=("accurate", "clarified")),
    Kpi("reply_within_24h", "", "24 h reply rate",
        "complaints and accidents answered within 24 h of receipt (exception feedback form signed by cs_head) / "
        "complaints and accidents received in the period", "DOMAIN.md process 3 step 4: every complaint is answered "
        "within 24 hours (exception_escalation answer_24h)", outcomes=("on_time", "late", "pending")),
    Kpi("first_time_resolution", "", "One-time resolution rate",
        "exceptions resolved at the first attempt / exceptions resolved in the period", "DOMAIN.md process 3 steps 3-4 "
        "(coordinate until the requirement is met; verify with the customer, not satisfied: rectify again)",
        assumption="An attempt is one coordination (general case) or one verification of the rectification with the "
                   "customer (complaint); resolved means the requirement met or the customer satisfied.",
        outcomes=("first_time", "repeated")),
    Kpi("settlement_on_time", "", "Settlement on-time rate",
        "settlements with the sheet ready by the 5th and the invoice issued by the 10th / settlements started in the "
        "period", "manual 4.5.1–4.5.5 (monthly_settlement: settlement_sheet, settlement_invoice)",
        outcomes=("on_time", "late", "pending")),
    Kpi("renewal_rate", "", "Renewal rate",
        "contract terms renewed (same or new price) / terms decided in the period", "manual 五.6 (contract_renewal)",
        outcomes=("renewed", "ended")),
    Kpi("satisfaction", "", "Customer satisfaction",
        "items rated satisfied / items rated in the satisfaction surveys answered in the period",
        "manual 五.5, 第四条(三), 第十条 (satisfaction_survey)", outcomes=("satisfied", "unsatisfied")),
    Kpi("answer_rate", "", "Answered-call rate (接通率)",
        "answered calls / incoming calls in the period (the call log)", "manual 第七条 (missed calls logged and "
        "returned)", target=0.95, outcomes=("missed",)),
)
BY_KEY = {k.key: k for k in CATALOGUE}

# The KPIs computed here, each from (session, period, at).
_LOCAL: dict[str, Callable[[Session, Period, datetime], Share]] = {
    "on_time_delivery": lambda s, p, _at: deliveries.on_time_delivery(s, p),
    "on_time_pickup": deliveries.on_time_pickup,
    "on_schedule_in_transit": lambda s, p, _at: deliveries.on_schedule_in_transit(s, p),
    "on_time_to_agreed": lambda s, p, _at: deliveries.on_time_to_agreed(s, p),
    "damage_rate": lambda s, p, _at: deliveries.damage_rate(s, p),
    "receipt_timeliness": deliveries.receipt_timeliness,
    "plan_accuracy": lambda s, p, _at: deliveries.plan_accuracy(s, p),
    "reply_within_24h": resolutions.reply_within_24h,
    "first_time_resolution": lambda s, p, _at: resolutions.first_time_resolution(s, p),
    "settlement_on_time": settlements.settlement_on_time,
    "renewal_rate": lambda s, p, _at: settlements.renewal_rate(s, p),
}
# The KPIs other modules compute: key → (module of this package, function taking (session, period)).
_ELSEWHERE = {"satisfaction": ("surveys", "satisfaction"), "answer_rate": ("calls", "answer_rate")}


@dataclass(frozen=True)
class KpiValue:
    """One KPI for a period: its value (None: nothing to count, or not recorded) and the instances behind it."""

    kpi: Kpi
    recorded: bool
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    ids: dict[str, list[int]] = field(default_factory=dict)
    unit: str = "share"  # "share" (0..1, shown as a percentage) or "score" (as the survey scores)

    @property
    def meets_target(self) -> bool | None:
        """Return whether the value meets the target (None without a value or a target)."""
        if self.value is None or self.kpi.target is None or self.unit != "share":
            return None
        return self.value >= self.kpi.target if self.kpi.higher_is_better else self.value <= self.kpi.target

    def count(self, outcome: str) -> int:
        """Return how many instances had ``outcome``."""
        return len(self.ids.get(outcome, []))

    def to_json(self) -> dict[str, Any]:
        """Return the KPI as plain JSON (the shape of ``bpm kpis --json`` and the API)."""
        k = self.kpi
        return {
            "key": k.key, "symbol": k.symbol or None, "name": k.name, "recorded": self.recorded, "value": self.value,
            "unit": self.unit, "numerator": self.numerator, "denominator": self.denominator,
            "target": k.target, "target_kind": None if k.target is None else ("min" if k.higher_is_better else "max"),
            "meets_target": self.meets_target, "formula": k.formula, "source": k.source, "assumption": k.assumption,
            "counts": {outcome: len(ids) for outcome, ids in self.ids.items()},
        }


def _from_share(kpi: Kpi, share: Share) -> KpiValue:
    return KpiValue(kpi, True, share.rate, share.numerator, share.denominator, share.ids)


def _elsewhere(session: Session, kpi: Kpi, period: Period) -> KpiValue:
    """Ask the module that records ``kpi``; "not recorded" when that module is not installed."""
    module_name, function_name = _ELSEWHERE[kpi.key]
    try:
        module = importlib.import_module(f"engine.services.reports.{module_name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"engine.services.reports.{module_name}":
            raise
        return KpiValue(kpi, False)
    function = getattr(module, function_name, None)
    if function is None:
        return KpiValue(kpi, False)
    value = _adapt(kpi, function(session, period))
    if kpi.key == "answer_rate" and not value.ids:
        value = replace(value, ids={"missed": _missed_call_returns(session, period)})
    return value


def _missed_call_returns(session: Session, period: Period) -> list[int]:
    """Return the call-back instances (missed_call_return) of the calls missed in ``period``: the answer rate's
    drill-down (the answered calls are log rows, not instances)."""
    from engine.persistence import CallRecord  # the call log's table; only read when the call log is installed

    return sorted(session.scalars(select(CallRecord.return_instance_id).where(
        CallRecord.outcome == "missed", CallRecord.return_instance_id.is_not(None), period.holds(CallRecord.at))),
        reverse=True)


def _adapt(kpi: Kpi, result: Any) -> KpiValue:
    """Read another module's result: a Share, an object with ``rate``/``ids``, or a plain number (None: no data)."""
    if isinstance(result, Share):
        return _from_share(kpi, result)
    if result is None or isinstance(result, (int, float)):
        return KpiValue(kpi, True, None if result is None else float(result))
    value = getattr(result, "rate", None)
    ids = getattr(result, "ids", None)
    # A share's parts by their names: numerator/denominator, or answered/total as the call log counts them.
    numerator = getattr(result, "numerator", getattr(result, "answered", None))
    denominator = getattr(result, "denominator", getattr(result, "total", None))
    return KpiValue(kpi, True, None if value is None else float(value),
                    numerator if isinstance(numerator, int) else None,
                    denominator if isinstance(denominator, int) else None,
                    {str(k): list(v) for k, v in ids.items()} if isinstance(ids, dict) else {})


def kpi_value(session: Session, key: str, period: Period, at: datetime | None = None) -> KpiValue:
    """Compute one KPI for ``period`` (``at``: now, for what is open and past due; default the engine clock)."""
    definition = BY_KEY[key]
    if key in _LOCAL:
        return _from_share(definition, _LOCAL[key](session, period, at or now(session)))
    return _elsewhere(session, definition, period)


def kpi_values(session: Session, period: Period, at: datetime | None = None) -> list[KpiValue]:
    """Compute every KPI of the catalogue for ``period``, in catalogue order."""
    at = at or now(session)
    return [kpi_value(session, k.key, period, at) for k in CATALOGUE]


def kpi_instance_ids(session: Session, key: str, outcome: str, period: Period, at: datetime | None = None,
                     customer: str | None = None) -> list[int]:
    """Return the instances behind one outcome of a KPI (e.g. the late deliveries), only ``customer``'s when given
    (by the customer its instance was started for); [] for an unknown KPI."""
    if key not in BY_KEY:
        return []
    ids = kpi_value(session, key, period, at).ids.get(outcome, [])
    if customer is None:
        return ids
    names = customer_of(session, set(ids))
    return [i for i in ids if names.get(i) == customer.strip()]


DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3


def period_of_days(session: Session, start: date | None = None, end: date | None = None) -> tuple[Period, date, date]:
    """Return the period of whole local days ``start``..``end`` (default: the 30 days up to today) and its two days.

    Days are the deployment's (``EngineConfig.timezone``); ``start`` after ``end`` or more than three years is refused.
    """
    end = end or local_today(session)
    zone = ZoneInfo(context_of(session).config.timezone)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)

    try:
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise InvalidInput(f"the period starts ({start}) after it ends ({end})")
        if (end - start).days > MAX_DAYS:
            raise InvalidInput(f"the period {start} – {end} is longer than {MAX_DAYS} days")
        return Period(midnight(start), midnight(end + timedelta(days=1))), start, end
    except OverflowError:
        raise InvalidInput(f"the period ending {end} is outside the dates this system can count") from None
