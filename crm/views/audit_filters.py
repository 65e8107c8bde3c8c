"""The audit trail's filters on action and object type, by the names its screen shows.

The trail stores codes ("login", "Contact") and shows them in the reader's language
(crm.services.audit_labels). Its filter box offers each of the two as a select of the
known codes by their labels ("Kirjautui sisään"), "equal to" or "not equal to", as an
enum column's filter is offered. A value in the address may also be a label in the
reader's language, in any case: it matches the codes so labelled, and itself, as a code
no label is known for is shown as stored. Either way the filter stays an equality (or
IN) on the stored code, which the column's index answers. An address saved before,
when the two were filtered as text, keeps its "equal to" and "not equal to".

An object's id is filtered exactly ("equal to" only): "starts with" 2 found the events
of objects 20 and 25 too, and a reader asking who saw person 2 would name people who
never did. The filter "contact" (no column of the trail) finds a contact's own events
and those of their records (`CONTACT_RECORDS`), as a contact's page links to it, and
the lists that showed them (their people, `AuditEventPerson`; crm.views.list_audit).

Who acted is stored as their username ("mvirtanen"); a reader knows them by name. Each of
the actor's conditions ("starts with", "contains", "is", ... and their negations) matches
the username stored, and the account's username and full name ("Matti Virtanen",
"Virtanen Matti") as they are now, in any letter case, Ä and Ö too on SQLite
(`actor_named`): "starts with" Sanna finds Sanna Myyjä's events as "sales" does.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla import filters as fab
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from wtforms import SelectField

from crm.models import (
    Activity,
    AuditEvent,
    AuditEventPerson,
    CallbackRequest,
    Consent,
    Contact,
    ContactChange,
    DataSubjectRequest,
    Identifier,
    Provenance,
)
from crm.services.audit_labels import ACTIONS, OBJECT_TYPES, codes_for, label_choices
from crm.services.subjects import lower
from crm.views.date_filters import CrmFilterConverter
from crm.views.interface import CrmFilters, CrmSQLAInterface
from crm.views.record_ids import record_id
from crm.views.search import _escaped

#: Column -> its codes and their labels.
LABELLED_COLUMNS = {"action": ACTIONS, "object_type": OBJECT_TYPES}


class _LabelFilter(BaseFilter):
    """A filter whose value names stored codes by code or by label (`codes_for`)."""

    def _codes(self, value) -> list[str]:
        return codes_for(LABELLED_COLUMNS[self.column_name], str(value or ""))


class FilterLabelEqual(_LabelFilter):
    name = fab.FilterEqual.name

    def apply(self, query, value):
        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        codes = self._codes(value)
        return query.filter(field == codes[0] if len(codes) == 1 else field.in_(codes))


class FilterLabelNotEqual(_LabelFilter):
    name = fab.FilterNotEqual.name

    def apply(self, query, value):
        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        # An event with no object type is not of the type named either.
        return query.filter(sa.or_(field.is_(None), field.not_in(self._codes(value))))


class FilterObjectIdEqual(fab.FilterEqual):
    """An object's id, exactly: the one choice for it (its only place, 0)."""

    def apply(self, query, value):
        query, field = fab.get_field_setup_query(query, self.model, self.column_name)
        return query.filter(field == str(value or "").strip())


#: How a text is matched: its LIKE pattern around the escaped text.
PATTERNS = {"starts": "{}%", "ends": "%{}", "contains": "%{}%", "equals": "{}"}


def actor_named(session, text: str, how: str = "contains"):
    """Return the condition of the events whose actor's username (as stored, or the
    account's now) or full name (first and last in either order) `how` ("starts",
    "ends", "contains", "equals") `text`, in any letter case."""
    pattern = PATTERNS[how].format(_escaped(text.strip().lower()))

    def has(column):
        return lower(session, column).like(pattern, escape="\\")

    accounts = sa.select(User.id).where(sa.or_(
        has(User.username), has(User.first_name + " " + User.last_name),
        has(User.last_name + " " + User.first_name)))
    return sa.or_(has(AuditEvent.actor), AuditEvent.actor_id.in_(accounts))


