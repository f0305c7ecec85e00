"""The customer register: add, change and list customers and their contracts, agreements and quotes (audited)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence import Contract, Customer
from engine.services import audit
from engine.services.context import now, plain
from engine.services.users import get_user

KINDS = ("contract", "agreement", "quote")
CONTRACT_STATUSES = ("active", "ended")
_KEEP = object()


@dataclass(frozen=True)
class CustomerView:
    """A customer as pages, the CLI and processes see it."""

    id: int
    name: str
    grade: int
    key_account: bool
    active: bool
    owner: str | None
    note: str

    def to_json(self) -> dict[str, Any]:
        """Return the ``bpm customers list --json`` shape."""
        return dict(plain(asdict(self)))


@dataclass(frozen=True)
class ContractView:
    """A contract, agreement or quote with its customer's name."""

    id: int
    customer: str
    number: str
    kind: str
    expires_on: date
    status: str
    note: str

    def to_json(self) -> dict[str, Any]:
        """Return the ``bpm contracts list --json`` shape."""
        return dict(plain(asdict(self)))


def customer_view(row: Customer) -> CustomerView:
    """Turn a customer row into a CustomerView."""
    return CustomerView(row.id, row.name, row.grade, row.key_account, row.active, row.owner, row.note)


def contract_view(row: Contract, customer_name: str) -> ContractView:
    """Turn a contract row into a ContractView."""
    return ContractView(row.id, customer_name, row.number, row.kind, row.expires_on, row.status, row.note)


def _grade(value: Any) -> int:
    try:
        grade = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(f"grade must be a whole number from 1 to 5, not {value!r}") from None
    if not 1 <= grade <= 5:
        raise InvalidInput(f"grade must be from 1 to 5 (1–2 are key accounts), not {grade}")
    return grade


def _text(value: Any, what: str, limit: int) -> str:
    text = str(value if value is not None else "").strip()
    if not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def find_customer(session: Session, name: str) -> Customer:
    """Return the customer called ``name`` (exactly, after trimming) or raise NotFound."""
    row = session.scalar(select(Customer).where(Customer.name == str(name).strip()))
    if row is None:
        raise NotFound(f"no customer {name!r} in the register")
    return row


def save_customer(
    session: Session, name: str, actor: str, *, grade: Any = _KEEP, active: Any = _KEEP, owner: Any = _KEEP,
    note: Any = _KEEP, customer_id: int | None = None, grade_reason: Any = "",
) -> CustomerView:
    """Add a customer (``customer_id`` None) or change one; what is not given stays (a new one: grade 3, active).

    A new grade (or a new customer's first one) is an entry of the grade history, with ``grade_reason``.
    """
    name = _text(name, "customer name", 200)
    if customer_id is None:
        if session.scalar(select(Customer.id).where(Customer.name == name)) is not None:
            raise Conflict(f"customer {name!r} is already in the register")
        row = Customer(name=name, grade=3, active=True, owner=None, note="", updated_at=now(session))
        session.add(row)
        before: dict[str, Any] = {}
    else:
        found = session.get(Customer, customer_id)
        if found is None:
            raise NotFound(f"no customer {customer_id} in the register")
        row = found
        before = customer_view(row).to_json()
        clash = session.scalar(select(Customer.id).where(Customer.name == name, Customer.id != customer_id))
        if clash is not None:
            raise Conflict(f"customer {name!r} is already in the register")
        row.name = name
    if grade is not _KEEP:
        row.grade = _grade(grade)
    if active is not _KEEP:
        row.active = bool(active)
    if owner is not _KEEP:
        owner = str(owner or "").strip() or None
        if owner is not None and get_user(session, owner) is None:
            raise NotFound(f"no user {owner!r} (the customer's owner)")
        row.owner = owner
    if note is not _KEEP:
        row.note = str(note or "").strip()
    row.updated_at = now(session)
    session.flush()
    after = customer_view(row).to_json()
    if after != before:
        audit.record(session, "customer_saved", actor, data={"customer": row.name, "before": before, "after": after})
    if before.get("grade") != after["grade"]:
        from engine.services.grading import record_grade_change

        record_grade_change(session, row, before.get("grade"), row.grade, actor, source="register",
                            reason=str(grade_reason or ""))
    return customer_view(row)


