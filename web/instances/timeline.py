"""The history timeline: audit events as sentences in the user's language, oldest first.

Each entry says who did what to which step in words ("张三 完成了 催收付款"), lists the data it carried by its
labels, and keeps the event's raw record for auditors (shown collapsed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from engine.services.audit import HistoryEntry
from engine.services.texts import ProcessTexts
from web.i18n import group_label
from web.instances.presenting import Presenter, duration_text, instant_text

EVENT_LABELS = {
    "instance_started": lazy_gettext("Process started"),
    "instance_completed": lazy_gettext("Process completed"),
    "instance_cancelled": lazy_gettext("Process cancelled"),
    "task_created": lazy_gettext("Task created"),
    "task_claimed": lazy_gettext("Task claimed"),
    "task_unclaimed": lazy_gettext("Task given back"),
    "task_assigned": lazy_gettext("Task assigned"),
    "task_transferred": lazy_gettext("Task transferred"),
    "instance_copied": lazy_gettext("Case copied"),  # not "Copied": that is the copied list's date column (抄送时间)
    "attachment_added": lazy_gettext("File attached"),
    "task_urged": lazy_gettext("Urged"),
    "task_delegated": lazy_gettext("Task delegated"),
    "task_sent_back": lazy_gettext("Sent back"),
    "task_withdrawn": lazy_gettext("Withdrawn"),
    "task_delegation_returned": lazy_gettext("Delegated task handed back"),
    "task_completed": lazy_gettext("Task completed"),
    "task_cancelled": lazy_gettext("Task cancelled"),
    "task_commented": lazy_gettext("Comment"),
    "task_passed": lazy_gettext("Step passed"),
    "timer_fired": lazy_gettext("Timer fired"),
    "timer_retry_scheduled": lazy_gettext("Timer retry scheduled"),
    "timer_rescheduled": lazy_gettext("Timer moved by a calendar change"),
    "due_rescheduled": lazy_gettext("Due date moved by a calendar change"),
    "message_correlated": lazy_gettext("Message received"),
    "sla_breached": lazy_gettext("Deadline missed"),
    "data_changed": lazy_gettext("Data changed"),
    "instance_migrated": lazy_gettext("Moved to another version"),
    "incident_raised": lazy_gettext("Incident raised"),
    "incident_retried": lazy_gettext("Incident retried"),
    "incident_resolved": lazy_gettext("Incident resolved"),
    "external_task_locked": lazy_gettext("External task fetched by a worker"),
    "external_task_lock_extended": lazy_gettext("External task lock extended"),
    "external_task_failed": lazy_gettext("External task failed"),
    "external_task_completed": lazy_gettext("External task completed"),
    "customer_saved": lazy_gettext("Customer register changed"),
    "contract_saved": lazy_gettext("Contract register changed"),
    "call_recorded": lazy_gettext("Call logged"),
    "questionnaire_answered": lazy_gettext("Questionnaire answered"),
}
# Who acts when no person does.
SYSTEM_ACTORS = {"scheduler": lazy_gettext("System (timer)"), "system": lazy_gettext("System"),
                 "portal": lazy_gettext("Customer portal")}
# A timer that fires less than this after its due time fired on time: its lag is not worth a word.
ON_TIME = timedelta(minutes=1)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the history: a sentence, the data it carried (label, value), and the raw record."""

    at: datetime
    actor: str
    type: str
    label: str
    sentence: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    raw: str = ""


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _when(value: Any) -> str:
    moment = _instant(value)
    return instant_text(moment) if moment is not None else str(value or "—")


