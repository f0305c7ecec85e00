"""Attach files to an instance or one of its tasks, list them, read them back — authorised like the instance itself.

Who may attach: someone working on the case — the assignee, a candidate or the delegating owner of one of its open
tasks — or a supervisor (cs_head, admin) and the engine's own operator. People the case was copied to (抄送) read
it and nothing more: they may download, not upload. Who may read: whoever may see the instance (its starter,
anyone who has or had a task in it, a copy recipient, a holder of an action on it) and the overseers
(cs_head, vp, admin, auditor), exactly as the instance page decides.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.errors import STATUS_ZH, InvalidInput, NotAllowed, NotFound
from engine.persistence import Attachment, HumanTask, ProcessInstance
from engine.services import audit
from engine.services.attachment_files import INLINE, display_name, sniff, thumbnail
from engine.services.candidates import is_candidate
from engine.services.context import context_of, now
from engine.services.instance_actions import may_see_or_act
from engine.services.tasks import SYSTEM_ACTORS
from engine.services.users import active_groups
from engine.storage import current_store, store_named

SUPERVISORS = frozenset({"cs_head", "admin"})
# Those who may see every instance (web/access.py INSTANCE_OVERSEERS; a test keeps the two equal).
OVERSEERS = frozenset({"cs_head", "vp", "admin", "auditor"})
READ_ONLY = frozenset({"auditor"})
MAX_PER_INSTANCE = 200


@dataclass(frozen=True)
class AttachmentView:
    """One attached file as scripts, pages and the API see it."""

    id: int
    instance_id: int
    task_id: str | None
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    has_thumbnail: bool
    storage: str

    @property
    def inline(self) -> bool:
        """Return True if a browser shows it in place (PDF, photos) rather than downloading it."""
        return self.media_type in INLINE

    @property
    def is_image(self) -> bool:
        """Return True for photos."""
        return self.media_type.startswith("image/")

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"id": self.id, "instance_id": self.instance_id, "task_id": self.task_id, "filename": self.filename,
                "media_type": self.media_type, "size": self.size, "sha256": self.sha256,
                "uploaded_by": self.uploaded_by, "uploaded_at": self.uploaded_at.isoformat(),
                "has_thumbnail": self.has_thumbnail, "storage": self.storage}


def _view(row: Attachment) -> AttachmentView:
    return AttachmentView(row.id, row.instance_id, row.task_id, row.filename, row.media_type, row.size, row.sha256,
                          row.uploaded_by, row.uploaded_at, row.thumbnail_key is not None, row.storage)


def _instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found", zh=f"实例 {instance_id} 不存在")
    return instance


def may_read(session: Session, instance_id: int, actor: str) -> bool:
    """Return True if ``actor`` may list and download the instance's attachments (as they may see the instance)."""
    if actor in SYSTEM_ACTORS:
        return True
    groups = active_groups(session, actor)
    if groups is None:
        return False
    return bool(groups & OVERSEERS) or may_see_or_act(session, instance_id, actor)


def _works_on(row: HumanTask, actor: str, groups: set[str]) -> bool:
    return actor in {row.assignee, row.owner} or (row.assignee is None and is_candidate(row, actor, groups))


def may_attach(session: Session, instance_id: int, actor: str, task_id: str | None = None) -> bool:
    """Return True if ``actor`` works on the case (an open task of it, or the given one) or supervises it."""
    if actor in SYSTEM_ACTORS:
        return True
    groups = active_groups(session, actor)
    if groups is None or groups & READ_ONLY:
        return False
    if groups & SUPERVISORS:
        return True
    stmt = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
    if task_id is not None:
        stmt = stmt.where(HumanTask.id == task_id)
    else:
        stmt = stmt.where(or_(HumanTask.assignee.is_(None), HumanTask.assignee == actor, HumanTask.owner == actor))
    return any(_works_on(row, actor, groups) for row in session.scalars(stmt))


