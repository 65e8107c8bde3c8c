"""A bounded form field for a link to a contact or an organisation.

FAB renders a many-to-one column as a select of every row of the related table:
at a million contacts that page never arrives. The link is entered as the
record's number instead (a record's page fills it in when it links to "add"),
and the form shows whom the number names.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import RelationshipDirection
from wtforms import Field
from wtforms.validators import InputRequired, Optional, ValidationError
from wtforms.widgets import html_params

from crm.extensions import db
from crm.models import Contact, Organisation

#: Tables too large to offer as a select.
LARGE_MODELS = (Contact, Organisation)


class _RecordNumberInput:
    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class", "form-control")
        params = html_params(name=field.name, type="text", inputmode="numeric",
                             value=field._value(), **kwargs)
        shown = escape(str(field.data)) if field.data is not None else ""
        return Markup(f'<input {params}><span class="help-block crm-related">{shown}</span>')


class RelatedRecordField(Field):
    """A link to one record of `model`, entered as the record's number."""

    widget = _RecordNumberInput()

    def __init__(self, model, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model = model

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data.id) if self.data is not None else ""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip().lstrip("#")
        self.data = None
        if not text:
            return
        if not text.isdigit() or len(text) > 18:
            raise ValueError(_l("Enter the record's number."))
        self.data = db.session.get(self.model, int(text))
        if self.data is None:
            raise ValueError(_l("No record has this number."))

    def pre_validate(self, form):
        if self.process_errors:
            raise ValidationError(self.process_errors[0])


def related_record_fields(model, labels: dict) -> dict[str, RelatedRecordField]:
    """Return a bounded field for every many-to-one link of `model` to a large table."""
    fields = {}
    for relation in sa.inspect(model).relationships:
        if (relation.direction is not RelationshipDirection.MANYTOONE
                or relation.mapper.class_ not in LARGE_MODELS):
            continue
        required = not all(column.nullable for column in relation.local_columns)
        fields[relation.key] = RelatedRecordField(
            relation.mapper.class_, labels.get(relation.key, relation.key),
            validators=[InputRequired() if required else Optional()],
            description=_l("The record's number, shown on its page and in its address."))
    return fields