def get_customer(session: Session, customer_id: int) -> CustomerView:
    """Return one customer or raise NotFound."""
    row = session.get(Customer, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id} in the register")
    return customer_view(row)


def list_customers(session: Session, *, active_only: bool = False) -> list[CustomerView]:
    """List the customers by name."""
    stmt = select(Customer).order_by(Customer.name)
    if active_only:
        stmt = stmt.where(Customer.active.is_(True))
    return [customer_view(r) for r in session.scalars(stmt)]


def import_customers(session: Session, text: str, actor: str) -> list[CustomerView]:
    """Add or update customers from CSV text with a header ``name,grade,owner,active`` (grade, owner, active optional)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "name" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidInput("the CSV needs a header line with at least the column name (name,grade,owner,active)")
    saved = []
    for line, raw in enumerate(reader, start=2):
        item = {str(k).strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not item.get("name"):
            continue
        changes: dict[str, Any] = {}
        if item.get("grade"):
            changes["grade"] = item["grade"]
        if "owner" in item:
            changes["owner"] = item["owner"]
        if item.get("active"):
            changes["active"] = item["active"].lower() in ("1", "true", "yes", "y", "是", "active")
        existing = session.scalar(select(Customer.id).where(Customer.name == item["name"]))
        try:
            saved.append(save_customer(session, item["name"], actor, customer_id=existing, **changes))
        except (InvalidInput, NotFound) as exc:
            raise InvalidInput(f"line {line}: {exc}") from None
    return saved


def _expiry(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"expires_on must be a date (YYYY-MM-DD), not {value!r}") from None


def save_contract(
    session: Session, number: str, actor: str, *, customer: str | None = None, kind: Any = _KEEP,
    expires_on: Any = _KEEP, status: Any = _KEEP, note: Any = _KEEP,
) -> ContractView:
    """Add a contract (new number: customer and expires_on required) or change one; a renewal is a new expires_on.

    An active contract of an active customer gets its term's renewal instance (contract_renewal, once per term).
    """
    from engine.services.register_processes import start_renewal

    number = _text(number, "contract number", 120)
    row = session.scalar(select(Contract).where(Contract.number == number))
    before: dict[str, Any] = {}
    if row is None:
        if customer is None or expires_on is _KEEP:
            raise InvalidInput("a new contract needs its customer and expires_on")
        row = Contract(number=number, customer_id=find_customer(session, customer).id, kind="contract", status="active",
                       note="", expires_on=_expiry(expires_on), updated_at=now(session))
        session.add(row)
    else:
        before = contract_view(row, session.get(Customer, row.customer_id).name).to_json()  # type: ignore[union-attr]
        if customer is not None:
            row.customer_id = find_customer(session, customer).id
    if kind is not _KEEP:
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        row.kind = kind
    if expires_on is not _KEEP:
        row.expires_on = _expiry(expires_on)
    if status is not _KEEP:
        if status not in CONTRACT_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(CONTRACT_STATUSES)}, not {status!r}")
        row.status = status
    if note is not _KEEP:
        row.note = str(note or "").strip()
    row.updated_at = now(session)
    session.flush()
    owner = session.get(Customer, row.customer_id)
    assert owner is not None
    view = contract_view(row, owner.name)
    after = view.to_json()
    if after != before:
        audit.record(session, "contract_saved", actor, data={"contract": number, "customer": owner.name,
                                                             "before": before, "after": after})
    start_renewal(session, row)
    return view


def list_contracts(session: Session, *, customer: str | None = None, status: str | None = None) -> list[ContractView]:
    """List contracts, soonest expiry first."""
    stmt = select(Contract, Customer.name).join(Customer, Customer.id == Contract.customer_id).order_by(
        Contract.expires_on, Contract.number)
    if customer is not None:
        stmt = stmt.where(Customer.name == customer.strip())
    if status is not None:
        stmt = stmt.where(Contract.status == status)
    return [contract_view(c, name) for c, name in session.execute(stmt).all()]
