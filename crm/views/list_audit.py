"""Who viewed lists of people (DESIGN §9.5): every list page about people is in the trail.

A list whose rows are about people (the contacts, their consents, login ids, provenance,
activities, callback requests, data subject requests, change history, the user accounts)
shows many people at once. Each page of it shown is one "view_list" event: which list
(its view), how many rows, the names of the filters used (never their values, nor the
search box's text: they may be personal data and would outlive an anonymisation), and
the ids of the people shown (crm.services.audit.record_list_view), which the trail's
person filter finds (crm.views.audit_filters).

A tab on a record's page is such a list too when its rows are about other people than
the page's own record (an organisation's Contacts): its event names that record. The
tabs of a contact's own page are not: they are about the person whose page it is, and
opening the page is recorded as a view of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import request

from crm.services.audit import record_list_view
from crm.views.interface import last_shown_rows

#: How a list's row names the person it is about (`AuditedLists.list_people`).
#: The row is the person: a contact, a user account.
ROW = "row"
#: Its contact; a row of no contact is about no one (an organisation's activity).
CONTACT = "contact"
#: Its contact, else the row itself: a callback request or a data subject request of
#: someone not (or not yet) in the register.
CONTACT_OR_ROW = "contact_or_row"

#: The search box's text in a list's address: recorded by this name only.
SEARCH_BOX = "q"


def person_of(row, how: str) -> tuple[str, int] | None:
    """Return (object type, id) of the person `row` is about, by `how`, or None."""
    if how == ROW:
        return type(row).__name__, row.id
    contact_id = getattr(row, "contact_id", None)
    if contact_id is not None:
        return "Contact", contact_id
    return (type(row).__name__, row.id) if how == CONTACT_OR_ROW else None


class AuditedLists:
    """A model view mixin: each page of the view's list (or of its tab on another
    record's page) that shows rows is recorded in the audit trail with the people on it.

    :cvar list_people: how a row names its person (`ROW`, `CONTACT`, `CONTACT_OR_ROW`);
        None: the list is about no one and is not recorded.
    """

    list_people: str | None = None

    def _get_list_widget(self, filters, **kwargs):
        last_shown_rows(self.datamodel)  # nothing left over from an earlier read
        widgets = super()._get_list_widget(filters=filters, **kwargs)
        rows = last_shown_rows(self.datamodel)
        if self.list_people and rows:
            self._record_list(filters, rows)
        return widgets

    def _record_list(self, filters, rows: list) -> None:
        """Record the list page of `rows` shown with `filters`, unless it is a tab about
        the page's own person."""
        related = [(flt, value) for flt, value in zip(filters.filters, filters.values,
                                                      strict=False) if flt.is_related_view]
        of = (None, None)
        if related:
            flt, value = related[0]
            parent = self.datamodel.get_related_model(flt.column_name).__name__
            if parent == "Contact":  # the person's own page, recorded as a view of them
                return
            of = (parent, str(value))
        used = [flt.column_name for flt in filters.filters if not flt.is_related_view]
        if not related and request.args.get(SEARCH_BOX, "").strip():
            used.append(SEARCH_BOX)
        people = {person for person in (person_of(row, self.list_people) for row in rows)
                  if person is not None}
        pk = sa.inspect(self.datamodel.obj).primary_key[0].key
        record_list_view(self.datamodel.session, type(self).__name__,
                         [getattr(row, pk) for row in rows], people, fields=used, of=of)
