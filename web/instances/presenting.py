"""Instance data as people read it: form labels, value labels, money with its currency, local dates, small tables.

Labels and kinds come from the texts the instance's version was deployed with (its forms and catalogue); a field
nobody declares is "technical" and is shown apart, collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit
from flask_babel import get_locale, gettext

from engine.definitions.forms import FormDefinition
from engine.services.audit import HistoryEntry
from engine.services.texts import FieldText, ProcessTexts
from web.i18n import form_language, user_zone

_ISO_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
MAX_INLINE = 400


@dataclass(frozen=True)
class Table:
    """Rows of a structured value, with the labels of its columns."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class ShownField:
    """One data field as the instance page shows it."""

    name: str
    label: str
    text: str = ""
    table: Table | None = None


@dataclass(frozen=True)
class ShownData:
    """An instance's data: declared fields by their labels, and the technical rest."""

    fields: list[ShownField] = field(default_factory=list)
    technical: list[ShownField] = field(default_factory=list)


def _locale() -> str:
    return str(get_locale() or "en")


def flag_text(value: bool) -> str:
    """Return a yes/no value in this language (是/否)."""
    return gettext("yes") if value else gettext("no")


def instant_text(value: datetime) -> str:
    """Return an instant in the deployment's zone in this language's format ("2026年3月5日 10:00")."""
    local = (value if value.tzinfo else value.replace(tzinfo=user_zone())).astimezone(user_zone())
    return f"{format_date(local, 'medium', locale=_locale())} {format_time(local, 'HH:mm', locale=_locale())}"


def day_text(value: date) -> str:
    """Return a calendar day in this language's format ("2026年3月12日", "Mar 12, 2026")."""
    return format_date(value, "medium", locale=_locale())


def duration_text(value: timedelta) -> str:
    """Return a length of time in human units ("12分钟", "33 days")."""
    # Past two days a deadline is counted in days: "33 days late" says more than "1 month" or "5 weeks".
    if value >= timedelta(days=2):
        return format_unit(round(value / timedelta(days=1)), "duration-day", locale=_locale())
    return format_timedelta(value, threshold=1.5, locale=_locale())


def money_text(amount: Any, currency: Any) -> str:
    """Return an amount with its currency in this language's format (¥1,200.50 / CN¥1,200.50)."""
    number = _decimal(amount)
    if number is None:
        return str(amount)
    if isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency):
        return format_currency(number, currency, locale=_locale())
    return format_decimal(number, format="#,##0.00", locale=_locale())


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)) if isinstance(value, (int, float, Decimal, str)) else None
    except InvalidOperation:
        return None


def _as_duration(value: Any) -> timedelta | None:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _ISO_DURATION.match(value)
        if match and any(match.groups()):
            d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
            return timedelta(days=d, hours=h, minutes=m, seconds=s)
    return None


