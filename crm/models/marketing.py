"""The Mailchimp audience's sync state, and the indexes intake and marketing look people up by."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow
from crm.models.contact import Contact


class MailchimpStatus(LabelledEnum):
    """What the CRM last made of a member at Mailchimp."""

    subscribed = "subscribed"
    unsubscribed = "unsubscribed"

    @classmethod
    def _labels(cls):
        return {"subscribed": lazy_gettext("Subscribed"),
                "unsubscribed": lazy_gettext("Unsubscribed")}


class MailchimpMember(Model):
    """A member the CRM put into the Mailchimp audience, known by Mailchimp's subscriber hash.

    The hash (MD5 of the lower-cased email, Mailchimp's own member id) is kept so that
    a member can be unsubscribed, archived or deleted after the contact's email changed
    or was anonymised. A member archived or deleted at Mailchimp loses its row here.
    """

    __tablename__ = "mailchimp_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    subscriber_hash: Mapped[str] = mapped_column(sa.String(32), unique=True)
    status: Mapped[MailchimpStatus] = mapped_column(enum_column(MailchimpStatus))
    #: The contact's `version` when it was last sent: unchanged contacts are not sent again.
    contact_version: Mapped[int | None] = mapped_column(sa.Integer)
    last_synced_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<MailchimpMember {self.id} {self.status}>"


def _contact_email_index() -> sa.Index:
    # Imports, the callback form and the Mailchimp webhook find people by email,
    # whatever its case: on PostgreSQL through the email's pattern index
    # (crm.models.indexes), which answers equality too.
    email = Contact.__table__.c.email
    return sa.Index("ix_contact_email_lower", sa.func.lower(email),
                    sqlite_where=email.is_not(None)).ddl_if(dialect="sqlite")


ix_contact_email_lower = _contact_email_index()
