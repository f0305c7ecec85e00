"""The auditor's verify page with per-instance chains and checkpoints (#19): intact, then a deleted instance chain."""

from __future__ import annotations

from sqlalchemy import delete

from engine.cli.serve import DEMO_PASSWORD
from engine.passwords import hash_password
from engine.persistence import AuditChainHead, AuditEvent
from engine.scheduling.worker import Worker
from engine.services import audit
from tests.e2e.browser import sign_in


def test_verify_page_shows_checkpoints_and_a_deleted_chain(live_server, chromium, screenshots):
    engine = live_server.engine
    engine.add_user("auditor", ["auditor"], password_hash=hash_password(DEMO_PASSWORD))
    with engine.transaction() as session:
        for instance_id in (901, 902, 901, 903):
            audit.record(session, "note_added", "alice", instance_id=instance_id, data={"note": "checked"})
    assert Worker(engine, owner="e2e").checkpoint_audit() is not None
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/audit/verify")
    text = page.locator("main").inner_text()
    assert "The audit chain is intact." in text and "Chains: 4 (one per instance). Checkpoints: 1," in text
    page.screenshot(path=str(screenshots / "audit-verify-chains.png"), full_page=True)
    with engine.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.chain_key == 902))
        session.execute(delete(AuditChainHead).where(AuditChainHead.chain_key == 902))
    page.goto(f"{live_server.url}/audit/verify")
    text = page.locator("main").inner_text()
    assert "The audit chain is broken." in text and "chain 902: row at position 1, recorded by checkpoint" in text
    assert "Rows of chain 902 are missing from the table, from position 1." in text
    page.screenshot(path=str(screenshots / "audit-verify-deleted-chain.png"), full_page=True)
    context.close()
