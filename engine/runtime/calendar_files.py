"""Calendar day lists as people write them: TOML year files, CSV and JSON.

Every format yields the same thing, a list of :class:`DayRow` (date, kind, name), checked: dates
are real dates, kinds are ``holiday`` or ``workday``, no date twice. A TOML file reads::

    year = 2027              # optional: then every date must lie in that year
    region = "CN"            # optional
    [[holiday]]
    name = "公司年会 Company day"
    from = 2027-03-12
    to = 2027-03-12          # optional, defaults to ``from``
    [[makeup_workday]]
    date = 2027-02-20
    for = "春节 Spring Festival"   # optional

CSV has the header ``date,kind,name``; JSON is a list of ``{"date", "kind", "name"}`` objects,
the shape ``bpm calendar show YEAR --json`` prints (its ``source`` key is accepted and ignored), so
an export can be edited and imported again. Errors are ``ValueError`` naming the file and entry.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from engine.runtime.calendar import HOLIDAY, WORKDAY

KINDS = (HOLIDAY, WORKDAY)
MAX_NAME = 120


@dataclass(frozen=True)
class DayRow:
    """One day of a calendar file."""

    day: date
    kind: str
    name: str


def parse_days(text: str, source: str) -> list[DayRow]:
    """Parse a calendar file by its name's extension (.toml, .csv or .json)."""
    suffix = source.rsplit(".", 1)[-1].lower() if "." in source else ""
    if suffix == "csv":
        return parse_csv(text, source)
    if suffix == "json":
        return parse_json(text, source)
    if suffix == "toml":
        return parse_toml(text, source)
    raise ValueError(f"{source}: unknown calendar file type; use .toml, .csv or .json")


def parse_toml(text: str, source: str = "<toml>") -> list[DayRow]:
    """Parse a TOML calendar file (``[[holiday]]`` ranges and ``[[makeup_workday]]`` dates)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from exc
    _reject_unknown(doc, {"year", "region", "holiday", "makeup_workday"}, source)
    year = doc.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999):
        raise ValueError(f"{source}: 'year' must be an integer year, got {year!r}")
    if "region" in doc:
        _string(doc, "region", source, required=True)
    rows: list[DayRow] = []
    for index, entry in enumerate(_entries(doc, "holiday", source), start=1):
        where = f"{source}: [[holiday]] #{index}"
        _reject_unknown(entry, {"name", "from", "to"}, where)
        name = _string(entry, "name", where, required=True)
        where = f"{where} ({name})"
        first = _date(entry, "from", where, year)
        last = _date(entry, "to", where, year) if "to" in entry else first
        if first > last:
            raise ValueError(f"{where}: 'from' {first} is after 'to' {last}")
        rows.extend(DayRow(first + timedelta(days=i), HOLIDAY, name) for i in range((last - first).days + 1))
    for index, entry in enumerate(_entries(doc, "makeup_workday", source), start=1):
        where = f"{source}: [[makeup_workday]] #{index}"
        _reject_unknown(entry, {"date", "for"}, where)
        rows.append(DayRow(_date(entry, "date", where, year), WORKDAY, _string(entry, "for", where, required=False)))
    return check_rows(rows, source)


def parse_csv(text: str, source: str = "<csv>") -> list[DayRow]:
    """Parse CSV with the header ``date,kind,name``."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or not {"date", "kind"} <= {f.strip() for f in reader.fieldnames}:
        raise ValueError(f"{source}: the first line must be the header date,kind,name")
    rows = []
    for line, record in enumerate(reader, start=2):
        clean = {(k or "").strip(): (v or "").strip() for k, v in record.items() if isinstance(v, str) or v is None}
        rows.append(_row(clean, f"{source}:{line}"))
    return check_rows(rows, source)


def parse_json(text: str, source: str = "<json>") -> list[DayRow]:
    """Parse a JSON list of ``{"date", "kind", "name"}`` objects."""
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: invalid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(doc, list):
        raise ValueError(f'{source}: expected a list of {{"date", "kind", "name"}} objects')
    rows = []
    for index, item in enumerate(doc, start=1):
        where = f"{source}: entry #{index}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected an object, got {type(item).__name__}")
        _reject_unknown(item, {"date", "kind", "name", "source"}, where)
        rows.append(_row(item, where))
    return check_rows(rows, source)


def rows_from_mappings(items: list[Mapping[str, Any]], source: str) -> list[DayRow]:
    """Check rows typed into a form (``date``, ``kind``, ``name`` strings) like a file's."""
    return check_rows([_row(item, f"{source}: row {i}") for i, item in enumerate(items, start=1)], source)


def check_rows(rows: list[DayRow], source: str) -> list[DayRow]:
    """Refuse a date listed twice; return the rows sorted by date."""
    seen: dict[date, DayRow] = {}
    for row in rows:
        if row.day in seen:
            other = seen[row.day]
            raise ValueError(f"{source}: {row.day} is listed twice ({other.kind} {other.name!r} and {row.kind} {row.name!r})")
        seen[row.day] = row
    return sorted(rows, key=lambda r: r.day)


def _row(item: Mapping[str, Any], where: str) -> DayRow:
    raw_day, kind, name = item.get("date"), item.get("kind"), item.get("name") or ""
    if not isinstance(raw_day, str):
        raise ValueError(f"{where}: 'date' must be a date like 2027-01-01, got {raw_day!r}")
    try:
        day = date.fromisoformat(raw_day.strip())
    except ValueError:
        raise ValueError(f"{where}: 'date' must be a date like 2027-01-01, got {raw_day!r}") from None
    if kind not in KINDS:
        raise ValueError(f"{where} ({day}): 'kind' must be holiday or workday, got {kind!r}")
    if not isinstance(name, str) or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise ValueError(f"{where} ({day}): 'name' must be one line of at most {MAX_NAME} characters")
    return DayRow(day, kind, name.strip())


def _reject_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}")


def _entries(doc: Mapping[str, Any], key: str, source: str) -> list[Mapping[str, Any]]:
    entries = doc.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{source}: '{key}' must be an array of tables ([[{key}]])")
    return entries


def _string(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = entry.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _date(entry: Mapping[str, Any], key: str, where: str, year: int | None) -> date:
    value = entry.get(key)
    # tomllib gives datetime for 2026-01-01T00:00 and datetime is a date subclass: refuse it.
    if type(value) is not date:
        raise ValueError(f"{where}: '{key}' must be a date like {year or 2027}-01-01, got {value!r}")
    if year is not None and value.year != year:
        raise ValueError(f"{where}: '{key}' {value} is outside the file's year {year}")
    return value