class _Story:
    """Turns one instance's audit events into sentences."""

    def __init__(self, history: list[HistoryEntry], texts: ProcessTexts | None, people: Mapping[str, str],
                 language: str, labels_by_task: Mapping[str, Mapping[str, str]] | None = None):
        self.texts, self.people, self.language = texts, people, language
        self.labels_by_task = labels_by_task or {}
        # The start data gives amounts in later events their currency.
        started = next((e.data.get("data") for e in history if e.type == "instance_started"), None)
        self.presenter = Presenter(texts, started if isinstance(started, dict) else None)
        # Events after task_created name the task by its id only: remember which element each task is.
        self.task_elements = {e.task_id: str(e.data.get("element_id")) for e in history
                              if e.task_id and e.data.get("element_id")}
        self.task_titles = {e.task_id: str(e.data.get("title")) for e in history
                            if e.type == "task_created" and e.task_id and e.data.get("title")}
        # A deadline timer is named by its duration ("30 分钟"); the breach it records names the step it guards.
        self.guarded = {str(e.data.get("element_id")): e.data.get("step") for e in history
                        if e.type == "sla_breached" and e.data.get("element_id") and e.data.get("step")}

    def person(self, username: Any) -> str:
        name = str(username or "")
        system = SYSTEM_ACTORS.get(name)
        return str(system) if system is not None else self.people.get(name, name)

    def element(self, element_id: Any, default: str | None = None) -> str:
        if not element_id:
            return default or ""
        if self.texts is None:
            return default or str(element_id)
        return self.texts.element(str(element_id), self.language, default)

    def step(self, entry: HistoryEntry) -> str:
        """Return the name of the step an event is about (task, timer, external task)."""
        element_id = entry.data.get("element_id") or self.task_elements.get(entry.task_id or "")
        fallback = self.task_titles.get(entry.task_id or "") or entry.data.get("title")
        if element_id:
            return self.element(element_id, str(fallback) if fallback else None)
        return str(fallback or gettext("a step"))

    def message(self, name: Any) -> str:
        # Messages are named by their contract; the catalogue knows them by the id of their <message> element.
        if self.texts is not None:
            for candidate in (f"msg_{name}", f"message_{name}", str(name)):
                if candidate in self.texts.elements:
                    return self.texts.element(candidate, self.language)
        return str(name)

    def fields(self, payload: Any, form: str | None = None) -> list[tuple[str, str]]:
        """Return submitted data by the labels of the form that sent it (``form``: task id, "" for the start form)."""
        if not isinstance(payload, dict):
            return []
        own = self.labels_by_task.get(form, {}) if form is not None else {}
        # Fields no form or catalogue declares stay in the raw record: they have no words, only keys.
        return [(own.get(str(k)) or self.presenter.label(k), self.presenter.value(k, v, payload))
                for k, v in payload.items() if self.presenter.spec(str(k)) is not None]

    def guarded_step(self, element_id: Any) -> str | None:
        step = self.guarded.get(str(element_id))
        if step and self.texts is not None and step in self.texts.elements:
            return self.element(step)
        return None

    def tell(self, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
        teller = _TELLERS.get(e.type)
        if teller is not None:
            return teller(self, e)
        return str(EVENT_LABELS.get(e.type, e.type)), []


def _started(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    process = s.texts.process_name(s.language) if s.texts is not None else (e.process_key or "")
    return (gettext("%(actor)s started %(process)s", actor=s.person(e.actor), process=process),
            s.fields(e.data.get("data"), ""))


def _completed(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("The process is complete"), []


def _cancelled(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s cancelled the process: %(reason)s", actor=s.person(e.actor),
                   reason=e.data.get("reason") or "—"), []


def _created(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    group = group_label(e.data.get("group")) or gettext("no group")
    sentence = gettext("New task %(task)s for %(group)s", task=s.step(e), group=group)
    if e.data.get("assignee"):
        sentence += gettext(", assigned to %(person)s", person=s.person(e.data["assignee"]))
    if e.data.get("due_at"):
        sentence += gettext(", due %(due)s", due=_when(e.data["due_at"]))
    return sentence, []


def _claimed(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s claimed %(task)s", actor=s.person(e.actor), task=s.step(e)), []


def _unclaimed(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s released %(task)s", actor=s.person(e.actor), task=s.step(e)), []


def _assigned(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s assigned %(task)s to %(person)s", actor=s.person(e.actor), task=s.step(e),
                   person=s.person(e.data.get("assignee"))), []


def _transferred(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    target = s.person(e.data.get("to_user")) if e.data.get("to_user") else group_label(e.data.get("to_group"))
    return (gettext("%(actor)s transferred %(task)s to %(target)s", actor=s.person(e.actor), task=s.step(e),
                    target=target), [(gettext("Reason"), str(e.data.get("reason") or ""))])


def _sent_back(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    target = s.element(str(e.data.get("to_element")), None)
    whom = s.person(e.data.get("to_user")) if e.data.get("to_user") else gettext("its group")
    return (gettext("%(actor)s sent %(task)s back to %(target)s, for %(whom)s", actor=s.person(e.actor),
                    task=s.step(e), target=target, whom=whom), [(gettext("Reason"), str(e.data.get("reason") or ""))])


def _withdrawn(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s withdrew %(task)s to change it", actor=s.person(e.actor), task=s.step(e)), []


def _copied(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    people = "、" if s.language == "zh-CN" else ", "
    return (gettext("%(actor)s copied the case to %(people)s", actor=s.person(e.actor),
                    people=people.join(s.person(p) for p in e.data.get("recipients") or [])),
            [(gettext("Note"), str(e.data.get("note")))] if e.data.get("note") else [])


def _attached(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    name, size = str(e.data.get("filename") or ""), int(e.data.get("size") or 0)
    if e.task_id:
        sentence = gettext("%(actor)s attached %(file)s to %(task)s", actor=s.person(e.actor), file=name, task=s.step(e))
    else:
        sentence = gettext("%(actor)s attached %(file)s", actor=s.person(e.actor), file=name)
    shown = f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"
    return sentence, [(gettext("Size"), shown), (gettext("SHA-256 digest"), str(e.data.get("sha256") or ""))]


def _urged(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    people = "、" if s.language == "zh-CN" else ", "
    return (gettext("%(actor)s urged %(people)s to handle %(task)s", actor=s.person(e.actor),
                    people=people.join(s.person(p) for p in e.data.get("recipients") or []), task=s.step(e)),
            [(gettext("Note"), str(e.data.get("note")))] if e.data.get("note") else [])


def _delegated(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s delegated %(task)s to %(person)s", actor=s.person(e.actor), task=s.step(e),
                   person=s.person(e.data.get("delegate"))), []


def _delegation_returned(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return (gettext("%(actor)s filled %(task)s and handed it back to %(owner)s", actor=s.person(e.actor),
                    task=s.step(e), owner=s.person(e.data.get("owner"))),
            s.fields(e.data.get("submitted"), e.task_id or ""))


def _task_completed(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return (gettext("%(actor)s completed %(task)s", actor=s.person(e.actor), task=s.step(e)),
            s.fields(e.data.get("submitted"), e.task_id or ""))


def _task_cancelled(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("Task %(task)s was withdrawn", task=s.step(e)), []


def _commented(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("%(actor)s commented on %(task)s: %(text)s", actor=s.person(e.actor), task=s.step(e),
                   text=e.data.get("body") or ""), []


def _passed(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return gettext("Passed the step %(task)s", task=s.step(e)), []


def _timer_fired(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    if e.data.get("kind") == "start":
        timer = s.texts.process_name(s.language) if s.texts is not None else (e.process_key or "")
        sentence = gettext("Scheduled start: %(process)s", process=timer)
    elif s.guarded_step(e.data.get("element_id")):
        sentence = gettext("Timer fired: %(task)s is due (%(timer)s)", task=s.guarded_step(e.data.get("element_id")),
                           timer=s.step(e))
    else:
        sentence = gettext("Timer fired: %(timer)s", timer=s.step(e))
    lag = e.data.get("lag_s")
    if isinstance(lag, (int, float)) and timedelta(seconds=lag) >= ON_TIME:
        sentence += gettext(", %(late)s late", late=duration_text(timedelta(seconds=lag)))
    return sentence, []


def _retry(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return (gettext("Timer %(timer)s failed; attempt %(n)s runs again at %(at)s", timer=s.step(e),
                    n=e.data.get("attempt") or 1, at=_when(e.data.get("run_at"))),
            [(gettext("Error"), as_code(e.data.get("error")))])


def _rescheduled(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    what = (s.texts.process_name(s.language) if s.texts is not None else e.process_key or "") \
        if e.data.get("kind") == "start" else s.step(e)
    if e.type == "due_rescheduled":
        sentence = gettext("The calendar changed: %(task)s is now due %(new)s (was %(old)s)", task=what,
                           new=_when(e.data.get("new")), old=_when(e.data.get("old")))
    else:
        sentence = gettext("The calendar changed: %(timer)s now fires %(new)s (was %(old)s)", timer=what,
                           new=_when(e.data.get("new")), old=_when(e.data.get("old")))
    return sentence, []


def _message(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    return (gettext("Message received: %(message)s", message=s.message(e.data.get("message"))),
            s.fields(e.data.get("payload")))


def _breached(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    step = e.data.get("step")
    name = s.element(step) if s.texts is not None and step in s.texts.elements else s.step(e)
    deadline, actual = _instant(e.data.get("deadline")), _instant(e.data.get("actual"))
    sentence = gettext("Deadline missed: %(step)s (%(group)s), due %(deadline)s", step=name,
                       group=group_label(e.data.get("group")) or "—", deadline=_when(e.data.get("deadline")))
    if deadline is not None and actual is not None and actual - deadline >= ON_TIME:
        sentence += gettext(", %(late)s late", late=duration_text(actual - deadline))
    return sentence, []


def _incident(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    if e.type == "incident_raised":
        return (gettext("Incident: %(step)s failed", step=s.step(e)),
                [(gettext("Error"), as_code(e.data.get("error")))])
    if e.type == "incident_retried":
        return gettext("%(actor)s retried the failed step", actor=s.person(e.actor)), []
    return (gettext("%(actor)s resolved the incident", actor=s.person(e.actor)),
            [(gettext("Note"), str(e.data.get("note")))] if e.data.get("note") else [])


def _external(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    worker, task = e.data.get("worker_id") or s.person(e.actor), s.step(e)
    if e.type == "external_task_locked":
        return gettext("Worker %(worker)s took %(task)s", worker=worker, task=task), []
    if e.type == "external_task_lock_extended":
        return gettext("Worker %(worker)s keeps %(task)s until %(until)s", worker=worker, task=task,
                       until=_when(e.data.get("locked_until"))), []
    if e.type == "external_task_failed":
        error = e.data.get("error_message") or e.data.get("error") or ""
        return gettext("%(task)s failed at worker %(worker)s", task=task, worker=worker), \
            [(gettext("Error"), as_code(error))] if error else []
    return (gettext("Worker %(worker)s completed %(task)s", worker=worker, task=task),
            s.fields(e.data.get("variables")))


def _data_changed(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    before = e.data.get("before") if isinstance(e.data.get("before"), dict) else {}
    after = e.data.get("after") if isinstance(e.data.get("after"), dict) else {}
    return (gettext("%(actor)s changed the data", actor=s.person(e.actor)),
            [(s.presenter.label(k), f"{s.presenter.value(k, before.get(k))} → {s.presenter.value(k, v)}")
             for k, v in after.items()])


def _migrated(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    sentence = gettext("%(actor)s moved the process to version %(new)s (it ran on version %(old)s)",
                       actor=s.person(e.actor), new=e.data.get("to_version"), old=e.data.get("from_version"))
    mapping = e.data.get("mapping") if isinstance(e.data.get("mapping"), dict) else {}
    separator = "、" if s.language == "zh-CN" else ", "
    fields = [(gettext("Steps mapped"), separator.join(f"{s.element(a)} → {s.element(b)}" for a, b in mapping.items()))] \
        if mapping else []
    for timer in e.data.get("timers") or []:
        if isinstance(timer, dict) and timer.get("new_due_at"):
            fields.append((s.element(timer.get("element_id")), gettext("now fires %(new)s (was %(old)s)",
                                                                       new=_when(timer.get("new_due_at")),
                                                                       old=_when(timer.get("old_due_at")))))
    return sentence, fields


def _register(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    if e.type == "customer_saved":
        return gettext("%(actor)s saved customer %(customer)s in the register", actor=s.person(e.actor),
                       customer=e.data.get("customer") or "—"), []
    after = e.data.get("after") if isinstance(e.data.get("after"), dict) else {}
    return (gettext("%(actor)s saved contract %(contract)s of %(customer)s (expires %(expires)s)", actor=s.person(e.actor),
                    contract=e.data.get("contract") or "—", customer=e.data.get("customer") or "—",
                    expires=after.get("expires_on") or "—"), [])


def _call(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    if e.data.get("outcome") == "missed":
        text = gettext("%(actor)s logged a missed call from %(caller)s", actor=s.person(e.actor),
                       caller=e.data.get("caller") or "—")
    else:
        text = gettext("%(actor)s logged a call from %(caller)s", actor=s.person(e.actor), caller=e.data.get("caller") or "—")
    return text, [(gettext("Called at"), _when(e.data.get("at")))]


def _questionnaire(s: _Story, e: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    if e.data.get("via") == "portal":
        text = gettext("%(customer)s answered the questionnaire in the portal", customer=e.data.get("customer") or "—")
    else:
        text = gettext("%(actor)s recorded the questionnaire answers of %(customer)s", actor=s.person(e.actor),
                       customer=e.data.get("customer") or "—")
    fields = []
    if e.data.get("score") is not None:
        fields.append((gettext("Score"), f"{e.data['score']} / 5"))
    if e.data.get("unsatisfied"):
        from web.portal.questionnaires import ITEMS

        names = [str(ITEMS[i][0]) if i in ITEMS else str(i) for i in e.data["unsatisfied"]]
        fields.append((gettext("Not satisfied with"), ("、" if s.language == "zh-CN" else ", ").join(names)))
    return text, fields


_Teller = Callable[[_Story, HistoryEntry], tuple[str, list[tuple[str, str]]]]
_TELLERS: dict[str, _Teller] = {
    "instance_started": _started, "instance_completed": _completed, "instance_cancelled": _cancelled,
    "task_created": _created, "task_claimed": _claimed, "task_unclaimed": _unclaimed, "task_assigned": _assigned,
    "task_transferred": _transferred, "task_delegated": _delegated, "instance_copied": _copied,
    "attachment_added": _attached,
    "task_urged": _urged, "task_sent_back": _sent_back, "task_withdrawn": _withdrawn,
    "task_delegation_returned": _delegation_returned,
    "task_completed": _task_completed, "task_cancelled": _task_cancelled, "task_commented": _commented,
    "task_passed": _passed, "timer_fired": _timer_fired, "timer_retry_scheduled": _retry,
    "timer_rescheduled": _rescheduled, "due_rescheduled": _rescheduled, "message_correlated": _message,
    "sla_breached": _breached, "incident_raised": _incident, "incident_retried": _incident,
    "incident_resolved": _incident, "external_task_locked": _external, "external_task_lock_extended": _external,
    "external_task_failed": _external, "external_task_completed": _external, "data_changed": _data_changed,
    "customer_saved": _register, "contract_saved": _register, "call_recorded": _call,
    "questionnaire_answered": _questionnaire,
    "instance_migrated": _migrated,
}


def told_types() -> set[str]:
    """Return the event types the timeline tells as sentences."""
    return set(_TELLERS)


def _raw(entry: HistoryEntry) -> str:
    record = {"seq": entry.seq, "type": entry.type, "actor": entry.actor, "task_id": entry.task_id, **entry.data}
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=1, default=str)


def timeline(history: list[HistoryEntry], texts: ProcessTexts | None = None,
             people: Mapping[str, str] | None = None, language: str = "en",
             labels_by_task: Mapping[str, Mapping[str, str]] | None = None) -> list[TimelineEntry]:
    """Return the history as sentences, oldest first.

    ``people``: user names → display names; ``labels_by_task``: task id ("" for the start form) → the labels of the
    form that task submitted, so "reason" reads 逾期原因 in a chase and 核销原因 in a write-off.
    """
    story = _Story(history, texts, people or {}, language, labels_by_task)
    entries = []
    for e in history:
        sentence, fields = story.tell(e)
        entries.append(TimelineEntry(e.at, story.person(e.actor), e.type, str(EVENT_LABELS.get(e.type, e.type)),
                                     sentence, fields, _raw(e)))
    return entries


def as_code(text: object) -> Markup:
    """Show an engine error as code: it is the script's or the system's own text, not the page's language."""
    return Markup("<code>%s</code>") % str(text or "")
