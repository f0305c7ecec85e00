"""Files browsers ask for at fixed addresses: /favicon.ico (pages also link the SVG mark in /static), /vendor/… (the modeler)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from engine.config import PROJECT_ROOT
from web.access import DESIGNERS, public, requires

bp = Blueprint("static_files", __name__)
ONE_WEEK = 7 * 24 * 3600


@bp.get("/favicon.ico")
@public
def favicon() -> ResponseReturnValue:
    """Serve the icon browsers fetch on their own, without a link (public: it is the same for everyone)."""
    return send_from_directory(str(current_app.static_folder), "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=ONE_WEEK)


# The browser modeler's third-party files, served as npm installed them (make run / make test run `npm ci`);
# only these, so node_modules is never browsable. Each package's licence is served beside its files.
VENDOR_FILES = {
    "bpmn-js/dist/bpmn-modeler.development.js": "text/javascript",
    "bpmn-js/dist/assets/diagram-js.css": "text/css",
    "bpmn-js/dist/assets/bpmn-js.css": "text/css",
    "bpmn-js/dist/assets/bpmn-font/css/bpmn.css": "text/css",
    "bpmn-js/dist/assets/bpmn-font/font/bpmn.woff2": "font/woff2",
    "bpmn-js/dist/assets/bpmn-font/font/bpmn.woff": "font/woff",
    "bpmn-js/dist/assets/bpmn-font/font/bpmn.ttf": "font/ttf",
    "bpmn-js/LICENSE": "text/plain",
    "camunda-bpmn-moddle/resources/camunda.json": "application/json",
    "camunda-bpmn-moddle/LICENSE": "text/plain",
}
DMN_FILES = {
    "dmn-js/dist/dmn-modeler.development.js": "text/javascript",
    "dmn-js/dist/assets/diagram-js.css": "text/css",
    "dmn-js/dist/assets/dmn-js-shared.css": "text/css",
    "dmn-js/dist/assets/dmn-js-drd.css": "text/css",
    "dmn-js/dist/assets/dmn-js-decision-table.css": "text/css",
    "dmn-js/dist/assets/dmn-js-decision-table-controls.css": "text/css",
    "dmn-js/dist/assets/dmn-js-literal-expression.css": "text/css",
    "dmn-js/dist/assets/dmn-js-boxed-expression.css": "text/css",
    "dmn-js/dist/assets/dmn-js-boxed-expression-controls.css": "text/css",
    "dmn-js/dist/assets/dmn-font/css/dmn.css": "text/css",
    "dmn-js/dist/assets/dmn-font/font/dmn.woff2": "font/woff2",
    "dmn-js/dist/assets/dmn-font/font/dmn.woff": "font/woff",
    "dmn-js/dist/assets/dmn-font/font/dmn.ttf": "font/ttf",
    "dmn-js/LICENSE": "text/plain",
}
MODELER_SCRIPT = "bpmn-js/dist/bpmn-modeler.development.js"


def node_modules() -> Path:
    """Return the folder npm installed the modeler's packages into (``NODE_MODULES_DIR`` overrides it)."""
    configured = current_app.config.get("NODE_MODULES_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "node_modules"


def modeler_installed(files: dict[str, str] | None = None) -> bool:
    """Return True when every file the modeler page needs (the DMN page: ``DMN_FILES``) is installed."""
    root = node_modules()
    return all((root / name).is_file() for name in (VENDOR_FILES if files is None else files))


@bp.get("/vendor/<path:name>")
@requires(DESIGNERS)
def vendor(name: str) -> ResponseReturnValue:
    """Serve one allow-listed file of the modeler's npm packages (404 for anything else, or when not installed)."""
    mimetype = VENDOR_FILES.get(name) or DMN_FILES.get(name)
    if mimetype is None or not (node_modules() / name).is_file():
        abort(404)
    charset = "; charset=utf-8" if mimetype.startswith(("text/", "application/json")) else ""
    return send_from_directory(str(node_modules()), name, mimetype=mimetype + charset, max_age=ONE_WEEK)