def attach(session: Session, instance_id: int, filename: str, content: bytes, actor: str,
           task_id: str | None = None) -> AttachmentView:
    """Store a file on an instance (or one of its open tasks): type sniffed, size checked, thumbnail made; audited."""
    instance = _instance(session, instance_id)
    if task_id is not None:
        task = session.get(HumanTask, task_id)
        if task is None or task.instance_id != instance_id:
            raise NotFound(f"task {task_id} is not a task of instance {instance_id}",
                           zh=f"任务 {task_id} 不是实例 {instance_id} 的任务")
        if task.status != "open":
            raise InvalidInput(f"task {task_id} is {task.status}: attach files to open tasks or to the case",
                               zh=f"任务 {task_id} 当前状态为“{STATUS_ZH.get(task.status, task.status)}”：请把文件附在待办任务或案件上")
    if not may_attach(session, instance_id, actor, task_id):
        raise NotAllowed(f"{actor} may not attach files to instance {instance_id}: only people working on "
                         f"{'this task' if task_id else 'one of its open tasks'} or a cs_head/admin may",
                         zh=f"{actor} 不能给实例 {instance_id} 添加附件：只有办理{'此任务' if task_id else '其待办任务'}的人或客服部负责人/管理员可以")
    config = context_of(session).config
    if len(content) > config.attachment_max_bytes:
        raise InvalidInput(f"the file is {_size(len(content))}; at most {_size(config.attachment_max_bytes)} "
                           "may be attached",
                           zh=f"文件大小为 {_size(len(content))}；最多只能上传 {_size(config.attachment_max_bytes)}")
    count = session.scalar(select(func.count(Attachment.id)).where(Attachment.instance_id == instance_id)) or 0
    if count >= MAX_PER_INSTANCE:
        raise InvalidInput(f"instance {instance_id} already has {MAX_PER_INSTANCE} attachments",
                           zh=f"实例 {instance_id} 已有 {MAX_PER_INSTANCE} 个附件")
    media_type = sniff(content, filename)
    name = display_name(filename, media_type)
    small = thumbnail(content, media_type)
    digest = hashlib.sha256(content).hexdigest()
    store = current_store(config)
    key = f"attachments/{instance_id}/{uuid.uuid4().hex}"
    store.put(session, key, content, media_type)
    if small is not None:
        store.put(session, f"{key}.thumb.jpg", small, "image/jpeg")
    row = Attachment(instance_id=instance_id, task_id=task_id, filename=name, media_type=media_type,
                     size=len(content), sha256=digest, storage=store.name, storage_key=key,
                     thumbnail_key=f"{key}.thumb.jpg" if small is not None else None,
                     uploaded_by=actor, uploaded_at=now(session))
    session.add(row)
    session.flush()
    audit.record(session, "attachment_added", actor, instance_id=instance_id, task_id=task_id,
                 process_key=instance.process_key,
                 data={"attachment_id": row.id, "filename": name, "media_type": media_type, "size": len(content),
                       "sha256": digest, "task_id": task_id})
    return _view(row)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n} bytes" if n < 1024 else f"{n / 1024:.0f} KB"


def list_attachments(session: Session, instance_id: int, actor: str, task_id: str | None = None) -> list[AttachmentView]:
    """Return the attachments of an instance (or of one of its tasks), oldest first, if ``actor`` may see it."""
    _instance(session, instance_id)
    if not may_read(session, instance_id, actor):
        raise NotAllowed(f"{actor} may not see instance {instance_id}", zh=f"{actor} 无权查看实例 {instance_id}")
    stmt = select(Attachment).where(Attachment.instance_id == instance_id)
    if task_id is not None:
        stmt = stmt.where(Attachment.task_id == task_id)
    return [_view(r) for r in session.scalars(stmt.order_by(Attachment.id))]


def _readable(session: Session, attachment_id: int, actor: str) -> Attachment:
    row = session.get(Attachment, attachment_id)
    # An outsider learns nothing, not even that the attachment exists.
    if row is None or not may_read(session, row.instance_id, actor):
        raise NotFound(f"attachment {attachment_id} not found", zh=f"附件 {attachment_id} 不存在")
    return row


def get_attachment(session: Session, attachment_id: int, actor: str) -> AttachmentView:
    """Return one attachment's facts if ``actor`` may see its instance (else NotFound)."""
    return _view(_readable(session, attachment_id, actor))


def read_content(session: Session, attachment_id: int, actor: str) -> tuple[AttachmentView, bytes]:
    """Return an attachment and its bytes (from the store that holds them) if ``actor`` may see its instance."""
    row = _readable(session, attachment_id, actor)
    return _view(row), store_named(context_of(session).config, row.storage).get(session, row.storage_key)


def read_thumbnail(session: Session, attachment_id: int, actor: str) -> bytes:
    """Return an image attachment's JPEG thumbnail if ``actor`` may see its instance (NotFound when it has none)."""
    row = _readable(session, attachment_id, actor)
    if row.thumbnail_key is None:
        raise NotFound(f"attachment {attachment_id} has no thumbnail", zh=f"附件 {attachment_id} 没有缩略图")
    return store_named(context_of(session).config, row.storage).get(session, row.thumbnail_key)
