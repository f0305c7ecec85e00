"""/api/v1/customers/{id}/grades and /api/v1/customers/growth: the grade history (anyone with a token) and the
business growth (the department and its managers)."""

from __future__ import annotations

from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_grade_history_and_growth_over_the_api(api_as):
    admin, rep, ops = api_as("admin"), api_as("rep"), api_as("ops")
    acme = admin.post("/customers", {"name": "ACME Logistics", "grade": 3, "owner": "rep"}).get_json()
    changed = admin.post(f"/customers/{acme['id']}", {"grade": 1, "grade_reason": "战略客户"})
    assert changed.status_code == 200 and "grade_reason" not in changed.get_json()
    history = rep.get(f"/customers/{acme['id']}/grades")
    assert history.status_code == 200, history.get_data(as_text=True)
    assert [(h["old_grade"], h["new_grade"], h["reason"], h["source"], h["decided_by"]) for h in history.get_json()] == [
        (3, 1, "战略客户", "register", "admin"), (None, 3, "", "register", "admin")]
    assert_problem(rep.get("/customers/999/grades"), 404, "not-found")

    growth = rep.get("/customers/growth?month=2026-02")
    assert growth.status_code == 200, growth.get_data(as_text=True)
    (row,) = growth.get_json()
    assert (row["customer"], row["grade"], row["orders"], row["revenue"], row["revenue_mom"]) == (
        "ACME Logistics", 1, 0, None, None)
    assert_problem(rep.get("/customers/growth?month=2026-13"), 422, "validation")
    assert_problem(rep.get("/customers/growth?month=0001-02"), 400, "bad-request")  # no year before it
    assert_problem(ops.get("/customers/growth?month=2026-02"), 403, "forbidden")
