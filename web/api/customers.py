"""/api/v1/customers and /api/v1/contracts: the customer register (read: anyone; change: admins)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.services import customers as register
from web.access import ADMINS, ANYONE
from web.api.auth import allow, username
from web.api.openapi import ApiBlueprint, problems
from web.db import db

customers_blp = ApiBlueprint("customers", __name__,
                             description="The customer register: grade, key account, owner, active (changes: admins).")
contracts_blp = ApiBlueprint("contracts", __name__,
                             description="Contracts, agreements and quotes with their expiry; saving an active one "
                                         "starts its term's renewal reminder (changes: admins).")
CUSTOMER_ROUTE = "/<int(min=1, max=2147483647):customer_id>"


class CustomerSchema(Schema):
    """A customer of the register (the shape of ``bpm customers list --json``)."""

    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    grade = fields.Integer(load_default=3, validate=validate.Range(min=1, max=5),
                           metadata={"description": "1-5; 1 and 2 are key accounts"})
    key_account = fields.Boolean(dump_only=True)
    active = fields.Boolean(load_default=True)
    owner = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                          metadata={"description": "the cs_rep's user name"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CustomerChangeSchema(Schema):
    """What to change of a customer; fields left out stay."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    grade = fields.Integer(validate=validate.Range(min=1, max=5))
    active = fields.Boolean()
    owner = fields.String(allow_none=True, validate=validate.Length(max=120))
    note = fields.String(validate=validate.Length(max=2000))
    grade_reason = fields.String(validate=validate.Length(max=2000), load_only=True,
                                 metadata={"description": "why the grade changes (kept in the grade history)"})


class CustomerListArgsSchema(Schema):
    """Filters of the customer list."""

    active = fields.Boolean(metadata={"description": "true: only active customers"})


class ContractSchema(Schema):
    """A contract, agreement or quote (the shape of ``bpm contracts list --json``)."""

    id = fields.Integer(dump_only=True)
    customer = fields.String(required=True)
    number = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(register.KINDS))
    expires_on = fields.Date(required=True)
    status = fields.String(validate=validate.OneOf(register.CONTRACT_STATUSES))
    note = fields.String()


class ContractSaveSchema(Schema):
    """A new contract (number, customer, expires_on) or a change of one (number and what changes)."""

    number = fields.String(required=True, validate=validate.Length(min=1, max=120))
    customer = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf(register.KINDS))
    expires_on = fields.Date(metadata={"description": "a new date on an existing contract is a renewed term"})
    status = fields.String(validate=validate.OneOf(register.CONTRACT_STATUSES))
    note = fields.String(validate=validate.Length(max=2000))


class ContractListArgsSchema(Schema):
    """Filters of the contract list."""

    customer = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(register.CONTRACT_STATUSES))


@customers_blp.route("")
@allow(ANYONE)
@customers_blp.arguments(CustomerListArgsSchema, location="query")
@customers_blp.response(200, CustomerSchema(many=True))
def list_customers(args: dict[str, Any]) -> list[register.CustomerView]:
    """List the customers by name."""
    return register.list_customers(db(), active_only=bool(args.get("active")))


@customers_blp.route("", methods=["POST"])
@allow(ADMINS)
@customers_blp.arguments(CustomerSchema)
@customers_blp.response(201, CustomerSchema)
@problems(400, 404, 409)
def create_customer(body: dict[str, Any]) -> register.CustomerView:
    """Add a customer (409 if the name is taken; 404 if the owner names no user)."""
    return register.save_customer(db(), body["name"], username(), grade=body["grade"], active=body["active"],
                                  owner=body["owner"], note=body["note"])


@customers_blp.route(CUSTOMER_ROUTE, methods=["POST"])
@allow(ADMINS)
@customers_blp.arguments(CustomerChangeSchema)
@customers_blp.response(200, CustomerSchema)
@problems(400, 404, 409)
def change_customer(body: dict[str, Any], customer_id: int) -> register.CustomerView:
    """Change a customer; only the fields given change."""
    name = body.pop("name", None) or register.get_customer(db(), customer_id).name
    return register.save_customer(db(), name, username(), customer_id=customer_id, **body)


@contracts_blp.route("")
@allow(ANYONE)
@contracts_blp.arguments(ContractListArgsSchema, location="query")
@contracts_blp.response(200, ContractSchema(many=True))
def list_contracts(args: dict[str, Any]) -> list[register.ContractView]:
    """List contracts, soonest expiry first."""
    return register.list_contracts(db(), customer=args.get("customer"), status=args.get("status"))


@contracts_blp.route("", methods=["POST"])
@allow(ADMINS)
@contracts_blp.arguments(ContractSaveSchema)
@contracts_blp.response(200, ContractSchema)
@problems(400, 404)
def save_contract(body: dict[str, Any]) -> register.ContractView:
    """Add a contract or change one; an active contract of an active customer gets its term's renewal reminder."""
    number, customer = body.pop("number"), body.pop("customer", None)
    return register.save_contract(db(), number, username(), customer=customer, **body)
