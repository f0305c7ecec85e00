"""Attachments in the pages and the API: upload (form and fetch), thumbnails, inline PDFs, downloads authorised like
the case — on the database store and on S3 (a moto server process)."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from engine import Engine, EngineConfig, ManualClock
from engine.config import SHIPPED_CALENDARS
from engine.services.attachments import OVERSEERS
from engine.services.users import ensure_groups
from tests.attachment_stores import STORES, s3_endpoint, store_settings  # noqa: F401  (s3_endpoint: fixture)
from tests.web.conftest import HERE, USERS
from web.access import INSTANCE_OVERSEERS

pytest_plugins = ["tests.web.test_api_fixtures"]
LIMIT = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(params=STORES)
def web_engine(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock,
               password_hash: str) -> Iterator[Engine]:
    """The web tests' engine, storing attachments in the database or in S3, with a 1 MB limit per file."""
    forms = tmp_path / "forms"
    shutil.copytree(HERE / "forms", forms)
    config = EngineConfig(database_url=f"sqlite:///{tmp_path / 'web.sqlite3'}", forms_dir=forms,
                          calendars_dir=SHIPPED_CALENDARS, attachment_max_bytes=LIMIT,
                          **store_settings(request))  # type: ignore[arg-type]
    engine = Engine(config=config, clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    for name, groups in USERS.items():
        engine.add_user(name, groups, password_hash=password_hash)
    engine.deploy([HERE / "bpmn"], actor="designer")
    yield engine
    engine.close()


def _upload(b, instance_id: int, name: str, content: bytes, **fields: str):
    return b.post(f"/instances/{instance_id}/attachments", {"file": (io.BytesIO(content), name), **fields},
                  content_type="multipart/form-data")


def test_upload_on_the_task_page_shows_a_thumbnail_and_serves_the_file(browser, web_engine, complaint, task_of):
    task = task_of(web_engine, complaint, "handle")
    rep = browser("rep")
    web_engine.claim(task.id, "rep")
    page = rep.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "data-drop-zone" in page and f'name="task_id" value="{task.id}"' in page and "attachments.js" in page
    picture = png()
    done = _upload(rep, complaint.id, "破损.png", picture, task_id=task.id)
    assert done.status_code == 302 and done.location.endswith(f"/tasks/{task.id}#attachments")
    [added] = web_engine.attachments(complaint.id, "rep")
    assert (added.filename, added.media_type, added.task_id) == ("破损.png", "image/png", task.id)
    page = rep.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"/instances/attachments/{added.id}/thumbnail" in page and "破损.png" in page
    thumb = rep.client.get(f"/instances/attachments/{added.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 240
    got = rep.client.get(f"/instances/attachments/{added.id}")
    assert got.data == picture and got.mimetype == "image/png" and got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"] == "inline; filename=\"__.png\"; filename*=UTF-8''%E7%A0%B4%E6%8D%9F.png"
    forced = rep.client.get(f"/instances/attachments/{added.id}?download=1")
    assert forced.headers["Content-Disposition"].startswith("attachment;")
    history = rep.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "attached 破损.png to" in history and added.sha256 in history
    assert rep.get(f"/instances/{complaint.id}").get_data(as_text=True).count(f"attachments/{added.id}/thumbnail") == 1


def test_fetch_uploads_return_the_fresh_section_and_refusals_say_why(browser, web_engine, complaint, task_of):
    task = task_of(web_engine, complaint, "handle")
    rep = browser("rep")
    rep.get(f"/instances/{complaint.id}")
    fetched = {"headers": {"X-Requested-With": "fetch"}}
    ok = rep.post(f"/instances/{complaint.id}/attachments", {"file": (io.BytesIO(PDF), "pod.pdf")},
                  content_type="multipart/form-data", **fetched)
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and 'class="card attachments"' in html and "pod.pdf" in html and "<iframe" in html
    fake = rep.post(f"/instances/{complaint.id}/attachments", {"file": (io.BytesIO(b"MZ" + b"\x00" * 300), "x.pdf")},
                    content_type="multipart/form-data", **fetched)
    assert fake.status_code == 400 and "application/x-msdownload" in fake.get_json()["error"]
    big = rep.post(f"/instances/{complaint.id}/attachments",
                   {"file": (io.BytesIO(PDF + b"0" * LIMIT), "big.pdf"), "task_id": task.id},
                   content_type="multipart/form-data", **fetched)
    assert big.status_code == 400 and "at most 1.0 MB" in big.get_json()["error"]
    several = _upload(rep, complaint.id, "a.pdf", PDF)
    assert several.status_code == 302
    mixed = rep.post(f"/instances/{complaint.id}/attachments",
                     {"file": [(io.BytesIO(PDF), "b.pdf"), (io.BytesIO(b"<html></html>"), "c.pdf")]},
                     content_type="multipart/form-data", follow_redirects=True)
    assert "c.pdf was not attached" in mixed.get_data(as_text=True)
    assert [a.filename for a in web_engine.attachments(complaint.id, "rep")] == ["pod.pdf", "a.pdf"], "all or none"
    pdf = web_engine.attachments(complaint.id, "rep")[0]
    inline = rep.client.get(f"/instances/attachments/{pdf.id}")
    assert inline.mimetype == "application/pdf" and inline.headers["Content-Disposition"].startswith("inline;")
    assert inline.headers["X-Frame-Options"] == "SAMEORIGIN", "the page may show the PDF in place"
    huge = rep.post(f"/instances/{complaint.id}/attachments",
                    {"file": (io.BytesIO(b"0" * (11 * LIMIT + 300 * 1024)), "huge.pdf")},
                    content_type="multipart/form-data")
    assert huge.status_code == 413
    assert rep.post("/tasks/x/comment", {"body": "x" * 10}).status_code != 413, "other forms keep their own limit"


def test_who_may_upload_and_download_in_the_pages(browser, web_engine, complaint):
    added = web_engine.attach(complaint.id, "pod.pdf", PDF, "rep")
    web_engine.copy(complaint.id, "rep", ["ops"])
    ops = browser("ops")
    page = ops.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "pod.pdf" in page and "data-drop-zone" not in page, "a copy recipient reads, and does not upload"
    assert ops.client.get(f"/instances/attachments/{added.id}").data == PDF
    assert _upload(ops, complaint.id, "mine.pdf", PDF, ).status_code == 302
    assert [a.uploaded_by for a in web_engine.attachments(complaint.id, "rep")] == ["rep"]
    fin = browser("fin")
    assert fin.client.get(f"/instances/attachments/{added.id}").status_code == 404
    assert fin.client.get(f"/instances/attachments/{added.id}/thumbnail").status_code == 404
    assert _upload(fin, complaint.id, "x.pdf", PDF).status_code == 403
    auditor = browser("auditor")
    assert auditor.client.get(f"/instances/attachments/{added.id}").data == PDF
    assert _upload(auditor, complaint.id, "x.pdf", PDF).status_code == 403
    assert INSTANCE_OVERSEERS == OVERSEERS, "the engine reads attachments by the instance page's rule"


def test_the_api_uploads_lists_and_downloads(api_as, web_engine, complaint, task_of):
    task = task_of(web_engine, complaint, "handle")
    rep = api_as("rep")
    picture = png(300, 200)
    made = rep.post(f"/instances/{complaint.id}/attachments",
                    data={"file": (io.BytesIO(picture), "photo.pdf"), "task_id": task.id},
                    content_type="multipart/form-data")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["filename"], body["media_type"], body["size"], body["task_id"], body["has_thumbnail"]) == (
        "photo.png", "image/png", len(picture), task.id, True)
    assert body["sha256"] == hashlib.sha256(picture).hexdigest()
    listed = rep.get(f"/instances/{complaint.id}/attachments").get_json()
    assert [a["id"] for a in listed["items"]] == [body["id"]]
    got = rep.get(f"/attachments/{body['id']}/content")
    assert got.data == picture and got.mimetype == "image/png" and got.headers["X-Content-Type-Options"] == "nosniff"
    assert rep.get(f"/attachments/{body['id']}/thumbnail").mimetype == "image/jpeg"
    assert rep.get(f"/attachments/{body['id']}").get_json()["sha256"] == body["sha256"]
    refused = rep.post(f"/instances/{complaint.id}/attachments",
                       data={"file": (io.BytesIO(b"<html><script>x</script></html>"), "a.csv")},
                       content_type="multipart/form-data")
    assert refused.status_code == 400 and "could not be recognised" in refused.get_json()["detail"]
    outsider = api_as("fin")
    assert outsider.get(f"/attachments/{body['id']}/content").status_code == 404
    assert outsider.get(f"/instances/{complaint.id}/attachments").status_code == 403
    assert outsider.post(f"/instances/{complaint.id}/attachments", data={"file": (io.BytesIO(PDF), "a.pdf")},
                         content_type="multipart/form-data").status_code == 403
    assert api_as("head").get(f"/attachments/{body['id']}/content").data == picture
    assert rep.post(f"/instances/{complaint.id}/attachments", data={},
                    content_type="multipart/form-data").status_code == 422
