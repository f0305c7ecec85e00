"""What a draft's forms change against a deployed version's: forms added, removed and changed, field by field."""

from __future__ import annotations

from typing import Any


def _props(form: dict[str, Any]) -> dict[str, Any]:
    props = (form.get("schema") or {}).get("properties")
    return props if isinstance(props, dict) else {}


def _hints(form: dict[str, Any]) -> dict[str, Any]:
    hints = (form.get("ui") or {}).get("fields")
    return hints if isinstance(hints, dict) else {}


def _form_change(key: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    before, after = _props(old), _props(new)
    old_hints, new_hints = _hints(old), _hints(new)
    old_required = set((old.get("schema") or {}).get("required") or [])
    new_required = set((new.get("schema") or {}).get("required") or [])
    changed = sorted(n for n in set(before) & set(after)
                     if before[n] != after[n] or old_hints.get(n) != new_hints.get(n)
                     or (n in old_required) != (n in new_required))
    parts = [part for part, (side, name) in (("title", ("ui", "title")), ("order", ("ui", "order")),
                                             ("rules", ("schema", "x-rules")))
             if (old.get(side) or {}).get(name) != (new.get(side) or {}).get(name)]
    change = {"key": key, "fields_added": sorted(set(after) - set(before)),
              "fields_removed": sorted(set(before) - set(after)), "fields_changed": changed, "parts_changed": parts}
    if not (change["fields_added"] or change["fields_removed"] or changed or parts) and old == new:
        return None
    return change


def diff_forms(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Compare two sets of forms (``{key: {"schema": …, "ui": …}}``): keys added, removed, and each changed form."""
    changed = [c for k in sorted(set(old) & set(new)) if (c := _form_change(k, old[k], new[k])) is not None]
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)), "changed": changed}
