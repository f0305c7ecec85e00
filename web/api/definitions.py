"""/api/v1/definitions: list deployed processes, read their BPMN and diagram, validate and deploy files."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from flask import Response, abort
from flask.typing import ResponseReturnValue
from flask_smorest.fields import Upload
from marshmallow import Schema, fields
from marshmallow import validate as checks

from engine.definitions.archives import expand_zips
from engine.definitions.bundle_files import is_form_file, read_forms
from engine.errors import DefinitionError, Problem
from engine.services.bundle_sources import FormResolver, process_ids_in
from engine.services.bundles import split_catalogues, translation_warnings, unused_form_warnings
from engine.services.definitions import (
    check_files,
    definition_source,
    deploy_files,
    group_names,
    list_definitions,
)
from engine.services.version_bundles import version_zip
from engine.services.views import DefinitionView, DeployResult
from web.access import ANYONE, DESIGNERS
from web.api.auth import allow, username
from web.api.openapi import ApiBlueprint, problems
from web.api.paging import page_of
from web.api.schemas import (
    DefinitionFilesSchema,
    DefinitionListArgsSchema,
    DefinitionPageSchema,
    DefinitionSchema,
    DeployResultSchema,
    ValidationResultSchema,
)
from web.db import db, get_engine
from web.diagram import render_diagram
from web.i18n import current_language, group_label
from web.instances.diagrams import element_labels

blp = ApiBlueprint("definitions", __name__, description="Deployed process definitions: read, validate, deploy.")


def _definition(definition_id: int) -> DefinitionView:
    found = [d for d in list_definitions(db()) if d.id == definition_id]
    if not found:
        abort(404, f"definition {definition_id} not found")
    return found[0]


def _files(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The bundle's files: text as UTF-8, base64 as bytes, each .zip unpacked safely (DefinitionError otherwise)."""
    files = [(f["name"], f["content"].encode("utf-8") if "content" in f else base64.b64decode(f["content_base64"]))
             for f in body["files"]]
    return expand_zips(files, get_engine().config.max_definition_bytes)


@blp.route("")
@allow(ANYONE)
@blp.arguments(DefinitionListArgsSchema, location="query")
@blp.response(200, DefinitionPageSchema)
def list_definitions_(args: dict[str, Any]) -> dict[str, Any]:
    """List deployed definition versions, by process key and version."""
    views = list_definitions(db(), latest_only=args["latest_only"])
    if args.get("process_key"):
        views = [v for v in views if v.process_key == args["process_key"]]
    return page_of(views, args)


@blp.route("/<int(min=1, max=2147483647):definition_id>")
@allow(ANYONE)
@blp.response(200, DefinitionSchema)
@problems(404)
def get_definition(definition_id: int) -> DefinitionView:
    """Return one definition version."""
    return _definition(definition_id)


@blp.route("/<int(min=1, max=2147483647):definition_id>/source")
@allow(ANYONE)
@blp.response(200, {"type": "string"}, content_type="application/xml", description="The BPMN XML")
@problems(404)
def get_source(definition_id: int) -> ResponseReturnValue:
    """Return the BPMN source of a definition version."""
    return Response(definition_source(db(), _definition(definition_id).id), mimetype="application/xml")


@blp.route("/<int(min=1, max=2147483647):definition_id>/bundle")
@allow(ANYONE)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip",
              description="The version's bundle: its BPMN file, translation catalogue and forms (in forms/)")
@problems(404)
def get_bundle(definition_id: int) -> ResponseReturnValue:
    """Return a version's bundle as a zip; deploying it again changes nothing."""
    definition = _definition(definition_id)
    response = Response(version_zip(db(), definition.id), mimetype="application/zip")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", definition.process_key)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-v{definition.version}.zip"'
    return response


@blp.route("/<int(min=1, max=2147483647):definition_id>/diagram")
@allow(ANYONE)
@blp.response(200, {"type": "string"}, content_type="image/svg+xml", description="The process diagram")
@problems(404)
def get_diagram(definition_id: int) -> ResponseReturnValue:
    """Draw a definition's diagram as SVG (404 if its file has no diagram data)."""
    definition = _definition(definition_id)
    svg = render_diagram(definition_source(db(), definition.id), title=definition.process_key, lane_label=group_label,
                         id_prefix=f"d{definition.id}", label=element_labels(db(), definition.id))
    if not svg:
        abort(404, f"definition {definition_id} has no diagram interchange (DI) data")
    return Response(svg, mimetype="image/svg+xml")


