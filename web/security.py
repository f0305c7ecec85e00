"""The edge of the web app: refuse control characters in any input, and send security headers on every response.

Text from outside reaches the database as is; PostgreSQL refuses NUL in text (a 500 before this
check), and other control characters only hide things from the people who read them later. One
check of every query parameter, form field, path segment and JSON string (keys included) keeps
them out everywhere, signed in or not, page or API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request

from engine.errors import InvalidInput

# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_DEPTH = 64
# The same characters in a JSON body's bytes: raw (C1 controls are two bytes in UTF-8), or as a JSON escape.
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
CONTROL_ESCAPE = re.compile(rb"\\[ubf]")
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def _strings(value: Any, where: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{where}: nested too deeply")
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.{key}" if where else str(key), str(key)
            yield from _strings(item, f"{where}.{key}" if where else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]", depth + 1)


def _inputs() -> Iterator[tuple[str, str]]:
    for key, text in request.args.items(multi=True):
        yield f"query parameter {key}", key + text
    if request.mimetype in FORM_TYPES:  # werkzeug parses a body into form and files for these types only
        for key, text in request.form.items(multi=True):
            yield f"field {key}", key + text
        for key, upload in request.files.items(multi=True):
            yield f"file {key}", upload.filename or ""
    for key, text in (request.view_args or {}).items():
        if isinstance(text, str):
            yield f"path segment {key}", text
    yield "path", request.path
    if request.is_json and not _plain_json(request.get_data(cache=True)):
        body = request.get_json(silent=True)
        for where, text in _strings(body, ""):
            yield f"JSON {where or 'body'}", text


def _plain_json(raw: bytes) -> bool:
    """Return True if no string in the JSON text ``raw`` can hold a control character and it cannot nest past
    MAX_DEPTH, so its strings need no walk: no raw control byte (UTF-8), no escape that makes one (``\\u…``,
    ``\\b``, ``\\f``; an escaped backslash before them only makes this say False), fewer brackets than the depth."""
    return (raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH and RAW_CONTROL.search(raw) is None
            and CONTROL_ESCAPE.search(raw) is None)


def refuse_control_characters() -> None:
    """Refuse the request (400) if any input holds NUL or another control character."""
    for where, text in _inputs():
        match = CONTROL.search(text)
        if match:
            raise InvalidInput(f"{where}: control character U+{ord(match.group()):04X} is not allowed in text")


def add_security_headers(response: Response) -> Response:
    """Send the security headers (a page's own stricter ones are kept)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Register the input check (before everything else) and the response headers."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_control_characters)
    app.after_request(add_security_headers)
