"""Rectification (DESIGN §9.2) and objection: the change history says what, when, who, why."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.models import (
    AuditEvent,
    Consent,
    Contact,
    ContactChange,
    DataSubjectRequest,
    MarketingStatus,
    RequestStatus,
    RequestType,
    SuppressionEntry,
)
from crm.models.base import utcnow
from crm.privacy.export import build_access_export
from crm.privacy.suppression import suppression_hash
from crm.services.objection import marketable, object_to_marketing
from tests.conftest import field_errors, session_csrf_token
from tests.factories import make_consent, make_contact, make_organisation, make_request
from tests.test_permissions import filled, form_fields


def _changes(session, contact_id: int) -> list[ContactChange]:
    session.expire_all()
    return list(session.scalars(sa.select(ContactChange).where(
        ContactChange.contact_id == contact_id).order_by(ContactChange.field)))


def _edit(client, pk: int, values: dict):
    page = client.get(f"/contactview/edit/{pk}").get_data(as_text=True)
    return client.post(f"/contactview/edit/{pk}", data=filled(form_fields(page), values))


def test_an_edit_records_what_changed_when_by_whom_and_why(session, login_as):
    old_org, new_org = make_organisation(session, name="Vanha Oy"), \
        make_organisation(session, name="Uusi Oy")
    contact = make_contact(session, title="Myyjä", email="vanha@firma.example",
                           organisation=old_org)
    session.commit()
    response = _edit(login_as("privacy"), contact.id, {
        "title": "Myyntijohtaja", "email": "uusi@firma.example",
        "organisation": str(new_org.id), "change_reason": "Henkilön pyynnöstä"})
    assert response.status_code == 302
    changes = _changes(session, contact.id)
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        ("email", "vanha@firma.example", "uusi@firma.example"),
        ("organisation", "Vanha Oy", "Uusi Oy"),
        ("title", "Myyjä", "Myyntijohtaja")]
    assert {(c.changed_by, c.reason) for c in changes} == {("privacy", "Henkilön pyynnöstä")}
    assert all(c.changed_at is not None and c.request_id is None for c in changes)
    # The audit trail has the field names; the history has the values.
    update = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert "uusi@firma.example" not in str([update.fields, update.detail])
    assert "change_reason" not in {c.field for c in changes}


def test_an_edit_changing_nothing_records_nothing(session, login_as):
    contact = make_contact(session)
    session.commit()
    assert _edit(login_as("sales"), contact.id, {}).status_code == 302
    assert _changes(session, contact.id) == []


def test_a_sensitive_reason_is_refused(session, login_as):
    contact = make_contact(session, title="Vanha")
    session.commit()
    response = _edit(login_as("privacy"), contact.id, {"title": "Uusi",
                                                        "change_reason": "Syöpähoidon takia"})
    assert response.status_code == 200
    session.expire_all()
    assert session.get(Contact, contact.id).title == "Vanha"
    assert _changes(session, contact.id) == []


def test_system_changes_outside_a_request_are_not_attributed(session):
    contact = make_contact(session)
    contact.title = "Järjestelmä muutti"
    session.commit()
    assert _changes(session, contact.id) == []


@pytest.mark.parametrize("user", ["privacy", "dpo", "sales", "support"])
def test_history_tab_only_for_those_reading_every_field(session, login_as, user):
    contact = make_contact(session)
    session.add(ContactChange(contact_id=contact.id, field="title", old_value="VANHA-TITTELI",
                              new_value="UUSI-TITTELI", changed_by="privacy",
                              reason="Historiatesti"))
    session.commit()
    page = login_as(user).get(f"/contactview/show/{contact.id}").get_data(as_text=True)
    assert ("VANHA-TITTELI" in page) is (user in ("privacy", "dpo"))


def _rectification(session, contact, **overrides) -> DataSubjectRequest:
    values = dict(type=RequestType.rectification, contact=contact, identity_verified_how="x",
                  identity_verified_at=utcnow(), status=RequestStatus.in_progress)
    values.update(overrides)
    request = make_request(session, **values)
    session.commit()
    return request


def _rectify(client, pk: int, **data):
    token = session_csrf_token(client)
    return client.post(f"/requests/{pk}/rectify", data={"csrf_token": token, **data})


def test_a_rectification_request_corrects_and_links_the_change(session, login_as):
    contact = make_contact(session, phone="+358401110000")
    request = _rectification(session, contact)
    client = login_as("privacy")
    page = client.get(f"/datasubjectrequestview/show/{request.id}").get_data(as_text=True)
    assert 'id="rectify-form"' in page
    _rectify(client, request.id, field="phone", value="040 222 3333",
             reason="Numero vaihtunut", version=str(contact.version))
    session.expire_all()
    assert session.get(Contact, contact.id).phone == "+358402223333"
    (change,) = _changes(session, contact.id)
    assert (change.field, change.old_value, change.new_value, change.request_id,
            change.reason, change.changed_by) == (
        "phone", "+358401110000", "+358402223333", request.id, "Numero vaihtunut", "privacy")
    # The access export shows the history, the changer by role.
    history = build_access_export(session, contact.id)["records"]["contact_change"]
    assert [(h["field"], h["changed_by"], h["request_id"]) for h in history] == [
        ("phone", "Privacy", request.id)]


@pytest.mark.parametrize("data", [
    {"field": "email", "value": "ei-osoite", "reason": "Korjaus"},
    {"field": "last_name", "value": "  ", "reason": "Korjaus"},
    {"field": "title", "value": "Uusi", "reason": ""},
    {"field": "title", "value": "Diabetes-vastaava", "reason": "Korjaus"},
    {"field": "legal_hold", "value": "y", "reason": "Korjaus"},
    {"field": "title", "value": "Uusi", "reason": "Korjaus", "version": "99"},
])
def test_invalid_corrections_change_nothing(session, login_as, data):
    contact = make_contact(session, title="Vanha")
    request = _rectification(session, contact)
    data = {"version": str(contact.version), **data}
    _rectify(login_as("privacy"), request.id, **data)
    session.expire_all()
    assert session.get(Contact, contact.id).title == "Vanha"
    assert _changes(session, contact.id) == []


def test_a_correction_needs_a_verified_rectification_request(session, login_as):
    contact = make_contact(session, title="Vanha")
    unverified = _rectification(session, contact, identity_verified_at=None)
    access = _rectification(session, contact, type=RequestType.access)
    client = login_as("privacy")
    for request in (unverified, access):
        _rectify(client, request.id, field="title", value="Uusi", reason="Korjaus",
                 version=str(contact.version))
    session.expire_all()
    assert session.get(Contact, contact.id).title == "Vanha"


# -- objection and opt-out ---------------------------------------------------------------


def test_objection_stops_every_marketing_use(session):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed,
                           alt_email="koti@koti.example", mobile="+358501234000")
    consent = make_consent(session, contact)
    session.commit()
    assert session.scalar(sa.select(Contact.id).where(marketable())) == contact.id
    assert object_to_marketing(session, contact.id, actor=(None, "test")) is True
    session.commit()
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert contact.objected_at is not None
    assert contact.marketing_status is MarketingStatus.unsubscribed
    assert session.get(Consent, consent.id).withdrawn_at is not None
    assert session.scalar(sa.select(Contact.id).where(marketable())) is None
    hashes = set(session.scalars(sa.select(SuppressionEntry.key_hash).where(
        SuppressionEntry.reason == "opt_out")))
    assert hashes == {suppression_hash("email", contact.email),
                      suppression_hash("email", "koti@koti.example"),
                      suppression_hash("phone", contact.phone),
                      suppression_hash("phone", "+358501234000")}
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "object")).one()
    assert event.fields == ["consents", "marketing_status", "objected_at"]
    # A second objection changes nothing more.
    assert object_to_marketing(session, contact.id, actor=(None, "test")) is False


def test_nobody_subscribes_a_person_who_objected(session, login_as):
    contact = make_contact(session)
    object_to_marketing(session, contact.id, actor=(None, "test"))
    session.commit()
    client = login_as("marketing")
    client.get("/lang/en")
    page = client.get(f"/contactview/edit/{contact.id}").get_data(as_text=True)
    response = client.post(f"/contactview/edit/{contact.id}", data=filled(
        form_fields(page), {"marketing_status": "subscribed", "city": "Kuopio"}))
    # Refused beside the field, the form kept as typed.
    assert response.status_code == 200, "the refused form should be shown again"
    page = response.get_data(as_text=True)
    assert field_errors(page, "marketing_status") == [
        "This person has objected to direct marketing and cannot be subscribed."]
    assert dict(form_fields(page))["city"] == "Kuopio"
    session.expire_all()
    assert session.get(Contact, contact.id).marketing_status is MarketingStatus.unsubscribed
    # Nor does code that goes round the screens: the database refuses it.
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.update(Contact).where(Contact.id == contact.id)
                        .values(marketing_status=MarketingStatus.subscribed))
        session.flush()
    session.rollback()


def test_objection_request_through_its_page(session, login_as):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    request = _rectification(session, contact, type=RequestType.objection)
    client = login_as("privacy")
    token = session_csrf_token(client)
    client.post(f"/requests/{request.id}/objection", data={"csrf_token": token})  # no tick
    session.expire_all()
    assert session.get(Contact, contact.id).objected_at is None
    client.post(f"/requests/{request.id}/objection", data={"csrf_token": token, "confirm": "y"})
    session.expire_all()
    assert session.get(Contact, contact.id).objected_at is not None
    request = session.get(DataSubjectRequest, request.id)
    assert request.outcome
    changes = {c.field: c for c in _changes(session, contact.id)}
    assert changes["marketing_status"].request_id == request.id
    assert changes["marketing_status"].changed_by == "privacy"


def test_a_title_corrected_to_an_occupation_with_a_health_word_is_stored(session, login_as):
    """A title is checked as the contact form checks it (crm.privacy.guard.TITLE):
    "Diabeteshoitaja" names an occupation; "Diabetes-vastaava" above names none."""
    contact = make_contact(session, title="Sairaanhoitaja")
    request = _rectification(session, contact)
    response = _rectify(login_as("privacy"), request.id, field="title", value="Diabeteshoitaja",
                        reason="Henkilön pyynnöstä", version=str(contact.version))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Contact, contact.id).title == "Diabeteshoitaja"
