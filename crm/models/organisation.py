"""Organisations: the companies whose people are in the register."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow


class CustomerStatus(LabelledEnum):
    customer = "customer"
    prospect = "prospect"
    partner = "partner"
    former_customer = "former_customer"

    @classmethod
    def _labels(cls):
        return {
            "customer": lazy_gettext("Customer"),
            "prospect": lazy_gettext("Prospect"),
            "partner": lazy_gettext("Partner"),
            "former_customer": lazy_gettext("Former customer"),
        }


class Organisation(Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    business_id: Mapped[str | None] = mapped_column(sa.String(9), unique=True)
    industry: Mapped[str | None] = mapped_column(sa.String(100))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    visiting_street: Mapped[str | None] = mapped_column(sa.String(200))
    visiting_postal_code: Mapped[str | None] = mapped_column(sa.String(10))
    visiting_city: Mapped[str | None] = mapped_column(sa.String(100))
    # Customer-relationship information.
    customer_status: Mapped[CustomerStatus] = mapped_column(
        enum_column(CustomerStatus), default=CustomerStatus.prospect, index=True
    )
    relationship_start: Mapped[date | None] = mapped_column(sa.Date)
    relationship_end: Mapped[date | None] = mapped_column(sa.Date, index=True)
    relationship_notes: Mapped[str | None] = mapped_column(sa.Text)
    # Invoicing details (accounts receivable).
    invoicing_street: Mapped[str | None] = mapped_column(sa.String(200))
    invoicing_postal_code: Mapped[str | None] = mapped_column(sa.String(10))
    invoicing_city: Mapped[str | None] = mapped_column(sa.String(100))
    e_invoice_address: Mapped[str | None] = mapped_column(sa.String(35))
    e_invoice_operator: Mapped[str | None] = mapped_column(sa.String(35))
    billing_email: Mapped[str | None] = mapped_column(sa.String(320))
    payment_terms_days: Mapped[int | None] = mapped_column(sa.Integer)

    legal_hold: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    contacts = relationship("Contact", back_populates="organisation")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Organisation {self.id}>"

    def __str__(self) -> str:
        return self.name
