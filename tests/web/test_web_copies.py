"""Copy a case (抄送) from its page and the API; recipients read it, see it marked unread until opened."""

from __future__ import annotations

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_copy_from_the_instance_page_and_read_it(browser, web_engine, complaint):
    rep = browser("rep")
    page = rep.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert f'action="/instances/{complaint.id}/copies"' in page and 'value="ops"' in page
    assert browser("ops").get(f"/instances/{complaint.id}").status_code == 403
    nobody = rep.post(f"/instances/{complaint.id}/copies", data={"note": "x"}, follow_redirects=True)
    assert "Choose whom to copy the case to." in nobody.get_data(as_text=True)
    done = rep.post(f"/instances/{complaint.id}/copies", data={"to": ["ops"], "note": "请关注"}, follow_redirects=True)
    assert "Copied to ops." in done.get_data(as_text=True)
    ops = browser("ops")
    listed = ops.get("/instances/copied", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "抄送我的" in listed and "请关注" in listed and 'class="unread"' in listed
    assert '<span class="count"' in listed, "the navigation counts unread copies"
    assert ops.get(f"/instances/{complaint.id}").status_code == 200, "a recipient may read the case"
    listed = ops.get("/instances/copied").get_data(as_text=True)
    assert 'class="unread"' not in listed, "opening it marked it read"
    [task] = web_engine.tasks(instance_id=complaint.id)
    assert ops.post(f"/tasks/{task.id}/complete", data={"resolution": "x"}).status_code == 403, "reading only"
    history = rep.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "copied the case to ops" in history


def test_copy_through_the_api(api_as, complaint):
    rep = api_as("rep")
    result = rep.post(f"/instances/{complaint.id}/copies", {"to": ["cs_head"], "note": "FYI"})
    assert result.status_code == 200 and result.get_json() == {"instance_id": complaint.id, "recipients": ["head"]}
    mine = api_as("head").get("/instances/copied?unread=true").get_json()
    assert [(c["instance_id"], c["note"], c["read"], c["via_group"]) for c in mine["items"]] == [
        (complaint.id, "FYI", False, "cs_head")]
    assert api_as("ops").post(f"/instances/{complaint.id}/copies", {"to": ["fin"]}).status_code == 403
    assert rep.post(f"/instances/{complaint.id}/copies", {"to": ["nobody"]}).status_code == 400
