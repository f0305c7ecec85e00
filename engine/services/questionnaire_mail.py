"""E-mailing a questionnaire link to the customer, when the register has the customer's address.

The message is a row in the notification outbox (channel ``customer_email``) written in the transaction that opened
the questionnaire, and the worker delivers it like every other e-mail (retries, once-only key, incidents). It is
written in Chinese with an English copy below: customers have no account, so no language of their own.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import Customer, NotificationDelivery, Questionnaire
from engine.services import audit
from engine.services.context import context_of, now
from engine.services.customers import find_customer
from engine.services.questionnaires import SURVEY, QuestionnaireView

CHANNEL = "customer_email"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SUBJECT = {SURVEY: "客户满意度调查 / Customer satisfaction survey", "order": "订单 {order} 服务评价 / How did we do? ({order})"}
BODY = {
    SURVEY: ("尊敬的 {customer}：\n请您花几分钟对我们 {period} 的服务做出评价：\n{link}\n链接有效期至 {until}，仅可提交一次。"
             "每一项不满意我们都会交由责任部门整改，并在下次调查时向您复核。\n\n"
             "Dear {customer},\nplease tell us how satisfied you were with our service in {period}:\n{link}\n"
             "The link works once, until {until}. Every item you are not satisfied with is put right by the department "
             "responsible, and we ask you about it again in the next survey."),
    "order": ("尊敬的 {customer}：\n您的订单 {order} 已送达。请用一分钟告诉我们服务如何：\n{link}\n链接有效期至 {until}，仅可提交一次。\n\n"
              "Dear {customer},\nyour order {order} has been delivered. Please tell us how we did:\n{link}\n"
              "The link works once, until {until}."),
}


def set_customer_email(session: Session, name: str, email: str | None, actor: str) -> str | None:
    """Record (or clear, with an empty value) where a customer's questionnaires are e-mailed; audited."""
    row = find_customer(session, name)
    address = str(email or "").strip() or None
    if address is not None and (len(address) > 254 or not EMAIL.match(address)):
        raise InvalidInput(f"e-mail must look like name@example.com, not {address!r}")
    if address != row.email:
        audit.record(session, "customer_saved", actor, data={"customer": row.name, "before": {"email": row.email},
                                                             "after": {"email": address}})
        row.email = address
        session.flush()
    return address


def customer_email(session: Session, name: str) -> str | None:
    """Return the e-mail address the register has for a customer (None: none, or no such customer)."""
    return session.scalar(select(Customer.email).where(Customer.name == name.strip()))


def queue_questionnaire_mail(session: Session, q: QuestionnaireView) -> bool:
    """Put the questionnaire's link in the outbox for the customer's address, once; False when there is no address."""
    address = customer_email(session, q.customer)
    if not address or q.emailed_to:
        return False
    ctx = context_of(session)
    at = now(session)
    until = q.expires_at.astimezone(ZoneInfo(ctx.config.timezone)).strftime("%Y-%m-%d %H:%M")
    link = ctx.config.base_url.rstrip("/") + q.link
    facts: dict[str, Any] = {"customer": q.customer, "period": q.period, "order": q.period, "link": link, "until": until}
    payload = {"kind": "questionnaire", "to": address, "subject": SUBJECT[q.kind].format(**facts),
               "body": BODY[q.kind].format(**facts), "link": link, "instance_id": q.instance_id,
               "process_key": None, "questionnaire": q.id}
    session.add(NotificationDelivery(id=uuid.uuid4().hex, notification_id=None, source=uuid.uuid4().hex,
                                     channel=CHANNEL, recipient=f"customer:{q.customer}"[:120], batch="now",
                                     payload=payload, status="pending", attempts=0, next_attempt_at=at,
                                     delivery_key=f"questionnaire:{q.id}", created_at=at))
    row = session.get(Questionnaire, q.id)
    assert row is not None
    row.emailed_to = address
    session.flush()
    return True
