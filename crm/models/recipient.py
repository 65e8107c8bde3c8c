"""Recipients and processors of the register's data (the notice's MailChimp entry)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import LabelledEnum, enum_column, lazy_gettext


class RecipientRole(LabelledEnum):
    processor = "processor"
    recipient = "recipient"

    @classmethod
    def _labels(cls):
        return {"processor": lazy_gettext("Processor"), "recipient": lazy_gettext("Recipient")}


class TransferSafeguard(LabelledEnum):
    """The legal ground for a transfer; `privacy_shield` is invalid since July 2020."""

    within_eea = "within_eea"
    adequacy = "adequacy"
    dpf = "dpf"
    scc = "scc"
    bcr = "bcr"
    privacy_shield = "privacy_shield"

    @property
    def valid(self) -> bool:
        return self is not TransferSafeguard.privacy_shield

    @classmethod
    def _labels(cls):
        return {
            "within_eea": lazy_gettext("No transfer: within the EU/EEA"),
            "adequacy": lazy_gettext("Adequacy decision"),
            "dpf": lazy_gettext("EU–US Data Privacy Framework"),
            "scc": lazy_gettext("Standard contractual clauses"),
            "bcr": lazy_gettext("Binding corporate rules"),
            "privacy_shield": lazy_gettext("EU–US Privacy Shield (invalid since July 2020)"),
        }


class Recipient(Model):
    __tablename__ = "recipient"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    role: Mapped[RecipientRole] = mapped_column(enum_column(RecipientRole))
    country: Mapped[str] = mapped_column(sa.String(2))
    purpose: Mapped[str] = mapped_column(sa.Text)
    transfer_safeguard: Mapped[TransferSafeguard] = mapped_column(enum_column(TransferSafeguard))
    safeguard_notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Recipient {self.name}>"

    def __str__(self) -> str:
        return self.name
