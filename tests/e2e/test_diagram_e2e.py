"""Issue #15 item 4: the diagram opens on the current step, pans and zooms (mouse, touch, wheel, keys, buttons), fits.

A real server over the shipped processes after one working day (tests/e2e/shipped_world.py); the instance pages of
receivables_collection (2420 × 1100 drawing, four lanes) and order_plan, in zh-CN and English. Screenshots go to
tests/e2e/screenshots/diagram-*.png.

Run alone: .venv/bin/python -m pytest tests/e2e/test_diagram_e2e.py -q
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine import Engine, EngineConfig, ManualClock
from engine.cli.serve import DEMO_PASSWORD
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.passwords import hash_password
from engine.services.users import ensure_groups
from tests.e2e.conftest import SCREENSHOTS, _require_browser, serve
from tests.e2e.shipped_world import MONDAY_9AM, ROLE_USERS, build_world

pytestmark = pytest.mark.slow
# Until the integrator merges the zh-CN catalogue the buttons may still read English.
FIT, CURRENT = re.compile("^(适应窗口|Fit to window)$"), re.compile("^(当前步骤|Current step)$")
LOCALES = {"zh-CN": "zh-CN,zh;q=0.9", "en-US": "en-US,en;q=0.9"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int], Engine]]:
    """Serve the app after one working day of the department; yield its URL, the instances by name, the engine."""
    _require_browser()

    from web import create_app

    tmp = tmp_path_factory.mktemp("diagram")
    clock = ManualClock(MONDAY_9AM)
    engine = Engine(config=EngineConfig(database_url=f"sqlite:///{tmp / 'diagram.sqlite3'}", forms_dir=SHIPPED_FORMS,
                                        calendars_dir=SHIPPED_CALENDARS), clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    hashed = hash_password(DEMO_PASSWORD)
    for name, groups in ROLE_USERS.items():
        engine.add_user(name, groups, password_hash=hashed)
    world = build_world(engine, clock, SHIPPED_PROCESSES)
    app = create_app({"ENGINE": engine, "SECRET_KEY": "diagram-e2e-secret", "DEMO": True})
    with serve(app) as base:
        yield base, world.instances, engine
    engine.close()


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    """Debian's Chromium (the e2e conftest's)."""
    return chromium


def _page(browser: Any, base: str, user: str, locale: str = "zh-CN", width: int = 1366, script: bool = True) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale,
                                  extra_http_headers={"Accept-Language": LOCALES[locale]}, has_touch=True,
                                  java_script_enabled=script)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("User name|用户名")).fill(user)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()
    page.wait_for_url(f"{base}/")
    return page


def _view(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
      const box = document.querySelector('.diagram');
      const vb = box.querySelector('svg').getAttribute('viewBox').split(' ').map(Number);
      return {viewBox: vb, scale: Number(box.dataset.scale || 0)};
    }""")


def _rects_inside(page: Any, selector: str) -> list[dict[str, Any]]:
    """Return, for each element matching ``selector`` in the diagram, its screen rectangle and whether the box holds it."""
    return page.evaluate("""(selector) => {
      const box = document.querySelector('.diagram').getBoundingClientRect();
      return Array.from(document.querySelectorAll('.diagram ' + selector)).map(el => {
        const r = el.getBoundingClientRect();
        return {id: el.dataset.elementId, inside: r.left >= box.left - 1 && r.right <= box.right + 1
                && r.top >= box.top - 1 && r.bottom <= box.bottom + 1, width: r.width};
      });
    }""", selector)


def _open_instance(page: Any, base: str, instance_id: int) -> None:
    page.goto(f"{base}/instances/{instance_id}")
    page.wait_for_selector(".diagram.is-interactive")


def test_a_finished_instance_opens_fitted_with_its_whole_path_marked(browser: Any, site: Any) -> None:
    base, instances, _engine = site
    page = _page(browser, base, "admin")
    _open_instance(page, base, instances["general"])
    assert _rects_inside(page, ".is-active, .is-current, .is-waiting") == []
    assert page.get_by_role("button", name=CURRENT).count() == 0  # nothing to centre on
    assert all(r["inside"] for r in _rects_inside(page, "[data-element-id]"))
    marked = page.evaluate("() => Array.from(document.querySelectorAll('.diagram .is-completed'))"
                           ".map(e => e.dataset.elementId)")
    assert {"start", "register_exception", "determine_responsibility", "severity_gw", "coordinate", "end_closed",
            "f_start", "f_general"} <= set(marked)
    page.screenshot(path=str(SCREENSHOTS / "diagram-general-zh-CN-finished.png"), clip=_clip(page))


