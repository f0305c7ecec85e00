"""The labels bpmn-js and dmn-js draw themselves (palette, context pad, table headers), in the request's language.

Both libraries look each label up through a ``translate`` service by its English text; web/static/editor.js
gives them one that reads these dictionaries (``data.translations`` on the editor pages). The catalogue holds them
under the context "editor", so a library's "When" (a decision table's 当) is not the inbox's "When" (时间).
"""

from __future__ import annotations

from flask_babel import pgettext


def bpmn_js_texts() -> dict[str, str]:
    """Return bpmn-js's palette and context-pad labels, by their English text, in this request's language."""
    return {
        "Activate hand tool": pgettext("editor", "Activate hand tool"),
        "Activate lasso tool": pgettext("editor", "Activate lasso tool"),
        "Activate create/remove space tool": pgettext("editor", "Activate create/remove space tool"),
        "Activate global connect tool": pgettext("editor", "Activate global connect tool"),
        "Create start event": pgettext("editor", "Create start event"),
        "Create intermediate/boundary event": pgettext("editor", "Create intermediate/boundary event"),
        "Create end event": pgettext("editor", "Create end event"),
        "Create gateway": pgettext("editor", "Create gateway"),
        "Create task": pgettext("editor", "Create task"),
        "Create expanded sub-process": pgettext("editor", "Create expanded sub-process"),
        "Create data object reference": pgettext("editor", "Create data object reference"),
        "Create data store reference": pgettext("editor", "Create data store reference"),
        "Create group": pgettext("editor", "Create group"),
        "Create pool/participant": pgettext("editor", "Create pool/participant"),
        "Append task": pgettext("editor", "Append task"),
        "Append end event": pgettext("editor", "Append end event"),
        "Append gateway": pgettext("editor", "Append gateway"),
        "Append intermediate/boundary event": pgettext("editor", "Append intermediate/boundary event"),
        "Append timer intermediate catch event": pgettext("editor", "Append timer intermediate catch event"),
        "Append message intermediate catch event": pgettext("editor", "Append message intermediate catch event"),
        "Append receive task": pgettext("editor", "Append receive task"),
        "Add text annotation": pgettext("editor", "Add text annotation"),
        "Change element": pgettext("editor", "Change element"),
        "Connect to other element": pgettext("editor", "Connect to other element"),
        "Connect using association": pgettext("editor", "Connect using association"),
        "Delete": pgettext("editor", "Delete"),
        "Add lane above": pgettext("editor", "Add lane above"),
        "Add lane below": pgettext("editor", "Add lane below"),
        "Divide into two lanes": pgettext("editor", "Divide into two lanes"),
        "Divide into three lanes": pgettext("editor", "Divide into three lanes"),
    }


def dmn_js_texts() -> dict[str, str]:
    """Return dmn-js's table and DRD labels, by their English text, in this request's language."""
    return {
        "When": pgettext("editor", "When"),
        "And": pgettext("editor", "And"),
        "Then": pgettext("editor", "Then"),
        "Annotations": pgettext("editor", "Annotations"),
        "Hit policy:": pgettext("editor", "Hit policy:"),
        "Hit policy": pgettext("editor", "Hit policy"),
        "View DRD": pgettext("editor", "View DRD"),
        "Unique": pgettext("editor", "Unique"),
        "First": pgettext("editor", "First"),
        "Priority": pgettext("editor", "Priority"),
        "Any": pgettext("editor", "Any"),
        "Collect": pgettext("editor", "Collect"),
        "Rule order": pgettext("editor", "Rule order"),
        "Output order": pgettext("editor", "Output order"),
        "string": pgettext("editor", "string"),
        "boolean": pgettext("editor", "boolean"),
        "number": pgettext("editor", "number"),
        "integer": pgettext("editor", "integer"),
        "long": pgettext("editor", "long"),
        "double": pgettext("editor", "double"),
        "date": pgettext("editor", "date"),
        "Add rule": pgettext("editor", "Add rule"),
        "Add rule above": pgettext("editor", "Add rule above"),
        "Add rule below": pgettext("editor", "Add rule below"),
        "Add input": pgettext("editor", "Add input"),
        "Add output": pgettext("editor", "Add output"),
        "Input expression": pgettext("editor", "Input expression"),
        "Input label": pgettext("editor", "Input label"),
        "Output label": pgettext("editor", "Output label"),
        "Output name": pgettext("editor", "Output name"),
        "Input values": pgettext("editor", "Input values"),
        "Output values": pgettext("editor", "Output values"),
        "Type": pgettext("editor", "Type"),
        "Expression language": pgettext("editor", "Expression language"),
        "Edit string": pgettext("editor", "Edit string"),
        "Edit number": pgettext("editor", "Edit number"),
        "Edit boolean": pgettext("editor", "Edit boolean"),
        "Edit date": pgettext("editor", "Edit date"),
        "Delete rule": pgettext("editor", "Delete rule"),
        "Copy rule": pgettext("editor", "Copy rule"),
        "Cut rule": pgettext("editor", "Cut rule"),
        "Decision name": pgettext("editor", "Decision name"),
        "Create decision": pgettext("editor", "Create decision"),
        "Create input data": pgettext("editor", "Create input data"),
        "Create knowledge model": pgettext("editor", "Create knowledge model"),
        "Create knowledge source": pgettext("editor", "Create knowledge source"),
        "Append decision": pgettext("editor", "Append decision"),
        "Append input data": pgettext("editor", "Append input data"),
        "Append knowledge source": pgettext("editor", "Append knowledge source"),
        "Append business knowledge model": pgettext("editor", "Append business knowledge model"),
        "Change type": pgettext("editor", "Change type"),
        "Delete": pgettext("editor", "Delete"),
        "Add text annotation": pgettext("editor", "Add text annotation"),
        "Activate hand tool": pgettext("editor", "Activate hand tool"),
        "Activate lasso tool": pgettext("editor", "Activate lasso tool"),
    }
