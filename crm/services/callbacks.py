"""Callback requests from the public form (DESIGN §9.7): checked, stored, and Sales told.

A request creates the person as a contact whose source is "the person", or links
it to the contact who has the same email (or, when either has no email, the same
phone). The consent to be contacted is recorded with the version of the text the
person saw; no IP address is kept (the rate limit needs none stored).

Nobody has verified the email or phone typed on the form. A new person's consent is
recorded at once: the contact exists only because of the post. Someone already in the
register is not given a consent, a purpose or a source on the word of whoever typed
their address: the request keeps the consent text's version, and the consent is
recorded on the contact the request is linked to when Sales closes it as done, having
spoken with the person (`settle_consent`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from crm.jobs.mail import send_mail
from crm.models import (
    CallbackConsent,
    CallbackRequest,
    CallbackStatus,
    Consent,
    ConsentMethod,
    Contact,
    Language,
    LegalBasis,
    Provenance,
    Purpose,
)
from crm.privacy.guard import TEXT, field_kind
from crm.services.audit import record_event
from crm.services.contacts import keep_for_consented_purpose, the_person_source
from crm.services.validation import InvalidValue, check_free_text, normalise_email, normalise_phone

log = logging.getLogger(__name__)

#: The purpose a callback request is consented for: a new customer relationship.
PURPOSE = "new_business"
#: Who is told of a new request.
NOTIFIED_ROLE = "Sales"
MAX_LENGTHS = {"name": 200, "organisation": 200, "email": 320, "phone": 40, "message": 4000}
FORM_ACTOR = (None, "public form")


@dataclass(frozen=True)
class CallbackDetails:
    """What the person left on the form, checked and normalised."""

    name: str
    organisation: str | None
    email: str | None
    phone: str | None
    message: str | None


def check_details(values: dict[str, str | None]) -> tuple[CallbackDetails | None,
                                                            dict[str, str]]:
    """Return the checked details, or None and field -> message (in the current locale)."""
    values = {k: (v or "").strip() for k, v in values.items()}
    errors: dict[str, str] = {}
    for name, limit in MAX_LENGTHS.items():
        if len(values.get(name, "")) > limit:
            errors[name] = _("At most %(max)d characters.", max=limit)
    if not values.get("name"):
        errors.setdefault("name", _("Please tell us your name."))
    for name, normalise in (("email", normalise_email), ("phone", normalise_phone)):
        if values.get(name) and name not in errors:
            try:
                values[name] = normalise(values[name])
            except InvalidValue as exc:
                errors[name] = str(exc)
    if not values.get("email") and not values.get("phone") and "email" not in errors:
        errors["email"] = _("Please give an email address or a phone number.")
    for name in ("name", "organisation", "message"):
        if values.get(name) and name not in errors:
            try:
                check_free_text(values[name], field_kind(
                    "callback_request", "organisation_name") if name == "organisation" else TEXT)
            except InvalidValue as exc:
                errors[name] = str(exc)
    if errors:
        return None, errors
    return CallbackDetails(values["name"], values.get("organisation") or None,
                           values.get("email") or None, values.get("phone") or None,
                           values.get("message") or None), {}


def split_name(name: str) -> tuple[str, str]:
    """Return (first names, last name) of a full name; one word is a last name."""
    parts = name.split()
    return " ".join(parts[:-1]), parts[-1]


def find_contact(session: Session, email: str | None, phone: str | None) -> Contact | None:
    """Return the live contact with this email, else (when one side has no email) phone."""
    live = Contact.anonymised_at.is_(None)
    if email:
        contact = session.scalar(
            sa.select(Contact).where(live, Contact.email.is_not(None),
                                     sa.func.lower(Contact.email) == email.lower())
            .order_by(Contact.id).limit(1))
        if contact is not None:
            return contact
    if phone:
        no_email_conflict = sa.true() if not email else Contact.email.is_(None)
        return session.scalar(
            sa.select(Contact).where(live, no_email_conflict,
                                     sa.or_(Contact.phone == phone, Contact.mobile == phone))
            .order_by(Contact.id).limit(1))
    return None


def receive(session: Session, details: CallbackDetails, *, language: str, now: datetime,
            consent_version: str) -> CallbackRequest:
    """Store a callback request with its consent and the contact it is about; commit.

    :param language: the page's language ("fi" or "en"): the contact's language, and
        the version of the consent text the person saw.
    """
    source = the_person_source(session)
    purpose = session.scalar(sa.select(Purpose).where(Purpose.code == PURPOSE))
    contact = find_contact(session, details.email, details.phone)
    pending = contact is not None
    if contact is None:
        first, last = split_name(details.name)
        contact = Contact(first_name=first, last_name=last, email=details.email,
                          phone=details.phone, language=Language(language),
                          legal_basis=LegalBasis.consent, source=source,
                          purposes=[purpose] if purpose else [], created_at=now)
        # A new person's retention clock starts with their request. Someone already in
        # the register keeps theirs: whoever typed the form may not be them, and an
        # unverified post must not keep a person from being anonymised; Sales' call,
        # logged as an activity, moves the clock.
        contact.last_activity_at = now
        session.add(contact)
        session.flush()
        session.add(Provenance(contact_id=contact.id, source_id=source.id, recorded_at=now))
    callback = CallbackRequest(contact_id=contact.id, name=details.name,
                               organisation_name=details.organisation, email=details.email,
                               phone=details.phone, message=details.message, received_at=now,
                               consent_version=consent_version, consent_language=language,
                               consent=CallbackConsent.pending if pending
                               else CallbackConsent.recorded)
    session.add(callback)
    session.flush()
    if not pending and purpose is not None:
        session.add(_consent(callback, contact, purpose, given_at=now))
    record_event("create", callback, fields=["name", "organisation_name", "email", "phone",
                                             "message"],
                 detail="public callback form", actor=FORM_ACTOR, session=session,
                 commit=False)
    session.commit()
    return callback


def _consent(callback: CallbackRequest, contact: Contact, purpose: Purpose, *,
             given_at: datetime, confirmed: bool = False) -> Consent:
    evidence = (f"Public callback form (/contact), consent text {callback.consent_version} "
                f"({callback.consent_language}), box ticked; callback request #{callback.id}")
    if confirmed:
        evidence += "; confirmed by the call back (request closed as done)"
    return Consent(contact_id=contact.id, purpose_id=purpose.id,
                   text_version=callback.consent_version, given_at=given_at,
                   given_how=ConsentMethod.form, evidence=evidence)


def settle_consent(session: Session, callback: CallbackRequest, now: datetime) -> bool:
    """Record a pending consent once Sales has closed the request: on the linked contact
    when it is done (they spoke with the person), nowhere when it led nowhere.

    The consent is dated when the person ticked it; the purpose and the person as a
    source are added to the contact, as for a new person (change history and audit
    trail say so). Does not commit.

    :return: whether a consent was recorded.
    """
    if callback.consent is not CallbackConsent.pending or callback.status not in (
            CallbackStatus.done, CallbackStatus.no_result):
        return False
    contact = callback.contact
    purpose = session.scalar(sa.select(Purpose).where(Purpose.code == PURPOSE))
    if callback.status is not CallbackStatus.done or contact is None \
            or contact.anonymised_at is not None or purpose is None:
        callback.consent = CallbackConsent.not_recorded
        return False
    callback.consent = CallbackConsent.recorded
    session.add(_consent(callback, contact, purpose, given_at=callback.received_at,
                         confirmed=True))
    source = the_person_source(session)
    if session.scalar(sa.select(Provenance.id).where(Provenance.contact_id == contact.id,
                                                     Provenance.source_id == source.id)) is None:
        session.add(Provenance(contact_id=contact.id, source_id=source.id, recorded_at=now))
    if keep_for_consented_purpose(contact, purpose):
        record_event("update", contact, fields=["purposes"],
                     detail="consent on the public callback form confirmed by the call back",
                     session=session, commit=False)
    return True


NOTIFICATION_SUBJECT = _l("New callback request #%(id)d")
NOTIFICATION_BODY = _l("A callback request was left on the public form. Open it here:")


def notify_sales(app: Flask, session: Session, callback_id: int) -> threading.Thread | None:
    """Mail Sales a link to the new request (no personal data), in the background.

    :return: the thread sending it, or None when no mail is sent.
    """
    url = app.config.get("CRM_SMTP_URL")
    if not url:
        return None
    recipients = sorted(set(session.scalars(
        sa.select(User.email).join(assoc_user_role, assoc_user_role.c.user_id == User.id)
        .join(Role, Role.id == assoc_user_role.c.role_id)
        .where(Role.name == NOTIFIED_ROLE, User.active.is_(True), User.email.is_not(None)))))
    if not recipients:
        log.warning("no active %s users to tell of callback request %d", NOTIFIED_ROLE,
                    callback_id)
        return None
    with force_locale(app.config.get("BABEL_DEFAULT_LOCALE", "fi")):
        subject = str(NOTIFICATION_SUBJECT) % {"id": callback_id}
        body = (f"{NOTIFICATION_BODY}\n{app.config['CRM_BASE_URL']}"
                f"/callbackrequestview/show/{callback_id}\n")
    sender = app.config["CRM_MAIL_FROM"]

    def send() -> None:
        try:
            send_mail(url, sender, recipients, subject, body)
        except Exception as exc:  # the request is stored; the home page shows it anyway
            log.warning("mail about callback request %d failed: %s", callback_id,
                        type(exc).__name__)

    thread = threading.Thread(target=send, name=f"callback-mail-{callback_id}", daemon=True)
    thread.start()
    return thread
