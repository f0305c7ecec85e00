"""How a notification goes out: its text (zh-CN or English), e-mail over SMTP, and group chat robots with signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import smtplib
import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote, urlsplit

# What each kind says, in both languages: {title} is the task (or process) name, {actor} who caused it.
SUBJECTS: dict[str, dict[str, str]] = {
    "task_assigned": {"zh-CN": "新任务：{title}", "en": "New task for you: {title}"},
    "task_available": {"zh-CN": "组内新任务：{title}", "en": "New task for your group: {title}"},
    "task_transferred": {"zh-CN": "{actor} 转办给你：{title}", "en": "{actor} transferred a task to you: {title}"},
    "task_delegated": {"zh-CN": "{actor} 委派给你：{title}", "en": "{actor} delegated a task to you: {title}"},
    "task_delegation_returned": {"zh-CN": "{actor} 已填好委派的任务，请确认：{title}",
                                 "en": "{actor} filled the task you delegated; please confirm: {title}"},
    "task_sent_back": {"zh-CN": "任务被退回给你：{title}", "en": "A task was sent back to you: {title}"},
    "task_withdrawn": {"zh-CN": "任务已撤回：{title}", "en": "A task was withdrawn: {title}"},
    "task_urged": {"zh-CN": "{actor} 催办：{title}", "en": "{actor} is waiting on you: {title}"},
    "escalated": {"zh-CN": "超时升级：{title}", "en": "Escalated to you: {title}"},
    "sla_breached": {"zh-CN": "超时：{title}", "en": "Deadline missed: {title}"},
    "instance_copied": {"zh-CN": "{actor} 抄送给你：{title}", "en": "{actor} copied a case to you: {title}"},
}
DIGEST = {"zh-CN": "工作时间外的 {count} 条通知", "en": "{count} notifications from outside working hours"}
OPEN = {"zh-CN": "打开", "en": "Open"}
REASON = {"zh-CN": "说明", "en": "Note"}


@dataclass(frozen=True)
class Message:
    """A rendered notification: one subject line, a body and the page it links to."""

    subject: str
    body: str
    link: str


def language_of(locale: str | None) -> str:
    """Return ``en`` or ``zh-CN`` (the default) for a user's locale."""
    return "en" if (locale or "").lower().startswith("en") else "zh-CN"


def render(payload: dict[str, Any], language: str, base_url: str, titles: dict[str, str] | None = None) -> Message:
    """Say one notification in ``language``, with a link to its task or instance."""
    data = payload.get("data") or {}
    texts = titles or {}
    title = texts.get(language) or texts.get("en") or data.get("title") or data.get("step") or \
        (payload.get("process_key") or "")
    if payload.get("instance_id"):
        title = f"{title} (#{payload['instance_id']}{' ' + str(data['business_key']) if data.get('business_key') else ''})"
    kind = payload.get("kind", "")
    subject = SUBJECTS.get(kind, {"zh-CN": "{title}", "en": "{title}"})[language].format(
        title=title, actor=payload.get("actor") or "")
    if payload.get("task_id") and kind not in ("sla_breached", "instance_copied"):
        link = f"{base_url.rstrip('/')}/tasks/{payload['task_id']}"
    elif payload.get("instance_id"):
        link = f"{base_url.rstrip('/')}/instances/{payload['instance_id']}"
    else:
        link = base_url.rstrip("/") + "/"
    lines = [subject]
    note = data.get("reason") or data.get("note")
    if note:
        lines.append(f"{REASON[language]}: {note}")
    lines.append(f"{OPEN[language]}: {link}")
    return Message(subject, "\n".join(lines), link)


def digest(messages: list[Message], language: str) -> Message:
    """Bundle the messages held outside working hours into one."""
    subject = DIGEST[language].format(count=len(messages))
    body = "\n\n".join([subject] + [m.body for m in messages])
    return Message(subject, body, messages[0].link if messages else "")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail: ``smtp://[user:pass@]host[:port][?starttls=1]`` or ``smtps://`` (TLS)."""

    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None
    cafile: str | None = None  # a CA bundle to trust (a private mail server's own certificate)

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse ``BPM_SMTP_URL`` (``?starttls=1`` upgrades the connection; ``&cafile=PATH`` trusts a private CA)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("BPM_SMTP_URL must look like smtp://host:port or smtps://user:pass@host:465")
        query = parse_qs(parts.query)
        starttls = (query.get("starttls") or ["0"])[0].lower() in ("1", "true", "yes")
        return cls(parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25), parts.scheme == "smtps",
                   starttls, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, query["cafile"][0] if query.get("cafile") else None)


def send_email(settings: SmtpSettings, sender: str, to: str, message: Message, message_id: str,
               handing_over: Callable[[], None], timeout: float = 30.0) -> None:
    """Send one e-mail; call ``handing_over`` after the server accepted sender and recipient, just before the data."""
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = message.subject, sender, to
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '.', message_id)}@bpm>"  # the delivery key, made header-safe
    mail.set_content(message.body)
    context = ssl.create_default_context(cafile=settings.cafile)
    client: smtplib.SMTP = (smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
                            if settings.tls
                            else smtplib.SMTP(settings.host, settings.port, timeout=timeout))
    try:
        client.ehlo()
        if settings.starttls:
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
        code, reply = client.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = client.rcpt(to)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        handing_over()
        # CRLF line ends (policy SMTP): smtplib sends bytes as they are, and a message with bare LF is one long
        # "line" to the server, refused once it passes 1000 bytes (RFC 5321 4.5.3.1.6).
        code, reply = client.data(mail.as_bytes(policy=SMTP_POLICY))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the message was accepted (or failed) already; a dropped goodbye changes nothing


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")), URL-encoded."""
    digest_ = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest_).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu: base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b""))."""
    return base64.b64encode(hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def robot_request(platform: str, url: str, secret: str | None, message: Message, now_s: float) -> tuple[str, bytes]:
    """Return the URL and JSON body a group robot takes (signed where the platform signs)."""
    text = f"{message.subject}\n{message.link}"
    if platform == "dingtalk":
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": text}}
        if secret:
            ts = int(now_s * 1000)
            url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
    elif platform == "feishu":
        body = {"msg_type": "text", "content": {"text": text}}
        if secret:
            ts = int(now_s)
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    else:  # wecom: the key is in the URL, nothing is signed
        body = {"msgtype": "text", "text": {"content": text}}
    return url, json.dumps(body, ensure_ascii=False).encode("utf-8")


def post_robot(platform: str, url: str, secret: str | None, message: Message, now_s: float,
               handing_over: Callable[[], None], timeout: float = 15.0) -> None:
    """Post a message to a group robot; the platforms answer 200 with an error code in the body when they refuse."""
    target, body = robot_request(platform, url, secret, message, now_s)
    if urlsplit(target).scheme not in ("http", "https"):
        raise ValueError("a robot URL must be http(s)")
    request = urllib.request.Request(target, data=body, method="POST",  # noqa: S310 - checked just above
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    handing_over()
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an admin-configured http(s) URL
        answer = response.read(65536)
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        return
    code = result.get("errcode", result.get("code", 0)) if isinstance(result, dict) else 0
    if code not in (0, None):
        raise RuntimeError(f"{platform} robot refused the message: {result.get('errmsg') or result.get('msg') or code}")
