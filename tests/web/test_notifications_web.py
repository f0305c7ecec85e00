"""The bell, the notifications page, my settings, groups' chat robots, and 催办 from the task page and the API."""

from __future__ import annotations

pytest_plugins = ["tests.web.test_api_fixtures"]

ZH = {"Accept-Language": "zh-CN"}


def _transfer_to_head(web_engine, complaint, reason, *, email=None):
    """The complaint's first task, claimed by rep and transferred to head (who gets e-mail at ``email``, if given)."""
    from engine.services.notify_settings import set_preferences

    if email is not None:
        with web_engine.transaction() as s:
            set_preferences(s, "head", email=email)
    [task] = web_engine.tasks(instance_id=complaint.id)
    web_engine.claim(task.id, "rep")
    web_engine.transfer(task.id, "rep", to_user="head", reason=reason)
    return task


def test_a_transfer_rings_the_bell_and_the_list_opens_the_task(browser, web_engine, complaint):
    task = _transfer_to_head(web_engine, complaint, "请负责人处理")
    head = browser("head")
    inbox = head.get("/").get_data(as_text=True)
    bell = inbox[inbox.index('href="/notifications/"'):]
    assert bell[:bell.index("</a>")].endswith('<span class="count" title="unread">1</span>'), "the bell counts it"
    page = head.get("/notifications/", headers=ZH).get_data(as_text=True)
    assert "请负责人处理" in page and 'class="unread"' in page
    [note] = web_engine.notifications("head")
    opened = head.post(f"/notifications/{note.id}/read", data={"open": f"/tasks/{task.id}"})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/tasks/{task.id}")
    assert web_engine.notifications("head")[0].read
    assert 'class="unread"' not in head.get("/notifications/").get_data(as_text=True)


def test_settings_are_saved_and_checked(browser, web_engine):
    rep = browser("rep")
    rep.get("/notifications/")
    bad = rep.post("/notifications/settings", data={"email": "nope", "email_enabled": "on"}, follow_redirects=True)
    assert "Not saved" in bad.get_data(as_text=True)
    good = rep.post("/notifications/settings", data={"email": "rep@example.com", "email_enabled": "on",
                                                     "offhours": "digest"}, follow_redirects=True)
    assert "Notification settings saved." in good.get_data(as_text=True)
    page = good.get_data(as_text=True)
    assert 'value="rep@example.com"' in page and 'value="digest" checked' in page


def test_urge_from_the_task_page(browser, web_engine, complaint):
    [task] = web_engine.tasks(instance_id=complaint.id)
    head = browser("head")
    web_engine.copy(complaint.id, "rep", ["head"])  # head may see the case now
    page = head.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'action="/notifications/urge/{task.id}"' in page
    done = head.post(f"/notifications/urge/{task.id}", follow_redirects=True).get_data(as_text=True)
    assert "Urged" in done
    again = head.post(f"/notifications/urge/{task.id}", follow_redirects=True).get_data(as_text=True)
    assert "within the hour" in again
    history = browser("rep").get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "urged" in history


def test_admins_set_a_groups_robot_and_never_see_its_secret(browser, web_engine):
    admin = browser("admin")
    assert browser("rep").get("/notifications/webhooks").status_code == 403
    admin.get("/notifications/webhooks")
    saved = admin.post("/notifications/webhooks", data={
        "group": "cs_rep", "platform": "dingtalk", "url": "https://oapi.example.com/robot/send?access_token=T0K",
        "secret": "S3CRET-VALUE"}, follow_redirects=True).get_data(as_text=True)
    assert "saved" in saved and "S3CRET-VALUE" not in saved and "T0K" not in saved
    kept = admin.post("/notifications/webhooks", data={"group": "cs_rep", "platform": "feishu", "url": ""},
                      follow_redirects=True)
    assert kept.status_code == 200
    from engine.persistence import GroupWebhook

    with web_engine.transaction() as s:
        row = s.get(GroupWebhook, "cs_rep")
        assert (row.platform, row.secret, row.url) == ("feishu", "S3CRET-VALUE",
                                                        "https://oapi.example.com/robot/send?access_token=T0K")


