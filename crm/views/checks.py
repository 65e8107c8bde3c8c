"""Form validators for the rules that refuse a record, so a refused form keeps its input.

FAB answers a refusal raised in `pre_add`/`pre_update` with a flash and a redirect,
losing what was typed. As validators (`validators_columns`), the form comes back
filled in with the message beside the field that is wrong. They run on the server on
every submit. On an edit form FAB sets `form._id` to the record's key: the rules that
need the stored record read it from there.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext
from markupsafe import Markup
from wtforms.validators import StopValidation, ValidationError

from crm.extensions import db
from crm.models import Consent, Contact, LegalBasis
from crm.models.base import register_today, utcnow
from crm.privacy.suppression import is_suppressed
from crm.security import roles
from crm.services.consents import NoMarketingConsent, check_subscription
from crm.services.contacts import contact_with_email, has_valid_consent
from crm.services.rectification import ObjectionInForce, check_marketing
from crm.services.requests import today
from crm.services.retention import clock_applies
from crm.views.base import can


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


def given_by_now(form, field) -> None:
    """A consent's time of giving (this field) is not in the future."""
    if field.data is not None and field.data > utcnow():
        raise ValidationError(gettext("A consent cannot be given in the future."))


def occurred_by_today(form, field) -> None:
    """An activity's time (this field) is not past the register's today: it moves the
    contact's last-activity clock, which retention counts from, so a mistyped year
    ("2062") would keep the person for decades."""
    if field.data is None:
        return
    when = field.data
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(current_app.config["CRM_TIMEZONE"]))
    if when.date() > register_today():
        raise ValidationError(gettext("An activity cannot be logged for a day still to come."))


def withdrawn_by_now(form, field) -> None:
    """A consent's withdrawal time (this field) is not in the future."""
    if field.data is not None and field.data > utcnow():
        raise ValidationError(gettext("A consent cannot be withdrawn in the future."))


def withdrawn_after_given(form, field) -> None:
    """A consent's withdrawal time (this field) is not before the consent was given.

    To the minute, as the form shows times: a withdrawal typed in the minute the consent
    was given is in time.
    """
    consent = _edited(form, Consent)
    if consent is None or consent.given_at is None or field.data is None:
        return
    if field.data < consent.given_at.replace(second=0, microsecond=0):
        raise ValidationError(gettext("A consent cannot be withdrawn before it was given."))


def received_by_today(form, field) -> None:
    """A request's day of receipt (this field) is not in the future."""
    if field.data is not None and field.data > today():
        raise ValidationError(gettext("A request cannot be received in the future."))


def no_subscription_after_objection(form, field) -> None:
    """Nobody subscribes (this field) a person who objected to direct marketing."""
    contact = _edited(form, Contact)
    if contact is None or field.data is None:
        return  # a new contact has objected to nothing yet
    try:
        check_marketing(contact, field.data)
    except ObjectionInForce as exc:
        raise ValidationError(str(exc)) from exc


def consent_to_subscribe(form, field) -> None:
    """Nobody is subscribed (this field) without a valid consent to direct marketing: an
    existing contact's on record (the Consents tab), a new contact's recorded with it
    (the form's consent, on consent as the basis) (crm.services.consents)."""
    if field.errors or field.data is None:
        return
    contact = _edited(form, Contact)
    consent_with_it = None
    if (contact is None and "consent_purpose" in form and "legal_basis" in form
            and form["legal_basis"].data == LegalBasis.consent):
        consent_with_it = form["consent_purpose"].data
    try:
        check_subscription(db.session, contact, field.data,
                           valid_days=current_app.config["CRM_CONSENT_VALID_DAYS"],
                           consent_with_it=consent_with_it)
    except NoMarketingConsent as exc:
        raise ValidationError(str(exc)) from exc


def at_least_one_purpose(form, field) -> None:
    """A contact is kept for at least one of the notice's purposes (this field)."""
    if not field.data:
        raise ValidationError(gettext(
            "Choose at least one purpose for which the contact's details are kept."))


# The form marks the field required, as the browser and a screen reader tell; and its
# list of purposes offers no button that removes them all (crm/accessibility.html).
at_least_one_purpose.field_flags = {"required": True}


def who_records_consents() -> str:
    """Return the refusal of a new contact on consent to a role that may not record the
    consent: the roles that may (crm.security.roles.MATRIX, Consent's "A")."""
    return gettext("Only Marketing and the privacy team record consents: save the contact "
                   "on another basis and ask them to record the person's consent.")


