"""What the data subject rights add (DESIGN §9.1–9.3): contacts' change history, and the
indexes a person is found by in any letter case."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.activity import CallbackRequest
from crm.models.base import AwareDateTime, utcnow
from crm.models.contact import Contact, Identifier


class ContactChange(Model):
    """One field of a contact changed: old and new value, when, by whom and why.

    The values are the person's data: anonymising the contact deletes its rows.
    """

    __tablename__ = "contact_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    changed_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    # No foreign key, as in the audit trail: the history outlives the accounts it names.
    changed_by_id: Mapped[int | None] = mapped_column(sa.Integer)
    changed_by: Mapped[str | None] = mapped_column(sa.String(100))
    field: Mapped[str] = mapped_column(sa.String(64))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    #: The rectification (or objection) request the change answered, if any.
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("data_subject_request.id", ondelete="SET NULL"), index=True)

    contact = relationship("Contact")
    request = relationship("DataSubjectRequest")

    def __repr__(self) -> str:
        return f"<ContactChange {self.id} {self.field}>"


# A person is found by email, name and identifier whatever their case
# (crm.services.subjects); `ix_contact_email_lower` is in crm.models.marketing. On
# PostgreSQL the last name's pattern index (crm.models.indexes) answers it.
# The second email and the mobile are indexed only where a contact has one: most have
# neither, and every contact added or anonymised would otherwise write an entry for
# nothing. PostgreSQL proves IS NOT NULL from any comparison of them, SQLite from a
# comparison of the column itself; the quick search says it outright.
def _where_given(name: str, column: sa.Column, expression=None) -> sa.Index:
    given = column.is_not(None)
    return sa.Index(name, column if expression is None else expression,
                    postgresql_where=given, sqlite_where=given)


_ALT_EMAIL = Contact.__table__.c.alt_email
ix_contact_alt_email_lower = _where_given("ix_contact_alt_email_lower", _ALT_EMAIL,
                                          sa.func.lower(_ALT_EMAIL))
ix_contact_mobile = _where_given("ix_contact_mobile", Contact.__table__.c.mobile)
ix_contact_last_name_lower = sa.Index(
    "ix_contact_last_name_lower", sa.func.lower(Contact.__table__.c.last_name)
).ddl_if(dialect="sqlite")
ix_identifier_identifier_lower = sa.Index(
    "ix_identifier_identifier_lower", sa.func.lower(Identifier.__table__.c.identifier))
# An access export gathers the callback requests left with one of the person's addresses.
ix_callback_request_email_lower = sa.Index(
    "ix_callback_request_email_lower", sa.func.lower(CallbackRequest.__table__.c.email))
ix_callback_request_phone = sa.Index("ix_callback_request_phone",
                                     CallbackRequest.__table__.c.phone)