@pytest.mark.parametrize("name", ["overdue", "order", "answered"])
def test_the_diagram_opens_on_the_current_step_at_a_readable_size(browser: Any, site: Any, name: str) -> None:
    base, instances, _engine = site
    page = _page(browser, base, "admin")
    _open_instance(page, base, instances[name])
    current = _rects_inside(page, ".is-active, .is-current")
    assert current and all(r["inside"] for r in current), current
    view = _view(page)
    full = page.evaluate("() => { const s = document.querySelector('.diagram svg'); return [s.width.baseVal.value, "
                         "s.height.baseVal.value]; }")
    # Larger than the whole drawing squeezed into the box; legible (about natural size) when the steps are close.
    assert view["viewBox"][2] < full[0] and view["scale"] >= (0.5 if name == "answered" else 0.8), (view, full)
    assert page.errors == []
    page.screenshot(path=str(SCREENSHOTS / f"diagram-{name}-zh-CN-open.png"), full_page=False,
                    clip=_clip(page))


def _clip(page: Any) -> dict[str, float]:
    """Scroll the diagram (with its toolbar and legend) into view and return its rectangle on the screen."""
    page.locator(".diagram-frame").scroll_into_view_if_needed()
    return page.evaluate("""() => {
      const frame = document.querySelector('.diagram-frame').getBoundingClientRect();
      const legend = document.querySelector('.legend').getBoundingClientRect();
      const top = Math.max(0, frame.top - 10);
      return {x: 0, y: top, width: window.innerWidth, height: Math.min(window.innerHeight, legend.bottom + 10) - top};
    }""")


