"""Portal pages: the report form (starts ``exception_escalation`` with channel ``portal``), the tracking
code shown once, and the status lookup. No sign-in; CSRF-protected forms; rate-limited per client.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from engine.errors import EngineError, NotFound
from engine.services.instances import start_instance
from web.access import public
from web.db import db, rollback
from web.i18n import EXCEPTION_TYPES
from web.portal.tickets import open_ticket, public_status, ticket_instance

log = logging.getLogger(__name__)
bp = Blueprint("portal", __name__, url_prefix="/portal")
PROCESS = "exception_escalation"
ACTOR = "portal"
CODE_KEY = "portal_code"
SEVERITIES = {
    "general": lazy_gettext("Feedback or a general problem"),
    "complaint": lazy_gettext("Complaint"),
    "accident": lazy_gettext("Accident (serious damage or loss)"),
}
MAX_LENGTH = {"customer": 200, "contact_name": 100, "order_no": 64, "description": 4000}
CONTACT_LENGTH = {"contact_phone": 20, "contact_email": 254}
# The same rules as exception_start.schema.json, checked here first so the customer reads a plain sentence.
PHONE = re.compile(r"^(?=.{7,20}$)\+?[0-9]+(?:[ -]?[0-9]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Report:
    """What a customer reports: the fields of exception_escalation's start contract but the channel."""

    customer: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    order_no: str = ""
    type: str = ""
    severity: str = ""
    description: str = ""

    @classmethod
    def from_form(cls) -> Report:
        """Read the form, trimmed."""
        return cls(**{name: request.form.get(name, "").strip() for name in cls.__dataclass_fields__})

    def errors(self) -> dict[str, str]:
        """Return a message per invalid field."""
        errors = {}
        for name, most in MAX_LENGTH.items():
            value = getattr(self, name)
            if not value:
                errors[name] = gettext("Required.")
            elif len(value) > most:
                errors[name] = gettext("At most %(n)s characters.", n=most)
        errors.update(self._contact_errors())
        if self.type not in EXCEPTION_TYPES:
            errors["type"] = gettext("Choose one of the options.")
        if self.severity not in SEVERITIES:
            errors["severity"] = gettext("Choose one of the options.")
        return errors

    def _contact_errors(self) -> dict[str, str]:
        """Return the messages of the phone and e-mail fields: at least one of them, each in a usable shape."""
        if not self.contact_phone and not self.contact_email:
            message = gettext("Give a phone number or an e-mail address, so we can call or write back.")
            return {"contact_phone": message, "contact_email": message}
        errors = {}
        if self.contact_phone and not PHONE.match(self.contact_phone):
            errors["contact_phone"] = gettext("Enter a phone number of 7 to 20 characters: digits, spaces, + and -.")
        if self.contact_email and (len(self.contact_email) > CONTACT_LENGTH["contact_email"]
                                   or not EMAIL.match(self.contact_email)):
            errors["contact_email"] = gettext("Enter an e-mail address such as name@example.com.")
        return errors

    def start_data(self) -> dict[str, Any]:
        """Return the start data of exception_escalation (the contact under the start form's fields)."""
        data = {"channel": "portal", "customer": self.customer, "contact_name": self.contact_name,
                "contact_phone": self.contact_phone, "contact_email": self.contact_email, "order_no": self.order_no,
                "type": self.type, "severity": self.severity, "description": self.description}
        return {k: v for k, v in data.items() if v}


def _form(report: Report | None = None, errors: dict[str, str] | None = None, problem: str = "",
          status: int = 200) -> ResponseReturnValue:
    return render_template("portal/index.html", report=report or Report(), errors=errors or {}, problem=problem,
                           types=EXCEPTION_TYPES, severities=SEVERITIES, max_length={**MAX_LENGTH, **CONTACT_LENGTH}), status


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    """Show the report form and the way to follow a report."""
    return _form()


@bp.post("/")
@public
def submit() -> ResponseReturnValue:
    """Validate the report, start the case and hand out its tracking code (shown on the next page, once)."""
    report = Report.from_form()
    errors = report.errors()
    if errors:
        return _form(report, errors, status=422)
    try:
        instance = start_instance(db(), PROCESS, report.start_data(), ACTOR, report.order_no)
    except NotFound:
        rollback()
        log.error("portal report refused: process %s is not deployed", PROCESS)
        return _form(report, problem=gettext("We cannot take reports online right now. Please call or e-mail "
                                             "customer service; nothing was sent."), status=503)
    except EngineError as exc:
        rollback()
        log.warning("portal report refused: %s", exc)
        return _form(report, problem=gettext("Your report could not be registered. Please check it and try again, "
                                             "or call customer service."), status=422)
    code = open_ticket(db(), instance.id)
    session[CODE_KEY] = code
    return redirect(url_for("portal.submitted"))


@bp.get("/submitted")
@public
def submitted() -> ResponseReturnValue:
    """Show the tracking code of the report just sent; it is shown this once."""
    code = session.pop(CODE_KEY, None)
    if not code:
        return redirect(url_for("portal.track"))
    response = current_app.make_response(render_template("portal/submitted.html", code=code))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/track", methods=["GET", "POST"])
@public
def track() -> ResponseReturnValue:
    """Ask for a tracking code (GET) and show that report's status (POST, so codes stay out of URLs and logs)."""
    if request.method == "GET":
        return render_template("portal/track.html", status=None, not_found=False)
    instance_id = ticket_instance(db(), request.form.get("code", ""))
    if instance_id is None:
        return render_template("portal/track.html", status=None, not_found=True), 404
    response = current_app.make_response(render_template("portal/track.html", status=public_status(db(), instance_id),
                                                          not_found=False))
    response.headers["Cache-Control"] = "no-store"
    return response
