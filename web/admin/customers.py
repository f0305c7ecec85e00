"""The customer register (客户台账): customers with grade, owner and active flag, and their contracts' expiry dates."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import Conflict, EngineError, NotFound
from engine.services import customers as register
from engine.services.grading import grade_history
from engine.services.questionnaire_mail import set_customer_email
from web.access import ADMINS, requires
from web.admin import bp
from web.db import db, rollback


def _problem(exc: EngineError) -> str:
    """Say what is wrong with the submitted register entry in the user's language."""
    text = str(exc)
    if isinstance(exc, Conflict):
        return gettext("A customer with this name is already in the register.")
    if "owner" in text:
        return gettext("The owner must be an existing user name.")
    if "grade" in text:
        return gettext("The grade must be a whole number from 1 to 5.")
    if "expires_on" in text:
        return gettext("The expiry date must be a date (YYYY-MM-DD).")
    if isinstance(exc, NotFound):
        return gettext("No such customer or contract.")
    return gettext("The entry could not be saved: %(problem)s", problem=text)


def _customer_form() -> dict[str, Any]:
    return {"name": request.form.get("name", "").strip(), "grade": request.form.get("grade", "3"),
            "owner": request.form.get("owner", "").strip(), "active": request.form.get("active") == "1",
            "note": request.form.get("note", ""), "grade_reason": request.form.get("grade_reason", ""),
            "email": request.form.get("email", "").strip()}


def _list_page(error: str = "", values: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    session = db()
    contracts: dict[str, list[register.ContractView]] = {}
    for contract in register.list_contracts(session):
        contracts.setdefault(contract.customer, []).append(contract)
    return render_template("admin/customers.html", customers=register.list_customers(session), contracts=contracts,
                           error=error, values=values or {"grade": "3", "active": True}), status


@bp.get("/customers")
@requires(ADMINS)
def customers() -> ResponseReturnValue:
    """List the register's customers with their contracts and offer the form that adds one."""
    return _list_page()


@bp.post("/customers")
@requires(ADMINS)
def create_customer() -> ResponseReturnValue:
    """Add a customer to the register."""
    values = _customer_form()
    try:
        view = register.save_customer(db(), values["name"], current_user.username, grade=values["grade"],
                                      owner=values["owner"], active=values["active"], note=values["note"])
        set_customer_email(db(), view.name, values["email"], current_user.username)  # questionnaires (#17)
    except EngineError as exc:
        rollback()
        return _list_page(_problem(exc), values, 422)
    flash(gettext("Customer %(name)s saved.", name=view.name), "success")
    return redirect(url_for("admin.customer", customer_id=view.id))


def _customer_page(customer_id: int, error: str = "", status: int = 200,
                   values: dict[str, Any] | None = None) -> ResponseReturnValue:
    session = db()
    customer = register.get_customer(session, customer_id)
    return render_template("admin/customer.html", customer=customer, kinds=register.KINDS,
                           contracts=register.list_contracts(session, customer=customer.name), error=error,
                           values=values or {}, grades=grade_history(session, customer.name)), status


@bp.get("/customers/<int:customer_id>")
@requires(ADMINS)
def customer(customer_id: int) -> ResponseReturnValue:
    """Show a customer with the forms that change it and its contracts."""
    return _customer_page(customer_id)


@bp.post("/customers/<int:customer_id>")
@requires(ADMINS)
def update_customer(customer_id: int) -> ResponseReturnValue:
    """Change a customer's name, grade, owner, active flag or note."""
    register.get_customer(db(), customer_id)  # 404 first
    values = _customer_form()
    try:
        view = register.save_customer(db(), values["name"], current_user.username, customer_id=customer_id,
                                      grade=values["grade"], owner=values["owner"], active=values["active"],
                                      note=values["note"], grade_reason=values["grade_reason"])
        set_customer_email(db(), view.name, values["email"], current_user.username)  # questionnaires (#17)
    except EngineError as exc:
        rollback()
        return _customer_page(customer_id, _problem(exc), 422)
    flash(gettext("Customer %(name)s saved.", name=view.name), "success")
    return redirect(url_for("admin.customer", customer_id=customer_id))


@bp.post("/customers/<int:customer_id>/contracts")
@requires(ADMINS)
def save_contract(customer_id: int) -> ResponseReturnValue:
    """Add a contract to the customer, or change one of theirs (a new expiry date is a renewed term)."""
    customer = register.get_customer(db(), customer_id)
    number = request.form.get("number", "").strip()
    values = {"number": number, "kind": request.form.get("kind", "contract"),
              "expires_on": request.form.get("expires_on", "").strip(), "status": request.form.get("status", "active")}
    theirs = {c.number for c in register.list_contracts(db(), customer=customer.name)}
    others = {c.number for c in register.list_contracts(db())} - theirs
    if number in others:
        return _customer_page(customer_id, gettext("Contract %(number)s belongs to another customer.", number=number),
                              409, values)
    try:
        register.save_contract(db(), number, current_user.username, customer=customer.name, kind=values["kind"],
                               expires_on=values["expires_on"], status=values["status"],
                               note=request.form.get("note", ""))
    except EngineError as exc:
        rollback()
        return _customer_page(customer_id, _problem(exc), 422, values)
    flash(gettext("Contract %(number)s saved.", number=number), "success")
    return redirect(url_for("admin.customer", customer_id=customer_id))

