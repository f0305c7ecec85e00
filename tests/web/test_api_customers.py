"""/api/v1/customers and /api/v1/contracts: read by anyone with a token, changed by admins, problems for the rest."""

from __future__ import annotations

from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_admins_keep_the_register_and_everyone_reads_it(api_as):
    admin, rep = api_as("admin"), api_as("rep")
    created = admin.post("/customers", {"name": "华东物流有限公司", "grade": 2, "owner": "rep"})
    assert created.status_code == 201, created.get_data(as_text=True)
    acme = created.get_json()
    assert {k: acme[k] for k in ("name", "grade", "key_account", "active", "owner", "note")} == {
        "name": "华东物流有限公司", "grade": 2, "key_account": True, "active": True, "owner": "rep", "note": ""}
    assert_problem(admin.post("/customers", {"name": "华东物流有限公司"}), 409, "conflict")
    assert_problem(admin.post("/customers", {"name": "X", "owner": "nobody"}), 404, "not-found")
    assert_problem(rep.post("/customers", {"name": "Y"}), 403, "forbidden")
    changed = admin.post(f"/customers/{acme['id']}", {"grade": 4, "active": False})
    assert changed.status_code == 200 and (changed.get_json()["grade"], changed.get_json()["key_account"]) == (4, False)
    assert_problem(admin.post("/customers/999", {"grade": 1}), 404, "not-found")
    assert [c["name"] for c in rep.get("/customers").get_json()] == ["华东物流有限公司"]
    assert rep.get("/customers?active=true").get_json() == []

    saved = admin.post("/contracts", {"number": "HT-1", "customer": "华东物流有限公司", "kind": "quote",
                                      "expires_on": "2026-12-31"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert {k: saved.get_json()[k] for k in ("number", "customer", "kind", "expires_on", "status")} == {
        "number": "HT-1", "customer": "华东物流有限公司", "kind": "quote", "expires_on": "2026-12-31", "status": "active"}
    renewed = admin.post("/contracts", {"number": "HT-1", "expires_on": "2027-12-31"}).get_json()
    assert (renewed["kind"], renewed["expires_on"]) == ("quote", "2027-12-31")
    assert_problem(admin.post("/contracts", {"number": "HT-2"}), 400, "bad-request")
    assert_problem(admin.post("/contracts", {"number": "HT-2", "customer": "Nope", "expires_on": "2026-12-31"}),
                   404, "not-found")
    assert [c["number"] for c in rep.get("/contracts?status=active").get_json()] == ["HT-1"]
    assert_problem(api_as(None).get("/contracts"), 401, "unauthorized")
