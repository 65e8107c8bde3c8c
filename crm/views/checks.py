"""Form validators for the rules that refuse a record, so a refused form keeps its input.

FAB answers a refusal raised in `pre_add`/`pre_update` with a flash and a redirect,
losing what was typed. As validators (`validators_columns`), the form comes back
filled in with the message beside the field that is wrong. They run on the server on
every submit. On an edit form FAB sets `form._id` to the record's key: the rules that
need the stored record read it from there.
"""

from __future__ import annotations

from flask_babel import gettext
from wtforms.validators import ValidationError

from crm.extensions import db
from crm.models import Contact, DataSubjectRequest
from crm.services.rectification import ObjectionInForce, check_marketing
from crm.services.requests import latest_extension, today
from crm.services.retention import clock_applies


def _edited(form, model):
    """Return the record an edit form is for; None on an add form."""
    pk = getattr(form, "_id", None)
    return db.session.get(model, pk) if pk is not None else None


def clock_for_records(form, field) -> None:
    """A retention policy's clock (this field) must apply to its `record_kind`."""
    kind = form.record_kind.data if "record_kind" in form else None
    if kind is None or field.data is None:
        return  # no choice, or one that could not be read: its own message says so
    if not clock_applies(kind, field.data):
        raise ValidationError(gettext("This clock does not apply to these records."))


def received_by_today(form, field) -> None:
    """A request's day of receipt (this field) is not in the future."""
    if field.data is not None and field.data > today():
        raise ValidationError(gettext("A request cannot be received in the future."))


def receipt_keeps_extension(form, field) -> None:
    """A new day of receipt keeps the request's extended deadline within three months."""
    request = _edited(form, DataSubjectRequest)
    if request is None or request.extended_due_on is None or field.data is None:
        return
    if request.extended_due_on > latest_extension(field.data):
        raise ValidationError(gettext(
            "The extended deadline would be more than three months after receipt."))


def no_subscription_after_objection(form, field) -> None:
    """Nobody subscribes (this field) a person who objected to direct marketing."""
    contact = _edited(form, Contact)
    if contact is None or field.data is None:
        return  # a new contact has objected to nothing yet
    try:
        check_marketing(contact, field.data)
    except ObjectionInForce as exc:
        raise ValidationError(str(exc)) from exc

