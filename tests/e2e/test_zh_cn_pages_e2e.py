"""Issue #15: in zh-CN, every page of every role reads Chinese, with all shipped processes running.

A real server over the shipped processes and forms (tests/e2e/shipped_world.py runs one working day of the department).
Each role signs in with a Chinese browser and walks every page it can reach by links from its inbox (one page per kind
of address, a few per kind for tasks, instances and definitions), plus the start pages, the calendar and the portal.
On every page, no visible text may consist only of Latin letters (digits and punctuation aside) unless it is a code
people type or read as such: business keys, user names, currency codes, units, e-mail addresses, file names, text
inside <code>. The failure lists page, text and element; the whole list is also written to
tests/e2e/screenshots/zh-CN/latin-texts.txt, next to a screenshot of each kind of page.

Run alone: .venv/bin/python -m pytest tests/e2e/test_zh_cn_pages_e2e.py -q
(BPM_E2E_TRANSLATIONS=<folder> serves the translations compiled in that folder instead of web/translations.)
"""

from __future__ import annotations

import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine import Engine, EngineConfig, ManualClock
from engine.cli.serve import DEMO_PASSWORD
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.passwords import hash_password
from engine.services.users import ensure_groups
from tests.e2e.browser import sign_in
from tests.e2e.conftest import SCREENSHOTS, _require_browser, serve
from tests.e2e.shipped_world import MONDAY_9AM, ROLE_USERS, build_world, check_world

pytestmark = pytest.mark.slow
ZH_SCREENSHOTS = SCREENSHOTS / "zh-CN"
# How many pages of one kind each role visits: kinds whose pages differ by process get a few.
PER_KIND = {"/tasks/{}": 4, "/instances/{}": 5, "/definitions/{}": 3, "/admin/users/{}": 3}
MAX_PAGES_PER_ROLE = 60
CUSTOMER = "customer (signed out)"
# Links that are not pages (downloads, raw sources, the API) or that change state.
# Not pages to read: files, the API, and the source a designer edits (a file's own text, in the BPMN/DMN editors too).
NOT_PAGES = re.compile(r"^/(static|api|healthz|logout|vendor)|\.csv$|/source$|/modeler$|/favicon")
ALLOWED_WORDS = {"English", "CNY", "USD", "EUR", "HKD", "kg", "km", "cm", "mm", "m", "t", "h", "min"} | set(ROLE_USERS)
ALLOWED_PATTERNS = [
    re.compile(r"[A-Z]{1,6}(?:[-_/·]?[A-Z0-9]+)*[-_/·]?\d[\w\-/·.]*"),  # business keys: SO-7781, INV-2026-101
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail addresses
    re.compile(r"https?://\S+"),
    re.compile(r"v\d+"),  # version numbers: v1
    re.compile(r"X{2,}(?:-X{2,})*"),  # the shape of a code to type: XXXX-XXXX
    re.compile(r"[\w.-]+\.(bpmn|dmn|json|csv|toml|xml|png)"),  # file names
    re.compile(r"[\d.,\s×x%]*(kg|km|cm|mm|m|m³|t)\b[\d.,\s×x%]*"),  # quantities with units
    re.compile(r"x|\d+(?:[.,]\d+)?(?:[x×]\d+(?:[.,]\d+)?)+"),  # sizes: 120x100x150 cm x 12
]
ISO_DURATION = re.compile(r"\bP(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?\b(?<!P)")
# Walks the visible text of the page (SVG labels and <option>s included) and returns the texts whose letters
# are all Latin, with a short path to their element.
FIND_LATIN_TEXTS = r"""
() => {
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "CODE", "KBD", "SAMP", "PRE"]);
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const describe = (el) => {
    const parts = [];
    for (let e = el, i = 0; e && e !== document.body && i < 4; e = e.parentElement, i++) {
      let part = e.tagName.toLowerCase();
      if (e.id) part += "#" + e.id;
      const cls = (e.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean).slice(0, 2);
      if (cls.length) part += "." + cls.join(".");
      parts.push(part);
    }
    return parts.join(" < ");
  };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\s+/g, " ").trim();
    if (!text || !/[A-Za-z]/.test(text)) continue;
    const letters = text.match(/\p{L}/gu) || [];
    const latinOnly = letters.every((c) => /[A-Za-z]/.test(c));
    if (!latinOnly && !/[A-Za-z]{2,}[\s,]+[A-Za-z]{2,}/.test(text)) continue;  // Chinese, unless an English phrase
    const el = node.parentElement;
    if (!el || el.closest("script,style,noscript,template,code,kbd,samp,pre")) continue;
    const inOption = el.closest("option,optgroup");
    if (!inOption && el.checkVisibility && !el.checkVisibility()) continue;
    found.push({text, element: describe(el)});
  }
  for (const el of document.querySelectorAll("input[placeholder],textarea[placeholder]")) {
    const text = el.getAttribute("placeholder").trim();
    const letters = text.match(/\p{L}/gu) || [];
    if (letters.length && letters.every((c) => /[A-Za-z]/.test(c))) found.push({text, element: describe(el) + "[placeholder]"});
  }
  return found;
}
"""


