"""Contacts (the people in the register), their identifiers, purposes and consents."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow


class LegalBasis(LabelledEnum):
    """The notice's three grounds: position in the target company, consent, a contract."""

    position = "position"
    consent = "consent"
    contract = "contract"

    @classmethod
    def _labels(cls):
        return {
            "position": lazy_gettext("Position in the target company"),
            "consent": lazy_gettext("Consent"),
            "contract": lazy_gettext("Customer contract"),
        }


class MarketingStatus(LabelledEnum):
    subscribed = "subscribed"
    unsubscribed = "unsubscribed"
    never = "never"

    @classmethod
    def _labels(cls):
        return {
            "subscribed": lazy_gettext("Subscribed"),
            "unsubscribed": lazy_gettext("Unsubscribed"),
            "never": lazy_gettext("Never subscribed"),
        }


class Language(LabelledEnum):
    fi = "fi"
    sv = "sv"
    en = "en"

    @classmethod
    def _labels(cls):
        return {"fi": lazy_gettext("Finnish"), "sv": lazy_gettext("Swedish"),
                "en": lazy_gettext("English")}


class RelationshipRole(LabelledEnum):
    decision_maker = "decision_maker"
    technical = "technical"
    billing = "billing"
    user = "user"
    other = "other"

    @classmethod
    def _labels(cls):
        return {
            "decision_maker": lazy_gettext("Decision maker"),
            "technical": lazy_gettext("Technical contact"),
            "billing": lazy_gettext("Billing contact"),
            "user": lazy_gettext("User of our service"),
            "other": lazy_gettext("Other"),
        }


class ConsentMethod(LabelledEnum):
    form = "form"
    phone = "phone"
    email = "email"
    import_ = "import"

    @classmethod
    def _labels(cls):
        return {"form": lazy_gettext("Web form"), "phone": lazy_gettext("Phone"),
                "email": lazy_gettext("Email"), "import": lazy_gettext("Import")}


contact_purpose = sa.Table(
    "contact_purpose",
    Model.metadata,
    sa.Column("contact_id", sa.ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("purpose_id", sa.ForeignKey("purpose.id", ondelete="RESTRICT"), primary_key=True),
)


class Purpose(Model):
    """A purpose of processing named in the privacy notice."""

    __tablename__ = "purpose"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name_fi: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    description_fi: Mapped[str | None] = mapped_column(sa.Text)
    description_en: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<Purpose {self.code}>"

    def __str__(self) -> str:
        from flask_babel import get_locale

        locale = get_locale()
        return self.name_fi if locale is not None and locale.language == "fi" else self.name_en


class Contact(Model):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Names, email and last activity are indexed as the lists and searches read them
    # (crm.models.indexes, live contacts only): each index slows every contact added.
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(sa.String(320))
    # Most people have no second email or mobile: their indexes (crm.models.subject)
    # hold only the contacts that do.
    alt_email: Mapped[str | None] = mapped_column(sa.String(320))
    phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    mobile: Mapped[str | None] = mapped_column(sa.String(32))
    street_address: Mapped[str | None] = mapped_column(sa.String(200))
    postal_code: Mapped[str | None] = mapped_column(sa.String(10))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    country: Mapped[str] = mapped_column(sa.String(2), default="FI")
    language: Mapped[Language] = mapped_column(enum_column(Language), default=Language.fi)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    legal_basis: Mapped[LegalBasis] = mapped_column(
        enum_column(LegalBasis), default=LegalBasis.position
    )
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("source.id"), index=True)
    # Consent and marketing.
    marketing_status: Mapped[MarketingStatus] = mapped_column(
        enum_column(MarketingStatus), default=MarketingStatus.never, index=True
    )
    #: When the person objected to direct marketing (GDPR Art. 21(2)); while set, the
    #: person is never marketed to, whatever the marketing status says.
    objected_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    # Customer-relationship information.
    relationship_role: Mapped[RelationshipRole | None] = mapped_column(
        enum_column(RelationshipRole)
    )
    relationship_notes: Mapped[str | None] = mapped_column(sa.Text)
    # Lifecycle.
    last_activity_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    legal_hold: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    # Many-to-one links shown in lists are loaded in the same query, never one per row.
    organisation = relationship("Organisation", back_populates="contacts", lazy="joined")
    source = relationship("Source")
    purposes = relationship("Purpose", secondary=contact_purpose)
    identifiers = relationship("Identifier", back_populates="contact",
                               cascade="all, delete-orphan")
    consents = relationship("Consent", back_populates="contact", cascade="all, delete-orphan")
    provenance = relationship("Provenance", back_populates="contact",
                              cascade="all, delete-orphan")
    activities = relationship("Activity", back_populates="contact")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # An objection to direct marketing binds every writer, screens and bulk jobs alike.
        sa.CheckConstraint("objected_at IS NULL OR marketing_status <> 'subscribed'",
                           name="ck_contact_objection"),
    )

    def __repr__(self) -> str:
        return f"<Contact {self.id}>"

    def __str__(self) -> str:
        if self.anonymised_at is not None:
            return f"#{self.id}"
        return f"{self.first_name} {self.last_name}"


class Identifier(Model):
    """A login id, user id or cookie id of the person in one of the company's systems."""

    __tablename__ = "identifier"
    __table_args__ = (sa.UniqueConstraint("system", "identifier", name="uq_identifier_system"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(sa.String(100))
    identifier: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    contact = relationship("Contact", back_populates="identifiers", lazy="joined")

    def __repr__(self) -> str:
        return f"<Identifier {self.id}>"

    def __str__(self) -> str:
        return f"{self.system}: {self.identifier}"


class Consent(Model):
    """A consent given for one purpose, with its wording's version and evidence."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    purpose_id: Mapped[int] = mapped_column(sa.ForeignKey("purpose.id"))
    text_version: Mapped[str] = mapped_column(sa.String(50))
    given_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    given_how: Mapped[ConsentMethod] = mapped_column(enum_column(ConsentMethod))
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(AwareDateTime)

    contact = relationship("Contact", back_populates="consents", lazy="joined")
    purpose = relationship("Purpose", lazy="joined")

    def __repr__(self) -> str:
        return f"<Consent {self.id}>"