def _actor_filter(base, how: str, name, negated: bool = False):
    """Return a filter of who acted, by their username or name (`actor_named`); negated,
    an event of no one (a job's) is kept too."""

    def apply(self, query, value):
        condition = actor_named(query.session, str(value or ""), how)
        if negated:
            return query.filter(sa.or_(AuditEvent.actor.is_(None), sa.not_(condition)))
        return query.filter(condition)

    return type(f"FilterActor{'Not' if negated else ''}{how.title()}", (base,),
                {"name": name, "apply": apply, "__doc__": apply.__doc__})


FilterActorContains = _actor_filter(fab.FilterContains, "contains",
                                    _l("Name or username contains"))
FilterActorNotContains = _actor_filter(fab.FilterNotContains, "contains",
                                       _l("Name or username does not contain"), negated=True)

#: The actor's filters in FAB's order for a text column, so that an address names each
#: at its place as before (_flt_2_actor: contains); each matches the username or the
#: name, and says so.
ACTOR_FILTERS = [
    _actor_filter(fab.FilterStartsWith, "starts", _l("Name or username starts with")),
    _actor_filter(fab.FilterEndsWith, "ends", _l("Name or username ends with")),
    FilterActorContains,
    _actor_filter(fab.FilterEqual, "equals", _l("Name or username is")),
    _actor_filter(fab.FilterNotStartsWith, "starts",
                  _l("Name or username does not start with"), negated=True),
    _actor_filter(fab.FilterNotEndsWith, "ends", _l("Name or username does not end with"),
                  negated=True),
    FilterActorNotContains,
    _actor_filter(fab.FilterNotEqual, "equals", _l("Name or username is not"), negated=True),
]


#: The records of a contact whose events are the contact's too: object type -> model,
#: each with the contact's id in an indexed `contact_id`.
CONTACT_RECORDS = {model.__name__: model for model in (
    Activity, CallbackRequest, Consent, ContactChange, DataSubjectRequest, Identifier,
    Provenance)}


#: The records a list names by themselves, where they name no contact yet (a callback
#: request or data subject request of someone not in the register; crm.views.list_audit).
LISTED_RECORDS = {name: CONTACT_RECORDS[name] for name in ("CallbackRequest",
                                                           "DataSubjectRequest")}


def _contact_parts(type_column, id_column, contacts: int | sa.Select,
                   records: dict = CONTACT_RECORDS) -> list:
    """Return the conditions "(`type_column`, `id_column`) names a contact (by id, or of
    the contacts a query of their ids selects) or one of their records", one per kind,
    each an equality on the type and the id (one of the contact's records of that type)."""
    numeric = isinstance(id_column.type, sa.Integer)

    def ids_of(column, where):
        # The trail's own object id is text: the ids are cast to it, not it to numbers.
        return sa.select(column if numeric else sa.cast(column, id_column.type)).where(where)

    if isinstance(contacts, int):
        own = id_column == (contacts if numeric else str(contacts))

        def of(column):
            return column == contacts
    else:
        own = id_column.in_(ids_of(Contact.id, Contact.id.in_(contacts)))

        def of(column):
            return column.in_(contacts)
    parts = [sa.and_(type_column == "Contact", own)]
    for name, model in records.items():
        parts.append(sa.and_(type_column == name,
                             id_column.in_(ids_of(model.id, of(model.contact_id)))))
    return parts


class _InSelected(ColumnElement):
    """`column IN (select)`; on PostgreSQL `column = ANY(ARRAY(select))`, which (unlike a
    hashed subplan) the column's index answers as one branch of a BitmapOr."""

    type = sa.Boolean()
    inherit_cache = True
    # What the statement cache keys on, and where it finds the values bound.
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("select", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, select: sa.Select) -> None:
        self.column, self.select = column, select


@compiles(_InSelected)
def _in_selected(element, compiler, **kw) -> str:
    return compiler.process(element.column.in_(element.select), **kw)


@compiles(_InSelected, "postgresql")
def _any_of_selected(element, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY({compiler.process(element.select, **kw)}))"