def _code(token: str) -> bool:
    return token.strip(".·—–-") in ALLOWED_WORDS or any(p.fullmatch(token) for p in ALLOWED_PATTERNS)


def allowed(text: str) -> bool:
    """Return True for texts that are codes, names or units rather than words of the UI.

    A text mixing Chinese with an English phrase ("rep completed 一级响应") is not: two Latin words in a row, not both
    codes, are an untranslated sentence around translated names.
    """
    if re.search(r"[^\W\d_A-Za-z]", text):  # a letter that is not Latin: Chinese text
        pairs = re.findall(r"(?<![\w@.+-])([A-Za-z][\w@.+-]*)[\s,]+(?=([A-Za-z][\w@.+-]*))", text)
        return all(_code(a) and _code(b) for a, b in pairs)
    if text in ALLOWED_WORDS:
        return True
    if ISO_DURATION.search(text):
        return False
    tokens = [t for t in re.split(r"[\s,;:()（）、/]+", text) if re.search(r"[A-Za-z]", t)]
    return bool(tokens) and all(_code(t) for t in tokens)


def page_kind(url: str) -> str:
    """Return the kind of a page: its path with ids replaced by {} and its query's parameter names."""
    parts = urlsplit(url)
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}\b", "/{}", parts.path)
    path = re.sub(r"/\d+(?=/|$)", "/{}", path)
    path = re.sub(r"^/admin/users/[^/]+", "/admin/users/{}", path)
    names = sorted({name for name, _value in parse_qsl(parts.query, keep_blank_values=True)})
    return path + (f"?{'&'.join(names)}" if names else "")


@dataclass
class Walk:
    """The pages one run visited and the Latin texts found on them."""

    visited: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, page, text, element
    screenshots: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app over the shipped processes and forms after one working day of the department."""
    _require_browser()

    from web import create_app

    tmp = tmp_path_factory.mktemp("zh-cn")
    clock = ManualClock(MONDAY_9AM)
    # No retries: the world's failing timer becomes an incident the first time it fires.
    engine = Engine(config=EngineConfig(database_url=f"sqlite:///{tmp / 'zh.sqlite3'}", forms_dir=SHIPPED_FORMS,
                                        calendars_dir=SHIPPED_CALENDARS, retry_backoff_s=()), clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    hashed = hash_password(DEMO_PASSWORD)
    for name, groups in ROLE_USERS.items():
        engine.add_user(name, groups, password_hash=hashed)
    world = build_world(engine, clock, SHIPPED_PROCESSES)
    assert check_world(engine, world) == [], world.skipped
    settings: dict[str, Any] = {"ENGINE": engine, "SECRET_KEY": "zh-e2e-secret", "DEMO": True}
    if os.environ.get("BPM_E2E_TRANSLATIONS"):  # a compiled catalogue to try before it is merged into web/translations
        settings["BABEL_TRANSLATION_DIRECTORIES"] = os.environ["BPM_E2E_TRANSLATIONS"]
    app = create_app(settings)
    with serve(app) as base:
        yield base
    engine.close()


@pytest.fixture(scope="module")
def zh_screenshots() -> Path:
    """A fresh folder for this run's zh-CN screenshots."""
    shutil.rmtree(ZH_SCREENSHOTS, ignore_errors=True)
    ZH_SCREENSHOTS.mkdir(parents=True)
    return ZH_SCREENSHOTS



def _screenshot_name(kind: str) -> str:
    names = {"/": "inbox", "/tasks/{}": "task", "/instances/{}": "instance", "/dashboard/": "dashboard"}
    if kind in names:
        return names[kind]
    return re.sub(r"[^a-z0-9]+", "-", kind.lower().replace("{}", "id")).strip("-") or "page"


