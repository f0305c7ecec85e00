"""``bpm tokens``: create (the secret is printed once), list and revoke personal API tokens."""

from __future__ import annotations

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors
from engine.services import tokens as token_service


@cli.group(help="Personal API tokens (sent as 'Authorization: Bearer TOKEN').")
def tokens() -> None:
    """Token commands."""


@tokens.command("create", help="Create a token for USER; only the token goes to stdout, once: keep it safe.")
@click.argument("username")
@click.option("--expires-in-days", type=click.IntRange(1, token_service.MAX_DAYS), default=None,
              help="days until the token stops working (default: never)")
@click.option("--name", default="", help="what the token is for, e.g. 'ERP sync'")
@click.option("--scope", type=click.Choice(token_service.SCOPES), default=token_service.PERSONAL, show_default=True,
              help="personal: acts as USER everywhere; integration: may only send messages that allow integration tokens")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def tokens_create(username: str, expires_in_days: int | None, name: str, scope: str, as_json: bool) -> None:
    """Create a token."""
    with build_engine().transaction() as session:
        issued = token_service.create_token(session, username, "system", name=name, expires_in_days=expires_in_days,
                                            scope=scope)
    if as_json:
        emit_json({**issued.token.__dict__, "token": issued.secret})
        return
    expires = issued.token.expires_at.isoformat(timespec="minutes") if issued.token.expires_at else "never"
    click.echo(f"token {issued.token.id} for {username} (scope: {scope}, expires: {expires}); it is shown only this once",
               err=True)
    click.echo(issued.secret)


@tokens.command("list", help="List tokens (never their secrets): all, or one user's.")
@click.option("--user", "username")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def tokens_list(username: str | None, as_json: bool) -> None:
    """List tokens."""
    engine = build_engine()
    with engine.transaction() as session:
        views = token_service.list_tokens(session, username)
    if as_json:
        emit_json([v.__dict__ for v in views])
        return
    if not views:
        click.echo("no tokens")
    at = engine.clock.now()
    for v in views:
        state = "active" if v.is_active(at) else ("revoked" if v.revoked_at else "expired")
        expires = v.expires_at.isoformat(timespec="minutes") if v.expires_at else "never"
        click.echo(f"{v.id:>5}  {v.username:<16} {state:<8} {v.scope:<11} expires={expires}  {v.name}")


@tokens.command("revoke", help="Revoke token ID; it stops working at once.")
@click.argument("token_id", type=int)
@engine_errors
def tokens_revoke(token_id: int) -> None:
    """Revoke a token."""
    with build_engine().transaction() as session:
        view = token_service.revoke_token(session, token_id, "system")
    click.echo(f"token {view.id} of {view.username} revoked")
