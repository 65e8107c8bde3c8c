"""Activities with contacts, and callback requests from the public form."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow


class ActivityKind(LabelledEnum):
    call = "call"
    meeting = "meeting"
    email = "email"
    note = "note"
    support = "support"

    @classmethod
    def _labels(cls):
        return {
            "call": lazy_gettext("Call"),
            "meeting": lazy_gettext("Meeting"),
            "email": lazy_gettext("Email"),
            "note": lazy_gettext("Note"),
            "support": lazy_gettext("Support interaction"),
        }


class CallbackStatus(LabelledEnum):
    new = "new"
    in_progress = "in_progress"
    done = "done"
    no_result = "no_result"

    @classmethod
    def _labels(cls):
        return {
            "new": lazy_gettext("New"),
            "in_progress": lazy_gettext("In progress"),
            "done": lazy_gettext("Done"),
            "no_result": lazy_gettext("Led nowhere"),
        }


class Activity(Model):
    __tablename__ = "activity"
    # On PostgreSQL each page keeps a fifth free (migration 0011: fillfactor, which
    # SQLAlchemy cannot declare): anonymising rewrites subject and body in place and
    # touches no index (a HOT update).

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str | None] = mapped_column(sa.Text)
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    contact = relationship("Contact", back_populates="activities", lazy="joined")
    organisation = relationship("Organisation", lazy="joined")
    author = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.kind}>"


class CallbackConsent(LabelledEnum):
    """The consent ticked on the public form. A post matching someone already in the
    register by details nobody verified leaves it pending until Sales closes the request:
    recorded on the contact when done (they spoke with the person), not when it led
    nowhere."""

    recorded = "recorded"
    pending = "pending"
    not_recorded = "not_recorded"

    @classmethod
    def _labels(cls):
        return {
            "recorded": lazy_gettext("Recorded for the contact"),
            "pending": lazy_gettext("Recorded for the contact once the call back is done"),
            "not_recorded": lazy_gettext("Not recorded: the call back did not confirm it"),
        }


class CallbackRequest(Model):
    """A request to be called back, left on the public form or taken by phone."""

    __tablename__ = "callback_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    message: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[CallbackStatus] = mapped_column(
        enum_column(CallbackStatus), default=CallbackStatus.new, index=True
    )
    received_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    handled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    handled_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    #: The version and language of the consent text ticked on the public form.
    consent_version: Mapped[str | None] = mapped_column(sa.String(32))
    consent_language: Mapped[str | None] = mapped_column(sa.String(8))
    #: What became of that consent (None: the request did not come from the form).
    consent: Mapped[CallbackConsent | None] = mapped_column(enum_column(CallbackConsent))

    contact = relationship("Contact", lazy="joined")
    handled_by = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<CallbackRequest {self.id}>"
