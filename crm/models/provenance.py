"""Where contacts came from: the sources of the notice, down to a purchased list."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_appbuilder import Model
from flask_babel import force_locale, format_date
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow


class SourceKind(LabelledEnum):
    own_activity = "own_activity"
    the_person = "the_person"
    purchased_list = "purchased_list"

    @classmethod
    def _labels(cls):
        return {
            "own_activity": lazy_gettext("Our own activity"),
            "the_person": lazy_gettext("The person themselves"),
            "purchased_list": lazy_gettext("Purchased list"),
        }


#: The standing sources: one row each, named after their kind when first made
#: (crm.services.contacts.standard_source).
STANDING_KINDS = (SourceKind.own_activity, SourceKind.the_person)


def standing_source_names(kind: SourceKind) -> frozenset[str]:
    """Return the names (casefolded) a standing source of `kind` is given when it is
    made: its kind's label in each of the UI's languages. One renamed since has a name
    of its own."""
    return _labels_in(kind, tuple(current_app.config["LANGUAGES"]))


def shown_source_name(kind: SourceKind, name: str) -> str:
    """Return the name a source is shown by: a standing source named as it was made (in
    the register's language), by its kind in the reader's language, as the purposes are
    ("Our own activity" on English pages, "Oma toimintamme" on Finnish ones); any other
    by its own name."""
    kind = SourceKind(kind)  # the lists read it from the row as its value
    if kind in STANDING_KINDS and has_app_context() \
            and (name or "").casefold() in standing_source_names(kind):
        return kind.label
    return name


@lru_cache
def _labels_in(kind: SourceKind, languages: tuple[str, ...]) -> frozenset[str]:
    names = set()
    for language in languages:
        with force_locale(language):
            names.add(kind.label.casefold())
    return frozenset(names)


class Source(Model):
    """One source of personal data; a purchased list is one row per file received."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SourceKind] = mapped_column(enum_column(SourceKind), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    supplier: Mapped[str | None] = mapped_column(sa.String(200))
    received_on: Mapped[date | None] = mapped_column(sa.Date)
    file_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    row_count: Mapped[int | None] = mapped_column(sa.Integer)
    #: What importing the list did, as counts (new, merged, skipped...); never values.
    import_counts: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Source {self.id} {self.kind}>"

    def __str__(self) -> str:
        if self.kind in STANDING_KINDS:
            return shown_source_name(self.kind, self.name)
        if self.kind is SourceKind.purchased_list and self.received_on:
            # The day as the reader writes it (25.11.2026); ISO where no app is running.
            received = format_date(self.received_on, "short") if has_app_context() \
                else self.received_on.isoformat()
            return f"{self.name} ({received})"
        return self.name


class Provenance(Model):
    """A contact seen in a source; for purchased lists, the Art. 14 notice owed."""

    __tablename__ = "provenance"
    __table_args__ = (sa.UniqueConstraint("contact_id", "source_id", name="uq_provenance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Found by contact through uq_provenance, which starts with it.
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("source.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    art14_due_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    art14_notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime)

    contact = relationship("Contact", back_populates="provenance", lazy="joined")
    source = relationship("Source", lazy="joined")

    def __repr__(self) -> str:
        return f"<Provenance {self.id}>"
