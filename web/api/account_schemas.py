"""The API's schemas of people: users, groups, tokens and the signed-in caller (see web.api.schemas)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api.schemas import PageArgsSchema, page_schema


class UserSchema(Schema):
    """A person and their groups."""

    username = fields.String(required=True)
    display_name = fields.String(required=True)
    active = fields.Boolean(required=True)
    groups = fields.List(fields.String(), required=True)
    has_password = fields.Boolean(required=True, metadata={"description": "Whether they can sign in to the pages"})
    locked_until = fields.DateTime(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


UserPageSchema = page_schema(UserSchema, "UserPageSchema")


class NewUserSchema(Schema):
    """A user to create."""

    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,119}$"))
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                         validate=validate.Length(min=1, max=20))
    display_name = fields.String(load_default="", validate=validate.Length(max=255))


class GroupSchema(Schema):
    """A group (role); BPMN lanes name these ids."""

    id = fields.String(required=True)
    name_en = fields.String(required=True)
    name_zh = fields.String(required=True)
    members = fields.List(fields.String(), required=True, metadata={"description": "Active members"})


class TokenSchema(Schema):
    """A personal API token's metadata (never its secret)."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(allow_none=True, required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    scope = fields.String(required=True, metadata={"description": "personal (acts as its user) or integration "
                                                                  "(may only send messages that allow it)"})


TokenPageSchema = page_schema(TokenSchema, "TokenPageSchema")


class IssuedTokenSchema(TokenSchema):
    """A new token: ``token`` is the secret, shown only in this response."""

    token = fields.String(required=True)


class NewTokenSchema(Schema):
    """A token to create: for yourself, or (admins) for another user."""

    name = fields.String(load_default="", validate=validate.Length(max=120))
    expires_in_days = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=3650))
    username = fields.String(validate=validate.Length(min=1, max=120), metadata={"description": "Admins only"})
    scope = fields.String(load_default="personal", validate=validate.OneOf(["personal", "integration"]),
                          metadata={"description": "integration: the token may only send messages whose "
                                                   "definition names the scope (senderScopes)"})


class TokenListArgsSchema(PageArgsSchema):
    """Whose tokens: your own, or (admins) one user's or everyone's."""

    username = fields.String(validate=validate.Length(min=1, max=120))
    everyone = fields.Boolean(load_default=False, metadata={"description": "Admins only: every user's tokens"})


class MeSchema(Schema):
    """The user the token belongs to."""

    username = fields.String(required=True)
    display_name = fields.String(required=True)
    groups = fields.List(fields.String(), required=True)
