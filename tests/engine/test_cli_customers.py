"""``bpm customers`` / ``bpm contracts`` / ``bpm register-run``: the register from the command line, JSON shapes,
one-line refusals, and a contract that starts its renewal."""

from __future__ import annotations

import json
from pathlib import Path

from engine.config import SHIPPED_PROCESSES
from tests.engine.test_cli import bpm  # noqa: F401  (the CLI runner fixture)


def test_the_customer_register_from_the_command_line(bpm, tmp_path: Path) -> None:  # noqa: F811
    bpm("users", "add", "rep", "--group", "cs_rep")
    added = json.loads(bpm("customers", "add", "华东物流有限公司", "--grade", "2", "--owner", "rep", "--json").output)
    assert {k: added[k] for k in ("name", "grade", "key_account", "active", "owner")} == {
        "name": "华东物流有限公司", "grade": 2, "key_account": True, "active": True, "owner": "rep"}
    changed = json.loads(bpm("customers", "add", "华东物流有限公司", "--grade", "4", "--json").output)
    assert (changed["id"], changed["grade"], changed["key_account"], changed["owner"]) == (added["id"], 4, False, "rep")
    bad = bpm("customers", "add", "X", "--owner", "nobody", ok=False)
    assert bad.exit_code == 1 and bad.output.strip() == "error: no user 'nobody' (the customer's owner)"
    csv = tmp_path / "customers.csv"
    csv.write_text("name,grade,owner,active\nBeta Foods,1,,yes\nGamma Retail,3,,no\n", "utf-8")
    assert bpm("customers", "import", str(csv)).output.strip() == "2 customer(s) saved from customers.csv"
    active = json.loads(bpm("customers", "list", "--active", "--json").output)
    assert [c["name"] for c in active] == ["Beta Foods", "华东物流有限公司"]
    csv.write_text("name,grade\nDelta,9\n", "utf-8")
    refused = bpm("customers", "import", str(csv), ok=False)
    assert refused.exit_code == 1 and "line 2: grade must be from 1 to 5" in refused.output
    assert "Traceback" not in refused.output


def test_a_contract_from_the_command_line_starts_its_renewal(bpm) -> None:  # noqa: F811
    bpm("deploy", str(SHIPPED_PROCESSES / "contract_renewal.bpmn"))
    bpm("customers", "add", "ACME Logistics")
    saved = json.loads(bpm("contracts", "add", "HT-9", "--customer", "ACME Logistics", "--kind", "agreement",
                           "--expires-on", "2026-12-31", "--json").output)
    assert {k: saved[k] for k in ("number", "customer", "kind", "expires_on", "status")} == {
        "number": "HT-9", "customer": "ACME Logistics", "kind": "agreement", "expires_on": "2026-12-31", "status": "active"}
    started = json.loads(bpm("instances", "--json").output)
    assert [(i["process_key"], i["business_key"]) for i in started] == [("contract_renewal", "HT-9 2026-12-31")]
    assert json.loads(bpm("register-run", "--json").output) == {"settlements": 0, "renewals": 0, "gradings": 0,
                                                               "reviews": 0, "register_tasks": 0, "failed": 0}
    missing = bpm("contracts", "add", "HT-10", "--customer", "Nope", "--expires-on", "2026-12-31", ok=False)
    assert missing.exit_code == 1 and missing.output.strip() == "error: no customer 'Nope' in the register"
    listed = json.loads(bpm("contracts", "list", "--json").output)
    assert [c["number"] for c in listed] == ["HT-9"]
