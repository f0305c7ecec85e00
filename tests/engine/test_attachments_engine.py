"""Attachments: type from the bytes, size limit, who may upload and download, audit facts — on both stores."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from engine import Engine, ManualClock
from engine.config import EngineConfig
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence import AttachmentBlob
from engine.services.attachment_files import MAX_PIXELS, display_name
from engine.services.attachments import read_thumbnail
from engine.services.audit import history_csv
from tests.attachment_stores import STORES, s3_endpoint, store_settings  # noqa: F401  (s3_endpoint: fixture)
from tests.backends import database_url
from tests.conftest import deploy_fixture, make_engine

LIMIT = 256 * 1024


def png(width: int = 800, height: int = 600, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """Return a real PNG picture."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.fixture(params=STORES)
def engine(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    """An engine storing attachments in the database, or in S3 (a moto server), with a 256 KB limit (SQLite or PostgreSQL)."""
    with database_url(tmp_path / "bpm.sqlite3") as url:
        eng = make_engine(url, clock, attachment_max_bytes=LIMIT, **store_settings(request))
        yield eng
        eng.close()


@pytest.fixture
def case(engine: Engine) -> int:
    deploy_fixture(engine, "gateways.bpmn")
    return engine.start("gateways", {"amount": 50}, actor="rep", business_key="ORD-7").id


def test_a_photo_is_stored_with_its_digest_a_thumbnail_and_an_audit_entry(engine: Engine, case: int) -> None:
    [task] = engine.tasks(instance_id=case)
    picture = png()
    added = engine.attach(case, "破损照片.png", picture, "rep", task_id=task.id)
    assert (added.media_type, added.filename, added.size, added.task_id) == ("image/png", "破损照片.png",
                                                                               len(picture), task.id)
    assert added.sha256 == hashlib.sha256(picture).hexdigest() and added.has_thumbnail
    assert added.storage == engine.config.attachments_storage
    view, content = engine.attachment_content(added.id, "rep")
    assert content == picture and view == added
    with engine.transaction() as session:
        small = Image.open(io.BytesIO(read_thumbnail(session, added.id, "head")))
        stored = session.query(AttachmentBlob).count()
    assert small.format == "JPEG" and max(small.size) <= 240 and small.size[0] > small.size[1]
    assert stored == (2 if engine.config.attachments_storage == "db" else 0), "S3 keeps the bytes out of the database"
    (event,) = [e for e in engine.history(case) if e.type == "attachment_added"]
    assert event.actor == "rep" and event.task_id == task.id
    assert event.data == {"attachment_id": added.id, "filename": "破损照片.png", "media_type": "image/png",
                          "size": len(picture), "sha256": added.sha256, "task_id": task.id}
    assert engine.verify_audit().ok
    csv = history_csv(engine.history(case))
    assert "attachment_added" in csv and added.sha256 in csv
    assert [a.id for a in engine.attachments(case, "rep")] == [added.id]


def test_the_type_comes_from_the_content_not_the_name(engine: Engine, case: int) -> None:
    disguised = engine.attach(case, "../../etc/scan.pdf", png(40, 40), "rep")
    assert (disguised.media_type, disguised.filename) == ("image/png", "scan.png")
    pdf = engine.attach(case, "invoice", PDF, "rep")
    assert (pdf.media_type, pdf.filename, pdf.has_thumbnail) == ("application/pdf", "invoice.pdf", False)
    with pytest.raises(InvalidInput, match=r"application/x-msdownload \(\.exe\) may not be attached"):
        engine.attach(case, "invoice.pdf", EXE, "rep")
    for name in ("invoice.pdf", "invoice.csv", "readme.txt"):
        with pytest.raises(InvalidInput, match="could not be recognised"):
            engine.attach(case, name, b"<!DOCTYPE html><html><script>alert(1)</script></html>", "rep")
    sheet = io.BytesIO()
    with zipfile.ZipFile(sheet, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    xlsx = engine.attach(case, "对账单.bin", sheet.getvalue(), "rep")
    assert (xlsx.media_type, xlsx.filename) == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                                "对账单.xlsx")
    csv = engine.attach(case, "运单.csv", "运单号,金额\nSF1001,120.50\n".encode("gb18030"), "rep")
    assert csv.media_type == "text/csv"
    with pytest.raises(InvalidInput, match="could not be recognised"):
        engine.attach(case, "data.csv", b"\x00\x01\x02binary", "rep")
    with pytest.raises(InvalidInput, match="empty"):
        engine.attach(case, "empty.txt", b"", "rep")
    assert [e.type for e in engine.history(case)].count("attachment_added") == 4


def test_files_over_the_limit_and_decompression_bombs_are_refused(engine: Engine, case: int) -> None:
    with pytest.raises(InvalidInput, match="at most 256 KB"):
        engine.attach(case, "big.pdf", PDF + b"0" * LIMIT, "rep")
    side = int(MAX_PIXELS ** 0.5) + 1000
    bomb = io.BytesIO()
    Image.new("1", (side, side)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < LIMIT
    with pytest.raises(InvalidInput, match="too large to open"):
        engine.attach(case, "bomb.png", bomb.getvalue(), "rep")
    with pytest.raises(InvalidInput, match="could not be read"):
        engine.attach(case, "broken.png", png()[:200], "rep")
    assert engine.attachments(case, "rep") == [] and engine.verify_audit().ok
    assert EngineConfig().attachment_max_bytes == 20 * 1024 * 1024
    assert EngineConfig.from_env({"BPM_ATTACHMENT_MAX_MB": "5"}).attachment_max_bytes == 5 * 1024 * 1024


def test_copy_recipients_download_but_do_not_upload_and_outsiders_see_nothing(engine: Engine, case: int) -> None:
    added = engine.attach(case, "pod.pdf", PDF, "rep")
    engine.copy(case, "rep", ["ops"])
    assert [a.id for a in engine.attachments(case, "ops")] == [added.id]
    assert engine.attachment_content(added.id, "ops")[1] == PDF
    with pytest.raises(NotAllowed, match="only people working on one of its open tasks or a cs_head/admin"):
        engine.attach(case, "mine.pdf", PDF, "ops")
    with pytest.raises(NotAllowed):
        engine.attachments(case, "fin")
    with pytest.raises(NotFound, match=f"attachment {added.id} not found"):
        engine.attachment_content(added.id, "fin")
    for reader in ("head", "vp", "auditor", "admin"):
        assert engine.attachment_content(added.id, reader)[1] == PDF
    with pytest.raises(NotAllowed):
        engine.attach(case, "audit.pdf", PDF, "auditor")
    assert engine.attach(case, "head.pdf", PDF, "head").uploaded_by == "head"
    with pytest.raises(NotFound):
        engine.attachment_content(9999, "admin")


def test_attaching_to_a_task_needs_an_open_task_of_that_instance(engine: Engine, case: int) -> None:
    [task] = engine.tasks(instance_id=case)
    other = engine.start("gateways", {"amount": 50}, actor="rep").id
    with pytest.raises(NotFound, match=f"not a task of instance {other}"):
        engine.attach(other, "x.pdf", PDF, "rep", task_id=task.id)
    engine.claim(task.id, "rep")
    with pytest.raises(NotAllowed, match="this task"):
        engine.attach(case, "x.pdf", PDF, "rep2", task_id=task.id)
    engine.complete(task.id, {}, "rep")
    with pytest.raises(InvalidInput, match="attach files to open tasks"):
        engine.attach(case, "x.pdf", PDF, "rep", task_id=task.id)


def test_display_names_are_safe() -> None:
    assert display_name("C:\\Users\\me\\报价单.PDF", "application/pdf") == "报价单.pdf"
    assert display_name("=cmd|' -C calc'!A0.csv", "text/csv").startswith("_=cmd_")
    assert display_name("   ", "image/jpeg") == "attachment.jpg"
    assert display_name("a\x00b\"c<d>.png", "image/png") == "a_b_c_d_.png"


@pytest.fixture(params=STORES)
def cli_env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI's environment: its database, and the store chosen by the documented variables (BPM_S3_* for S3)."""
    for name, value in store_settings(request).items():
        monkeypatch.setenv(f"BPM_{name.upper()}", value)
    with database_url(tmp_path / "cli.sqlite3") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield request.param


def test_bpm_attach_is_a_contract(tmp_path: Path, cli_env: str) -> None:
    from engine.cli.commands import cli
    from tests.conftest import BPMN_DIR

    runner = CliRunner()

    def bpm(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    bpm("init")
    bpm("deploy", str(BPMN_DIR / "gateways.bpmn"))
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "oscar", "--group", "operations")
    started = json.loads(bpm("start", "gateways", "--data", '{"amount": 50}', "--user", "alice", "--json").output)
    [task] = json.loads(bpm("tasks", "--user", "alice", "--json").output)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(png(64, 48))
    out = json.loads(bpm("attach", str(started["id"]), str(photo), "--user", "alice", "--task", task["id"],
                         "--json").output)
    assert (out["media_type"], out["filename"], out["task_id"]) == ("image/png", "photo.png", task["id"])
    assert "attached #" in bpm("attach", str(started["id"]), str(photo), "--user", "alice").output
    listed = json.loads(bpm("attachments", str(started["id"]), "--user", "alice", "--json").output)
    assert [a["sha256"] for a in listed] == [hashlib.sha256(photo.read_bytes()).hexdigest()] * 2
    assert {a["storage"] for a in listed} == {cli_env}, "BPM_ATTACHMENTS_STORAGE chose the store"
    back = tmp_path / "back.png"
    bpm("attachment-get", str(out["id"]), "--user", "alice", "-o", str(back))
    assert back.read_bytes() == photo.read_bytes()
    fake = tmp_path / "report.pdf"
    fake.write_bytes(EXE)
    for args in ([str(started["id"]), str(fake)], [str(started["id"]), str(photo)],
                 [str(started["id"]), str(tmp_path / "missing.pdf")], ["999", str(photo)]):
        user = "oscar" if args[1] == str(photo) and args[0] != "999" else "alice"
        result = bpm("attach", *args, "--user", user, ok=False)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].lower().startswith("error") and "Traceback" not in result.output, lines


def test_an_unreachable_object_store_fails_with_one_clear_message(tmp_path: Path, clock: ManualClock) -> None:
    from engine.storage import current_store
    from engine.storage.s3 import StorageUnavailable
    from tests.attachment_stores import _free_port

    eng = make_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}", clock, attachments_storage="s3",
                      s3_endpoint_url=f"http://127.0.0.1:{_free_port()}", s3_bucket="nowhere",
                      s3_access_key_id="k", s3_secret_access_key="s")  # noqa: S106 (a test server)
    deploy_fixture(eng, "gateways.bpmn")
    case = eng.start("gateways", {"amount": 50}, actor="rep").id
    with pytest.raises(StorageUnavailable, match="attachment store .S3 bucket nowhere. refused the file"):
        eng.attach(case, "pod.pdf", PDF, "rep")
    assert [e.type for e in eng.history(case)].count("attachment_added") == 0
    with pytest.raises(InvalidInput, match="no bucket is configured"):
        current_store(EngineConfig(attachments_storage="s3"))
    with pytest.raises(InvalidInput, match="unknown attachment storage 'disk'"):
        current_store(EngineConfig(attachments_storage="disk"))
    eng.close()
