"""The admin calendar page: days by source, local and official tables (no TOML), imports, what moved; provisional marks."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from engine.services.calendar import stored_days

SH = ZoneInfo("Asia/Shanghai")
DUE_BPMN = Path(__file__).parents[1] / "bpmn" / "working_day_due.bpmn"


def table(rows: list[tuple[str, str, str]], blank: int = 1) -> dict[str, str]:
    form: dict[str, str] = {}
    for i, (day, kind, name) in enumerate([*rows, *[("", "holiday", "")] * blank]):
        form.update({f"date-{i}": day, f"kind-{i}": kind, f"name-{i}": name})
    return form


def provisional_task(web_engine, clock):
    web_engine.deploy([DUE_BPMN], actor="designer")
    clock.set(datetime(2026, 12, 31, 15, 0, tzinfo=SH))
    instance = web_engine.start("working_day_due", {}, actor="rep")
    [task] = web_engine.tasks(instance_id=instance.id)
    assert task.due_at_provisional
    return instance, task


def test_a_provisional_year_is_shown_with_its_sources_and_a_banner(browser, clock):
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=SH))
    admin = browser("admin")
    page = admin.get("/admin/calendars?year=2027").get_data(as_text=True)
    assert "2027 is provisional" in page and "元旦" in page and "2027-02-08" in page
    assert "TOML" not in page and "<textarea" not in page
    official = admin.get("/admin/calendars?year=2025").get_data(as_text=True)
    assert "2025-09-28" in official and "is provisional" not in official and "official" in official
    assert browser("rep").get("/admin/calendars").status_code == 403


def test_local_days_are_checked_stored_and_move_deadlines(browser, web_engine, clock):
    instance, task = provisional_task(web_engine, clock)
    admin = browser("admin")
    admin.get("/admin/calendars?year=2027")
    bad = admin.post("/admin/calendars/2027/local", table([("2027-01-05", "vacation", "x")]))
    assert bad.status_code == 422 and "Choose day off or working day." in bad.get_data(as_text=True)
    assert web_engine.runtime.calendar.is_working_day(date(2027, 1, 5))

    saved = admin.post("/admin/calendars/2027/local", table([("2027-01-05", "holiday", "公司年会")]))
    page = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Deadlines moved" in page and f"#{instance.id}" in page
    [moved] = web_engine.tasks(instance_id=instance.id)
    assert moved.due_at == datetime(2027, 1, 6, 15, 0, tzinfo=SH) and moved.due_at_provisional  # 1-4 is still estimated
    assert not web_engine.runtime.calendar.is_working_day(date(2027, 1, 5))
    # The stored row is shown for editing; removing it puts the day back.
    assert 'value="2027-01-05"' in admin.get("/admin/calendars?year=2027").get_data(as_text=True)
    admin.post("/admin/calendars/2027/local", {**table([("2027-01-05", "holiday", "公司年会")]), "remove-0": "1"})
    assert web_engine.runtime.calendar.is_working_day(date(2027, 1, 5))


def row_of(page: str, name: str, source: str = "official") -> str:
    """Return the HTML of the row holding the input ``name`` in the table of ``source``."""
    at = page.index(f'name="{name}"', page.index(f'action="/admin/calendars/2027/{source}"'))
    return page[page.rindex("<tr", 0, at):page.index("</tr>", at)]


def test_each_bad_row_is_named_and_nothing_is_stored(browser, web_engine, clock):
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=SH))
    admin = browser("admin")
    admin.get("/admin/calendars?year=2027")
    before = admin.get("/admin/calendars?year=2027").get_data(as_text=True)
    rows = [("2027-01-05", "holiday", "盘点"), ("05/01/2027", "holiday", ""), ("2028-01-03", "workday", ""),
            ("2027-03-01", "holiday", "x" * 121), ("2027-01-05", "workday", "again"), ("2027-04-01", "<b>", "")]
    bad = admin.post("/admin/calendars/2027/official", table(rows))
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "5 rows need a correction." in page
    assert "has-error" not in row_of(page, "date-0") and 'value="盘点"' in row_of(page, "date-0")
    assert "Enter a date like 2027-01-01." in row_of(page, "date-1") and 'aria-invalid="true"' in row_of(page, "date-1")
    assert "2028-01-03 is not in 2027." in row_of(page, "date-2")
    assert "at most 120 characters" in row_of(page, "date-3")
    assert "2027-01-05 is already in row 1." in row_of(page, "date-4")
    assert "Choose day off or working day." in row_of(page, "date-5") and "&lt;b&gt;" not in page
    # The rows typed are shown again for correcting, and nothing was stored.
    assert 'value="again"' in page and 'value="05/01/2027"' in page
    assert web_engine.runtime.calendar.is_working_day(date(2027, 1, 5))
    with web_engine.transaction() as session:
        assert stored_days(session, 2027, "official") == []
    assert "Deadlines moved" not in before


def test_rows_added_and_removed_in_the_browser_leave_gaps_that_are_read(browser, web_engine, clock):
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=SH))
    admin = browser("admin")
    page = admin.get("/admin/calendars?year=2027").get_data(as_text=True)
    # The add/remove script is a file (the CSP allows no inline script), and the table works without it.
    assert '<script src="/static/calendar.js" defer></script>' in page and "<script>" not in page and " onclick" not in page
    assert 'data-next-index="5"' in page and '<template class="calendar-row">' in page and 'name="date-__i__"' in page
    assert admin.get("/static/calendar.js").status_code == 200
    form = {"date-0": "2027-01-04", "kind-0": "holiday", "name-0": "A",   # row 1 and 2 removed in the browser
            "date-3": "2027-02-20", "kind-3": "workday", "name-3": "B", "date-12": "2027-03-01", "kind-12": "holiday", "name-12": "C"}
    saved = admin.post("/admin/calendars/2027/local", form)
    assert saved.status_code == 200
    with web_engine.transaction() as session:
        stored = [(d.date.isoformat(), d.kind, d.name) for d in stored_days(session, 2027, "local")]
    assert stored == [("2027-01-04", "holiday", "A"), ("2027-02-20", "workday", "B"), ("2027-03-01", "holiday", "C")]
    assert 'data-next-index="8"' in saved.get_data(as_text=True)


def test_an_official_year_is_imported_and_the_marks_go(browser, web_engine, clock):
    instance, task = provisional_task(web_engine, clock)
    rep = browser("rep")
    inbox = rep.get("/").get_data(as_text=True)
    assert "provisional calendar" in inbox
    assert "provisional calendar" in rep.get(f"/tasks/{task.id}").get_data(as_text=True)
    admin = browser("admin")
    assert "Open deadlines computed over estimated days: 1 task(s)" in admin.get("/admin/users").get_data(as_text=True)

    admin.get("/admin/calendars?year=2027")
    csv = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节调休\n"
    imported = admin.post("/admin/calendars/import?year=2027",
                          {"source": "official", "file": (io.BytesIO(csv.encode()), "cn-2027.csv")},
                          content_type="multipart/form-data")
    assert imported.status_code == 200, imported.get_data(as_text=True)
    [after] = web_engine.tasks(instance_id=instance.id)
    assert after.due_at == datetime(2027, 1, 5, 15, 0, tzinfo=SH) and not after.due_at_provisional
    assert "provisional calendar" not in browser("rep").get("/").get_data(as_text=True)
    bad = admin.post("/admin/calendars/import?year=2027", {"source": "official", "file": (io.BytesIO(b"\xff\xfe"), "x.csv")},
                     content_type="multipart/form-data")
    assert bad.status_code == 422 and "not UTF-8" in bad.get_data(as_text=True)


def test_the_calendar_page_in_chinese(browser):
    admin = browser("admin")
    admin.post("/language", {"language": "zh-CN"})
    page = admin.get("/admin/calendars?year=2027").get_data(as_text=True)
    assert "元旦" in page and "预计" in page
    bad = admin.post("/admin/calendars/2027/local", table([("2027-13-01", "holiday", "")])).get_data(as_text=True)
    assert "请输入形如 2027-01-01 的日期。" in bad and "1 行需要更正。" in bad


def test_a_provisional_due_date_is_marked_with_an_explanation(browser, web_engine, clock):
    _, task = provisional_task(web_engine, clock)
    rep = browser("rep")
    rep.post("/language", {"language": "zh-CN"})
    for url in ("/", f"/tasks/{task.id}"):
        page = rep.get(url).get_data(as_text=True)
        mark = page[page.index('<span class="badge provisional"'):]
        mark = mark[:mark.index("</span>")]
        assert "预计（日历未公布）" in mark and 'title="' in mark, url


def test_admins_are_warned_where_they_land_while_days_ahead_are_estimated(browser, web_engine, clock):
    notice = "calendar-notice"
    clock.set(datetime(2026, 9, 1, 10, 0, tzinfo=SH))  # the next 90 days are all in 2026, an official year
    admin = browser("admin")
    assert notice not in admin.get("/").get_data(as_text=True)
    assert notice not in admin.get("/dashboard/").get_data(as_text=True)

    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=SH))
    for url in ("/", "/dashboard/", "/admin/users"):
        page = admin.get(url).get_data(as_text=True)
        assert notice in page and "(from 2027-01-01)" in page, url
        assert "0 task(s), 0 timer(s)" in page and 'href="/admin/calendars?year=2027"' in page, url
    assert notice not in browser("rep").get("/").get_data(as_text=True)  # workers see the mark on their tasks instead

    provisional_task(web_engine, clock)
    assert "1 task(s), 0 timer(s)" in admin.get("/").get_data(as_text=True)
    admin.post("/language", {"language": "zh-CN"})
    assert "1 个任务，0 个定时器" in admin.get("/").get_data(as_text=True)


def test_toml_and_json_files_import_and_a_bad_file_changes_nothing(browser, web_engine, clock):
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=SH))
    admin = browser("admin")
    admin.get("/admin/calendars?year=2027")

    def upload(name: str, text: str, source: str = "official"):
        return admin.post("/admin/calendars/import?year=2027", {"source": source, "file": (io.BytesIO(text.encode()), name)},
                          content_type="multipart/form-data")

    toml = 'year = 2027\n[[holiday]]\nname = "元旦"\nfrom = 2027-01-01\nto = 2027-01-03\n[[makeup_workday]]\ndate = 2027-02-07\nfor = "春节"\n'
    page = upload("cn-2027.toml", toml).get_data(as_text=True)
    assert "2027 official: 4 day(s) stored" in page and "is provisional" not in page
    assert web_engine.runtime.calendar.is_working_day(date(2027, 2, 7))
    # An official year no longer has estimated days: Spring Festival is a working week until someone enters it.
    assert web_engine.runtime.calendar.is_working_day(date(2027, 2, 8))

    bad = upload("local.json", '[{"date": "2027-03-01", "kind": "holiday"}, {"date": "2027-03-02", "kind": "off"}]', "local")
    assert bad.status_code == 422 and "local.json: entry #2 (2027-03-02): &#39;kind&#39; must be holiday or workday" in bad.get_data(as_text=True)
    assert web_engine.runtime.calendar.is_working_day(date(2027, 3, 1))
    good = upload("local.json", '[{"date": "2027-03-01", "kind": "holiday", "name": "盘点"}]', "local")
    assert "2027 local: 1 day(s) stored" in good.get_data(as_text=True)
    with web_engine.transaction() as session:
        assert [(d.date, d.source) for d in stored_days(session, 2027, "local")] == [(date(2027, 3, 1), "local")]
        assert len(stored_days(session, 2027, "official")) == 4
