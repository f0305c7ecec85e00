"""/api/v1/instances/{id}/attachments and /api/v1/attachments/{id}/content: attach files to a case, list, download.

A file is one part ``file`` of a multipart/form-data body (``task_id``, another part, attaches it to that open task
of the instance); its type is judged from its content. Downloads are authorised exactly like reading the instance.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from engine.services.attachment_files import ACCEPTED
from engine.services.attachments import AttachmentView, attach, get_attachment, list_attachments, read_thumbnail
from engine.services.attachments import read_content as read_attachment
from web.access import ANYONE, WORKERS
from web.api.auth import allow, username
from web.api.instances import visible_instance
from web.api.openapi import API_PREFIX, ApiBlueprint, problems
from web.db import db, get_engine
from web.instances.attachments import content_response

blp = ApiBlueprint("attachments", __name__, description="Files attached to a case or one of its tasks: photos, PDF, "
                                                        "Word, Excel, CSV — upload, list, download.")
blp.url_prefix = API_PREFIX
INSTANCE = "/instances/<int(min=1, max=2147483647):instance_id>/attachments"
ATTACHMENT = "/attachments/<int(min=1, max=2147483647):attachment_id>"
BINARY = {"schema": {"type": "string", "format": "binary"}}


class UploadSchema(Schema):
    """The multipart body: the file, and optionally the open task it belongs to."""

    file = Upload(required=True, metadata={"description": "The file (its type is judged from its content)"})
    task_id = fields.String(validate=validate.Length(min=1, max=36),
                            metadata={"description": "Attach to this open task of the instance"})


class AttachmentSchema(Schema):
    """One attached file: what it is (sniffed from its bytes), its SHA-256 digest, who attached it."""

    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    task_id = fields.String(allow_none=True, required=True)
    filename = fields.String(required=True, metadata={"description": "Display name; its extension is the real type's"})
    media_type = fields.String(required=True, metadata={"description": "Judged from the content, e.g. image/png"})
    size = fields.Integer(required=True, metadata={"description": "Bytes"})
    sha256 = fields.String(required=True)
    uploaded_by = fields.String(required=True)
    uploaded_at = fields.DateTime(required=True)
    has_thumbnail = fields.Boolean(required=True, metadata={"description": "Photos have a JPEG thumbnail"})


class AttachmentListSchema(Schema):
    """The files of a case, oldest first."""

    items = fields.List(fields.Nested(AttachmentSchema), required=True)


class ContentArgsSchema(Schema):
    """How to send the file."""

    download = fields.Boolean(load_default=False, metadata={
        "description": "Send as a download even if a browser could show it (PDFs and photos are sent inline)"})


@blp.route(INSTANCE, methods=["POST"])
@allow(WORKERS)
@blp.arguments(UploadSchema, location="files")
@blp.response(201, AttachmentSchema)
@problems(400, 404, 413)
def upload(body: dict[str, Any], instance_id: int) -> AttachmentView:
    """Attach a file to a case (someone working on it, or a cs_head/admin): its type from its content, size limited."""
    visible_instance(instance_id)
    file = body["file"]
    content = file.stream.read(get_engine().config.attachment_max_bytes + 1)
    task_id = request.form.get("task_id") or None
    return attach(db(), instance_id, file.filename or "", content, username(), task_id)


@blp.route(INSTANCE)
@allow(ANYONE)
@blp.response(200, AttachmentListSchema)
@problems(404)
def list_files(instance_id: int) -> dict[str, Any]:
    """List the files attached to a case I may see, oldest first."""
    visible_instance(instance_id)
    return {"items": list_attachments(db(), instance_id, username())}


@blp.route(ATTACHMENT)
@allow(ANYONE)
@blp.response(200, AttachmentSchema)
@problems(404)
def show(attachment_id: int) -> AttachmentView:
    """Return one attachment's facts (404 unless I may see its case)."""
    return get_attachment(db(), attachment_id, username())


@blp.route(f"{ATTACHMENT}/content")
@allow(ANYONE)
@blp.arguments(ContentArgsSchema, location="query")
@blp.doc(responses={200: {"description": "The file, as its sniffed media type (PDFs and photos inline)",
                          "content": {media_type: BINARY for media_type in ACCEPTED}}})
@problems(404)
def content(args: dict[str, Any], attachment_id: int) -> Response:
    """Download a file (authorised exactly like reading its case)."""
    found, data = read_attachment(db(), attachment_id, username())
    return content_response(found, data, download=args["download"])


@blp.route(f"{ATTACHMENT}/thumbnail")
@allow(ANYONE)
@blp.doc(responses={200: {"description": "A JPEG thumbnail of a photo", "content": {"image/jpeg": BINARY}}})
@problems(404)
def thumbnail(attachment_id: int) -> Response:
    """Download a photo's thumbnail (404 for other files)."""
    return Response(read_thumbnail(db(), attachment_id, username()), mimetype="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})
