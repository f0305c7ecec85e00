"""The inbox read part by part (engine.services.worklist) returns exactly what one plain query over all
tasks would: the same tasks, in the same order, page after page, with the same totals."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import pytest

from engine import Engine, ManualClock
from engine.persistence import HumanTask
from engine.services import inbox
from engine.services.tasks import list_tasks
from engine.services.worklist import Worklist
from tests.conftest import deploy_fixture

GROUPS = ["cs_rep", "cs_head", "finance", "operations"]
PEOPLE = {"rep": {"cs_rep"}, "rep2": {"cs_rep"}, "head": {"cs_head"}, "fin": {"finance"}}


@pytest.fixture
def tasks(engine: Engine, clock: ManualClock) -> list[dict[str, Any]]:
    """300 open and 40 completed tasks with colliding due dates and priorities, some assigned, some undated."""
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", actor="rep", data={"amount": 10})
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    rows = []
    for n in range(340):
        group = rng.choice(GROUPS)
        members = [p for p, gs in PEOPLE.items() if group in gs]
        rows.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "instance_id": instance.id, "process_key": rng.choice(["a", "b"]),
            "element_id": "enter", "title": "Enter", "candidate_group": group,
            "assignee": rng.choice(members) if members and rng.random() < 0.3 else None, "form_key": None,
            "status": "open" if n < 300 else "completed", "priority": rng.choice((30, 50, 70)),
            "business_key": f"BK-{n}", "customer": f"customer {n % 7}",
            "created_at": clock.now() - timedelta(minutes=rng.randint(0, 5)),
            "due_at": clock.now() + timedelta(hours=rng.randint(-3, 3)) if rng.random() < 0.7 else None,
            "completed_at": None, "completed_by": None, "draft": None,
        })
    with engine.db.begin() as conn:
        conn.execute(HumanTask.__table__.delete())
        conn.execute(HumanTask.__table__.insert(), rows)
    return rows


def _expected(rows: list[dict[str, Any]], user: str, scope: str = "inbox", keep: Any = lambda r: True) -> list[str]:
    def in_scope(r: dict[str, Any]) -> bool:
        mine = r["assignee"] == user
        unclaimed = r["assignee"] is None and r["candidate_group"] in PEOPLE[user]
        return r["status"] == "open" and keep(r) and {"inbox": mine or unclaimed, "mine": mine, "group": unclaimed}[scope]

    def order(r: dict[str, Any]) -> tuple[Any, ...]:
        due = r["due_at"]
        return (due is None, due.timestamp() if due else 0, -r["priority"], r["created_at"].timestamp(), r["id"])

    return [r["id"] for r in sorted(filter(in_scope, rows), key=order)]


@pytest.mark.parametrize("user", sorted(PEOPLE))
@pytest.mark.parametrize("scope", ["inbox", "mine", "group"])
def test_pages_match_one_plain_sorted_query(engine: Engine, tasks: list[dict[str, Any]], user: str, scope: str) -> None:
    expected = _expected(tasks, user, scope)
    assert expected, "the data gives every person something in every scope"
    seen, offset = [], 0
    with engine.transaction() as session:
        while True:
            page = inbox.inbox(session, user, inbox.InboxFilter(scope=scope), limit=7, offset=offset)
            assert page.total == len(expected)
            if not page.tasks:
                break
            seen += [t.id for t in page.tasks]
            offset += 7
    assert seen == expected


def test_filters_narrow_every_part(engine: Engine, tasks: list[dict[str, Any]], clock: ManualClock) -> None:
    now = clock.now()
    cases = [
        (inbox.InboxFilter(due="overdue"), lambda r: r["due_at"] is not None and r["due_at"] < now),
        (inbox.InboxFilter(process_key="b"), lambda r: r["process_key"] == "b"),
        (inbox.InboxFilter(group="cs_rep"), lambda r: r["candidate_group"] == "cs_rep"),
        (inbox.InboxFilter(text="CUSTOMER 3"), lambda r: r["customer"] == "customer 3"),
        (inbox.InboxFilter(text="BK-1_"), lambda r: False),  # "_" is a character, not a wildcard
    ]
    with engine.transaction() as session:
        for filters, keep in cases:
            page = inbox.inbox(session, "rep", filters, limit=500)
            assert [t.id for t in page.tasks] == _expected(tasks, "rep", keep=keep), filters


def test_counts_and_process_menu_in_one_query(engine: Engine, tasks: list[dict[str, Any]], clock: ManualClock) -> None:
    with engine.transaction() as session:
        counts = inbox.inbox_counts(session, "fin")
        assert counts.mine == len(_expected(tasks, "fin", "mine"))
        assert counts.group == len(_expected(tasks, "fin", "group"))
        overdue = _expected(tasks, "fin", keep=lambda r: r["due_at"] is not None and r["due_at"] < clock.now())
        assert counts.overdue == len(overdue) > 0
        assert counts.processes == ("a", "b")
        assert inbox.inbox_counts(session, "nobody") == inbox.InboxCounts(0, 0, 0, ())


def test_list_tasks_of_a_user_is_the_inbox(engine: Engine, tasks: list[dict[str, Any]]) -> None:
    with engine.transaction() as session:
        assert [t.id for t in list_tasks(session, user="rep2", limit=20)] == _expected(tasks, "rep2")[:20]
        assert [t.id for t in list_tasks(session, user="rep2")] == _expected(tasks, "rep2")
        assert [t.id for t in list_tasks(session, user="rep2", group="cs_head")] == []


def test_every_part_is_an_index_range_read_in_order(engine: Engine, tasks: list[dict[str, Any]]) -> None:
    """SQLite's plan: each part searches an inbox index and needs no sort; only the merged page (≤ parts × limit) is sorted."""
    if engine.db.dialect.name != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL's planner picks by statistics (bench/inbox.py prints its plan at 100k)")
    worklist = Worklist("rep", frozenset({"cs_rep", "finance"}))
    statement, params = worklist.page("sqlite", limit=25)
    with engine.db.connect() as conn:
        compiled = statement.element.compile(dialect=conn.dialect)
        values = compiled.construct_params(params)
        plan = [str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled), tuple(values[name] for name in compiled.positiontup))]
    # The parts of tasks with further candidates (several groups, candidate users) come last, one per dated/undated split:
    # they read human_task_candidate by (kind, name) and the tasks by primary key, and sort only their own few rows.
    first = plan.index(next(line for line in plan if "LIST SUBQUERY" in line)) - 2
    inbox, candidates = plan[:first], plan[first:]
    reads = [line for line in inbox if "human_task" in line]
    assert len(reads) == 6 and all(line.startswith("SEARCH human_task USING INDEX ix_task_") for line in reads), plan
    candidate_reads = [line for line in candidates if line.startswith(("SEARCH", "SCAN")) and "human_task" in line]
    assert candidate_reads and all(" USING " in line and ("(kind=? AND name=?)" in line or "(id=?)" in line)
                                   for line in candidate_reads), plan
    assert [line for line in inbox if "TEMP B-TREE" in line] == [], plan
    assert plan[-1] == "USE TEMP B-TREE FOR ORDER BY", plan
