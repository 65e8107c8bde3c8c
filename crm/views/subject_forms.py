"""The forms of a data subject request's steps (crm.views.subjects).

They carry no CSRF token of their own: CSRFProtect (crm/__init__.py) checks the
token of every POST, and the request's page renders one in each form.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.validators import Optional as OptionalValidator

from crm.forms import CrmForm
from crm.models import DeliveryMethod
from crm.services.rectification import CORRECTABLE
from crm.services.validation import NoSensitiveData
from crm.views.dates import LocalDateField
from crm.views.record_ids import RecordIdField

#: Contact fields by their labels: the change history and the corrections show them.
FIELD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"), "title": _l("Title"),
    "email": _l("Email"), "alt_email": _l("Other email"), "phone": _l("Phone"),
    "mobile": _l("Mobile"), "street_address": _l("Street address"),
    "postal_code": _l("Postal code"), "city": _l("City"), "country": _l("Country"),
    "organisation": _l("Organisation"), "language": _l("Language"), "notes": _l("Notes"),
    "legal_basis": _l("Legal basis"), "purposes": _l("Purposes"),
    "marketing_status": _l("Marketing"), "objected_at": _l("Objected to direct marketing"),
    "relationship_role": _l("Role in the customer relationship"),
    "relationship_notes": _l("Relationship notes"), "legal_hold": _l("Legal hold"),
    "source": _l("Source"),
}


class ActionForm(CrmForm):
    class Meta:
        csrf = False


def _delivery_choices():
    return [(m.value, m.label) for m in DeliveryMethod]


class VerifyForm(ActionForm):
    how = StringField(_l("How the identity was verified"),
                      validators=[InputRequired(), Length(max=200), NoSensitiveData()])


class ExtendForm(ActionForm):
    new_due_on = LocalDateField(_l("New deadline"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason for the extension"),
                           validators=[InputRequired(), Length(max=2000), NoSensitiveData()])
    notified_on = LocalDateField(_l("Requester told of it on"), validators=[InputRequired()])


class FindForm(ActionForm):
    q = StringField(_l("Email, phone, name or identifier"),
                    validators=[InputRequired(), Length(max=200)])


class LinkForm(ActionForm):
    contact_id = RecordIdField(validators=[InputRequired()])


class LinkCallbackForm(ActionForm):
    """Link a callback request of someone not in the register (crm.services.subjects)."""

    callback_id = RecordIdField(validators=[InputRequired()])


class RectifyForm(ActionForm):
    field = SelectField(_l("Field"), choices=lambda: [
        (name, FIELD_LABELS.get(name, name)) for name in CORRECTABLE])
    value = StringField(_l("Correct value"), validators=[Length(max=320)])
    reason = StringField(_l("Reason for the change"),
                         validators=[InputRequired(), Length(max=500), NoSensitiveData()])
    version = HiddenField()


class ConfirmForm(ActionForm):
    confirm = BooleanField(_l("I have checked that this is the right person"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class ExportForm(ActionForm):
    format = SelectField(_l("Format"), choices=[
        ("json", "JSON"), ("html-fi", "HTML, suomeksi"), ("html-en", "HTML, in English")])


class DeliverForm(ActionForm):
    how = SelectField(_l("Delivered how"), choices=_delivery_choices)
    outcome = TextAreaField(_l("Outcome"), validators=[OptionalValidator(), Length(max=2000),
                                                      NoSensitiveData()])


class RejectForm(ActionForm):
    reason = TextAreaField(_l("Reason for refusing"),
                           validators=[InputRequired(), Length(max=2000), NoSensitiveData()])
    how = SelectField(_l("Requester told how"), choices=_delivery_choices)
