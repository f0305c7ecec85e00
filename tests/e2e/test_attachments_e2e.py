"""In a real browser, in zh-CN: attach a photo by choosing it and a PDF by dropping it on the task page; the task
form keeps what was typed, the photo's thumbnail and the PDF appear, and the PDF opens in place.

Screenshot: task_attachments_zh.png.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
def _pdf() -> bytes:
    page = Image.new("RGB", (595, 300), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((40, 40, 555, 260), outline=(11, 92, 173), width=6)
    draw.line((80, 200, 300, 230, 520, 190), fill=(20, 20, 20), width=4)  # a signature on the delivery note
    out = io.BytesIO()
    page.save(out, "PDF")
    return out.getvalue()


def _photo() -> bytes:
    image = Image.new("RGB", (800, 600), (235, 225, 205))
    draw = ImageDraw.Draw(image)
    draw.rectangle((180, 140, 620, 460), fill=(160, 110, 60), outline=(90, 60, 30), width=12)
    draw.line((180, 140, 620, 460), fill=(90, 60, 30), width=10)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def test_attach_a_photo_and_drop_a_pdf_on_the_task_page(live_server, chromium, screenshots, tmp_path):
    engine = live_server.engine
    complaint = engine.start("complaint", {"customer": "华东物流", "description": "两箱外包装破损"}, "rep",
                             business_key="SO-7781")
    [task] = engine.tasks(instance_id=complaint.id)
    engine.claim(task.id, "rep")
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    sign_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}/tasks/{task.id}")
    page.fill("#f-resolution", "已安排补发两箱")
    photo = tmp_path / "破损照片.jpg"
    photo.write_bytes(_photo())

    page.set_input_files("form.attach-form input[type=file]", str(photo))  # choosing files sends them at once
    thumb = page.locator("section.attachments img.thumb")
    thumb.wait_for(state="visible")
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalWidth <= 240")
    assert page.input_value("#f-resolution") == "已安排补发两箱", "the task form stays as typed"

    encoded = base64.b64encode(_pdf()).decode()
    page.evaluate("""(encoded) => {
        const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([bytes], "签收单.pdf", {type: "application/pdf"}));
        const zone = document.querySelector("[data-drop-zone]");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: files, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
    }""", encoded)
    page.locator("section.attachments .attachment-name", has_text="签收单.pdf").wait_for()
    assert page.locator("section.attachments .attachment").count() == 2
    page.locator("section.attachments .pdf-view summary").click()
    frame = page.locator("section.attachments .pdf-view iframe")
    frame.wait_for(state="visible")
    source = frame.get_attribute("src")
    served = page.request.get(f"{live_server.url}{source}")
    assert served.headers["content-type"] == "application/pdf" and served.headers["x-frame-options"] == "SAMEORIGIN"
    assert served.headers["content-disposition"].startswith("inline;")
    frame.element_handle().content_frame().wait_for_load_state()
    assert page.input_value("#f-resolution") == "已安排补发两箱"

    page.evaluate("""() => {
        const files = new DataTransfer();
        files.items.add(new File(["<html><script>alert(1)</script></html>"], "发票.pdf", {type: "application/pdf"}));
        const zone = document.querySelector("[data-drop-zone]");
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
    }""")
    status = page.locator("form.attach-form .attach-status.error")
    status.wait_for()
    assert "发票.pdf" in status.inner_text()
    page.locator("section.attachments").scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # Chromium's PDF viewer paints in its own process: nothing to wait on but time
    page.screenshot(path=str(screenshots / "task_attachments_zh.png"), full_page=True)
    assert [a.filename for a in engine.attachments(complaint.id, "rep")] == ["破损照片.jpg", "签收单.pdf"]
    history = [e for e in engine.history(complaint.id) if e.type == "attachment_added"]
    assert [e.data["media_type"] for e in history] == ["image/jpeg", "application/pdf"]
    context.close()
