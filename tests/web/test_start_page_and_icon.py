"""The start page says who can start a process (可发起), and the browser's icon is served (#15 item 7)."""

from __future__ import annotations

import struct

from flask_babel import gettext


def test_the_start_page_says_who_can_start(app, browser):
    page = browser("rep").get("/start/").get_data(as_text=True)
    assert "Can be started by: Customer service representative" in page
    assert "started by" not in page.replace("Can be started by", "")
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        translated = gettext("Can be started by: %(group)s", group="客服代表")
    chinese = browser("rep")
    chinese.post("/language", {"language": "zh-CN"})
    text = chinese.get("/start/").get_data(as_text=True)
    assert translated in text


def test_favicon_ico_is_a_real_icon(app):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    body = response.get_data()
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind) == (0, 1) and count >= 2
    sizes = []
    for i in range(count):
        width, _height, _colours, _zero, _planes, _bits, size, offset = struct.unpack("<BBBBHHII", body[6 + 16 * i:22 + 16 * i])
        assert body[offset:offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + size <= len(body)
        sizes.append(width)
    assert {16, 32} <= set(sizes)
    assert "max-age" in response.headers.get("Cache-Control", "")


def test_the_svg_mark_is_served(app):
    response = app.test_client().get("/static/favicon.svg")
    assert response.status_code == 200 and response.get_data(as_text=True).lstrip().startswith("<svg")


def test_process_keys_are_for_designers(browser, web_engine):
    rep_page = browser("rep").get("/start/").get_data(as_text=True)
    admin_page = browser("admin").get("/start/").get_data(as_text=True)
    assert "<code>complaint</code>" not in rep_page and "<code>complaint</code>" in admin_page
    assert ">Customer complaint</a>" in rep_page


def test_the_start_form_names_the_process_in_the_readers_language(browser, web_engine):
    """A process drawn in Chinese is named in English on an English start form (breadcrumb), and in Chinese in zh-CN."""
    import shutil

    from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES

    for form in SHIPPED_FORMS.glob("*.json"):  # the shipped processes' forms, next to the web fixtures' own
        if not (web_engine.config.forms_dir / form.name).exists():
            shutil.copy(form, web_engine.config.forms_dir / form.name)
    web_engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn", SHIPPED_PROCESSES / "monthly_settlement.bpmn"],
                      actor="designer")
    english = browser("admin").get("/start/monthly_settlement", headers={"Accept-Language": "en"}).get_data(as_text=True)
    crumbs = english[english.index('class="crumbs"'):]
    assert "› Monthly settlement</p>" in crumbs[:crumbs.index("</p>") + 4]
    chinese = browser("admin").get("/start/monthly_settlement", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    crumbs = chinese[chinese.index('class="crumbs"'):]
    assert "› 营业收入结算</p>" in crumbs[:crumbs.index("</p>") + 4]
