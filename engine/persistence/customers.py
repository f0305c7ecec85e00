"""The customer register: customers (grade, owner) and their contracts, agreements and quotes (number, expiry)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class Customer(Base):
    """A customer the department serves; grade 1–2 are key accounts (重点客户)."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    grade: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)  # the cs_rep who owns the customer
    # Where questionnaires and survey links are e-mailed (#17); none: cs_rep sends the link or calls.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def key_account(self) -> bool:
        """Return True for a key account (grade 1 or 2)."""
        return self.grade <= 2


class Contract(Base):
    """A contract, agreement or quote of a customer, with the date it expires."""

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    number: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="contract")  # contract | agreement | quote
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegisterStart(Base):
    """One instance the register started (a month's settlement of a customer, a contract term's renewal): the unique
    key makes the start happen once, even with several workers."""

    __tablename__ = "register_start"
    __table_args__ = (UniqueConstraint("process_key", "start_key", name="uq_register_start_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120))
    start_key: Mapped[str] = mapped_column(String(255))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
