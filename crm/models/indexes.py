"""Indexes that keep the list screens and the quick search fast at a million contacts.

Every list page filters out anonymised contacts and orders by a column and the id
(FAB adds the id as a tie-breaker): partial indexes on (column, id) answer a page,
even a deep one, from the index alone, and the list's filters on the column too.
Searches are case-insensitive prefixes on lower(column); PostgreSQL needs the pattern
operator class for LIKE on them (unless its collation is C), and gets trigram
indexes for the "contains" filters and the search box's partial matches. A pattern
index answers equality and IN as well, so plain lower(column) indexes are SQLite's
only (its search is a range of lower()): each index is paid again by every contact an
import adds.
"""

from __future__ import annotations

import sqlalchemy as sa

from crm.models.contact import Contact
from crm.models.organisation import Organisation

CONTACT = Contact.__table__
ORGANISATION = Organisation.__table__


def _list_order(name: str, column: str) -> sa.Index:
    live = CONTACT.c.anonymised_at.is_(None)
    return sa.Index(name, CONTACT.c[column], CONTACT.c.id,
                    postgresql_where=live, sqlite_where=live)


def _postgresql_only(index: sa.Index) -> sa.Index:
    index.ddl_if(dialect="postgresql")
    return index


def _sqlite_only(index: sa.Index) -> sa.Index:
    index.ddl_if(dialect="sqlite")
    return index


def _pattern(name: str, table: sa.Table, column: str) -> sa.Index:
    return _postgresql_only(sa.Index(name, sa.func.lower(table.c[column]).label(column),
                                     postgresql_ops={column: "text_pattern_ops"}))


def _trigram(name: str, table: sa.Table, column: str, where=None) -> sa.Index:
    return _postgresql_only(sa.Index(name, table.c[column], postgresql_using="gin",
                                     postgresql_ops={column: "gin_trgm_ops"},
                                     postgresql_where=where))


def _alt_email_trigram() -> sa.Index:
    """The search box's partial matches inside a second email. Only live contacts that
    have one are in it: a purchased list's people have none, so an import writes no
    entry for them (a GIN entry per trigram), nor does anonymising."""
    given = sa.and_(CONTACT.c.anonymised_at.is_(None), CONTACT.c.alt_email.is_not(None))
    return _trigram("ix_contact_alt_email_trgm", CONTACT, "alt_email", where=given)


def _relationship_role() -> sa.Index:
    """Receivables' list of billing contacts (the "role in the customer relationship"
    filter), in the list's order. Only contacts with a role are in it: a purchased
    list's people have none, so an import writes no entry, nor does anonymising."""
    given = sa.and_(CONTACT.c.anonymised_at.is_(None), CONTACT.c.relationship_role.is_not(None))
    return sa.Index("ix_contact_list_relationship_role", CONTACT.c.relationship_role,
                    CONTACT.c.last_name, CONTACT.c.id, postgresql_where=given,
                    sqlite_where=given)


def _consent_basis() -> sa.Index:
    """The privacy team's people on consent with no valid consent left (its home page's
    panel, crm.services.consents.on_consent_without_one), by name. Only live contacts
    on consent are in it: the others' basis is their position or a contract, so neither
    an import of a purchased list nor anonymising writes an entry."""
    given = sa.and_(CONTACT.c.anonymised_at.is_(None), CONTACT.c.legal_basis == "consent")
    return sa.Index("ix_contact_consent_basis", CONTACT.c.last_name, CONTACT.c.id,
                    postgresql_where=given, sqlite_where=given)


LIST_INDEXES = [
    _relationship_role(),
    _consent_basis(),
    _list_order("ix_contact_list_last_name", "last_name"),
    _list_order("ix_contact_list_first_name", "first_name"),
    _list_order("ix_contact_list_email", "email"),
    _list_order("ix_contact_list_last_activity_at", "last_activity_at"),
    _sqlite_only(sa.Index("ix_contact_first_name_lower", sa.func.lower(CONTACT.c.first_name))),
    sa.Index("ix_organisation_list_name", ORGANISATION.c.name, ORGANISATION.c.id),
    sa.Index("ix_organisation_name_lower", sa.func.lower(ORGANISATION.c.name)),
    sa.Index("ix_organisation_visiting_city", ORGANISATION.c.visiting_city),
    _pattern("ix_contact_email_pattern", CONTACT, "email"),
    _pattern("ix_contact_last_name_pattern", CONTACT, "last_name"),
    _pattern("ix_contact_first_name_pattern", CONTACT, "first_name"),
    _pattern("ix_organisation_name_pattern", ORGANISATION, "name"),
    _trigram("ix_contact_last_name_trgm", CONTACT, "last_name"),
    _trigram("ix_contact_first_name_trgm", CONTACT, "first_name"),
    _trigram("ix_contact_email_trgm", CONTACT, "email"),
    _alt_email_trigram(),
    _trigram("ix_organisation_name_trgm", ORGANISATION, "name"),
]
