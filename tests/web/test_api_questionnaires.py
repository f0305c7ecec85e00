"""/api/v1/questionnaires: staff read the questionnaires with their links, state and answers, and the survey
satisfaction of a period (#17)."""

from __future__ import annotations

from engine import Engine
from tests.web.test_api_fixtures import assert_problem
from tests.web.test_portal_questionnaires import ALL_SATISFIED, survey  # noqa: F401 (the fixture)

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_staff_read_the_link_then_the_answers_and_the_satisfaction(api_as, browser, web_engine: Engine, survey):  # noqa: F811
    instance_id, token = survey
    rep = api_as("rep")
    listed = rep.get("/questionnaires?customer=ACME%20Logistics&kind=survey")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    (q,) = listed.get_json()
    assert (q["instance_id"], q["state"], q["url"]) == (instance_id, "open", f"http://localhost/portal/q/{token}")
    assert rep.get(f"/questionnaires/of-instance/{instance_id}").get_json()["id"] == q["id"]
    assert_problem(rep.get("/questionnaires/of-instance/999999"), 404, "not-found")
    assert rep.get("/questionnaires?kind=nonsense").status_code in (400, 422)
    assert api_as(None).get("/questionnaires").status_code == 401

    b = browser()
    b.get(f"/portal/q/{token}")
    assert b.post(f"/portal/q/{token}", {**ALL_SATISFIED, "billing": "unsatisfied",
                                         "billing_comment": "发票晚到"}).status_code == 200
    answered = rep.get(f"/questionnaires/of-instance/{instance_id}").get_json()
    assert (answered["state"], answered["url"], answered["answered_via"]) == ("answered", None, "portal")
    assert answered["answers"]["billing"] == {"rating": "unsatisfied", "comment": "发票晚到"}
    stats = api_as("head").get("/questionnaires/satisfaction").get_json()
    assert (stats["answered"], stats["items"], stats["satisfied_items"]) == (1, 6, 5)
    assert stats["per_item"]["billing"] == {"answered": 1, "satisfied": 0, "rate": 0.0}