def test_the_api_urges_and_lists_notifications(api_as, web_engine, complaint):
    [task] = web_engine.tasks(instance_id=complaint.id)
    web_engine.claim(task.id, "rep")
    web_engine.copy(complaint.id, "rep", ["head"])
    urged = api_as("head").post(f"/tasks/{task.id}/urge", {"note": "客户在等"})
    assert urged.status_code == 200 and urged.get_json()["recipients"] == ["rep"]
    assert api_as("head").post(f"/tasks/{task.id}/urge", {}).status_code == 409
    assert api_as("fin").post(f"/tasks/{task.id}/urge", {}).status_code == 403
    mine = api_as("rep").get("/notifications").get_json()
    assert mine["unread"] == 1 and [n["kind"] for n in mine["items"]] == ["task_urged"]
    assert set(mine["items"][0]) == {"id", "kind", "task_id", "instance_id", "created_at", "read", "channels"}
    read = api_as("rep").post(f"/notifications/{mine['items'][0]['id']}/read", {})
    assert read.status_code == 200 and read.get_json() == {"marked": 1}
    assert api_as("head").post(f"/notifications/{mine['items'][0]['id']}/read", {}).status_code == 404


def test_an_undeliverable_notification_shows_on_the_incidents_page_and_is_retried(browser, web_engine, complaint):
    from sqlalchemy import select

    from engine.persistence import Incident, NotificationDelivery
    from engine.services.delivery import record_failure

    _transfer_to_head(web_engine, complaint, "x", email="head@example.com")
    with web_engine.transaction() as s:
        [delivery] = s.scalars(select(NotificationDelivery))
        for _ in range(len(web_engine.config.notify_backoff_s) + 1):
            record_failure(s, (delivery.id,), "SMTPServerDisconnected: Connection unexpectedly closed")
        [incident] = s.scalars(select(Incident))
        incident_id = incident.id
    admin = browser("admin")
    page = admin.get("/incidents/").get_data(as_text=True)
    assert "Connection unexpectedly closed" in page
    assert f'action="/incidents/{incident_id}/retry"' in page, "the page offers the retry the engine supports"
    done = admin.post(f"/incidents/{incident_id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "the notification is sent again" in done
    with web_engine.transaction() as s:
        assert s.get(NotificationDelivery, delivery.id).status == "pending"


def test_the_audit_page_tells_a_robot_change(browser, web_engine):
    from engine.services.notify_settings import set_group_webhook

    with web_engine.transaction() as s:
        set_group_webhook(s, "cs_rep", "wecom", "https://qyapi.example.com/cgi-bin/webhook/send?key=K", None, "admin")
    page = browser("admin").get("/audit/").get_data(as_text=True)
    assert "admin set the WeCom chat robot of" in page and "key=K" not in page


def test_a_message_dropped_because_its_task_closed_shows_as_in_the_app_only(browser, web_engine, complaint):
    from engine.services.delivery import claim_deliveries, prepare

    _transfer_to_head(web_engine, complaint, "请处理", email="head@example.com")
    page = browser("head").get("/notifications/", headers=ZH).get_data(as_text=True)
    assert '<span class="badge channel-pending">邮件：待发送</span>' in page
    web_engine.cancel(complaint.id, "admin", reason="客户撤诉")  # the task closes before the e-mail goes out
    with web_engine.transaction() as s:
        [unit] = claim_deliveries(s, "w1")
        assert prepare(s, unit, "w1") is None, "nothing to send: the task is closed"
    page = browser("head").get("/notifications/", headers=ZH).get_data(as_text=True)
    assert "请处理" in page and "channel-pending" not in page and '<span class="muted">仅站内</span>' in page
