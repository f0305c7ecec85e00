"""The KPI cards of the dashboard: each KPI's value, target, definition (formula and the SOP rule it comes from, with
the assumptions still to confirm) in this language, and links to the instances behind each outcome.

The engine's catalogue (``engine.services.reports.kpis``) holds the English definitions the API and CLI print; the
texts here are the same definitions as translatable messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy.orm import Session

from engine.services import reports
from web.dashboard.figures import Context, percent

NAMES = {
    "on_time_delivery": lazy_gettext("On-time delivery rate"),
    "on_time_pickup": lazy_gettext("On-time pickup (dispatch) rate"),
    "on_schedule_in_transit": lazy_gettext("In-transit on-schedule rate"),
    "on_time_to_agreed": lazy_gettext("Arrival by the agreed time"),
    "damage_rate": lazy_gettext("Damage rate"),
    "receipt_timeliness": lazy_gettext("Return-receipt timeliness"),
    "plan_accuracy": lazy_gettext("Order-plan accuracy"),
    "reply_within_24h": lazy_gettext("24 h reply rate"),
    "first_time_resolution": lazy_gettext("One-time resolution rate"),
    "settlement_on_time": lazy_gettext("Settlement on-time rate"),
    "renewal_rate": lazy_gettext("Renewal rate"),
    "satisfaction": lazy_gettext("Customer satisfaction"),
    "answer_rate": lazy_gettext("Answered-call rate"),
}
FORMULAS = {
    "on_time_delivery": lazy_gettext("Pd = Nd / Nt. Nt: orders whose arrival was reported in the period; Nd: those that "
                                     "arrived by the customer's required arrival time."),
    "on_time_pickup": lazy_gettext("Pi = Ni / Nt. Nt: orders whose planned pickup time lies in the period; Ni: those "
                                   "whose dispatch operations confirmed by the pickup time."),
    "on_schedule_in_transit": lazy_gettext("Pw = Nw / Nt. Nt: orders whose one-hour check before arrival was first "
                                           "answered in the period; Nw: those confirmed on schedule at that check."),
    "on_time_to_agreed": lazy_gettext("Pn = Nn / Nt. Nt: orders whose arrival was reported in the period; Nn: those that "
                                      "arrived by the time agreed with the customer (the required time, or a new time "
                                      "agreed at the one-hour check)."),
    "damage_rate": lazy_gettext("Orders found damaged at the consignee check / orders checked with the consignee in "
                                "the period."),
    "receipt_timeliness": lazy_gettext("Return receipts handed to the customer by their due time / receipts due in the "
                                       "period; late and lost receipts count against it."),
    "plan_accuracy": lazy_gettext("Plans within the contract's scope and complete at their first check / plans first "
                                  "checked in the period."),
    "reply_within_24h": lazy_gettext("Complaints and accidents answered within 24 h of receipt (exception feedback form "
                                     "signed by cs_head) / complaints and accidents received in the period."),
    "first_time_resolution": lazy_gettext("Exceptions resolved at the first attempt / exceptions resolved in the "
                                          "period."),
    "settlement_on_time": lazy_gettext("Settlements whose reconciliation sheet was ready by the 5th and invoice issued by "
                                       "the 10th / settlements started in the period."),
    "renewal_rate": lazy_gettext("Contract terms renewed (same or new price) / terms decided in the period."),
    "satisfaction": lazy_gettext("Items rated satisfied / items rated in the satisfaction surveys answered in the "
                                 "period."),
    "answer_rate": lazy_gettext("Answered calls / incoming calls in the period (the call log); the missed calls link to "
                                "their call-backs."),
}
SOURCES = {
    "on_time_delivery": lazy_gettext("Order plan step 5 (arrival reported); target from the customer operation "
                                     "requirements"),
    "on_time_pickup": lazy_gettext("Order plan step 3 (dispatch confirmed, due at the pickup time)"),
    "on_schedule_in_transit": lazy_gettext("Order plan step 4 (one hour before the agreed arrival)"),
    "on_time_to_agreed": lazy_gettext("Order plan steps 4–5 (new time agreed, arrival reported)"),
    "damage_rate": lazy_gettext("Order plan step 5 (consignee check); target from the customer operation requirements"),
    "receipt_timeliness": lazy_gettext("Manual articles 16–19; order plan step 6: short haul within 7 days, long haul "
                                       "within 15 working days after arrival"),
    "plan_accuracy": lazy_gettext("Order plan step 2 (plan check)"),
    "reply_within_24h": lazy_gettext("Exception handling: every complaint is answered within 24 hours"),
    "first_time_resolution": lazy_gettext("Exception handling: coordinate until the requirement is met; verify the "
                                          "rectification with the customer, not satisfied: rectify again"),
    "settlement_on_time": lazy_gettext("Manual 4.5.1–4.5.5 (monthly settlement)"),
    "renewal_rate": lazy_gettext("Manual 5.6 (contract renewal)"),
    "satisfaction": lazy_gettext("Manual 5.5, article 4 (3), article 10 (satisfaction survey)"),
    "answer_rate": lazy_gettext("Manual article 7: missed calls are logged and returned"),
}
ASSUMPTIONS = {
    "on_time_delivery": lazy_gettext("Measured against the required arrival time (as corrected in a clarification), "
                                     "not a new time agreed later (that is Pn)."),
    "on_time_pickup": lazy_gettext("Pi is read as the pickup leg (提货准时率); the manual's own definition is not on "
                                   "record."),
    "on_schedule_in_transit": lazy_gettext("Pw is read as the transit leg (在途准点率); if the manual means a warehouse "
                                           "rate, the order plan records no warehouse step yet."),
    "on_time_to_agreed": lazy_gettext("Pn is read as on time against the negotiated (约定) time; the manual's own "
                                      "definition is not on record."),
    "damage_rate": lazy_gettext("Counted in orders, not pieces or cargo value: the process records no piece counts."),
    "first_time_resolution": lazy_gettext("An attempt is one coordination (general case) or one verification of the "
                                          "rectification with the customer (complaint)."),
}
OUTCOMES = {
    "on_time": lazy_gettext("on time"), "late": lazy_gettext("late"), "unknown": lazy_gettext("time not readable"),
    "pending": lazy_gettext("open, not late yet"), "on_schedule": lazy_gettext("on schedule"),
    "behind": lazy_gettext("behind schedule"), "damaged": lazy_gettext("damaged"), "intact": lazy_gettext("intact"),
    "lost": lazy_gettext("lost"), "accurate": lazy_gettext("right first time"),
    "clarified": lazy_gettext("clarified with the customer"), "renewed": lazy_gettext("renewed"),
    "ended": lazy_gettext("ended"), "satisfied": lazy_gettext("all items satisfied"),
    "unsatisfied": lazy_gettext("with an unsatisfied item"), "missed": lazy_gettext("missed calls"),
    "first_time": lazy_gettext("resolved at the first attempt"), "repeated": lazy_gettext("needed another attempt"),
}
GOOD = {"on_time", "on_schedule", "intact", "accurate", "renewed", "satisfied", "first_time"}
BAD = {"late", "lost", "damaged", "behind", "clarified", "ended", "unsatisfied", "missed", "repeated"}
KPI_GROUPS = (
    (lazy_gettext("Delivery (order plan)"), ("on_time_delivery", "on_time_pickup", "on_schedule_in_transit",
                                             "on_time_to_agreed", "damage_rate", "receipt_timeliness", "plan_accuracy")),
    (lazy_gettext("Exceptions (complaints and accidents)"), ("reply_within_24h", "first_time_resolution")),
    (lazy_gettext("Settlement, contracts and customers"), ("settlement_on_time", "renewal_rate", "satisfaction",
                                                          "answer_rate")),
)


@dataclass(frozen=True)
class OutcomeLink:
    """One outcome of a KPI: its name, how many instances, where they are listed, and a tone."""

    label: str
    count: int
    href: str
    tone: str


@dataclass(frozen=True)
class KpiCard:
    """What the dashboard shows of one KPI."""

    key: str
    symbol: str
    name: str
    value: str
    recorded: bool
    tone: str
    target: str | None
    fraction: str | None
    formula: str
    source: str
    assumption: str | None
    outcomes: list[OutcomeLink]


def target_text(kpi: reports.Kpi) -> str | None:
    """Show a KPI's target ("target ≥ 98%", "target ≤ 0.1%"), None without one."""
    if kpi.target is None:
        return None
    shown = _share(kpi.target)
    return gettext("target ≥ %(target)s", target=shown) if kpi.higher_is_better else gettext(
        "target ≤ %(target)s", target=shown)