def _check_page(page: Any, walk: Walk, role: str, url: str, folder: Path) -> list[str]:
    """Open a page, record its Latin texts and screenshot, and return the links it offers."""
    response = page.goto(url)
    if response is None or "text/html" not in (response.headers.get("content-type") or ""):
        return []
    path = urlsplit(page.url)._replace(scheme="", netloc="").geturl()
    if response.status >= 500:  # a broken page is a failure too; the walk goes on to show everything else
        walk.failures.append((role, path, f"HTTP {response.status}", "page"))
    for found in page.evaluate(FIND_LATIN_TEXTS):
        if not allowed(found["text"]):
            walk.failures.append((role, path, found["text"], found["element"]))
    kind = page_kind(page.url)
    shot = _screenshot_name(kind)
    if shot not in walk.screenshots:
        walk.screenshots.add(shot)
        page.screenshot(path=str(folder / f"{shot}.png"), full_page=True)
    hrefs: list[str] = page.eval_on_selector_all(
        "a[href]:not([download])", "els => els.map(a => a.href)")
    return hrefs


def _walk_role(browser: Any, base: str, role: str, walk: Walk, folder: Path) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                  extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    if role == CUSTOMER:  # no account: the sign-in page and the portal
        queue = [f"{base}/login", f"{base}/portal/", f"{base}/portal/track"]
    else:
        sign_in(page, base, role)
        queue = [f"{base}/", f"{base}/start/", f"{base}/instances/", f"{base}/portal/"]
    seen: set[str] = set()
    per_kind: dict[str, int] = defaultdict(int)
    while queue and len(seen) < MAX_PAGES_PER_ROLE:
        url = queue.pop(0).split("#")[0]
        parts = urlsplit(url)
        if url in seen or f"{parts.scheme}://{parts.netloc}" != base or NOT_PAGES.search(parts.path):
            continue
        kind = page_kind(url)
        if per_kind[kind] >= PER_KIND.get(kind, 1):
            continue
        seen.add(url)
        per_kind[kind] += 1
        walk.visited[role].append(kind)
        queue.extend(_check_page(page, walk, role, url, folder))
    context.close()


def _report(walk: Walk) -> str:
    lines = []
    by_text: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for role, path, text, element in walk.failures:
        by_text[(page_kind(path), text, element)].append(f"{role} {path}")
    for (kind, text, element), where in sorted(by_text.items()):
        lines.append(f"{kind}: {text!r} in {element} (e.g. {where[0]}; {len(where)} page(s))")
    return "\n".join(lines)


def test_every_page_of_every_role_reads_chinese(shipped_server: str, zh_screenshots: Path, chromium: Any) -> None:
    walk = Walk()
    for role in (*ROLE_USERS, CUSTOMER):
        _walk_role(chromium, shipped_server, role, walk, zh_screenshots)
    report = _report(walk)
    (zh_screenshots / "latin-texts.txt").write_text(report + "\n", "utf-8")
    (zh_screenshots / "visited.txt").write_text(
        "\n".join(f"{role}: {', '.join(kinds)}" for role, kinds in walk.visited.items()) + "\n", "utf-8")
    # Every role saw its inbox and the start list; the workers saw a task and an instance page.
    for role in ROLE_USERS:
        assert {"/", "/start/", "/instances/"} <= set(walk.visited[role]), (role, walk.visited[role])
    for role in ("rep", "assistant", "head", "ops", "gm", "finance"):
        assert {"/tasks/{}", "/instances/{}"} <= set(walk.visited[role]), (role, walk.visited[role])
    for role, kinds in {"head": {"/dashboard/"}, "auditor": {"/audit/"}, "designer": {"/definitions/{}"},
                        "admin": {"/admin/users", "/admin/calendars", "/incidents/"}}.items():
        assert kinds <= set(walk.visited[role]), (role, walk.visited[role])
    assert {"/login", "/portal/", "/portal/track"} <= set(walk.visited[CUSTOMER])
    assert {"inbox", "task", "instance", "dashboard"} <= walk.screenshots
    assert not walk.failures, f"{len(walk.failures)} texts in Latin letters only, or with English phrases, on zh-CN pages:\n{report}"


@pytest.mark.parametrize(("text", "ok"), [
    ("SO-7781", True), ("INV-2026-101", True), ("CNY", True), ("rep", True), ("English", True),
    ("wangfang@example.com", True), ("v12", True), ("XXXX-XXXX-XXXX-XXXX", True), ("exception_escalation.bpmn", True),
    ("4800 kg", True),
    ("120x100x150 cm x 12", True), ("Inbox", False), ("wechat", False), ("high_impact", False),
    ("Write off the debt", False), ("rep completed 一级响应", False), ("New task 催收付款 for 客服代表", False),
    ("货物 120x100x150 cm x 12", True), ("联系人 王芳 邮箱 wangfang@example.com", True), ("艾克美物流 · SO-7781", True),
    ("lag_s", False), ("UTC", False), ("PT30M", False),
])
def test_the_allow_list_lets_codes_through_and_words_not(text: str, ok: bool) -> None:
    assert allowed(text) is ok
