"""The API's documents: the OpenAPI JSON, and the same rendered as a plain HTML reference (no CDN, no scripts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from web.access import public
from web.api.problems import PROBLEM_TYPES

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")
API_KEY = "bpm_api"
METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict[str, Any]:
    """Return this app's OpenAPI document (built once per app)."""
    api = current_app.extensions[API_KEY]
    if not hasattr(api, "document"):
        api.document = api.spec.to_dict()
    document: dict[str, Any] = api.document
    return document


@dataclass(frozen=True)
class Field:
    """One property or parameter, described for people."""

    name: str
    type: str
    ref: str | None
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    """One operation of the reference page."""

    method: str
    path: str
    summary: str
    description: str
    groups: list[str]
    parameters: list[Field]
    body: str | None
    responses: list[tuple[str, str, str, str | None]]  # status, description, content type, schema
    anchor: str = field(default="")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(prop: dict[str, Any]) -> tuple[str, str | None]:
    """Return a readable type and the schema it links to, if any."""
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return name, name
    if prop.get("type") == "array":
        inner, ref = _type(prop.get("items", {}))
        return f"array of {inner}", ref
    text = prop.get("type", "any")
    if prop.get("format"):
        text += f" ({prop['format']})"
    if prop.get("enum"):
        text += ": " + " | ".join(str(v) for v in prop["enum"])
    limits = [f"{k} {prop[k]}" for k in ("minimum", "maximum", "minLength", "maxLength", "pattern") if k in prop]
    if limits:
        text += f" [{', '.join(limits)}]"
    if prop.get("nullable"):
        text += ", or null"
    return text, None


def _fields(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        text, ref = _type(prop)
        out.append(Field(name, text, ref, name in required, prop.get("description", "")))
    return out


def _schema_of(content: dict[str, Any]) -> tuple[str, str | None]:
    for content_type, media in content.items():
        schema = media.get("schema", {})
        return content_type, (_type(schema)[1] or _type(schema)[0]) if schema else None
    return "", None


def _operations(document: dict[str, Any]) -> dict[str, list[Operation]]:
    components = document.get("components", {}).get("responses", {})
    by_tag: dict[str, list[Operation]] = {t["name"]: [] for t in document.get("tags", [])}
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [Field(p["name"], _type(p.get("schema", {}))[0], None, bool(p.get("required")),
                            f"{p['in']}: {p.get('description', '')}".rstrip(": "))
                      for p in [*shared, *op.get("parameters", [])]]
            body = _schema_of(op["requestBody"]["content"])[1] if "requestBody" in op else None
            responses = []
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    response = components.get(_ref_name(response["$ref"]), {})
                content_type, schema = _schema_of(response.get("content", {}))
                responses.append((str(status), response.get("description", ""), content_type, schema))
            responses.sort(key=lambda r: (r[0] == "default", r[0]))
            operation = Operation(method.upper(), path, op.get("summary", ""), op.get("description", ""),
                                  op.get("x-required-groups", []), params, body, responses,
                                  anchor=re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-"))
            for tag in op.get("tags", ["other"]):
                by_tag.setdefault(tag, []).append(operation)
    return by_tag


@bp.get("/openapi.json")
@public
def openapi_json() -> ResponseReturnValue:
    """Serve the OpenAPI 3 document (public: it holds no data)."""
    return jsonify(openapi_document())


@bp.get("/docs")
@public
def reference() -> ResponseReturnValue:
    """Render the OpenAPI document as a readable reference page."""
    document = openapi_document()
    schemas = {name: (schema.get("description", ""), _fields(schema))
               for name, schema in sorted(document.get("components", {}).get("schemas", {}).items())}
    return render_template("api/reference.html", document=document, operations=_operations(document),
                           tags={t["name"]: t.get("description", "") for t in document.get("tags", [])},
                           schemas=schemas, problem_types=PROBLEM_TYPES.values())


@bp.get("/problems/<slug>")
@public
def problem(slug: str) -> ResponseReturnValue:
    """Lead a problem's ``type`` URI to its explanation in the reference."""
    if slug not in PROBLEM_TYPES:
        abort(404)
    return redirect(url_for(".reference", _anchor=f"problem-{slug}"))
