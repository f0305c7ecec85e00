"""External tasks through the REST API under a real gunicorn: an ERP worker fetches, locks, fails, completes.

The server is ``gunicorn web:create_app()`` (bench/server.py) on a temporary database, so locks,
retries and incidents travel through real HTTP requests and real transactions. Lock expiry is
tested at the service level (tests/engine/test_external_tasks.py), where the clock can be moved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.server import HttpClient, Reply, gunicorn
from engine import Engine, EngineConfig
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS
from engine.services.tokens import create_token
from engine.services.users import ensure_groups
from tests.conftest import BPMN_DIR

API = "/api/v1/external-tasks"
ERP = {"topic": "erp_order_sync", "lock_duration_s": 300}
LOCKED_KEYS = {"id", "topic", "instance_id", "business_key", "variables", "locked_until", "retries"}


def prepare(url: str, instances: int = 1) -> tuple[Engine, dict[str, str]]:
    """Create users with tokens, deploy the Camunda Modeler external-task process and start ``instances`` orders."""
    engine = Engine(config=EngineConfig(database_url=url, forms_dir=SHIPPED_FORMS, calendars_dir=SHIPPED_CALENDARS))
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    for name, groups in {"erp": ["integration"], "rep": ["cs_rep"], "admin": ["admin"]}.items():
        engine.add_user(name, groups)
    tokens = {}
    with engine.transaction() as session:
        for name, user, scope in (("erp", "erp", "personal"), ("erp_scoped", "erp", "integration"),
                                  ("rep", "rep", "personal"), ("admin", "admin", "personal")):
            tokens[name] = create_token(session, user, "system", scope=scope).secret
    engine.deploy([BPMN_DIR / "camunda5_external_task.bpmn"], actor="designer")
    for n in range(instances):
        engine.start("erp_order_sync", {"order_no": f"SO-{n}", "amount": 120}, business_key=f"SO-{n}")
    return engine, tokens


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[HttpClient, dict[str, str], Engine]]:
    engine, tokens = prepare(f"sqlite:///{tmp_path / 'ext.sqlite3'}")
    with gunicorn(engine.config.database_url, workers=2) as server:
        client = HttpClient(server.port)
        try:
            yield client, tokens, engine
        finally:
            client.close()
    engine.close()


def is_problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = reply.json()
    assert problem["status"] == status and "Traceback" not in problem.get("detail", "")
    return problem


def test_a_worker_fetches_fails_into_an_incident_is_retried_and_completes(served) -> None:
    client, tokens, engine = served
    fetch = {"worker_id": "erp-1", "max_tasks": 5, "topics": [ERP]}
    [task] = client.api("POST", f"{API}/fetch-and-lock", tokens["erp_scoped"], fetch).json()
    assert set(task) == LOCKED_KEYS
    assert (task["topic"], task["business_key"], task["retries"]) == ("erp_order_sync", "SO-0", None)
    assert task["variables"] == {"order_no": "SO-0", "amount": 120}
    assert client.api("POST", f"{API}/fetch-and-lock", tokens["erp"], {**fetch, "worker_id": "erp-2"}).json() == []

    # Another worker may not complete, fail or extend erp-1's lock; nothing changes.
    stolen = client.api("POST", f"{API}/{task['id']}/complete", tokens["erp"], {"worker_id": "erp-2", "variables": {"x": 1}})
    assert "locked by another worker" in is_problem(stolen, 409)["detail"]
    is_problem(client.api("POST", f"{API}/{task['id']}/failure", tokens["erp"],
                          {"worker_id": "erp-2", "error_message": "x", "retries": 0}), 409)
    is_problem(client.api("POST", f"{API}/{task['id']}/extend-lock", tokens["erp"],
                          {"worker_id": "erp-2", "lock_duration_s": 60}), 409)
    [listed] = client.api("GET", API, tokens["erp"]).json()["items"]
    assert (listed["worker_id"], listed["status"], listed["retries"]) == ("erp-1", "open", None)

    extended = client.api("POST", f"{API}/{task['id']}/extend-lock", tokens["erp"], {"worker_id": "erp-1", "lock_duration_s": 900})
    assert extended.status == 200 and extended.json()["locked_until"] > task["locked_until"]
    failed = client.api("POST", f"{API}/{task['id']}/failure", tokens["erp_scoped"],
                        {"worker_id": "erp-1", "error_message": "ERP rejected the order: unknown customer", "retries": 0})
    assert failed.status == 200 and failed.json()["status"] == "incident"
    assert client.api("POST", f"{API}/fetch-and-lock", tokens["erp"], fetch).json() == []

    [incident] = client.api("GET", "/api/v1/incidents", tokens["admin"]).json()["items"]
    assert incident["error"] == "erp_order_sync: ERP rejected the order: unknown customer"
    assert client.api("POST", f"/api/v1/incidents/{incident['id']}/retry", tokens["admin"]).status == 200
    [again] = client.api("POST", f"{API}/fetch-and-lock", tokens["erp"], fetch).json()
    assert (again["id"], again["retries"]) == (task["id"], 1)
    done = client.api("POST", f"{API}/{task['id']}/complete", tokens["erp"], {"worker_id": "erp-1", "variables": {"erp_id": "4711"}})
    assert done.status == 200 and done.json()["status"] == "completed"
    is_problem(client.api("POST", f"{API}/{task['id']}/complete", tokens["erp"], {"worker_id": "erp-1"}), 409)

    [booking] = client.api("POST", f"{API}/fetch-and-lock", tokens["erp"],
                           {"worker_id": "tms-1", "topics": [{"topic": "tms_booking", "lock_duration_s": 60}]}).json()
    assert booking["variables"] == {"order_no": "SO-0", "amount": 120, "erp_id": "4711"}
    assert client.api("POST", f"{API}/{booking['id']}/complete", tokens["erp"], {"worker_id": "tms-1"}).status == 200
    instance = client.api("GET", f"/api/v1/instances/{task['instance_id']}", tokens["admin"]).json()
    assert instance["status"] == "completed" and instance["data"]["erp_id"] == "4711"
    kinds = [e.type for e in engine.history(task["instance_id"])]
    assert {"external_task_locked", "external_task_failed", "incident_raised", "incident_retried",
            "external_task_completed"} <= set(kinds)


def test_who_may_call_and_what_is_refused(served) -> None:
    client, tokens, _engine = served
    fetch = {"worker_id": "erp-1", "topics": [ERP]}
    is_problem(client.api("POST", f"{API}/fetch-and-lock", tokens["rep"], fetch), 403)
    is_problem(client.api("POST", f"{API}/fetch-and-lock", "bpm_not-a-token", fetch), 401)
    # An integration token works on external tasks and messages only.
    is_problem(client.api("GET", "/api/v1/instances", tokens["erp_scoped"]), 403)
    bad = client.api("POST", f"{API}/fetch-and-lock", tokens["erp"], {"worker_id": "", "topics": [{"topic": "t", "lock_duration_s": 0}]})
    assert is_problem(bad, 422)["errors"]
    is_problem(client.api("POST", f"{API}/no-such-task/complete", tokens["erp"], {"worker_id": "erp-1"}), 404)
    assert client.api("GET", f"{API}?status=open", tokens["rep"]).status == 403
    document = client.send("GET", "/api/v1/openapi.json").json()
    for path in ("/fetch-and-lock", "/{task_id}/complete", "/{task_id}/failure", "/{task_id}/extend-lock"):
        assert f"{API}{path}" in document["paths"]


@pytest.mark.postgres
def test_racing_workers_on_postgres_lock_and_complete_every_task_exactly_once(pg_url: str) -> None:
    engine, tokens = prepare(pg_url, instances=30)
    locked: list[str] = []
    completed: list[str] = []
    conflicts: list[int] = []
    guard = threading.Lock()

    def worker(name: str, port: int) -> None:
        client = HttpClient(port)
        try:
            while True:
                batch = client.api("POST", f"{API}/fetch-and-lock", tokens["erp"],
                                   {"worker_id": name, "max_tasks": 3, "topics": [ERP]}).json()
                if not batch:
                    return
                for task in batch:
                    reply = client.api("POST", f"{API}/{task['id']}/complete", tokens["erp"],
                                       {"worker_id": name, "variables": {"done_by": name}})
                    with guard:
                        locked.append(task["id"])
                        (completed.append(task["id"]) if reply.status == 200 else conflicts.append(reply.status))
        finally:
            client.close()

    with gunicorn(pg_url, workers=3) as server:
        threads = [threading.Thread(target=worker, args=(f"erp-{n}", server.port)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert conflicts == []
        assert len(locked) == len(set(locked)) == 30  # no task was handed to two workers
        assert len(completed) == len(set(completed)) == 30

        # Four requests complete one task at the same moment: one wins, the others are told it is done.
        client = HttpClient(server.port)
        [task] = client.api("POST", f"{API}/fetch-and-lock", tokens["erp"],
                            {"worker_id": "tms-1", "max_tasks": 1, "topics": [{"topic": "tms_booking", "lock_duration_s": 60}]}).json()
        client.close()
        start = threading.Barrier(4)
        statuses: list[int] = []

        def complete_once() -> None:
            racer = HttpClient(server.port)
            start.wait()
            reply = racer.api("POST", f"{API}/{task['id']}/complete", tokens["erp"], {"worker_id": "tms-1"})
            with guard:
                statuses.append(reply.status)
            racer.close()

        racers = [threading.Thread(target=complete_once) for _ in range(4)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(60)
    assert sorted(statuses) == [200, 409, 409, 409]
    assert sum(engine.instance(i).status == "completed" for i in range(1, 31)) == 1
    assert all(engine.instance(i).data["done_by"].startswith("erp-") for i in range(1, 31))
    history = [e.type for e in engine.history(task["instance_id"])]
    assert history.count("external_task_completed") == 2  # the ERP task and the one TMS task, each once
    engine.close()
