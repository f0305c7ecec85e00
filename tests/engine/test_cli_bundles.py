"""`bpm validate` / `bpm deploy` take a bundle: a folder (forms beside the BPMN or in forms/) or a .zip, unpacked safely."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.commands import cli
from tests.conftest import SHARED_TESTDATA
from tests.engine.test_bundle_deploys import BPMN, CATALOGUE, SCHEMA, UI


@pytest.fixture
def bpm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    run("init")
    return run


def _bundle_files(form_key: str = "callback_result") -> dict[str, bytes]:
    return {"callback.bpmn": BPMN.format(name="客户回电", form=form_key).encode("utf-8"),
            "callback.i18n.json": json.dumps(CATALOGUE, ensure_ascii=False).encode("utf-8"),
            f"forms/{form_key}.schema.json": json.dumps(SCHEMA).encode("utf-8"),
            f"forms/{form_key}.ui.json": json.dumps(UI, ensure_ascii=False).encode("utf-8")}


def folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def zipped(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def test_validate_and_deploy_a_folder_with_a_forms_subfolder(bpm, tmp_path: Path) -> None:
    bundle = folder(tmp_path / "callback", _bundle_files())
    checked = json.loads(bpm("validate", str(bundle), "--json").output)
    assert checked == {"ok": True, "processes": ["callback"], "documentation_only": False, "problems": [], "warnings": []}
    deployed = json.loads(bpm("deploy", str(bundle), "--user", "designer", "--json").output)
    assert [(d["process_key"], d["version"]) for d in deployed["deployed"]] == [("callback", 1)]
    # A changed label in the form alone makes version 2; the same bundle again changes nothing.
    ui = {**UI, "title": {"zh-CN": "回电记录", "en": "Call-back record"}}
    (bundle / "forms" / "callback_result.ui.json").write_text(json.dumps(ui, ensure_ascii=False), "utf-8")
    assert bpm("deploy", str(bundle)).output == "deployed callback v2\n"
    assert bpm("deploy", str(bundle)).output == "unchanged callback v2\n"


def test_forms_beside_the_bpmn_count_too(bpm, tmp_path: Path) -> None:
    files = {name.removeprefix("forms/"): content for name, content in _bundle_files("beside_form").items()}
    bundle = folder(tmp_path / "flat", files)
    assert bpm("validate", str(bundle)).output == "ok: 4 file(s), processes: callback\n"


def test_deploy_a_zip_bundle(bpm, tmp_path: Path) -> None:
    archive = zipped(tmp_path / "callback.zip", {f"callback/{k}": v for k, v in _bundle_files().items()})
    result = json.loads(bpm("deploy", str(archive), "--json").output)
    assert set(result) == {"deployed", "unchanged", "warnings", "forms"} and result["warnings"] == []
    assert result["forms"] == {"callback": {"callback_result": "bundle"}}
    assert [d["version"] for d in result["deployed"]] == [1]
    assert bpm("validate", str(archive)).output == "ok: 4 file(s), processes: callback\n"


def test_a_form_no_process_uses_is_a_warning_and_a_stray_file_a_refusal(bpm, tmp_path: Path) -> None:
    files = {**_bundle_files(), "forms/spare.schema.json": json.dumps(SCHEMA).encode("utf-8")}
    checked = json.loads(bpm("validate", str(folder(tmp_path / "b", files)), "--json").output)
    assert checked["ok"] is True
    assert [(w["file"], w["message"].split(";")[0]) for w in checked["warnings"]] == [
        ("spare.schema.json", "no process in this deploy uses form 'spare' (camunda:formKey)")]
    archive = zipped(tmp_path / "stray.zip", {**_bundle_files(), "notes.txt": b"hello"})
    refused = bpm("deploy", str(archive), code=1)
    assert refused.output.splitlines() == [
        "notes.txt: not a file a bundle holds; deploy .bpmn, .dmn, <name>.i18n.json, <form>.schema.json and "
        "<form>.ui.json files (or a .zip of them)"]


def _symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("callback.bpmn")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    return path


def _encrypted(path: Path) -> Path:
    data = bytearray(zipped(path, {"callback.bpmn": b"scrambled"}).read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" bit in both headers
        data[data.index(signature) + offset] |= 0x1
    path.write_bytes(bytes(data))
    return path


UNSAFE = {
    "traversal": (lambda p: zipped(p, {"../../evil.bpmn": b"<x/>"}),
                  "bad.zip: archive entry '../../evil.bpmn' points outside the bundle (absolute path or '..'); zip the "
                  "folder itself"),
    "absolute": (lambda p: zipped(p, {"/etc/cron.d/evil.bpmn": b"<x/>"}),
                 "bad.zip: archive entry '/etc/cron.d/evil.bpmn' points outside the bundle (absolute path or '..'); zip "
                 "the folder itself"),
    "symlink": (_symlink, "bad.zip: archive entry 'callback.bpmn' is a symbolic link; put the file itself in the zip"),
    "nested": (lambda p: zipped(p, {"inner.zip": b"PK\x03\x04"}),
               "bad.zip: archive entry 'inner.zip' is an archive inside the archive; unpack it and zip the files once"),
    "nested_renamed": (lambda p: zipped(p, {"inner.bpmn": b"PK\x03\x04rest"}),
                       "bad.zip: archive entry 'inner.bpmn' is an archive inside the archive; unpack it and zip the "
                       "files once"),
    "too_many": (lambda p: zipped(p, {f"f{i}.bpmn": b"<x/>" for i in range(201)}),
                 "bad.zip: the archive has 201 entries; the limit is 200"),
    "bomb": (lambda p: zipped(p, {"a.bpmn": b"\0" * (30 * 1024 * 1024), "b.bpmn": b"\0" * (30 * 1024 * 1024)}),
             "bad.zip: the archive unpacks to more than 52,428,800 bytes; deploy fewer or smaller files"),
    "duplicate": (lambda p: zipped(p, {"a/callback.bpmn": b"<x/>", "b/callback.bpmn": b"<y/>"}),
                  "bad.zip: archive entry 'b/callback.bpmn' appears twice (also as 'a/callback.bpmn'); keep one"),
    "encrypted": (_encrypted, "bad.zip: archive entry 'callback.bpmn' is encrypted; zip the files without a password"),
    "not_a_zip": (lambda p: (p.write_bytes(b"this is no zip"), p)[1],
                  "bad.zip: not a readable zip archive: File is not a zip file"),
    "empty": (lambda p: zipped(p, {"__MACOSX/._callback.bpmn": b"x", ".DS_Store": b"x"}),
              "bad.zip: the archive holds no BPMN, DMN, catalogue or form file"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_an_unsafe_zip_is_refused_with_one_clear_line(bpm, tmp_path: Path, case: str) -> None:
    make, expected = UNSAFE[case]
    archive = make(tmp_path / "bad.zip")
    refused = bpm("deploy", str(archive), code=1)
    assert refused.output.splitlines() == [expected]
    checked = json.loads(bpm("validate", str(archive), "--json", code=1).output)
    assert [p["message"] for p in checked["problems"]] == [expected.split(": ", 1)[1]]
    assert not (tmp_path.parent / "evil.bpmn").exists() and not Path("/etc/cron.d/evil.bpmn").exists()


def test_refusals_speak_chinese_when_asked(bpm, tmp_path: Path) -> None:
    archive = zipped(tmp_path / "bad.zip", {"../evil.bpmn": b"<x/>"})
    refused = bpm("deploy", str(archive), "--lang", "zh", code=1)
    assert refused.output.strip() == "bad.zip: 压缩包条目 '../evil.bpmn' 指向部署包之外（绝对路径或 '..'）；请直接压缩该文件夹"


def test_a_real_modeler_file_deploys_in_a_zip_with_its_start_form(bpm, tmp_path: Path) -> None:
    source = SHARED_TESTDATA / "bpmn-miwg-reference" / "A.1.0.bpmn"
    if not source.is_file():
        pytest.skip(f"SKIPPED LOUDLY: the MIWG reference model {source} is missing; the real-file bundle did not run")
    # A Trisotech export (ISO-8859-1), made executable and given a start form as a designer would in a modeler.
    text = source.read_bytes().decode("iso-8859-1")
    text = text.replace('isExecutable="false"', 'isExecutable="true"', 1)
    text = text.replace('xmlns:semantic=', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:semantic=', 1)
    text = re.sub(r'<semantic:startEvent name="Start Event"', '<semantic:startEvent camunda:formKey="miwg_start" '
                  'name="Start Event"', text, count=1)
    archive = zipped(tmp_path / "miwg.zip", {
        "A.1.0.bpmn": text.encode("iso-8859-1"),
        "forms/miwg_start.schema.json": json.dumps({"type": "object", "properties": {
            "topic": {"type": "string", "maxLength": 80}}}).encode("utf-8"),
        "forms/miwg_start.ui.json": json.dumps({"title": {"zh-CN": "发起", "en": "Start"}, "fields": {
            "topic": {"label": {"zh-CN": "主题", "en": "Topic"}}}}, ensure_ascii=False).encode("utf-8")})
    result = json.loads(bpm("deploy", str(archive), "--user", "designer", "--json").output)
    assert [(d["process_key"], d["version"]) for d in result["deployed"]] == [("WFP-6-", 1)]
    started = json.loads(bpm("start", "WFP-6-", "--data", '{"topic": "月度对账"}', "--json").output)
    shown = json.loads(bpm("show", str(started["id"]), "--json").output)
    assert shown["data"]["topic"] == "月度对账"
