"""A form field for a link to a contact or an organisation, picked by name.

FAB renders a many-to-one column as a select of every row of the related table:
at a million contacts that page never arrives. Here the page offers a type-ahead
list instead (FAB's select2, set up in crm/templates/crm/link_picker.html): what is
typed goes to the related list's own quick search (`lookup` in crm.views.search),
which answers with its first matches. The form still sends the record's number,
and without JavaScript the number is typed into the box the list replaces.

The server checks the number whichever way it came: the record exists, the user may
read records of its kind, and a contact newly linked is not anonymised.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import RelationshipDirection
from wtforms import Field
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError
from wtforms.widgets import html_params

from crm.extensions import db
from crm.models import Contact, Organisation
from crm.security import roles
from crm.views.record_ids import record_id

#: Tables too large to offer as a select.
LARGE_MODELS = (Contact, Organisation)
#: The resource whose read permission a link to each large table needs.
RESOURCES = {Contact: roles.CONTACT, Organisation: roles.ORGANISATION}
#: The list view (its endpoint) whose quick search finds each table's records.
LOOKUP_ENDPOINTS = {Contact: "ContactView.lookup", Organisation: "OrganisationView.lookup"}
#: The most matches the type-ahead list offers at once.
LOOKUP_LIMIT = 20

#: What to type, as the lookup reads it (crm.views.search): the beginning of a name or
#: an organisation's name (a part from the middle finds only when nothing begins with
#: it); an email address up to its "@" at least; a business ID whole.
_DESCRIPTIONS = {
    Contact: _l("Type the beginning of the name or organisation, or the email address, "
                "and pick the contact from the list."),
    Organisation: _l("Type the beginning of the name, or the whole business ID, and "
                     "pick the organisation from the list."),
}
_PLACEHOLDERS = {
    Contact: _l("Search by name or email"),
    Organisation: _l("Search by name or business ID"),
}


def may_read(model) -> bool:
    """Return whether the signed-in user may read records of `model`."""
    return current_app.appbuilder.sm.can(roles.READ, RESOURCES[model])


def suggestion(record) -> dict:
    """Return how the type-ahead list shows `record`: its name, then what tells it apart."""
    if isinstance(record, Contact):
        organisation = record.organisation if may_read(Organisation) else None
        details = [organisation.name if organisation else "", record.email or ""]
        text = f"{record.first_name} {record.last_name}"
    else:
        details = [record.business_id or "", record.visiting_city or ""]
        text = record.name
    return {"id": record.id, "text": text, "details": [d for d in details if d]}


def _picker_options(field) -> dict:
    """Return the type-ahead list's settings, in the page's language."""
    return {
        "url": url_for(LOOKUP_ENDPOINTS[field.model]),
        "text": str(field.data) if field.data is not None else "",
        # What tells the linked record from a namesake, as its matches show it: also
        # after a refused form, when the page shows the record it had picked.
        "details": suggestion(field.data)["details"] if field.data is not None else [],
        "required": bool(field.flags.required),
        "placeholder": str(_PLACEHOLDERS[field.model]),
        "minimumInputLength": 2,
        "language": {
            "inputTooShort": str(_l("Type at least two characters.")),
            "searching": str(_l("Searching…")),
            "noResults": str(_l("No matches.")),
            "errorLoading": str(_l("The matches could not be fetched.")),
            "removeAllItems": str(_l("Remove the link")),
            "more": str(_l("Only the first %(count)d matches are shown: type more to "
                           "narrow them down.", count=LOOKUP_LIMIT)),
        },
    }


class _RecordPicker:
    """The record's number in a text box, which the page turns into a type-ahead list
    (crm/templates/crm/link_picker.html) when the user may read such records."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class", "form-control")
        params = html_params(name=field.name, type="text", inputmode="numeric",
                             value=field._value(), **kwargs)
        shown = escape(str(field.data)) if field.data is not None else ""
        box = Markup('<input {}><span class="help-block crm-related">{}</span>').format(
            Markup(params), shown)
        if not has_request_context() or not may_read(field.model):
            return box
        hint = _l("Without JavaScript, enter the record's number: the number at the end "
                  "of the address of its page.")
        return Markup('<div class="crm-picker" {}>{}<noscript><span class="help-block">{}'
                      "</span></noscript></div>").format(
            Markup(html_params(data_crm_picker=json.dumps(_picker_options(field)))), box, hint)


