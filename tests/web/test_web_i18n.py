"""zh-CN and English: Accept-Language, the switch, complete catalogs, dates in the user's zone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import web

TRANSLATIONS = Path(web.__file__).resolve().parent / "translations"
PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
ROOT = Path(web.__file__).resolve().parents[1]


def test_accept_language_picks_chinese(browser):
    b = browser()
    text = b.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "<h1>登录</h1>" in text and '<html lang="zh-CN">' in text
    english = browser().get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "<h1>Sign in</h1>" in english
    fallback = browser().get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>Sign in</h1>" in fallback


def test_switch_is_remembered_in_session_and_on_the_user(browser, web_engine, complaint):
    b = browser("rep")
    assert b.post("/language", {"language": "zh-CN", "next": "/instances/"}).location == "/instances/"
    text = b.get("/").get_data(as_text=True)
    assert "待办" in text and "认领" in text and "客服代表" in text  # nav, button, group name
    # A new browser (new session) signing in as rep gets Chinese from the user record.
    again = browser("rep").get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "认领" in again
    b.post("/language", {"language": "en"})
    assert "Claim" in b.get("/").get_data(as_text=True)


def test_forms_speak_the_users_language(browser, web_engine, complaint, task_of):
    task = task_of(web_engine, complaint, "handle")
    b = browser("rep")
    b.post("/language", {"language": "zh-CN"})
    text = b.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "处理投诉" in text and "处理结果" in text and "破损" in text
    response = b.post(f"/tasks/{task.id}/complete", {"resolution": ""})
    assert 'id="f-resolution-error">必填。' in response.get_data(as_text=True)


def test_dates_are_shown_in_shanghai_time(browser, complaint):
    text = browser("rep").get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "2026-03-02 09:00" in text  # started 01:00 UTC


def test_every_message_is_translated():
    catalog = read_po(PO.open("rb"))
    untranslated = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.id, tuple) else m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_catalog_covers_the_code_and_the_mo_is_compiled(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    have = {m.id for m in read_po(PO.open("rb")) if m.id}
    assert wanted - have == set(), "run pybabel update and translate the new messages"
    compiled = {_key(m.id): _key(m.string) for m in read_mo(PO.with_suffix(".mo").open("rb")) if m.id}
    source = {_key(m.id): _key(m.string) for m in read_po(PO.open("rb")) if m.id}
    assert compiled == source, "messages.mo is stale: run pybabel compile -d web/translations"


def test_placeholders_survive_translation():
    for message in read_po(PO.open("rb")):
        if not message.id or isinstance(message.id, tuple):
            continue
        assert sorted(re.findall(r"%\(\w+\)s", message.id)) == sorted(re.findall(r"%\(\w+\)s", message.string)), message.id
