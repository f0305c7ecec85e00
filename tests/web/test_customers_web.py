"""The customer register pages (客户台账, admin): list, add and change customers; add a contract, renew it, end it."""

from __future__ import annotations

import shutil

from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.services.customers import list_contracts, list_customers


def _customers(web_engine):
    with web_engine.transaction() as session:
        return {c.name: c for c in list_customers(session)}


def _contracts(web_engine):
    with web_engine.transaction() as session:
        return {c.number: c for c in list_contracts(session)}


def test_an_admin_keeps_the_customer_register(browser, web_engine):
    for form in [*SHIPPED_FORMS.glob("renewal_*.json"), *SHIPPED_FORMS.glob("price_filing*.json")]:
        shutil.copy(form, web_engine.config.forms_dir)
    web_engine.deploy([SHIPPED_PROCESSES / "contract_renewal.bpmn"], actor="designer")
    admin = browser("admin")
    page = admin.get("/admin/customers").get_data(as_text=True)
    assert "Customer register" in page and "No customers yet." in page and 'href="/admin/customers"' in page
    added = admin.post("/admin/customers", {"name": "华东物流有限公司", "grade": "2", "owner": "rep", "active": "1"})
    assert added.status_code == 302
    acme = _customers(web_engine)["华东物流有限公司"]
    assert (acme.grade, acme.key_account, acme.owner, acme.active) == (2, True, "rep", True)
    clash = admin.post("/admin/customers", {"name": "华东物流有限公司", "grade": "3"})
    assert clash.status_code == 422 and "already in the register" in clash.get_data(as_text=True)
    nobody = admin.post("/admin/customers", {"name": "Beta", "owner": "nobody"})
    assert nobody.status_code == 422 and "existing user name" in nobody.get_data(as_text=True)
    assert set(_customers(web_engine)) == {"华东物流有限公司"}

    changed = admin.post(f"/admin/customers/{acme.id}", {"name": "华东物流有限公司", "grade": "4", "owner": ""})
    assert changed.status_code == 302
    acme = _customers(web_engine)["华东物流有限公司"]
    assert (acme.grade, acme.key_account, acme.owner, acme.active) == (4, False, None, False)  # unchecked = inactive
    admin.post(f"/admin/customers/{acme.id}", {"name": "华东物流有限公司", "grade": "4", "active": "1"})

    url = f"/admin/customers/{acme.id}/contracts"
    assert admin.post(url, {"number": "HT-2026-001", "kind": "agreement", "expires_on": "2026-12-31"}).status_code == 302
    assert [(i.process_key, i.business_key) for i in web_engine.instances()] == [("contract_renewal", "HT-2026-001 2026-12-31")]
    page = admin.get(f"/admin/customers/{acme.id}").get_data(as_text=True)
    assert "HT-2026-001" in page and "2026-12-31" in page and "Agreement" in page
    bad = admin.post(url, {"number": "HT-2", "expires_on": "soon"})
    assert bad.status_code == 422 and "must be a date" in bad.get_data(as_text=True)
    renewed = admin.post(url, {"number": "HT-2026-001", "kind": "agreement", "expires_on": "2027-12-31", "status": "active"})
    assert renewed.status_code == 302 and _contracts(web_engine)["HT-2026-001"].expires_on.isoformat() == "2027-12-31"
    assert len(web_engine.instances(process_key="contract_renewal")) == 2  # the renewed term has its own reminder
    admin.post(url, {"number": "HT-2026-001", "kind": "agreement", "expires_on": "2027-12-31", "status": "ended"})
    assert _contracts(web_engine)["HT-2026-001"].status == "ended"
    listed = admin.get("/admin/customers").get_data(as_text=True)
    assert "华东物流有限公司" in listed and "HT-2026-001" in listed


def test_only_admins_see_the_register(browser, web_engine):
    assert browser("rep").get("/admin/customers").status_code == 403
    assert browser("head").post("/admin/customers", {"name": "X"}).status_code == 403
    assert browser("admin").get("/admin/customers/999").status_code == 404