def _as_moment(value: Any) -> date | datetime | None:
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        try:
            if _ISO_DAY.match(value):
                return date.fromisoformat(value)
            if _ISO_INSTANT.match(value):
                return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class Presenter:
    """Shows the values of one process version's data in the request's language."""

    def __init__(self, texts: ProcessTexts | None, data: Mapping[str, Any] | None = None,
                 labels: Mapping[str, str] | None = None):
        self.texts = texts
        self.data = data or {}
        self.labels = labels or {}
        self.language = form_language()

    def spec(self, name: str) -> FieldText | None:
        """Return how a field is declared, or None (technical data)."""
        return self.texts.field(name) if self.texts is not None else None

    def label(self, name: str) -> str:
        """Return a field's label in this language: as the form that wrote it says, else as the version declares it."""
        if self.labels.get(name):
            return self.labels[name]
        label = self.texts.field_label(name, self.language) if self.texts is not None else None
        return label or name

    def value(self, name: str, value: Any, row: Mapping[str, Any] | None = None) -> str:
        """Return one value of field ``name`` as text (``row``: the table row it sits in, for its currency)."""
        spec = self.spec(name)
        kind = spec.kind if spec is not None else "text"
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return flag_text(value)
        if isinstance(value, (list, tuple)):
            return ", ".join(self.value(name, v, row) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{self.label(k)}: {self.value(k, v, value)}" for k, v in value.items())
        labelled = self.texts.value_label(name, value, self.language) if self.texts is not None else None
        if labelled:
            return labelled
        if kind == "money":
            currency = self._currency(spec, row)
            return money_text(value, currency)
        if kind == "duration":
            length = _as_duration(value)
            if length is not None:
                return duration_text(length)
        if kind in ("date", "datetime", "text"):
            moment = _as_moment(value) if kind != "text" or not isinstance(value, str) else None
            if isinstance(moment, datetime):
                return instant_text(moment)
            if isinstance(moment, date):
                return day_text(moment)
        if kind == "flag" and isinstance(value, str) and value.lower() in ("true", "false"):
            return flag_text(value.lower() == "true")
        if kind == "number" or isinstance(value, (int, float, Decimal)):
            number = _decimal(value)
            if number is not None:
                return format_decimal(number, locale=_locale())
        if isinstance(value, datetime):
            return instant_text(value)
        if isinstance(value, date):
            return day_text(value)
        return str(value)

    def _currency(self, spec: FieldText | None, row: Mapping[str, Any] | None) -> Any:
        key = spec.currency_field if spec is not None and spec.currency_field else "currency"
        if row is not None and row.get(key):
            return row.get(key)
        return self.data.get(key)

    def cell(self, table: str, column: str, value: Any, row: Mapping[str, Any]) -> str:
        """Return one cell of a table field: labelled by ``table.column``, else by the field named like the column."""
        if not isinstance(value, (dict, list)) and self.texts is not None and value is not None:
            labelled = self.texts.value_label(f"{table}.{column}", value, self.language)
            if labelled:
                return labelled
        return self.value(column, value, row)

    def column_label(self, table: str, column: str) -> str:
        """Return a table column's label: as the table declares it, else the label of the field of that name."""
        spec = self.spec(table)
        if spec is not None and column in spec.columns:
            texts = spec.columns[column]
            found = texts.get(self.language) or texts.get("*") or texts.get("en")
            if found:
                return found
        return self.label(column)

    def table(self, name: str, rows: list[Mapping[str, Any]]) -> Table:
        """Return a list of records as a table: declared columns first, then any others in the order met."""
        spec = self.spec(name)
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        declared = [c for c in (spec.columns if spec is not None else {}) if c in columns]
        # The currency is shown inside each amount, so a currency column would only repeat it.
        ordered = [c for c in declared + [c for c in columns if c not in declared] if c != "currency"]
        return Table([self.column_label(name, c) for c in ordered],
                     [[self.cell(name, c, row.get(c), row) for c in ordered] for row in rows])

    def shown(self, name: str, value: Any) -> ShownField:
        """Return one field ready for the page: a table for records, text otherwise."""
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return ShownField(name, self.label(name), table=self.table(name, value))
        spec = self.spec(name)
        if isinstance(value, dict) and value and spec is not None and spec.kind == "table":
            return ShownField(name, self.label(name), table=self.table(name, [value]))
        if isinstance(value, list) and not value:
            return ShownField(name, self.label(name), "—")
        return ShownField(name, self.label(name), self.value(name, value))


def form_labels(form: FormDefinition | None, language: str) -> dict[str, str]:
    """Return the labels a form gives its fields in ``language`` (a label written as one string serves all)."""
    if form is None:
        return {}
    hints = form.ui.get("fields") if isinstance(form.ui.get("fields"), dict) else {}
    out = {}
    for name, hint in hints.items():
        label = hint.get("label") if isinstance(hint, dict) else None
        text = label if isinstance(label, str) else (label.get(language) or label.get("en")) \
            if isinstance(label, dict) else None
        if text:
            out[str(name)] = str(text)
    return out


def writers_labels(history: list[HistoryEntry], labels_by_task: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Return each field's label as the form that last wrote it says (the start form's under key "")."""
    out: dict[str, str] = {}
    for e in history:
        if e.type == "instance_started" and isinstance(e.data.get("data"), dict):
            written, labels = e.data["data"], labels_by_task.get("", {})
        elif e.type == "task_completed" and isinstance(e.data.get("submitted"), dict):
            written, labels = e.data["submitted"], labels_by_task.get(e.task_id or "", {})
        else:
            continue
        for name in written:
            if name in labels:
                out[name] = labels[name]
    return out


def present_data(texts: ProcessTexts | None, data: Mapping[str, Any] | None,
                 labels: Mapping[str, str] | None = None) -> ShownData:
    """Split an instance's data into labelled fields and technical data, in the data's own order."""
    presenter = Presenter(texts, data, labels)
    shown, technical = [], []
    for name, value in (data or {}).items():
        if presenter.spec(name) is not None:
            shown.append(presenter.shown(name, value))
        else:
            technical.append(ShownField(name, name, _raw(value)))
    return ShownData(shown, technical)


def _raw(value: Any) -> str:
    """Return a technical value as written (dates as ISO text), shortened when long."""
    if isinstance(value, (date, datetime)):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text if len(text) <= MAX_INLINE else text[: MAX_INLINE - 1] + "…"