def contact_events(contacts: int | sa.Select):
    """Return the condition of the events of a contact (by id, or of the contacts a query
    of their ids selects) and of their records, and of the lists that showed them.

    One query: each part is an equality on the object type and the object id (one of
    the contact's records of that type), answered by the index on the two
    (ix_audit_event_object); a list's people by theirs (ix_audit_event_person_object).
    A record deleted since is no longer the contact's: its events are found by its own
    type and id only.
    """
    shown = sa.select(AuditEventPerson.event_id).where(sa.or_(*_contact_parts(
        AuditEventPerson.object_type, AuditEventPerson.object_id, contacts, LISTED_RECORDS)))
    return sa.or_(*_contact_parts(AuditEvent.object_type, AuditEvent.object_id, contacts),
                  _InSelected(AuditEvent.id, shown))


def contacts_named(session, text: str) -> sa.Select:
    """Return a query of the ids of the contacts whose first or last name starts with each
    word of `text`, in any letter case ("mäke ja" finds Janne Mäkelä): the names' own
    indexes answer it (an anonymised contact has no name left to find)."""
    words = [_escaped(word.lower()) for word in text.split()]
    return sa.select(Contact.id).where(*[
        sa.or_(lower(session, Contact.first_name).like(f"{word}%", escape="\\"),
               lower(session, Contact.last_name).like(f"{word}%", escape="\\"))
        for word in words])


class FilterContactEvents(BaseFilter):
    """The events of a contact, by their number or name, and of their records
    (`contact_events`)."""

    name = _l("Number or name, with their records")
    arg_name = "eq"

    def apply(self, query, value):
        text = str(value or "").strip()
        if text.isdigit():
            number = record_id(text, sa.Integer())
            return query.filter(contact_events(number) if number is not None else sa.false())
        if not text:
            return query.filter(sa.false())
        return query.filter(contact_events(contacts_named(query.session, text)))


#: The filter of a contact's events, named in a list's address `_flt_0_contact`.
CONTACT_FILTER = "contact"

#: In this order: a list's address names a filter by its place (_flt_0_action).
LABEL_FILTERS = [FilterLabelEqual, FilterLabelNotEqual]
#: The places of "equal to" and "not equal to" among FAB's text filters, which the two
#: columns had before: an address saved then (_flt_3_action=login) means the same now.
FORMER_PLACES = {3: 0, 7: 1}


class _AuditFilters(CrmFilters):
    """The filters of a list's address, reading the two columns' former places (a text
    filter no longer offered, such as "starts with", is left out), the object id's
    "equal to" at its former place (3) too, and a contact's events (`CONTACT_FILTER`)."""

    def __init__(self, filter_converter, datamodel, search_columns=None, search_filters=None):
        super().__init__(filter_converter, datamodel, search_columns=search_columns,
                         search_filters=search_filters)
        self._all_filters[CONTACT_FILTER] = filter_converter(datamodel).convert(CONTACT_FILTER)

    def add_filter_index(self, column_name: str, filter_instance_index: int, value) -> None:
        if column_name in LABELLED_COLUMNS:
            filter_instance_index = FORMER_PLACES.get(filter_instance_index,
                                                      filter_instance_index)
        elif column_name == "object_id" and filter_instance_index == 3:
            filter_instance_index = 0
        super().add_filter_index(column_name, filter_instance_index, value)


class AuditFilterConverter(CrmFilterConverter):
    """The CRM's filters, with action and object type matched by their labels."""

    def convert(self, col_name):
        if col_name in LABELLED_COLUMNS:
            return [flt(col_name, self.datamodel) for flt in LABEL_FILTERS]
        if col_name == "object_id":
            return [FilterObjectIdEqual(col_name, self.datamodel)]
        if col_name == CONTACT_FILTER:
            return [FilterContactEvents(col_name, self.datamodel)]
        if col_name == "actor":
            return [flt(col_name, self.datamodel) for flt in ACTOR_FILTERS]
        return super().convert(col_name)


class AuditEventInterface(CrmSQLAInterface):
    """The audit trail's data interface, filtering action and object type by label."""

    filter_converter_class = AuditFilterConverter
    filters_class = _AuditFilters


def label_select(column: str, label) -> SelectField:
    """Return the filter box's select of `column`'s codes, shown by their labels."""
    labels = LABELLED_COLUMNS[column]
    # Built per form: the labels follow the language of the request.
    return SelectField(label, choices=lambda: label_choices(labels),
                       render_kw={"class": "form-control"})
