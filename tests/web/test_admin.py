"""Administration: users (create, groups, deactivate, password), groups and members (calendars: test_admin_calendar.py)."""

from __future__ import annotations

from engine.services.admin import list_groups, list_users


def users(engine):
    with engine.transaction() as session:
        return {u.username: u for u in list_users(session)}


def groups(engine):
    with engine.transaction() as session:
        return {g.id: g for g in list_groups(session)}


def test_only_admins_administer(browser):
    for url in ("/admin/users", "/admin/groups", "/admin/calendars", "/admin/users/rep"):
        assert browser("admin").get(url).status_code == 200, url
        for user in ("rep", "head", "auditor", "designer"):
            assert browser(user).get(url).status_code == 403, (url, user)
    assert browser("admin").get("/admin/").status_code == 302
    assert browser("rep").post("/admin/users", {"username": "x"}).status_code == 403


def test_create_a_user_who_then_signs_in(browser, web_engine):
    admin = browser("admin")
    response = admin.post("/admin/users", {"username": "li.wei", "display_name": "李伟", "groups": ["cs_rep", "finance"],
                                           "password": "a long secret", "password_again": "a long secret"})
    assert response.status_code == 302 and response.location.endswith("/admin/users/li.wei")
    created = users(web_engine)["li.wei"]
    assert created.groups == ("cs_rep", "finance") and created.display_name == "李伟" and created.active
    assert browser().login("li.wei", "a long secret").status_code == 302
    assert "li.wei" in admin.get("/admin/users").get_data(as_text=True)
    created_event = [e for e in _admin_events(web_engine) if e.type == "user_created"]
    assert created_event[0].data == {"username": "li.wei", "groups": ["cs_rep", "finance"]}


def test_user_form_mistakes_are_explained(browser, web_engine):
    admin = browser("admin")
    taken = admin.post("/admin/users", {"username": "rep"})
    assert taken.status_code == 422 and "A user named rep already exists." in taken.get_data(as_text=True)
    bad = admin.post("/admin/users", {"username": "../x"})
    assert bad.status_code == 422 and "User name:" in bad.get_data(as_text=True)
    short = admin.post("/admin/users", {"username": "new1", "password": "short", "password_again": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.get_data(as_text=True)
    differ = admin.post("/admin/users", {"username": "new1", "password": "long enough", "password_again": "long enougH"})
    assert differ.status_code == 422 and "The two passwords differ." in differ.get_data(as_text=True)
    assert "new1" not in users(web_engine)


def test_set_groups_deactivate_and_password(browser, web_engine):
    admin = browser("admin")
    assert admin.post("/admin/users/rep2", {"display_name": "Rep Two", "groups": ["cs_head", "unknown"]}).status_code == 302
    assert users(web_engine)["rep2"].groups == ("cs_head",)
    assert admin.post("/admin/users/rep2/password", {"password": "new password", "password_again": "new password"}
                      ).status_code == 302
    assert browser().login("rep2", "new password").status_code == 302
    assert admin.post("/admin/users/rep2/active", {"active": "0"}).status_code == 302
    assert not users(web_engine)["rep2"].active
    assert browser().login("rep2", "new password").status_code == 401
    assert admin.post("/admin/users/rep2/active", {"active": "1"}).status_code == 302
    assert browser().login("rep2", "new password").status_code == 302
    types = [e.type for e in _admin_events(web_engine)]
    assert types == ["user_groups_changed", "password_set", "user_deactivated", "user_activated"]


def _admin_events(engine):
    from engine.services.audit import query_events

    with engine.transaction() as session:
        return [e for e in query_events(session, actor="admin") if e.instance_id is None]


def test_the_last_administrator_stays(browser, web_engine):
    admin = browser("admin")
    self_off = admin.post("/admin/users/admin/active", {"active": "0"})
    assert self_off.status_code == 409 and "You cannot deactivate yourself." in self_off.get_data(as_text=True)
    demote = admin.post("/admin/users/admin", {"groups": ["cs_rep"]})
    assert demote.status_code == 409 and "last active administrator" in demote.get_data(as_text=True)
    leave = admin.post("/admin/groups/admin/members/admin/remove")
    assert leave.status_code == 409
    assert users(web_engine)["admin"].groups == ("admin",)
    admin.post("/admin/groups/admin/members", {"username": "head"})
    assert admin.post("/admin/groups/admin/members/admin/remove").status_code == 302
    assert "admin" not in users(web_engine)["admin"].groups


def test_groups_and_members(browser, web_engine):
    admin = browser("admin")
    assert admin.post("/admin/groups", {"group_id": "warehouse_qa", "name_en": "Warehouse QA", "name_zh": "仓库质检"}
                      ).status_code == 302
    assert admin.post("/admin/groups", {"group_id": "Warehouse QA"}).status_code == 422
    assert admin.post("/admin/groups", {"group_id": "warehouse_qa"}).status_code == 422
    assert admin.post("/admin/groups/warehouse_qa/members", {"username": "ops"}).status_code == 302
    assert groups(web_engine)["warehouse_qa"].members == ("ops",)
    page = admin.get("/admin/groups").get_data(as_text=True)
    assert 'id="group-warehouse_qa"' in page and "Warehouse QA" in page
    assert admin.post("/admin/groups/warehouse_qa/members/ops/remove").status_code == 302
    assert groups(web_engine)["warehouse_qa"].members == ()
    assert admin.post("/admin/groups/nope/members", {"username": "ops"}).status_code == 404


def test_admin_pages_in_chinese(browser):
    admin = browser("admin")
    admin.post("/language", {"language": "zh-CN"})
    text = admin.get("/admin/users").get_data(as_text=True)
    assert "新用户" in text and "用户组" in text
