"""An objection to direct marketing is recorded once, shown on the contact's page, and
named in the reader's language in the audit trail (GDPR Art. 21(2), DESIGN §9.5)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, format_date

from crm.models import (
    AuditEvent,
    Contact,
    ContactChange,
    MarketingStatus,
    RequestStatus,
    RequestType,
)
from crm.models.base import utcnow
from crm.services.objection import object_to_marketing
from crm.views.privacy import _field_names
from tests.conftest import session_csrf_token
from tests.factories import make_consent, make_contact, make_request
from tests.test_permissions import USERS, allowed


def _text(response) -> str:
    html = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _objection_request(session, contact):
    request = make_request(session, type=RequestType.objection, contact=contact,
                           identity_verified_how="kirje", identity_verified_at=utcnow(),
                           status=RequestStatus.in_progress)
    session.commit()
    return request


def _events(session, contact_id: int) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "object", AuditEvent.object_id == str(contact_id))))


def _changes(session, contact_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ContactChange).where(
        ContactChange.contact_id == contact_id))


# -- B: recorded once ------------------------------------------------------------------


def test_an_objection_is_recorded_once_and_its_form_is_gone(session, signed_in):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    make_consent(session, contact)
    request = _objection_request(session, contact)
    client = signed_in("privacy")
    page = f"/datasubjectrequestview/show/{request.id}"
    assert 'id="objection-form"' in client.get(page).get_data(as_text=True)
    token = session_csrf_token(client)
    done = client.post(f"/requests/{request.id}/objection",
                       data={"csrf_token": token, "confirm": "y"}, follow_redirects=True)
    assert "The objection is recorded." in _text(done)
    (event,) = _events(session, contact.id)
    assert event.fields == ["consents", "marketing_status", "objected_at"]
    changes = _changes(session, contact.id)
    day = session.get(Contact, contact.id).objected_at

    # Done: the step says when, and offers no form to record it again.
    shown = client.get(page)
    assert 'id="objection-form"' not in shown.get_data(as_text=True)
    with force_locale("en_GB"):  # English pages' dates (crm.views.locale)
        recorded_on = format_date(day, "short")
    assert f"objection to direct marketing was recorded on {recorded_on}" in _text(shown)
    # Posted again (a second tab, a reload): said so, nothing changed, nothing recorded.
    for _ in range(2):
        again = client.post(f"/requests/{request.id}/objection",
                            data={"csrf_token": token, "confirm": "y"}, follow_redirects=True)
        assert (f"The objection was recorded already on {recorded_on}: nothing was changed."
                in _text(again))
        assert "The objection is recorded." not in _text(again)
    assert len(_events(session, contact.id)) == 1
    assert _changes(session, contact.id) == changes
    assert session.get(Contact, contact.id).objected_at == day


def test_a_second_objection_writes_no_event(session):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    session.commit()
    assert object_to_marketing(session, contact.id, actor=(None, "test")) is True
    session.commit()
    assert object_to_marketing(session, contact.id, actor=(None, "test")) is False
    session.commit()
    assert len(_events(session, contact.id)) == 1


# -- C: on the contact's page ----------------------------------------------------------

#: Who reads a contact's marketing status: the consent row of §6's matrix.
CONTACT_READERS = [u for u in USERS if allowed(u, "contact", "show")]


@pytest.mark.parametrize("user", CONTACT_READERS)
def test_the_contact_page_shows_the_objection_to_who_reads_marketing(session, signed_in,
                                                                     user):
    objected = make_contact(session, marketing_status=MarketingStatus.subscribed)
    other = make_contact(session, marketing_status=MarketingStatus.unsubscribed)
    session.commit()
    object_to_marketing(session, objected.id, actor=(None, "privacy"))
    session.commit()
    client = signed_in(user)
    page = _text(client.get(f"/contactview/show/{objected.id}"))
    with force_locale("en_GB"):
        day = format_date(session.get(Contact, objected.id).objected_at, "short")
    reads_marketing = allowed(user, "consent", "show")
    assert (f"Objected to direct marketing {day}" in page) is reads_marketing
    # A plain unsubscribe is no objection.
    assert "Objected to direct marketing" not in _text(
        client.get(f"/contactview/show/{other.id}"))


# -- D: named in the reader's language -------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_no_field_of_a_contact_is_named_by_its_column_in_the_audit_trail(app, lang):
    """Every attribute of a contact an event may name: not its column name, nor (on
    Finnish pages) the English name FAB makes of it ("Objected At")."""
    names = sa.inspect(Contact).attrs.keys()
    with app.test_request_context(), force_locale(lang):
        for name in names:
            label = _field_names([name])
            assert label != name, name
            if lang == "fi":
                assert label != name.replace("_", " ").title(), (name, label)
        assert _field_names(["objected_at"]) == {
            "fi": "Vastustanut suoramarkkinointia",
            "en": "Objected to direct marketing"}[lang]


def test_the_audit_trail_and_its_csv_name_the_objection_in_finnish(session, login_as):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    session.commit()
    object_to_marketing(session, contact.id, actor=(None, "privacy"))
    session.commit()
    client = login_as("privacy")
    client.get("/lang/fi")
    query = f"?_flt_0_object_id={contact.id}"
    page = _text(client.get(f"/auditeventview/list/{query}"))
    assert "Markkinointi, Vastustanut suoramarkkinointia" in page
    assert "Objected At" not in page and "objected_at" not in page
    rows = list(csv.reader(io.StringIO(
        client.get(f"/auditeventview/export.csv{query}").get_data(as_text=True)),
        delimiter=";"))
    fields = [row[5] for row in rows[1:] if "Vastustus kirjattu" in row]
    assert fields and all("Vastustanut suoramarkkinointia" in f for f in fields), rows


@pytest.mark.parametrize("user", CONTACT_READERS)
def test_the_contacts_list_finds_who_objected_for_who_reads_marketing(session, signed_in,
                                                                      user):
    objected = make_contact(session, last_name="Vastustaja")
    make_contact(session, last_name="Tilaaja", marketing_status=MarketingStatus.unsubscribed)
    session.commit()
    object_to_marketing(session, objected.id, actor=(None, "privacy"))
    session.commit()
    client = signed_in(user)
    listed = _text(client.get("/contactview/list/?_flt_0_objected_at="))
    assert "Vastustaja" in listed
    reads_marketing = allowed(user, "consent", "show")
    # A filter on a field the user may not read is left out: the whole list is shown.
    assert ("Tilaaja" not in listed) is reads_marketing
    offered = client.get("/contactview/list/").get_data(as_text=True)
    assert ("Objected to direct marketing" in offered) is reads_marketing