def _share(value: float | None) -> str:
    """Show a share as a percentage: whole from 10% up, with the decimals a small rate needs (3.3%, 0.1%)."""
    if value is None or value == 0 or value >= 0.1:
        return percent(value)
    digits = 1 if value >= 0.01 else 2
    return f"{value * 100:.{digits}f}".rstrip("0").rstrip(".") + "%"


def card(value: reports.KpiValue, ctx: Context) -> KpiCard:
    """Return the card of one KPI value."""
    kpi = value.kpi
    if not value.recorded:
        shown, tone = gettext("not recorded yet"), "muted"
    elif value.unit == "share":
        shown = _share(value.value)
        tone = "" if value.meets_target is None else "ok" if value.meets_target else "bad"
    else:
        shown, tone = ("—" if value.value is None else f"{value.value:.2f}"), ""
    fraction = None
    if value.recorded and value.denominator is not None:
        fraction = gettext("%(num)s of %(den)s", num=value.numerator or 0, den=value.denominator)
    outcomes = [OutcomeLink(str(OUTCOMES.get(outcome, outcome)), len(ids),
                            ctx.link("kpi", kpi=kpi.key, outcome=outcome),
                            "ok" if outcome in GOOD else "bad" if outcome in BAD else "warn")
                for outcome, ids in value.ids.items() if ids or outcome in kpi.outcomes[:2]]
    if kpi.key == "damage_rate":  # a damaged order is the bad outcome, an intact one the good
        outcomes.sort(key=lambda o: o.tone != "bad")
    return KpiCard(kpi.key, kpi.symbol, str(NAMES.get(kpi.key, kpi.name)), shown, value.recorded, tone,
                   target_text(kpi), fraction, str(FORMULAS.get(kpi.key, kpi.formula)),
                   str(SOURCES.get(kpi.key, kpi.source)),
                   str(ASSUMPTIONS[kpi.key]) if kpi.key in ASSUMPTIONS else None, outcomes)


