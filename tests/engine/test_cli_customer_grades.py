"""``bpm customers grades`` / ``bpm customers growth``: the grade history and the business growth from the command line."""

from __future__ import annotations

import json

from tests.engine.test_cli import bpm  # noqa: F401  (the CLI runner fixture)


def test_grade_history_and_growth_from_the_command_line(bpm) -> None:  # noqa: F811
    bpm("users", "add", "rep", "--group", "cs_rep")
    bpm("users", "add", "boss", "--group", "admin")
    bpm("customers", "add", "华东物流有限公司", "--grade", "3", "--owner", "rep", "--user", "boss")
    bpm("customers", "add", "华东物流有限公司", "--grade", "2", "--grade-reason", "年收入超 500 万", "--user", "boss")
    bpm("customers", "add", "华东物流有限公司", "--note", "不改等级", "--user", "boss")  # no grade change: no entry
    history = json.loads(bpm("customers", "grades", "华东物流有限公司", "--json").output)
    assert [(h["old_grade"], h["new_grade"], h["reason"], h["source"], h["decided_by"]) for h in history] == [
        (3, 2, "年收入超 500 万", "register", "boss"), (None, 3, "", "register", "boss")]
    assert set(history[0]) == {"id", "customer", "old_grade", "new_grade", "reason", "source", "period", "proposed_by",
                               "decided_by", "decided_at", "instance_id"}
    text = bpm("customers", "grades", "华东物流有限公司").output.splitlines()
    assert "3 -> 2" in text[0] and "年收入超 500 万" in text[0] and "- -> 3" in text[1]
    missing = bpm("customers", "grades", "Nope", ok=False)
    assert missing.exit_code == 1 and missing.output.strip() == "error: no customer 'Nope' in the register"

    growth = json.loads(bpm("customers", "growth", "2026-02", "--json").output)
    assert growth == [{"customer": "华东物流有限公司", "grade": 2, "owner": "rep", "currency": None, "revenue": None,
                       "revenue_last_month": None, "revenue_last_year": None, "revenue_mom": None, "revenue_yoy": None,
                       "orders": 0, "orders_last_month": 0, "orders_last_year": 0, "orders_mom": None,
                       "orders_yoy": None}]
    bad = bpm("customers", "growth", "2026-2", ok=False)
    assert bad.exit_code == 1 and "month must be YYYY-MM" in bad.output and "Traceback" not in bad.output