class RelatedRecordField(Field):
    """A link to one record of `model`, sent as the record's number.

    :param owner: the model whose link this is, and `foreign_key` its column's
        attribute: a contact anonymised since it was linked may stay linked.
    """

    widget = _RecordPicker()

    def __init__(self, model, label=None, validators=None, owner=None, foreign_key="",
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model, self.owner, self.foreign_key = model, owner, foreign_key

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data.id) if self.data is not None else ""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip().lstrip("#")
        self.data = None
        if not text:
            return
        # Asked first: whether a number names a record is not told to who may not read it.
        if not may_read(self.model):
            raise ValueError(_l("Your role does not give access to records of this kind."))
        if not text.isdigit():
            raise ValueError(_l("Enter the record's number."))
        number = record_id(text)
        self.data = db.session.get(self.model, number) if number is not None else None
        if self.data is None:
            raise ValueError(_l("No record has this number."))

    def preset(self, value) -> None:
        """Link the record that the page the form was opened from names (a contact's
        Activities tab opens the form with `_flt_0_contact=<id>`), checked as a number
        typed into the field: a refusal is among the field's errors.

        The field is not on the page then (FAB leaves it out): it counts as filled in,
        so a required link is not refused as empty.

        :param value: the address's value, or its values (FAB reads them as a list).
        """
        values = value if isinstance(value, list | tuple) else [] if value is None else [value]
        # One record only: an address naming two links neither ("?" is no number).
        text = str(values[0]) if len(values) == 1 else "?" if values else ""
        self.raw_data = [text]
        self.process_errors = []
        try:
            self.process_formdata([text])
        except ValueError as exc:
            self.data = None
            self.process_errors.append(str(exc.args[0]))

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message is among the field's errors already
        if self.data is None:
            return
        # A link set by the page the form was opened from (FAB fills it in) is checked too.
        if not may_read(self.model):
            raise ValidationError(_l("Your role does not give access to records of this kind."))
        if getattr(self.data, "anonymised_at", None) is not None and not self._kept(form):
            raise ValidationError(_l("This contact has been anonymised: pick another one."))

    def _kept(self, form) -> bool:
        """Whether the record edited (FAB puts its key in `form._id`) links to it already."""
        pk = getattr(form, "_id", None)
        record = db.session.get(self.owner, pk) if self.owner is not None and pk else None
        return record is not None and getattr(record, self.foreign_key) == self.data.id


def record_page(record) -> str | None:
    """Return the address of `record`'s own page if the signed-in user may open it, else
    None: its kind has a screen with record pages, the user may read that screen, and the
    screen shows the record (an anonymised contact has no page)."""
    model = type(record)
    for view in current_app.appbuilder.baseviews:
        resource = getattr(view, "resource", None)
        if (not resource or getattr(view, "datamodel", None) is None
                or view.datamodel.obj is not model
                or "can_read" not in view.base_permissions):
            continue
        if not current_app.appbuilder.sm.can(roles.READ, resource):
            return None
        pk = view.datamodel.get_pk_value(record)
        if view.base_filters and view.datamodel.get(pk, view._base_filters) is None:
            return None
        return url_for(f"{view.endpoint}.show", pk=pk)
    return None


def linked(formatter: Callable) -> Callable:
    """Return `formatter` (a record page's display of a related record) showing the record
    as a link to its own page, for whoever may open it (`record_page`)."""

    def show(record):
        text = formatter(record)
        if record is None or not text or isinstance(text, Markup):
            return text  # nothing to link, or a display with markup of its own
        page = record_page(record)
        return Markup('<a href="{}">{}</a>').format(page, text) if page else text

    return show


def related_record_fields(model, labels: dict) -> dict[str, RelatedRecordField]:
    """Return a bounded field for every many-to-one link of `model` to a large table."""
    fields = {}
    for relation in sa.inspect(model).relationships:
        if (relation.direction is not RelationshipDirection.MANYTOONE
                or relation.mapper.class_ not in LARGE_MODELS):
            continue
        required = not all(column.nullable for column in relation.local_columns)
        (column,) = relation.local_columns
        fields[relation.key] = RelatedRecordField(
            relation.mapper.class_, labels.get(relation.key, relation.key),
            validators=[InputRequired() if required else Optional()],
            owner=model, foreign_key=relation.parent.get_property_by_column(column).key,
            description=_DESCRIPTIONS[relation.mapper.class_])
    return fields
