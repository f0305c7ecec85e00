"""Definition pages: versions, upload → validate (nothing deployed) → deploy, problems as
file:line: element: message, a version's diagram, source and instances."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
COMPLAINT = (HERE / "bpmn" / "complaint.bpmn").read_text("utf-8")
CHANGED = COMPLAINT.replace('name="Customer complaint"', 'name="Customer complaint, revised"')
BROKEN = COMPLAINT.replace('<bpmn:lane id="lane_head" name="cs_head">', '<bpmn:lane id="lane_head" name="night_shift">')


def upload(b, *files, url="/definitions/validate"):
    b.get("/definitions/")
    data = {"files": [(io.BytesIO(content.encode("utf-8")), name) for name, content in files]}
    return b.post(url, data, content_type="multipart/form-data")


def versions(engine, key="complaint"):
    with engine.transaction() as session:
        from engine.services.definitions import list_definitions

        return [d.version for d in list_definitions(session) if d.process_key == key]


def test_designers_and_admins_deploy_auditors_only_read(browser, complaint):
    for user in ("designer", "admin"):
        page = browser(user).get("/definitions/").get_data(as_text=True)
        assert "Customer complaint" in page and 'enctype="multipart/form-data"' in page, user
    auditor = browser("auditor").get("/definitions/").get_data(as_text=True)
    assert "Customer complaint" in auditor and "multipart" not in auditor
    for user in ("rep", "head", "vp"):
        assert browser(user).get("/definitions/").status_code == 403, user
    assert upload(browser("auditor"), ("complaint.bpmn", CHANGED)).status_code == 403
    assert upload(browser("rep"), ("complaint.bpmn", CHANGED)).status_code == 403


def test_validate_deploys_nothing_then_deploy_makes_a_new_version(browser, web_engine):
    designer = browser("designer")
    checked = upload(designer, ("complaint.bpmn", CHANGED))
    text = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "The files are valid." in text and "version 2" in text
    assert versions(web_engine) == [1]
    assert "definition_deployed" not in [e.type for e in _events(web_engine)][2:]
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    deployed = designer.post("/definitions/deploy", {"token": token})
    assert deployed.status_code == 302
    assert versions(web_engine) == [1, 2]
    assert "Deployed Customer complaint, revised version 2." in designer.get("/definitions/").get_data(as_text=True)
    assert designer.post("/definitions/deploy", {"token": token}).status_code == 404  # used once


def _events(engine):
    from engine.services.audit import query_events

    with engine.transaction() as session:
        return query_events(session)


def test_problems_are_listed_as_file_line_element_message(browser, web_engine):
    response = upload(browser("designer"), ("complaint.bpmn", BROKEN), ("notes.txt", "hello"))
    assert response.status_code == 422
    assert ("notes.txt: only .bpmn, .dmn, .i18n.json, forms (.schema.json, .ui.json) and .zip files can be deployed."
            in response.get_data(as_text=True))
    response = upload(browser("designer"), ("complaint.bpmn", BROKEN))
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Nothing was deployed." in text
    assert re.search(r"<code>complaint\.bpmn:\d+: escalate( \([^)]*\))?: user task escalate is in lane &#39;night_shift&#39;", text)
    assert 'name="token"' not in text and versions(web_engine) == [1]
    assert "not well-formed XML" in upload(browser("designer"), ("x.bpmn", "<definitions")).get_data(as_text=True)


def test_unchanged_files_say_so(browser, web_engine):
    designer = browser("designer")
    text = upload(designer, ("complaint.bpmn", COMPLAINT)).get_data(as_text=True)
    assert "Unchanged" in text and "Deploying creates" not in text
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    designer.post("/definitions/deploy", {"token": token})
    assert "Nothing changed" in designer.get("/definitions/").get_data(as_text=True)
    assert versions(web_engine) == [1]


def test_uploads_are_size_limited_and_need_csrf(app, browser):
    designer = browser("designer")
    app.config["MAX_CONTENT_LENGTH"] = 1000
    too_big = upload(designer, ("complaint.bpmn", CHANGED))
    assert too_big.status_code == 413 and "The upload is too large" in too_big.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    no_token = designer.post("/definitions/validate", {"files": (io.BytesIO(b"x"), "a.bpmn")}, csrf=False,
                             content_type="multipart/form-data")
    assert no_token.status_code == 400
    assert upload(designer).status_code == 422  # no file chosen


def test_a_token_belongs_to_its_uploader(browser):
    text = upload(browser("designer"), ("complaint.bpmn", CHANGED)).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    admin = browser("admin")
    assert admin.post("/definitions/deploy", {"token": token}).status_code == 404
    assert admin.post("/definitions/deploy", {"token": "../../etc"}).status_code == 404


def test_staged_uploads_expire(app, browser, web_engine, clock):
    from sqlalchemy import func, select

    from engine.persistence import StagedUpload

    def staged() -> int:
        with web_engine.transaction() as session:
            return session.scalar(select(func.count()).select_from(StagedUpload))

    designer = browser("designer")
    text = upload(designer, ("complaint.bpmn", CHANGED)).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    assert staged() == 1  # in the database, not on this server's disk
    clock.advance(minutes=61)
    assert designer.post("/definitions/deploy", {"token": token}).status_code == 404
    upload(designer, ("complaint.bpmn", CHANGED))  # staging again sweeps the expired upload away
    assert staged() == 1


def test_version_page_shows_diagram_instances_and_source(browser, web_engine, complaint):
    designer = browser("designer")
    definition_id = complaint.definition_id
    page = designer.get(f"/definitions/{definition_id}").get_data(as_text=True)
    assert "<svg" in page and 'data-element-id="handle"' in page
    assert f"#{complaint.id}" in page and "ORD-1001" in page
    assert f'href="/instances/{complaint.id}"' not in page  # designers do not open instances
    assert f'href="/instances/{complaint.id}"' in browser("admin").get(f"/definitions/{definition_id}").get_data(as_text=True)
    source = designer.get(f"/definitions/{definition_id}/source")
    assert source.status_code == 200 and source.get_data(as_text=True) == COMPLAINT
    assert 'filename="complaint-v1.bpmn"' in source.headers["Content-Disposition"]
    assert designer.get("/definitions/999").status_code == 404
    listing = designer.get("/definitions/").get_data(as_text=True)
    assert "1 running, 1 in all" in listing


def test_problems_speak_the_ui_language(browser, web_engine):
    designer = browser("designer")
    assert designer.post("/language", {"language": "zh-CN", "next": "/definitions/"}).status_code == 302
    text = upload(designer, ("complaint.bpmn", BROKEN)).get_data(as_text=True)
    assert re.search(r"<code>complaint\.bpmn:\d+: escalate( \([^)]*\))?: 用户任务 escalate 位于泳道 &#39;night_shift&#39;", text)


ZH_FIRST = COMPLAINT.replace('name="Customer complaint"', 'name="客户投诉"').replace('name="Handle complaint"',
                                                                                  'name="处理投诉"')
CATALOGUE = json.dumps({"source_language": "zh-CN", "translations": {"en": {
    "complaint": "Customer complaint (zh first)", "handle": "Handle complaint"}}}, ensure_ascii=False)


@pytest.mark.parametrize(("language", "heading", "warning"), [
    ("en", "1 warning. The files can be deployed", "have no en text"),
    ("zh-CN", "", "缺少 en 文本")])  # the heading's Chinese comes with the merged catalogue
def test_missing_translations_are_warnings_in_the_ui_language(browser, web_engine, language, heading, warning):
    designer = browser("designer")
    designer.post("/language", {"language": language})
    checked = upload(designer, ("complaint.bpmn", ZH_FIRST), ("complaint.i18n.json", CATALOGUE))
    text = checked.get_data(as_text=True)
    assert checked.status_code == 200 and 'name="token"' in text  # warnings do not stop a deploy
    section = text[text.index('class="card verdict warning"'):text.index("</section>", text.index("verdict warning"))]
    assert heading in section and warning in section
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    designer.post("/definitions/deploy", {"token": token})
    listing = designer.get("/definitions/").get_data(as_text=True)
    assert re.search(r'<p class="flash warning" role="status">[^<]*' + re.escape(warning), listing)


@pytest.mark.parametrize(("language", "name", "other"), [
    ("en", "Customer complaint (zh first)", "客户投诉"), ("zh-CN", "客户投诉", "Customer complaint (zh first)")])
def test_catalogues_are_uploaded_with_their_bpmn_and_names_follow_the_language(browser, web_engine, language, name,
                                                                                other):
    designer = browser("designer")
    designer.post("/language", {"language": language})
    text = upload(designer, ("complaint.bpmn", ZH_FIRST), ("complaint.i18n.json", CATALOGUE)).get_data(as_text=True)
    assert f"<strong>{name}</strong>" in text
    designer.post("/definitions/deploy", {"token": re.search(r'name="token" value="([^"]+)"', text).group(1)})
    assert versions(web_engine) == [1, 2]
    listing = designer.get("/definitions/").get_data(as_text=True)
    assert f"<strong>{name}</strong>" in listing and other not in listing
    page = designer.get(f"/definitions/{_latest_id(web_engine)}").get_data(as_text=True)
    assert re.search(rf"<h1>{re.escape(name)} <span", page)


def _latest_id(engine):
    with engine.transaction() as session:
        from engine.services.definitions import list_definitions

        return max(d.id for d in list_definitions(session) if d.process_key == "complaint")
