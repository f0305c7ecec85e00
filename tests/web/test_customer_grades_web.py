"""The grade history on the customer page (客户台账) and the business-growth page (月度业务增长统计)."""

from __future__ import annotations

from engine.services.customers import list_customers
from engine.services.grading import grade_history


def test_a_grade_change_with_its_reason_shows_in_the_customers_grade_history(browser, web_engine):
    admin = browser("admin")
    assert admin.post("/admin/customers", {"name": "华东物流有限公司", "grade": "3", "owner": "rep", "active": "1"}
                      ).status_code == 302
    with web_engine.transaction() as session:
        (acme,) = list_customers(session)
    page = admin.get(f"/admin/customers/{acme.id}").get_data(as_text=True)
    assert "Grade history" in page and "Register edit" in page and 'name="grade_reason"' in page
    changed = admin.post(f"/admin/customers/{acme.id}", {"name": "华东物流有限公司", "grade": "1", "owner": "rep",
                                                        "active": "1", "grade_reason": "年收入超 500 万"})
    assert changed.status_code == 302
    with web_engine.transaction() as session:
        latest = grade_history(session, "华东物流有限公司")[0]
    assert (latest.old_grade, latest.new_grade, latest.reason, latest.decided_by) == (3, 1, "年收入超 500 万", "admin")
    page = admin.get(f"/admin/customers/{acme.id}").get_data(as_text=True)
    assert "年收入超 500 万" in page and "3 → <strong>1</strong>" in page


def test_the_growth_page_is_for_the_department(browser, web_engine):
    browser("admin").post("/admin/customers", {"name": "ACME Logistics", "grade": "2", "owner": "rep", "active": "1"})
    rep = browser("rep")
    page = rep.get("/reports/growth?month=2026-02")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Business growth" in text and "ACME Logistics" in text
    assert "2026-01" in text and "2025-02" in text  # the columns compared with
    assert 'href="/reports/growth"' in text  # in the navigation
    bad = rep.get("/reports/growth?month=2026-13")
    assert bad.status_code == 422 and "YYYY-MM" in bad.get_data(as_text=True)
    assert browser("ops").get("/reports/growth").status_code == 403
    assert 'href="/reports/growth"' not in browser("ops").get("/").get_data(as_text=True)
