"""A consent keeps the person for its purpose (DESIGN §2, §5).

Whichever way a consent is recorded (the Consents tab, a new contact on consent, the
public callback form linking to someone already in the register), its purpose joins
the contact's purposes, which the register, the access export and the privacy notice
read what a person is kept for from; the contact's change history and the audit trail
say so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, CallbackRequest, Consent, Contact, ContactChange
from tests.conftest import csrf_token
from tests.factories import make_contact, purpose
from tests.test_contact_consent_basis import on_consent
from tests.test_contact_consent_basis import post as post_contact
from tests.test_contact_form import close
from tests.test_contact_form import post as post_callback

CONSENT_ADD = "/consentview/add"


def purposes_of(contact_id: int) -> list[str]:
    db.session.remove()
    return sorted(p.code for p in db.session.get(Contact, contact_id).purposes)


def contact_updates(contact_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "update", AuditEvent.object_type == "Contact",
        AuditEvent.object_id == str(contact_id))))


def add_consent(client, contact: Contact, code: str):
    given = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    return client.post(CONSENT_ADD, data={
        "contact": str(contact.id), "purpose": str(purpose(db.session, code).id),
        "text_version": "2026-01", "given_at": given, "given_how": "phone",
        "evidence": "Puhelu 12.11.", "csrf_token": csrf_token(client, CONSENT_ADD)})


def test_a_consent_on_the_consents_tab_adds_its_purpose_to_the_contact(session, login_as):
    contact = make_contact(session)  # kept for the customer relationship only
    session.commit()
    response = add_consent(login_as("marketing"), contact, "direct_marketing")
    assert response.status_code == 302
    assert purposes_of(contact.id) == ["customer_relationship", "direct_marketing"]
    change = db.session.scalar(sa.select(ContactChange).where(
        ContactChange.contact_id == contact.id))
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "purposes", "customer_relationship", "customer_relationship, direct_marketing",
        "marketing")
    assert [e.fields for e in contact_updates(contact.id)] == [["purposes"]]


def test_a_consent_for_a_purpose_already_kept_changes_nothing_else(session, login_as):
    contact = make_contact(session, purposes=[purpose(session, "direct_marketing")])
    session.commit()
    assert add_consent(login_as("privacy"), contact, "direct_marketing").status_code == 302
    assert purposes_of(contact.id) == ["direct_marketing"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactChange)) == 0
    assert contact_updates(contact.id) == []


def test_a_new_contact_on_consent_is_kept_for_the_consents_purpose(session, login_as):
    # The form's purposes leave out direct marketing; the consent is to it.
    response = post_contact(login_as("marketing"), on_consent())
    assert response.status_code == 302
    db.session.remove()
    consent = db.session.scalar(sa.select(Consent))
    assert consent.purpose.code == "direct_marketing"
    assert purposes_of(consent.contact_id) == ["customer_relationship", "direct_marketing"]


def test_the_confirmed_callback_keeps_a_linked_contact_for_new_business(client, session,
                                                                         login_as):
    existing = make_contact(session, email="maija.meikalainen@esimerkkitalo.example")
    session.commit()
    assert post_callback(client).status_code == 303
    # Whoever typed the address may not be them: nothing yet.
    assert purposes_of(existing.id) == ["customer_relationship"]
    assert contact_updates(existing.id) == []
    callback_id = db.session.scalar(sa.select(CallbackRequest.id))
    close(login_as("sales"), callback_id, "done")
    assert purposes_of(existing.id) == ["customer_relationship", "new_business"]
    events = contact_updates(existing.id)
    assert [(e.fields, e.detail) for e in events] == [
        (["purposes"], "consent on the public callback form confirmed by the call back")]