def kpi_cards(session: Session, ctx: Context) -> list[tuple[str, list[KpiCard]]]:
    """Return the KPI cards of the period, in their groups."""
    values = {v.kpi.key: v for v in reports.kpi_values(session, ctx.period, ctx.at)}
    return [(str(title), [card(values[key], ctx) for key in keys if key in values]) for title, keys in KPI_GROUPS]


@dataclass(frozen=True)
class CustomerRow:
    """One customer's on-time and damage rates against the targets of its operation requirements."""

    customer: str
    requirements_href: str
    on_time: str
    on_time_tone: str
    on_time_fraction: str
    on_time_target: str
    late_href: str
    damage: str
    damage_tone: str
    damage_fraction: str
    damage_max: str
    damaged_href: str


def _tone(meets: bool | None) -> str:
    return "" if meets is None else "ok" if meets else "bad"


def customer_rows(session: Session, ctx: Context) -> list[CustomerRow]:
    """Return each customer with operation requirements, its orders' Pd and damage rate against its own targets."""
    rows = []
    for c in reports.customer_targets(session, ctx.period):
        rows.append(CustomerRow(
            c.customer, url_for("instances.show", instance_id=c.onboarding_id),
            _share(c.on_time.rate), _tone(c.meets_on_time),
            gettext("%(num)s of %(den)s", num=c.on_time.numerator, den=c.on_time.denominator),
            "—" if c.on_time_target is None else "≥ " + _share(c.on_time_target),
            ctx.link("kpi", kpi="on_time_delivery", outcome="late", customer=c.customer),
            _share(c.damage.rate), _tone(c.meets_damage),
            gettext("%(num)s of %(den)s", num=c.damage.numerator, den=c.damage.denominator),
            "—" if c.damage_max is None else "≤ " + _share(c.damage_max),
            ctx.link("kpi", kpi="damage_rate", outcome="damaged", customer=c.customer)))
    return rows


def kpi_instances(session: Session, args: dict[str, Any], ctx: Context) -> tuple[str, list[int]] | None:
    """Return the title and instances behind one KPI outcome, of one customer when the link names one (None for an
    unknown KPI or outcome)."""
    key, outcome = str(args.get("kpi", "")), str(args.get("outcome", ""))
    if key not in {k.key for k in reports.KPI_CATALOGUE} or outcome not in OUTCOMES:
        return None
    customer = str(args.get("customer", "")).strip() or None
    title = gettext("%(kpi)s: %(outcome)s", kpi=NAMES.get(key, key), outcome=OUTCOMES[outcome])
    if customer:
        title = f"{title} · {customer}"
    return title, reports.kpi_instance_ids(session, key, outcome, ctx.period, ctx.at, customer=customer)
