"""Two workers' survey passes at the same moment (PostgreSQL, where several `bpm worker` may run): a return visit asked
for once is started once — the second pass skips the request the first one holds, it neither waits nor starts it too."""

from __future__ import annotations

from sqlalchemy import func, select, text

from engine import Engine
from engine.config import SHIPPED_PROCESSES
from engine.persistence import ProcessInstance, ReturnVisitRequest
from engine.services.questionnaires import request_return_visit
from engine.services.survey_processes import start_return_visits


def test_two_passes_start_a_requested_visit_once(pg_engine: Engine) -> None:
    pg_engine.deploy([SHIPPED_PROCESSES / "customer_return_visit.bpmn"], actor="designer")
    with pg_engine.transaction() as session:
        assert request_return_visit(session, "questionnaire:7", "questionnaire", "ACME Logistics", {"score": 2})
        assert request_return_visit(session, "questionnaire:8", "questionnaire", "Beta Foods", {"score": 1})
    first = pg_engine.session()
    try:
        with first.begin():
            started_first = start_return_visits(first, limit=1)  # holds the oldest request until it commits
            assert len(started_first) == 1
            second = pg_engine.session()
            try:
                with second.begin():
                    second.execute(text("SET LOCAL lock_timeout = '5s'"))  # without SKIP LOCKED: blocked, then an error
                    started_second = start_return_visits(second)
            finally:
                second.close()
            assert len(started_second) == 1 and started_second != started_first, "it took the other request"
    finally:
        first.close()
    with pg_engine.transaction() as session:
        visits = session.scalar(select(func.count()).select_from(ProcessInstance)
                                .where(ProcessInstance.process_key == "customer_return_visit"))
        requests = {r.source_key: r.instance_id for r in session.scalars(select(ReturnVisitRequest))}
    assert visits == 2 and set(requests.values()) == {*started_first, *started_second}