def test_buttons_wheel_drag_pinch_and_keys_move_the_view(browser: Any, site: Any) -> None:
    base, instances, _engine = site
    page = _page(browser, base, "admin")
    _open_instance(page, base, instances["overdue"])
    opened = _view(page)

    page.get_by_role("button", name=FIT).click()
    fitted = _view(page)
    assert fitted["scale"] < opened["scale"]
    assert all(r["inside"] for r in _rects_inside(page, "[data-element-id]")), "fit shows every element"
    page.screenshot(path=str(SCREENSHOTS / "diagram-overdue-zh-CN-fit.png"), clip=_clip(page))

    page.get_by_role("button", name=re.compile("^(放大|Zoom in)$")).click()
    assert _view(page)["scale"] == pytest.approx(fitted["scale"] * 1.25, rel=0.01)
    page.get_by_role("button", name=re.compile("^(缩小|Zoom out)$")).click()
    assert _view(page)["scale"] == pytest.approx(fitted["scale"], rel=0.01)

    box = page.locator(".diagram").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    wheeled = _view(page)
    assert wheeled["scale"] > fitted["scale"] * 1.5

    before = wheeled["viewBox"]
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 200, cy - 100, steps=5)
    page.mouse.up()
    dragged = _view(page)["viewBox"]
    assert dragged[0] > before[0] and dragged[1] > before[1], (before, dragged)  # dragged left-up: see right-down
    assert dragged[2] == pytest.approx(before[2])

    page.locator(".diagram").focus()
    page.keyboard.press("0")
    assert _view(page)["scale"] == pytest.approx(fitted["scale"], rel=0.01)
    page.keyboard.press("+")
    page.keyboard.press("+")
    zoomed = _view(page)
    assert zoomed["scale"] == pytest.approx(fitted["scale"] * 1.5625, rel=0.01)
    page.keyboard.press("ArrowRight")
    assert _view(page)["viewBox"][0] > zoomed["viewBox"][0]
    page.keyboard.press("ArrowDown")
    assert _view(page)["viewBox"][1] > zoomed["viewBox"][1]
    page.keyboard.press("-")
    assert _view(page)["scale"] == pytest.approx(zoomed["scale"] / 1.25, rel=0.01)

    # Two fingers moving apart zoom in (touch pointer events, as a phone sends them).
    start = _view(page)["scale"]
    page.evaluate("""([cx, cy]) => {
      const box = document.querySelector('.diagram');
      const send = (type, id, x) => box.dispatchEvent(new PointerEvent(type, {pointerId: id, pointerType: 'touch',
        clientX: x, clientY: cy, bubbles: true, isPrimary: id === 1, button: 0}));
      send('pointerdown', 1, cx - 20); send('pointerdown', 2, cx + 20);
      for (let d = 20; d <= 120; d += 20) { send('pointermove', 1, cx - d); send('pointermove', 2, cx + d); }
      send('pointerup', 1, cx - 120); send('pointerup', 2, cx + 120);
    }""", [cx, cy])
    assert _view(page)["scale"] > start * 2

    page.get_by_role("button", name=CURRENT).click()
    assert all(r["inside"] for r in _rects_inside(page, ".is-active"))
    assert page.errors == []


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_lane_labels_fit_their_header_and_names_are_in_the_users_language(browser: Any, site: Any, locale: str) -> None:
    base, instances, _engine = site
    page = _page(browser, base, "admin", locale=locale)
    _open_instance(page, base, instances["overdue"])
    page.get_by_role("button", name=FIT).click()
    # Measured with the browser's own fonts: each lane's and pool's label lies within its header band.
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('.diagram .bpmn-lane, .diagram .bpmn-participant'))
      .map(g => {
        const band = g.querySelector('rect').getBoundingClientRect();
        const text = g.querySelector('.bpmn-lane-label');
        if (!text) return null;
        const t = text.getBoundingClientRect();
        const scale = Number(document.querySelector('.diagram').dataset.scale);
        const inside = t.top >= band.top - 1 && t.bottom <= band.bottom + 1 && t.left >= band.left - 1
          && t.right <= band.left + 30 * scale + 1;
        return inside ? null : {id: g.dataset.elementId, text: text.textContent};
      }).filter(Boolean)""")
    assert cut == []
    texts = page.evaluate(
        "() => Array.from(document.querySelectorAll('.diagram svg text'))"
        ".map(t => Array.from(t.querySelectorAll('tspan')).map(s => s.textContent).join(' ')).join('|')")
    if locale == "zh-CN":
        assert "催收付款" in texts and "财务部" in texts and "Chase payment" not in texts
    else:
        assert "Chase payment" in texts and "催收付款" not in texts
    page.screenshot(path=str(SCREENSHOTS / f"diagram-overdue-{locale}-fit.png"), clip=_clip(page))
    page.get_by_role("button", name=CURRENT).click()
    page.screenshot(path=str(SCREENSHOTS / f"diagram-overdue-{locale}-current.png"), clip=_clip(page))


def test_the_task_page_centres_on_this_task(browser: Any, site: Any) -> None:
    base, instances, engine = site
    [task] = [t for t in engine.tasks(instance_id=instances["order"]) if t.element_id == "confirm_dispatch"]
    page = _page(browser, base, "ops", locale="en-US")
    page.goto(f"{base}/tasks/{task.id}")
    page.wait_for_selector(".diagram.is-interactive")
    current = _rects_inside(page, ".is-current")
    assert [r["id"] for r in current] == ["confirm_dispatch"] and current[0]["inside"]
    page.screenshot(path=str(SCREENSHOTS / "diagram-order-task-en.png"), clip=_clip(page))


def test_on_a_phone_the_diagram_opens_on_the_current_step_and_a_finger_moves_it(browser: Any, site: Any) -> None:
    base, instances, _engine = site
    page = _page(browser, base, "admin", width=390)
    _open_instance(page, base, instances["answered"])
    current = _rects_inside(page, ".is-active")
    assert current and any(r["inside"] for r in current), current
    before = _view(page)["viewBox"]
    box = page.locator(".diagram").bounding_box()
    page.evaluate("""([x, y]) => {
      const box = document.querySelector('.diagram');
      const send = (type, dx) => box.dispatchEvent(new PointerEvent(type, {pointerId: 7, pointerType: 'touch',
        clientX: x + dx, clientY: y, bubbles: true, isPrimary: true, button: 0}));
      send('pointerdown', 0); send('pointermove', -60); send('pointermove', -120); send('pointerup', -120);
    }""", [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert _view(page)["viewBox"][0] > before[0]
    page.screenshot(path=str(SCREENSHOTS / "diagram-answered-phone-zh-CN.png"), clip=_clip(page))


def test_without_script_the_whole_drawing_is_shown(browser: Any, site: Any) -> None:
    base, instances, _engine = site
    page = _page(browser, base, "admin", script=False)
    page.goto(f"{base}/instances/{instances['overdue']}")
    elements = _rects_inside(page, "[data-element-id]")
    assert len(elements) > 30 and all(r["inside"] for r in elements)
    assert page.locator(".diagram-tools").is_hidden()  # the buttons need the script
    page.screenshot(path=str(SCREENSHOTS / "diagram-overdue-no-script.png"), clip=_clip(page))
