"""Records about a person since anonymised are read-only, for every role (DESIGN §8).

Anonymisation is irreversible and complete (crm.privacy.anonymise): what it leaves of a
person (the contact row, activities, callback requests, data subject requests,
provenance) holds only what aggregate counts need. A name typed into such an
activity's subject, or a phone number into such a callback's message, would bring the
person back; so no screen edits a record about an anonymised person or links a new one
to them (`refuse_anonymised`, called by the CRM's data interface and model view). The
jobs that anonymise and delete such records work in SQL, round the screens.

A record is about an anonymised person when it is the anonymised contact, when it
links to one (any many-to-one relation to `Contact`), or when anonymisation emptied
its own copy of the person's name without a link (`ERASED_NAMES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import RelationshipDirection, Session

from crm.models import CallbackRequest, Contact, DataSubjectRequest

#: What a user is told when they try to change such a record.
ANONYMISED = _l("The person has been anonymised: their data cannot be changed.")

#: Records that anonymisation may leave unlinked, their person's name emptied (they
#: were left with one of the person's addresses): the name column, which every form
#: requires, so only anonymisation leaves it empty.
ERASED_NAMES = {CallbackRequest: "name", DataSubjectRequest: "requester_name"}


class PersonAnonymised(ValueError):
    """A change to a record about an anonymised person; its text is for the user."""

    def __init__(self) -> None:
        super().__init__(str(ANONYMISED))


@cache
def contact_links(model: type) -> tuple[str, ...]:
    """Return the names of `model`'s many-to-one relations to a contact."""
    return tuple(relation.key for relation in sa.inspect(model).relationships
                 if relation.direction is RelationshipDirection.MANYTOONE
                 and relation.mapper.class_ is Contact)


def about_anonymised(record) -> bool:
    """Return whether `record` is about an anonymised person, as it was loaded or as it
    now stands (a form may have changed its links, not yet saved)."""
    if isinstance(record, Contact):
        return record.anonymised_at is not None
    state = sa.inspect(record)
    for key in contact_links(type(record)):
        history = state.attrs[key].load_history()
        if any(contact is not None and contact.anonymised_at is not None
               for contact in (*history.unchanged, *history.deleted, *history.added)):
            return True
    name = ERASED_NAMES.get(type(record))
    if name is None or state.transient or state.pending:
        return False
    history = state.attrs[name].load_history()
    return "" in (*history.unchanged, *history.deleted)


def refuse_anonymised(record) -> None:
    """Raise `PersonAnonymised` if `record` is about an anonymised person."""
    if about_anonymised(record):
        raise PersonAnonymised()


def anonymised_condition(model: type) -> sa.ColumnElement[bool] | None:
    """Return the SQL condition "about an anonymised person" on `model`'s rows, or None
    when its records are about no one."""
    if model is Contact:
        return Contact.anonymised_at.is_not(None)
    mapper = sa.inspect(model)
    # EXISTS, one probe of the contact's key per row: never a scan of every anonymised one.
    conditions = [sa.exists().where(Contact.id == column, Contact.anonymised_at.is_not(None))
                  for key in contact_links(model)
                  for column in mapper.relationships[key].local_columns]
    if model in ERASED_NAMES:
        conditions.append(getattr(model, ERASED_NAMES[model]) == "")
    return sa.or_(*conditions) if conditions else None


def anonymised_ids(session: Session, model: type, ids: Iterable) -> set:
    """Return which of `ids` (primary keys of `model`) are records about an anonymised
    person: one query, none when `model`'s records are about no one."""
    ids = list(ids)
    condition = anonymised_condition(model)
    if condition is None or not ids:
        return set()
    pk = sa.inspect(model).primary_key[0]
    return set(session.scalars(sa.select(pk).where(pk.in_(ids), condition)))
