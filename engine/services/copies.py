"""Copy an instance to people (抄送): they may read it, with a note, and find it in their "copied to me" list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence import Group, InstanceCopy, ProcessInstance, User, membership
from engine.services import audit
from engine.services.context import now
from engine.services.instances import may_see_instance
from engine.services.users import active_groups

MAX_NOTE = 1000
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class CopyView:
    """An instance copied to me: by whom, when, with which note, and whether I opened it since."""

    instance_id: int
    process_key: str
    business_key: str | None
    status: str
    note: str
    copied_by: str
    copied_at: datetime
    read: bool
    via_group: str | None = None

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"instance_id": self.instance_id, "process_key": self.process_key, "business_key": self.business_key,
                "status": self.status, "note": self.note, "copied_by": self.copied_by,
                "copied_at": self.copied_at.isoformat(), "read": self.read, "via_group": self.via_group}


def _members(session: Session, group: str) -> list[str]:
    return list(session.scalars(select(User.username).join(membership, membership.c.user_id == User.id)
                                .where(membership.c.group_id == group, User.active.is_(True)).order_by(User.username)))


def copy_instance(session: Session, instance_id: int, actor: str, to: list[str], note: str = "") -> list[str]:
    """Copy an instance to users and groups (a group: its active members now); return who received it."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found", zh=f"实例 {instance_id} 不存在")
    if active_groups(session, actor) is None or not may_see_instance(session, instance_id, actor):
        raise NotAllowed(f"{actor} may not copy instance {instance_id}: only people who may see it may",
                         zh=f"{actor} 不能抄送实例 {instance_id}：只有能查看它的人可以抄送")
    names = [n.strip() for n in to if n and n.strip()]
    if not names:
        raise InvalidInput("copy to at least one user or group", zh="请至少抄送给一个用户或组")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters", zh=f"备注不能超过 {MAX_NOTE} 个字符")
    recipients: dict[str, str | None] = {}
    for name in names:
        if session.get(Group, name) is not None:
            for member in _members(session, name):
                recipients.setdefault(member, name)
        elif active_groups(session, name) is not None:
            recipients[name] = None
        else:
            raise InvalidInput(f"no active user or group {name!r}", zh=f"没有在职用户或组 {name!r}")
    recipients.pop(actor, None)
    if not recipients:
        raise InvalidInput("nobody to copy to (the groups have no other active members)", zh="没有可抄送的人（这些组没有其他在职成员）")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(f"copy to at most {MAX_RECIPIENTS} people at once", zh=f"一次最多抄送 {MAX_RECIPIENTS} 人")
    at = now(session)
    for recipient, group in sorted(recipients.items()):
        session.add(InstanceCopy(instance_id=instance_id, recipient=recipient, via_group=group, note=note,
                                 copied_by=actor, copied_at=at))
    audit.record(session, "instance_copied", actor, instance_id=instance_id, process_key=instance.process_key,
                 data={"to": names, "recipients": sorted(recipients), "note": note})
    session.flush()
    return sorted(recipients)


def copied_to(session: Session, user: str, *, unread_only: bool = False, limit: int = 50,
              offset: int = 0) -> tuple[list[CopyView], int]:
    """Return the instances copied to ``user``, latest first, and how many there are."""
    stmt = (select(InstanceCopy, ProcessInstance).join(ProcessInstance, ProcessInstance.id == InstanceCopy.instance_id)
            .where(InstanceCopy.recipient == user))
    if unread_only:
        stmt = stmt.where(InstanceCopy.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(InstanceCopy.copied_at.desc(), InstanceCopy.id.desc()).limit(limit).offset(offset))
    return [CopyView(c.instance_id, i.process_key, i.business_key, i.status, c.note, c.copied_by, c.copied_at,
                     c.read_at is not None, c.via_group) for c, i in rows], int(total)


def unread_copies(session: Session, user: str) -> int:
    """Return how many copies ``user`` has not opened yet."""
    return int(session.scalar(select(func.count(InstanceCopy.id)).where(InstanceCopy.recipient == user,
                                                                        InstanceCopy.read_at.is_(None))) or 0)


def mark_copies_read(session: Session, instance_id: int, user: str) -> None:
    """Mark the copies of an instance to ``user`` as read (they opened it)."""
    session.execute(update(InstanceCopy).where(InstanceCopy.instance_id == instance_id, InstanceCopy.recipient == user,
                                               InstanceCopy.read_at.is_(None)).values(read_at=now(session)))
