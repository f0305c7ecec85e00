"""SQLAlchemy models (one module per aggregate) and the database connection."""

from engine.persistence.attachments import Attachment, AttachmentBlob
from engine.persistence.audit import AuditChainHead, AuditCheckpoint, AuditCheckpointHead, AuditEvent, AuditSignature
from engine.persistence.base import Base
from engine.persistence.calendar import CalendarDay
from engine.persistence.calls import CallRecord
from engine.persistence.copies import InstanceCopy
from engine.persistence.customers import Contract, Customer, RegisterStart
from engine.persistence.definitions import DefinitionFile, ProcessDefinition
from engine.persistence.drafts import DefinitionDraft
from engine.persistence.external_tasks import ExternalTask
from engine.persistence.grading import CustomerGradeChange
from engine.persistence.instances import MessageSubscription, ProcessInstance
from engine.persistence.notifications import GroupWebhook, Notification, NotificationDelivery, NotificationPreference
from engine.persistence.questionnaires import Questionnaire, ReturnVisitRequest
from engine.persistence.rate_limits import RateLimitCounter
from engine.persistence.requests import IdempotencyKey, PortalTicket
from engine.persistence.tasks import HumanTask, HumanTaskCandidate, TaskComment
from engine.persistence.timers import Incident, SlaBreach, Timer
from engine.persistence.uploads import StagedFile, StagedUpload
from engine.persistence.users import ApiToken, Group, SignInThrottle, User, membership

__all__ = [
    "ApiToken", "Attachment", "AttachmentBlob", "AuditChainHead", "AuditCheckpoint", "AuditCheckpointHead", "AuditEvent",
    "AuditSignature", "Base",
    "CalendarDay", "CallRecord", "Contract", "Customer", "CustomerGradeChange",
    "DefinitionDraft", "DefinitionFile", "ExternalTask", "Group", "GroupWebhook",
    "HumanTask",
    "HumanTaskCandidate",
    "IdempotencyKey", "Incident", "InstanceCopy", "MessageSubscription", "Notification", "NotificationDelivery",
    "NotificationPreference", "PortalTicket", "ProcessDefinition", "Questionnaire", "RateLimitCounter", "RegisterStart",
    "ReturnVisitRequest",
    "ProcessInstance", "SignInThrottle", "SlaBreach", "StagedFile", "StagedUpload", "TaskComment",
    "Timer", "User", "membership",
]
