"""Bundles through the web page and the API: several files or a .zip, forms versioned with the process, staging in
the database so that any web server sharing the database can take the deploy."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from engine import Engine, EngineConfig
from engine.config import SHIPPED_CALENDARS
from engine.services.definitions import list_definitions
from tests.engine.test_bundle_deploys import BPMN, CATALOGUE, SCHEMA, UI
from tests.web.conftest import Browser
from tests.web.test_api_fixtures import assert_problem
from web import create_app

pytest_plugins = ["tests.web.test_api_fixtures"]

FILES = {
    "callback.bpmn": BPMN.format(name="客户回电", form="callback_result").encode("utf-8"),
    "callback.i18n.json": json.dumps(CATALOGUE, ensure_ascii=False).encode("utf-8"),
    "callback_result.schema.json": json.dumps(SCHEMA).encode("utf-8"),
    "callback_result.ui.json": json.dumps(UI, ensure_ascii=False).encode("utf-8"),
}


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def upload(b: Browser, files: dict[str, bytes]):
    b.get("/definitions/")
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return b.post("/definitions/validate", data, content_type="multipart/form-data")


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def versions(engine: Engine, key: str = "callback") -> list[tuple[int, dict | None]]:
    with engine.transaction() as session:
        found = [(d.version, d.id) for d in list_definitions(session) if d.process_key == key]
    return [(version, engine.form(definition_id, "callback_result")) for version, definition_id in found]


def test_a_multi_file_upload_deploys_the_forms_with_the_version(browser, web_engine):
    designer = browser("designer")
    checked = upload(designer, FILES)
    text = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "callback_result.schema.json" in text and "version 1" in text
    assert re.search(r"Forms:\s*<code>callback_result</code> \(in these files\)", text)
    assert designer.post("/definitions/deploy", {"token": token_of(checked)}).status_code == 302
    [(version, form)] = versions(web_engine)
    assert version == 1 and form is not None and form.label("outcome", "zh-CN") == "结果"
    # The task page renders the form stored with the version, in the user's language.
    instance = web_engine.start("callback", actor="rep")
    [task] = web_engine.instance(instance.id).tasks
    page = browser("rep").get(f"/tasks/{task.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "结果" in page and 'name="outcome"' in page


def test_a_zip_upload_is_one_bundle_and_a_changed_form_alone_makes_a_new_version(browser, web_engine):
    designer = browser("designer")
    first = upload(designer, {"callback.zip": zipped({f"callback/{k}": v for k, v in FILES.items()})})
    assert "callback_result.ui.json" in first.get_data(as_text=True)  # the page lists the bundle's files
    assert designer.post("/definitions/deploy", {"token": token_of(first)}).status_code == 302
    ui = {**UI, "fields": {**UI["fields"], "note": {"label": {"zh-CN": "回电备注", "en": "Call note"}}}}
    changed = upload(designer, {"callback_result.schema.json": FILES["callback_result.schema.json"],
                                "callback_result.ui.json": json.dumps(ui, ensure_ascii=False).encode("utf-8")})
    assert "version 2" in changed.get_data(as_text=True)
    bpmn_only = upload(designer, {"callback.bpmn": FILES["callback.bpmn"].replace("客户回电".encode(), "回电".encode())})
    assert "<code>callback_result</code> (kept from the deployed version)" in bpmn_only.get_data(as_text=True)
    assert designer.post("/definitions/deploy", {"token": token_of(changed)}).status_code == 302
    assert [(v, f.label("note", "en")) for v, f in versions(web_engine)] == [(1, "Note"), (2, "Call note")]


def test_an_unsafe_zip_and_a_stray_file_are_refused_on_the_page(browser, web_engine):
    designer = browser("designer")
    refused = upload(designer, {"bad.zip": zipped({"../../etc/evil.bpmn": b"<x/>"})})
    assert refused.status_code == 422
    assert ("bad.zip: archive entry &#39;../../etc/evil.bpmn&#39; points outside the bundle (absolute path or &#39;..&#39;)"
            in refused.get_data(as_text=True))
    stray = upload(designer, {**FILES, "notes.txt": b"x"})
    assert stray.status_code == 422 and "notes.txt: only .bpmn, .dmn, .i18n.json, forms" in stray.get_data(as_text=True)
    assert versions(web_engine) == []


def test_a_file_staged_on_one_server_is_deployed_on_another_sharing_only_the_database(
        tmp_path: Path, web_engine: Engine, clock, monkeypatch) -> None:
    # A second engine on the same database, with its own (empty) forms folder and its own instance folder.
    empty_forms = tmp_path / "server-b-forms"
    empty_forms.mkdir()
    other = Engine(config=EngineConfig(database_url=web_engine.config.database_url, forms_dir=empty_forms,
                                       calendars_dir=SHIPPED_CALENDARS), clock=clock)
    apps = []
    for name, engine in (("server-a", web_engine), ("server-b", other)):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # the app's instance folder is ./instance of where it starts
        apps.append(create_app({"ENGINE": engine, "SECRET_KEY": f"secret-{name}", "TESTING": True}))
    assert apps[0].instance_path != apps[1].instance_path
    a, b = (Browser(app.test_client()) for app in apps)
    for client in (a, b):
        assert client.login("designer").status_code == 302
    token = token_of(upload(a, FILES))
    deployed = b.post("/definitions/deploy", {"token": token})
    assert deployed.status_code == 302, deployed.get_data(as_text=True)
    assert [v for v, _ in versions(web_engine)] == [1]
    assert a.post("/definitions/deploy", {"token": token}).status_code == 404  # used once, on any server
    for name in ("server-a", "server-b"):
        leftovers = [p for p in (tmp_path / name).rglob("*") if p.is_file() and p.name != "secret_key"]
        assert leftovers == [], f"{name} kept files on its disk: {leftovers}"
    other.close()


def test_someone_else_cannot_deploy_a_staged_upload(browser, web_engine):
    token = token_of(upload(browser("designer"), FILES))
    assert browser("admin").post("/definitions/deploy", {"token": token}).status_code == 404
    assert browser("designer").post("/definitions/deploy", {"token": token}).status_code == 302


def _api_files(files: dict[str, bytes]) -> dict:
    return {"files": [{"name": name, "content": content.decode("utf-8")} for name, content in files.items()]}


def test_the_api_deploys_forms_and_zip_bundles(api_as, web_engine):
    designer = api_as("designer")
    checked = designer.post("/definitions/validate", _api_files({**FILES, "spare.schema.json": FILES[
        "callback_result.schema.json"]})).get_json()
    assert checked["ok"] is True and checked["processes"] == ["callback"]
    assert [w["file"] for w in checked["warnings"]] == ["spare.schema.json"]
    first = designer.post("/definitions", _api_files(FILES))
    assert first.status_code == 201 and [d["version"] for d in first.get_json()["deployed"]] == [1]
    ui = {**UI, "title": {"zh-CN": "回电记录", "en": "Call-back record"}}
    bundle = zipped({**FILES, "forms/callback_result.ui.json": json.dumps(ui).encode("utf-8")} | {
        "callback_result.ui.json": json.dumps(ui).encode("utf-8")})
    dup = designer.post("/definitions", {"files": [{"name": "b.zip", "content_base64": base64.b64encode(bundle).decode()}]})
    body = assert_problem(dup, 422, "invalid-definition")
    assert "appears twice" in body["problems"][0]["message"]
    bundle = zipped({**FILES, "callback_result.ui.json": json.dumps(ui).encode("utf-8")})
    second = designer.post("/definitions", {"files": [{"name": "b.zip",
                                                        "content_base64": base64.b64encode(bundle).decode()}]})
    assert second.status_code == 201 and [d["version"] for d in second.get_json()["deployed"]] == [2]
    assert versions(web_engine)[-1][1].title("en") == "Call-back record"


@pytest.mark.parametrize(("file", "field"), [
    ({"name": "b.zip", "content": "PK"}, "content_base64"),
    ({"name": "b.zip", "content_base64": "not base64!"}, "content_base64"),
    ({"name": "a.bpmn"}, "content"),
    ({"name": "notes.txt", "content": "x"}, "name"),
])
def test_the_api_refuses_malformed_files(api_as, file, field):
    body = assert_problem(api_as("designer").post("/definitions", {"files": [file]}), 422, "validation")
    assert field in json.dumps(body)


def test_a_version_downloads_as_its_bundle_and_deploying_it_again_changes_nothing(api_as, browser, web_engine):
    designer = api_as("designer")
    [deployed] = designer.post("/definitions", _api_files(FILES)).get_json()["deployed"]
    bundle = designer.get(f"/definitions/{deployed['id']}/bundle")
    assert bundle.status_code == 200 and bundle.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        names = sorted(archive.namelist())
        assert json.loads(archive.read("forms/callback_result.ui.json")) == UI
        assert archive.read("callback.bpmn") == FILES["callback.bpmn"]
    assert names == ["callback.bpmn", "callback.i18n.json", "forms/callback_result.schema.json",
                     "forms/callback_result.ui.json"]
    again = designer.post("/definitions", {"files": [{"name": "callback-v1.zip",
                                                       "content_base64": base64.b64encode(bundle.data).decode()}]})
    assert again.status_code == 200 and again.get_json()["deployed"] == []
    assert_problem(designer.get("/definitions/999/bundle"), 404, "not-found")
    page = browser("designer").get(f"/definitions/{deployed['id']}")
    assert f'href="/definitions/{deployed["id"]}/bundle.zip"' in page.get_data(as_text=True)
    download = browser("designer").client.get(f"/definitions/{deployed['id']}/bundle.zip")  # binary: no CSRF scan
    assert download.data == bundle.data and 'filename="callback-v1.zip"' in download.headers["Content-Disposition"]
    assert browser("rep").client.get(f"/definitions/{deployed['id']}/bundle.zip").status_code == 403


def test_the_api_takes_a_multipart_bundle_like_curl_sends_it(api_as, web_engine):
    designer = api_as("designer")

    def parts(files: dict[str, bytes]) -> dict:
        return {"data": {"files": [(io.BytesIO(content), name) for name, content in files.items()]},
                "content_type": "multipart/form-data"}

    checked = designer.post("/definitions/bundle/validate", **parts({"callback.zip": zipped(FILES)}))
    assert checked.status_code == 200 and checked.get_json()["processes"] == ["callback"], checked.get_json()
    first = designer.post("/definitions/bundle", **parts(FILES))
    assert first.status_code == 201 and [d["version"] for d in first.get_json()["deployed"]] == [1]
    again = designer.post("/definitions/bundle", **parts({"callback.zip": zipped(FILES)}))
    assert again.status_code == 200 and again.get_json()["deployed"] == []
    unsafe = designer.post("/definitions/bundle", **parts({"bad.zip": zipped({"/etc/evil.bpmn": b"<x/>"})}))
    assert "points outside the bundle" in assert_problem(unsafe, 422, "invalid-definition")["problems"][0]["message"]
    assert_problem(api_as("rep").post("/definitions/bundle", **parts(FILES)), 403, "forbidden")
