"""``bpm audit keygen`` and ``bpm audit sign``: the key that signs the audit head, kept outside the database."""

from __future__ import annotations

import os
from pathlib import Path

import click

from engine.cli.admin import audit
from engine.cli.common import build_engine, emit_json, engine_errors


@audit.command("keygen", help="Write a new Ed25519 key pair: FILE (private, mode 600) and FILE.pub; refuses to overwrite.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def audit_keygen(path: Path, as_json: bool) -> None:
    """Generate a signing key pair."""
    from engine.services.audit_signing import generate_key_pair

    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if target.exists():
            raise click.UsageError(f"{target} exists; choose a new file (old keys stay to verify old signatures)")
    private_pem, public_pem, kid = generate_key_pair()
    # O_EXCL + 0600: the private key is never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(public_pem)
    if as_json:
        emit_json({"key_id": kid, "private_key": str(path), "public_key": str(public_path)})
    else:
        click.echo(f"key {kid}: private key {path} (keep it off the database server's backups), public key {public_path}")
        click.echo(f"use it: BPM_AUDIT_SIGNING_KEY_FILE={path}  and to verify elsewhere: BPM_AUDIT_VERIFY_KEY={public_path}")


@audit.command("sign", help="Checkpoint the audit chains and sign the checkpoint now with the configured key "
                            "(the worker also does this periodically).")
@click.option("--user", "actor", default="system", show_default=True, help="recorded as the signer")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def audit_sign(actor: str, as_json: bool) -> None:
    """Checkpoint and sign the chain heads."""
    from engine.errors import InvalidInput
    from engine.services.audit_signing import NO_SIGNING_KEY, load_signing_key, sign_head

    engine = build_engine()
    key = load_signing_key(engine.config)
    if key is None:
        raise InvalidInput(NO_SIGNING_KEY)
    with engine.transaction() as session:
        signed = sign_head(session, key, actor)
    if as_json:
        emit_json(signed.__dict__ if signed else None)
    elif signed is None:
        click.echo("nothing to sign: the newest checkpoint is already signed with this key (or the trail is empty)")
    else:
        click.echo(f"signed checkpoint {signed.seq} over {signed.chains} chain(s), {signed.events} event(s) "
                   f"(hash {signed.head_hash[:16]}…) with key {signed.key_id}")
