"""``bpm attach`` (attach a file to an instance or task), ``bpm attachments`` (list) and ``bpm attachment-get``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors
from engine.services.attachments import AttachmentView


def _line(a: AttachmentView) -> str:
    task = f" task {a.task_id}" if a.task_id else ""
    return f"#{a.id} {a.filename} ({a.media_type}, {a.size} bytes) by {a.uploaded_by}{task} sha256 {a.sha256}"


@cli.command(help="Attach FILE to instance INSTANCE (or with --task to one of its open tasks). Its type is judged by "
                  "its content (photos, PDF, Word, Excel, CSV, text), at most BPM_ATTACHMENT_MAX_MB (20) MB. "
                  "Someone working on the case, or a cs_head/admin, may.")
@click.argument("instance_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("--task", "task_id", help="attach to this open task of the instance")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def attach(instance_id: int, file: Path, actor: str, task_id: str | None, as_json: bool) -> None:
    """Attach a file."""
    engine = build_engine()
    try:
        size = file.stat().st_size
        if size > engine.config.attachment_max_bytes:
            # Refuse before reading a huge file into memory; the engine checks again.
            raise click.ClickException(f"{file.name} is {size} bytes; at most {engine.config.attachment_max_bytes} "
                                       "may be attached (BPM_ATTACHMENT_MAX_MB)")
        content = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from exc
    found = engine.attach(instance_id, file.name, content, actor, task_id)
    if as_json:
        emit_json(found.to_json())
    else:
        click.echo(f"attached {_line(found)} to instance {instance_id}")


@cli.command(help="List the files attached to instance INSTANCE (for someone who may see it).")
@click.argument("instance_id", type=int)
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def attachments(instance_id: int, actor: str, as_json: bool) -> None:
    """List attachments."""
    found = build_engine().attachments(instance_id, actor)
    if as_json:
        emit_json([a.to_json() for a in found])
        return
    if not found:
        click.echo(f"instance {instance_id} has no attachments")
    for a in found:
        click.echo(_line(a))


@cli.command("attachment-get", help="Write the content of attachment ID to --output FILE (or '-' for stdout).")
@click.argument("attachment_id", type=int)
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("-o", "--output", required=True, help="file to write, '-' for standard output")
@click.option("--json", "as_json", is_flag=True, help="print the attachment's facts as JSON after writing")
@engine_errors
def attachment_get(attachment_id: int, actor: str, output: str, as_json: bool) -> None:
    """Download an attachment."""
    found, content = build_engine().attachment_content(attachment_id, actor)
    if output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        Path(output).write_bytes(content)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    if as_json:
        emit_json({**found.to_json(), "output": output})
    else:
        click.echo(f"wrote {found.filename} ({found.size} bytes) to {output}")
