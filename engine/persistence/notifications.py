"""Notifications (the in-app bell), their outbox deliveries (e-mail, group robots), preferences and group webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class Notification(Base):
    """Something one person should know (a task became theirs, an urge, a copy…); unread until they open it."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_recipient", "recipient", "read_at"),
                      Index("ix_notification_urge", "task_id", "recipient", "kind"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    process_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    actor: Mapped[str] = mapped_column(String(120), default="")
    # The audit event the notification came from (every row of one event shares it, and so do its robot messages).
    source: Mapped[str] = mapped_column(String(32), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class NotificationDelivery(Base):
    """One message to send (an e-mail to a person, a post to a group's robot), retried until sent or failed."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    notification_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | wecom | dingtalk | feishu
    recipient: Mapped[str] = mapped_column(String(120))  # a user name (e-mail) or a group id (robot)
    # How it goes out: "now", "morning" (held for the next working morning) or "digest" (one e-mail for the lot).
    batch: Mapped[str] = mapped_column(String(16), default="now")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | unconfirmed | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lock_owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivery_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class NotificationPreference(Base):
    """A person's e-mail address and how they want to hear: e-mail on or off, off-hours messages one by one or a digest."""

    __tablename__ = "notification_preference"

    username: Mapped[str] = mapped_column(String(120), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupWebhook(Base):
    """A group's chat robot (企业微信 / 钉钉 / 飞书): its URL and signing secret (never shown back)."""

    __tablename__ = "group_webhook"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | feishu
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(120), default="")
