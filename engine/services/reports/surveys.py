"""Survey satisfaction (manual 五.5, 第四条(三), 第十条): the share of satisfied items in the satisfaction surveys
answered in a period, overall and per item; the instances behind it for the dashboard's drill-down."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import Questionnaire
from engine.services.questionnaires import ITEMS, SURVEY
from engine.services.reports.common import Period


@dataclass(frozen=True)
class ItemStats:
    """One survey item's answers in the period."""

    item: str
    answered: int
    satisfied: int

    @property
    def rate(self) -> float | None:
        """Return satisfied / answered (None when nobody answered the item)."""
        return self.satisfied / self.answered if self.answered else None


@dataclass(frozen=True)
class SatisfactionStats:
    """Satisfaction of the surveys answered in a period: ``rate`` = satisfied_items / items (None: no answers)."""

    answered: int
    items: int
    satisfied_items: int
    per_item: dict[str, ItemStats]
    ids: dict[str, list[int]] = field(default_factory=dict)  # satisfied / unsatisfied → survey instance ids

    @property
    def rate(self) -> float | None:
        """Return the share of satisfied items."""
        return self.satisfied_items / self.items if self.items else None

    @property
    def numerator(self) -> int:
        """Return the satisfied items (the KPI's numerator)."""
        return self.satisfied_items

    @property
    def denominator(self) -> int:
        """Return the items answered (the KPI's denominator)."""
        return self.items


def satisfaction(session: Session, period: Period) -> SatisfactionStats:
    """Count the items of the satisfaction surveys answered in ``period`` (portal or phone) and the satisfied ones."""
    rows = session.execute(select(Questionnaire.instance_id, Questionnaire.answers).where(
        Questionnaire.kind == SURVEY, period.holds(Questionnaire.answered_at)).order_by(Questionnaire.id)).all()
    counts = {item: [0, 0] for item in ITEMS}
    ids: dict[str, list[int]] = {"satisfied": [], "unsatisfied": []}
    for instance_id, answers in rows:
        unhappy = False
        for item, answer in (answers or {}).items():
            rating = (answer or {}).get("rating")
            if rating not in ("satisfied", "unsatisfied"):
                continue
            pair = counts.setdefault(item, [0, 0])
            pair[0] += 1
            pair[1] += rating == "satisfied"
            unhappy = unhappy or rating == "unsatisfied"
        ids["unsatisfied" if unhappy else "satisfied"].append(instance_id)
    per_item = {item: ItemStats(item, n, ok) for item, (n, ok) in counts.items()}
    return SatisfactionStats(len(rows), sum(s.answered for s in per_item.values()),
                             sum(s.satisfied for s in per_item.values()), per_item, ids)
