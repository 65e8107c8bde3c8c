"""The one search box a salesperson reaches for: name, email, phone or organisation."""

from __future__ import annotations

import string

import phonenumbers
from flask import g, has_app_context, request
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import and_, func, literal, or_, select, union

from crm.extensions import db
from crm.models import Contact, Organisation


class FilterIsNull(BaseFilter):
    name = "is empty"

    def apply(self, query, value):
        return query.filter(getattr(self.model, self.column_name).is_(None))


def _as_phone(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "FI")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _starts_with(column, text: str):
    """Match `column` case-insensitively by prefix, in a form its lower() index answers.

    PostgreSQL uses `lower(column) LIKE 'text%'` on a text_pattern_ops index; SQLite
    uses LIKE only with indexes it cannot have here, so there the prefix is a range
    of lower(column), which its lower() index answers.
    """
    lowered = func.lower(column)
    if not has_app_context() or db.engine.dialect.name == "postgresql":
        # The pattern goes into the statement itself: with a bound parameter a
        # prepared (generic) plan cannot use the pattern index and reads the table.
        return lowered.like(literal(_prefix(text.lower()), literal_execute=True),
                            escape="\\")
    text = text.translate(_ASCII_LOWER)  # SQLite's lower() knows ASCII only
    return and_(lowered >= text, lowered < text + "\U0010ffff")


def _ids(*selects):
    """Contacts whose id any of `selects` names: each select uses its own index."""
    return Contact.id.in_(union(*selects).subquery().select())


def _contacts_where(condition):
    return select(Contact.id).where(condition)


class ContactQuickSearch(BaseFilter):
    """Match contacts by name, email, phone or organisation name, whichever the text is."""

    name = "matches"

    def apply(self, query, value):
        text = " ".join(value.split())
        if not text:
            return query
        if "@" in text:
            return query.filter(_ids(
                _contacts_where(Contact.email.is_not(None) & _starts_with(Contact.email, text)),
                _contacts_where(Contact.alt_email.is_not(None)
                                & _starts_with(Contact.alt_email, text))))
        phone = _as_phone(text) if any(ch.isdigit() for ch in text) else None
        if phone:
            return query.filter(or_(Contact.phone == phone, Contact.mobile == phone))
        words = text.split(" ")
        organisations = select(Organisation.id).where(_starts_with(Organisation.name, text))
        selects = [_contacts_where(_starts_with(Contact.last_name, text)),
                   _contacts_where(_starts_with(Contact.first_name, text)),
                   _contacts_where(Contact.organisation_id.in_(organisations))]
        if len(words) == 2:
            first, last = words
            selects.append(_contacts_where(_starts_with(Contact.first_name, first)
                                           & _starts_with(Contact.last_name, last)))
            selects.append(_contacts_where(_starts_with(Contact.last_name, first)
                                           & _starts_with(Contact.first_name, last)))
        return query.filter(_ids(*selects))


class OrganisationQuickSearch(BaseFilter):
    name = "matches"

    def apply(self, query, value):
        text = " ".join(value.split())
        if not text:
            return query
        return query.filter(or_(_starts_with(Organisation.name, text),
                                Organisation.business_id == text))


class _QuickSearchMixin:
    """Add the `?q=` search box to a list view."""

    quick_search_filter: type[BaseFilter]
    list_template = "crm/list.html"

    # The search is applied as a base filter, so the visible filters and paging links
    # stay as they are. The view object is shared by every request and thread, so the
    # search text lives in `g` (this request only) and `_base_filters` adds it on read;
    # the view's own base filters are never changed.

    @property
    def _base_filters(self):
        base = self.__dict__.get("_crm_base_filters")
        text = g.get("crm_quick_search", {}).get(id(self)) if has_app_context() else None
        if base is None or not text:
            return base
        joined = base.copy()
        joined._add_filter(self.quick_search_filter("id", self.datamodel), text)
        return joined

    @_base_filters.setter
    def _base_filters(self, value):
        self.__dict__["_crm_base_filters"] = value

    def _get_list_widget(self, filters, **kwargs):
        text = request.args.get("q", "").strip()[:200]
        if not text:
            return super()._get_list_widget(filters=filters, **kwargs)
        searches = g.setdefault("crm_quick_search", {})
        searches[id(self)] = text
        try:
            return super()._get_list_widget(filters=filters, **kwargs)
        finally:
            searches.pop(id(self), None)

    def render_template(self, template, **kwargs):
        kwargs.setdefault("quick_search", request.args.get("q", ""))
        return super().render_template(template, **kwargs)


class ContactSearchMixin(_QuickSearchMixin):
    quick_search_filter = ContactQuickSearch


class OrganisationSearchMixin(_QuickSearchMixin):
    quick_search_filter = OrganisationQuickSearch
