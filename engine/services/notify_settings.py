"""People's notification preferences (e-mail address, e-mail on/off, digest) and groups' chat-robot webhooks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.persistence import Group, GroupWebhook, NotificationPreference
from engine.services import audit
from engine.services.context import now
from engine.services.users import get_user

PLATFORMS = ("wecom", "dingtalk", "feishu")
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


@dataclass(frozen=True)
class Preferences:
    """How one person hears about their work."""

    username: str
    email: str | None
    email_enabled: bool
    digest: bool

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"username": self.username, "email": self.email, "email_enabled": self.email_enabled,
                "digest": self.digest}


def check_email(email: str) -> str:
    """Return the address without surrounding blanks; InvalidInput if it is not an e-mail address."""
    address = email.strip()
    if len(address) > 255 or not _EMAIL.match(address):
        raise InvalidInput(f"{address!r} is not an e-mail address")
    return address


def preferences(session: Session, username: str) -> Preferences:
    """Return a person's preferences (defaults when they never set any)."""
    row = session.get(NotificationPreference, username)
    if row is None:
        return Preferences(username, None, True, False)
    return Preferences(username, row.email, row.email_enabled, row.digest)


def set_preferences(session: Session, username: str, *, email: str | None = None, email_enabled: bool | None = None,
                    digest: bool | None = None, clear_email: bool = False) -> Preferences:
    """Change a person's e-mail address or notification choices (only what is given)."""
    if get_user(session, username) is None:
        raise NotFound(f"no user {username!r}")
    row = session.get(NotificationPreference, username)
    if row is None:
        row = NotificationPreference(username=username, email=None, email_enabled=True, digest=False,
                                     updated_at=now(session))
        session.add(row)
    if email is not None and email.strip():
        row.email = check_email(email)
    elif clear_email:
        row.email = None
    if email_enabled is not None:
        row.email_enabled = email_enabled
    if digest is not None:
        row.digest = digest
    row.updated_at = now(session)
    session.flush()
    return preferences(session, username)


@dataclass(frozen=True)
class WebhookView:
    """A group's robot as pages and JSON show it: never its secret, only whether it has one."""

    group_id: str
    platform: str
    url: str
    signed: bool
    enabled: bool

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict (no secret)."""
        return {"group": self.group_id, "platform": self.platform, "url": _masked(self.url), "signed": self.signed,
                "enabled": self.enabled}


def _masked(url: str) -> str:
    """Hide the key part of a robot URL (its access token is as good as a password)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def group_webhooks(session: Session) -> list[WebhookView]:
    """Return every group's robot."""
    from sqlalchemy import select

    rows = session.scalars(select(GroupWebhook).order_by(GroupWebhook.group_id))
    return [WebhookView(r.group_id, r.platform, r.url, bool(r.secret), r.enabled) for r in rows]


def set_group_webhook(session: Session, group_id: str, platform: str, url: str, secret: str | None, actor: str,
                      *, keep_secret: bool = False) -> WebhookView:
    """Set a group's chat robot (企业微信 / 钉钉 / 飞书); ``keep_secret`` keeps the stored secret when none is given."""
    if session.get(Group, group_id) is None:
        raise NotFound(f"no group {group_id!r}")
    if platform not in PLATFORMS:
        raise InvalidInput(f"platform must be one of {', '.join(PLATFORMS)}")
    url = (url or "").strip()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc or len(url) > 2000:
        raise InvalidInput("the webhook URL must be an http(s) URL")
    row = session.get(GroupWebhook, group_id)
    if row is None:
        row = GroupWebhook(group_id=group_id, platform=platform, url=url, secret=None, enabled=True,
                           updated_at=now(session), updated_by=actor)
        session.add(row)
    row.platform, row.url, row.enabled, row.updated_at, row.updated_by = platform, url, True, now(session), actor
    if secret and secret.strip():
        row.secret = secret.strip()
    elif not keep_secret:
        row.secret = None
    audit.record(session, "group_webhook_set", actor, data={"group": group_id, "platform": platform,
                                                            "signed": bool(row.secret)})
    session.flush()
    return WebhookView(group_id, platform, url, bool(row.secret), True)


def remove_group_webhook(session: Session, group_id: str, actor: str) -> None:
    """Remove a group's chat robot."""
    row = session.get(GroupWebhook, group_id)
    if row is None:
        raise NotFound(f"group {group_id!r} has no webhook")
    session.delete(row)
    audit.record(session, "group_webhook_removed", actor, data={"group": group_id})
    session.flush()
