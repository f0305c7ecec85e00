"""The labels bpmn-js and dmn-js draw themselves (palette, context pad, table headers), in the request's language.

Both libraries look each label up through a ``translate`` service by its English text; web/static/editor.js
gives them one that reads these dictionaries (``data.translations`` on the editor pages).
"""

from __future__ import annotations

from flask_babel import gettext


def N_(text: str) -> str:  # noqa: N802 (the name pybabel extracts by default)
    """Mark a library label for the catalogue; it is translated when a page asks (see _dictionary)."""
    return text


_BPMN = (
    N_("Activate hand tool"), N_("Activate lasso tool"),
    N_("Activate create/remove space tool"), N_("Activate global connect tool"),
    N_("Create start event"), N_("Create intermediate/boundary event"),
    N_("Create end event"), N_("Create gateway"), N_("Create task"),
    N_("Create expanded sub-process"), N_("Create data object reference"),
    N_("Create data store reference"), N_("Create group"), N_("Create pool/participant"),
    N_("Append task"), N_("Append end event"), N_("Append gateway"),
    N_("Append intermediate/boundary event"), N_("Append timer intermediate catch event"),
    N_("Append message intermediate catch event"), N_("Append receive task"),
    N_("Add text annotation"), N_("Change element"), N_("Connect to other element"),
    N_("Connect using association"), N_("Delete"), N_("Add lane above"),
    N_("Add lane below"), N_("Divide into two lanes"), N_("Divide into three lanes"),
)

_DMN = (
    N_("When"), N_("And"), N_("Then"), N_("Annotations"),
    N_("Hit policy:"), N_("Hit policy"), N_("View DRD"), N_("Unique"),
    N_("First"), N_("Priority"), N_("Any"), N_("Collect"),
    N_("Rule order"), N_("Output order"), N_("string"), N_("boolean"),
    N_("number"), N_("integer"), N_("long"), N_("double"),
    N_("date"), N_("Add rule"), N_("Add rule above"), N_("Add rule below"),
    N_("Add input"), N_("Add output"), N_("Input expression"),
    N_("Input label"), N_("Output label"), N_("Output name"),
    N_("Input values"), N_("Output values"), N_("Type"), N_("Expression language"),
    N_("Edit string"), N_("Edit number"), N_("Edit boolean"), N_("Edit date"),
    N_("Delete rule"), N_("Copy rule"), N_("Cut rule"),
    N_("Decision name"), N_("Create decision"), N_("Create input data"),
    N_("Create knowledge model"), N_("Create knowledge source"),
    N_("Append decision"), N_("Append input data"), N_("Append knowledge source"),
    N_("Append business knowledge model"), N_("Change type"), N_("Delete"),
    N_("Add text annotation"), N_("Activate hand tool"), N_("Activate lasso tool"),
)


def _dictionary(texts: tuple[str, ...]) -> dict[str, str]:
    return {text: gettext(text) for text in texts}


def bpmn_js_texts() -> dict[str, str]:
    """Return bpmn-js's palette and context-pad labels, by their English text, in this request's language."""
    return _dictionary(_BPMN)


def dmn_js_texts() -> dict[str, str]:
    """Return dmn-js's table and DRD labels, by their English text, in this request's language."""
    return _dictionary(_DMN)