class BundleUploadSchema(Schema):
    """The multipart body: one ``files`` part per file of the bundle (or one .zip), as ``curl -F files=@…`` sends."""

    files = fields.List(Upload(), required=True, validate=checks.Length(min=1, max=50), metadata={
        "description": "BPMN/DMN files, catalogues (<stem>.i18n.json), forms (<key>.schema.json, <key>.ui.json) or .zip"})


def _uploaded(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The multipart bundle's files by their base names, each .zip unpacked safely (DefinitionError otherwise)."""
    files = []
    for upload in body["files"]:
        name = PurePosixPath((upload.filename or "").replace("\\", "/")).name.strip()
        if not name:
            abort(422, "every files part needs a file name, e.g. order_plan.bpmn")
        files.append((name, upload.stream.read()))
    return expand_zips(files, get_engine().config.max_definition_bytes)


@blp.route("/validate", methods=["POST"])
@allow(DESIGNERS)
@blp.arguments(DefinitionFilesSchema)
@blp.response(200, ValidationResultSchema)
def validate(body: dict[str, Any]) -> dict[str, Any]:
    """Check a bundle as a deploy would (schema, references, groups, forms, scripts) without deploying it; forms it
    does not carry may come from the processes' deployed versions."""
    return _validate(lambda: _files(body))


@blp.route("/bundle/validate", methods=["POST"])
@allow(DESIGNERS)
@blp.arguments(BundleUploadSchema, location="files")
@blp.response(200, ValidationResultSchema)
@problems(413)
def validate_upload(body: dict[str, Any]) -> dict[str, Any]:
    """Check a bundle sent as multipart/form-data (``files`` parts) exactly as ``POST /definitions/validate``."""
    return _validate(lambda: _uploaded(body))


def _validate(read: Callable[[], list[tuple[str, bytes]]]) -> dict[str, Any]:
    session = db()
    config = get_engine().config
    try:
        files = read()
        resolver = FormResolver(session, {}, None, process_ids_in(files))
        _docs, parsed, _all = check_files(files, known_groups=group_names(session), form_keys=resolver.keys(),
                                          max_bytes=config.max_definition_bytes)
    except DefinitionError as exc:
        return {"ok": False, "processes": [], "problems": _problems(exc.problems), "warnings": []}
    given_forms = read_forms([f for f in files if is_form_file(f[0])], config.max_definition_bytes)[0]
    warnings = translation_warnings(_docs, split_catalogues(files)[1]) + unused_form_warnings(given_forms, _all)
    return {"ok": True, "processes": sorted(parsed), "problems": [], "warnings": _problems(warnings)}


def _problems(problems: list[Problem]) -> list[dict[str, Any]]:
    language = current_language()
    return [{"file": p.file, "line": p.line, "element_id": p.element_id, "element_name": p.name,
             "message": p.text(language)} for p in problems]


@blp.route("", methods=["POST"])
@allow(DESIGNERS)
@blp.arguments(DefinitionFilesSchema)
@blp.response(201, DeployResultSchema)
@blp.alt_response(200, schema=DeployResultSchema, description="Nothing changed: every process was deployed as is",
                  success=True)
def deploy(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Deploy a bundle (BPMN, DMN, translation catalogues, forms, or a .zip of them): changed processes get a new
    version, identical ones stay as they are (200). A form the processes use but the bundle does not carry comes from
    the process's deployed version; the server's forms folder is never read."""
    return _deploy(_files(body))


@blp.route("/bundle", methods=["POST"])
@allow(DESIGNERS)
@blp.arguments(BundleUploadSchema, location="files")
@blp.response(201, DeployResultSchema)
@blp.alt_response(200, schema=DeployResultSchema, description="Nothing changed: every process was deployed as is",
                  success=True)
@problems(413)
def deploy_upload(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Deploy a bundle sent as multipart/form-data (``files`` parts: the files, or one .zip), exactly as
    ``POST /definitions``: ``curl -F files=@callback.zip …/api/v1/definitions/bundle``."""
    return _deploy(_uploaded(body))


def _deploy(files: list[tuple[str, bytes]]) -> tuple[dict[str, Any], int]:
    result: DeployResult = deploy_files(db(), files, username())
    body = {"deployed": result.deployed, "unchanged": result.unchanged, "warnings": _problems(result.warnings),
            "forms": result.forms}
    return body, 201 if result.deployed else 200
