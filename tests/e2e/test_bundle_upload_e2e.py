"""In a real browser: a designer uploads a process bundle as one .zip (BPMN, catalogue, forms in forms/), sees its
files listed on the validate page, deploys it, fills the task's form from the bundle, and downloads the version's
bundle; an unsafe zip is refused with one line. Screenshots: bundle_validate_en.png, bundle_refused_zh.png,
bundle_version_en.png."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from engine.cli.serve import DEMO_PASSWORD
from engine.passwords import hash_password
from engine.services.definitions import list_definitions
from tests.e2e.browser import sign_in
from tests.engine.test_bundle_deploys import BPMN, CATALOGUE, SCHEMA, UI


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_designer_deploys_a_zip_bundle_in_the_browser(live_server, chromium, screenshots, tmp_path):
    engine, base = live_server.engine, live_server.url
    engine.add_user("designer", ["designer"], password_hash=hash_password(DEMO_PASSWORD))
    bundle = _zip(tmp_path / "callback.zip", {
        "callback/callback.bpmn": BPMN.format(name="客户回电", form="callback_result").encode("utf-8"),
        "callback/callback.i18n.json": json.dumps(CATALOGUE, ensure_ascii=False).encode("utf-8"),
        "callback/forms/callback_result.schema.json": json.dumps(SCHEMA).encode("utf-8"),
        "callback/forms/callback_result.ui.json": json.dumps(UI, ensure_ascii=False).encode("utf-8")})
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    sign_in(page, base, "designer")
    page.goto(f"{base}/definitions/")
    page.set_input_files("#files", str(bundle))
    page.get_by_role("button", name="Validate").click()
    page.wait_for_selector(".verdict.ok")
    listed = page.locator("header.page-head").inner_text()
    for name in ("callback.bpmn", "callback.i18n.json", "callback_result.schema.json", "callback_result.ui.json"):
        assert name in listed
    assert "Call-back" in page.locator(".verdict.ok").inner_text()
    page.screenshot(path=str(screenshots / "bundle_validate_en.png"), full_page=True)
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_selector(".flash, [role=status], .alert", state="attached")
    with engine.transaction() as session:
        [version] = [d for d in list_definitions(session) if d.process_key == "callback"]

    instance = engine.start("callback", actor="rep")
    [task] = engine.instance(instance.id).tasks
    rep = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    sign_in(rep, base, "rep")
    rep.goto(f"{base}/tasks/{task.id}")
    assert "结果" in rep.locator("main").inner_text()  # the label comes from the bundle's form, in Chinese
    rep.context.close()

    page.goto(f"{base}/definitions/{version.id}")
    assert page.locator("#download-bundle").get_attribute("href") == f"/definitions/{version.id}/bundle.zip"
    page.screenshot(path=str(screenshots / "bundle_version_en.png"), full_page=True)
    with page.expect_download() as download_info:
        page.locator("#download-bundle").click()
    downloaded = Path(download_info.value.path())
    with zipfile.ZipFile(downloaded) as archive:
        assert "forms/callback_result.ui.json" in archive.namelist()
    context.close()

    zh = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    sign_in(zh, base, "designer")
    zh.goto(f"{base}/definitions/")
    zh.set_input_files("#files", str(_zip(tmp_path / "bad.zip", {"../../etc/evil.bpmn": b"<x/>"})))
    zh.locator("form.upload button[type=submit]").click()
    problems = zh.locator("ul.problems").inner_text()
    assert "bad.zip: 压缩包条目 '../../etc/evil.bpmn' 指向部署包之外" in problems
    zh.screenshot(path=str(screenshots / "bundle_refused_zh.png"), full_page=True)
    zh.context.close()
