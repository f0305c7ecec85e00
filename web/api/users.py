"""/api/v1/me, users and groups (admins), tokens (your own; admins: anyone's)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user

from engine.services import admin as admin_service
from engine.services import tokens as token_service
from engine.services import users as users_service
from web.access import ADMINS, ANYONE, in_any
from web.api.account_schemas import (
    GroupSchema,
    IssuedTokenSchema,
    MeSchema,
    NewTokenSchema,
    NewUserSchema,
    TokenListArgsSchema,
    TokenPageSchema,
    TokenSchema,
    UserPageSchema,
    UserSchema,
)
from web.api.auth import allow, groups, username
from web.api.openapi import ApiBlueprint, problems
from web.api.paging import page_of
from web.api.schemas import PageArgsSchema
from web.db import db, now

me_blp = ApiBlueprint("me", __name__, description="The user the token belongs to.")
users_blp = ApiBlueprint("users", __name__, description="Users and their groups (admins).")
groups_blp = ApiBlueprint("groups", __name__, description="Groups (roles); BPMN lanes name them (admins).")
tokens_blp = ApiBlueprint("tokens", __name__, description="Personal API tokens: your own; admins manage anyone's.")
USER_ROUTE = "/<string(minlength=1, maxlength=120):name>"
REVOKE_ROUTE = "/<int(min=1, max=2147483647):token_id>/revoke"


def _token(view: token_service.TokenView) -> dict[str, Any]:
    return {**view.__dict__, "active": view.is_active(now())}


@me_blp.route("")
@allow(ANYONE)
@me_blp.response(200, MeSchema)
def me() -> dict[str, Any]:
    """Return who the token acts as, and their groups."""
    return {"username": username(), "display_name": current_user.display_name, "groups": sorted(groups())}


@users_blp.route("")
@allow(ADMINS)
@users_blp.arguments(PageArgsSchema, location="query")
@users_blp.response(200, UserPageSchema)
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """List every user by name."""
    return page_of(admin_service.list_users(db()), args)


@users_blp.route("", methods=["POST"])
@allow(ADMINS)
@users_blp.arguments(NewUserSchema)
@users_blp.response(201, UserSchema)
@problems(400, 404, 409)
def create_user(body: dict[str, Any]) -> admin_service.UserView:
    """Create a user in groups, without a password (an admin sets one in the pages; tokens work meanwhile)."""
    return admin_service.create_user(db(), body["username"], body["display_name"], body["groups"], None, username())


@users_blp.route(USER_ROUTE)
@allow(ADMINS)
@users_blp.response(200, UserSchema)
@problems(404)
def get_user_(name: str) -> admin_service.UserView:
    """Return a user and their groups."""
    return admin_service.get_user_view(db(), name)


@users_blp.route(f"{USER_ROUTE}/sessions/revoke", methods=["POST"])
@allow(ADMINS)
@users_blp.response(200, UserSchema)
@problems(404)
def revoke_sessions(name: str) -> admin_service.UserView:
    """Sign the user out everywhere: every web session cookie issued to them stops working (tokens are separate)."""
    view = admin_service.get_user_view(db(), name)
    users_service.end_sessions(db(), name, username(), "signed out everywhere by an administrator (API)")
    return view


@groups_blp.route("")
@allow(ADMINS)
@groups_blp.response(200, GroupSchema(many=True))
def list_groups() -> list[admin_service.GroupView]:
    """List the groups with their English and Chinese names and active members."""
    return admin_service.list_groups(db())


@tokens_blp.route("")
@allow(ANYONE)
@tokens_blp.arguments(TokenListArgsSchema, location="query")
@tokens_blp.response(200, TokenPageSchema)
def list_tokens(args: dict[str, Any]) -> dict[str, Any]:
    """List my tokens (never their secrets); admins may ask for one user's or everyone's."""
    owner: str | None = args.get("username") or username()
    if args["everyone"]:
        owner = None
    if owner != username() and not in_any(ADMINS):
        abort(403, "only admins may list other users' tokens")
    return page_of([_token(v) for v in token_service.list_tokens(db(), owner)], args)


@tokens_blp.route("", methods=["POST"])
@allow(ANYONE)
@tokens_blp.arguments(NewTokenSchema)
@tokens_blp.response(201, IssuedTokenSchema)
@problems(400, 404)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Create a token for myself (admins: for anyone); the secret ``token`` is in this response only."""
    issued = token_service.create_token(db(), body.get("username") or username(), username(), name=body["name"],
                                        expires_in_days=body["expires_in_days"], scope=body["scope"])
    return {**_token(issued.token), "token": issued.secret}


@tokens_blp.route(REVOKE_ROUTE, methods=["POST"])
@allow(ANYONE)
@tokens_blp.response(200, TokenSchema)
@problems(404)
def revoke_token(token_id: int) -> dict[str, Any]:
    """Revoke a token (its owner or an admin); it stops working at once."""
    return _token(token_service.revoke_token(db(), token_id, username()))