def consent_on_record(form, field) -> None:
    """Consent (this field) is a contact's legal basis only while their consent is on
    record: given, not withdrawn and not lapsed (crm.jobs.housekeeping).

    A new contact's consent is recorded with it, by whoever may record consents (the
    Consents tab's permission): the form's consent fields (`only_for_consent_basis`)
    say what it needs. An existing contact is put on consent by whoever may record the
    consent, once it is on the Consents tab; any other role is told who records it.
    A contact already on consent keeps it when other fields are edited: the consent's
    withdrawal is handled where it is recorded.
    """
    if field.errors or field.data != LegalBasis.consent:
        return
    contact = _edited(form, Contact)
    if contact is None:
        if not can(roles.ADD, roles.CONSENT):
            raise ValidationError(who_records_consents())
        return
    if contact.legal_basis == LegalBasis.consent or has_valid_consent(
            db.session, contact.id, valid_days=current_app.config["CRM_CONSENT_VALID_DAYS"]):
        return
    if not can(roles.ADD, roles.CONSENT):
        # The Consents tab is not theirs to record on: say who does.
        raise ValidationError(gettext(
            "This contact has no valid consent on record, and only Marketing and the "
            "privacy team record consents: keep another basis and ask them to record "
            "the person's consent."))
    raise ValidationError(gettext(
        "This contact has no valid consent on record. Record the consent on the "
        "Consents tab first, or choose another basis."))


def only_for_consent_basis(form, field) -> None:
    """Check a new contact's consent field (this one) only when consent is the legal
    basis chosen: on any other basis the field is ignored, whatever it holds."""
    basis = form["legal_basis"].data if "legal_basis" in form else None
    if basis != LegalBasis.consent:
        field.errors[:] = []
        raise StopValidation()


def consent_not_lapsed(form, field) -> None:
    """A new contact's consent (given at this field's time) is still valid, as the
    consent-expiry job counts it, to be their basis."""
    days = current_app.config["CRM_CONSENT_VALID_DAYS"]
    if field.data is not None and field.data < utcnow() - timedelta(days=days):
        raise ValidationError(gettext(
            "A consent given more than %(days)s days ago has lapsed: it cannot be the "
            "contact's basis.", days=days))


#: The contact form's box confirming that the person gave a suppressed address or
#: number to us again themselves (crm.views.register.ContactView).
GIVEN_AGAIN = "given_again"


def _unchanged(form, field, kind: str) -> bool:
    """Whether an edit form leaves the contact's address or number (this field) as it was.

    A live contact who opted out keeps their addresses, which are on the suppression
    list: editing their other fields is no re-adding.
    """
    contact = _edited(form, Contact)
    if contact is None:
        return False
    stored = getattr(contact, field.name)
    if kind == "email":
        return (stored or "").lower() == field.data.lower()
    return stored == field.data


def not_suppressed(kind: str):
    """Return a validator refusing an email or phone (`kind`) on the suppression list,
    unless the form's `GIVEN_AGAIN` box says the person gave it to us again themselves.

    The message says no more than that it is on the list. A confirmed one is noted on
    the form (`form.given_again_fields`), for the audit trail once the contact is saved.
    """

    def check(form, field) -> None:
        if field.errors or not field.data or _unchanged(form, field, kind):
            return  # nothing, or not an address yet (its own message says so)
        if not is_suppressed(db.session, kind, field.data):
            return
        box = form[GIVEN_AGAIN] if GIVEN_AGAIN in form else None
        if box is not None and box.data:
            form.given_again_fields = [*getattr(form, "given_again_fields", []), field.name]
            return
        form.suppression_refused = True  # the view shows the box
        if kind == "email":
            raise ValidationError(gettext(
                "This address is on the suppression list (erased or opted out). Save it "
                "only if the person has given it to us again themselves, and confirm "
                "that below."))
        raise ValidationError(gettext(
            "This number is on the suppression list (erased or opted out). Save it "
            "only if the person has given it to us again themselves, and confirm "
            "that below."))

    return check


def email_of_no_other_contact(form, field) -> None:
    """Refuse an email address (this field) that another live contact already has,
    naming that contact, with a link to their page for whoever may read contacts."""
    if field.errors or not field.data or _unchanged(form, field, "email"):
        return
    other = contact_with_email(db.session, field.data,
                               other_than=getattr(form, "_id", None))
    if other is None:
        return
    if not can(roles.READ, roles.CONTACT):
        raise ValidationError(gettext("Another contact already has this email address."))
    # A new tab, so that following the link keeps what was typed in this form.
    link = Markup('<a href="%s" target="_blank" rel="noopener" title="%s">%s</a>') % (
        url_for("ContactView.show", pk=other.id), gettext("Opens in a new tab"), str(other))
    raise ValidationError(Markup(gettext(
        "%(contact)s already has this email address: edit that contact instead.",
        contact=link)))
