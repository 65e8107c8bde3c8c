"""Forms that keep the user's place and tell each role the truth: from a browser review.

A role that may not record consents is told who does; a save refused because someone
else saved first goes back to the record's form; a consent's calendars offer no day
the server refuses; a closed request offers no step that no longer applies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from crm.models import (
    AuditEvent,
    Contact,
    DataSubjectRequest,
    LegalBasis,
    Organisation,
    RequestStatus,
    RequestType,
)
from crm.models.base import register_today, utcnow
from tests.conftest import session_csrf_token
from tests.factories import make_consent, make_contact, make_organisation, make_request
from tests.test_contact_forms import (
    STALE_MESSAGE,
    _change_elsewhere,
    _edit_form,
    _stored,
    all_errors,
    field_errors,
    form_data,
)
from tests.test_requests import STEPS

# -- consent as the basis, for a role that may not record consents ----------------

ASK_WHO_RECORDS = ("This contact has no valid consent on record, and only Marketing and "
                   "the privacy team record consents: keep another basis and ask them to "
                   "record the person's consent.")
RECORD_IT_FIRST = ("This contact has no valid consent on record. Record the consent on the "
                   "Consents tab first, or choose another basis.")


def _edit_contact(client, pk: int, **changes):
    path = f"/contactview/edit/{pk}"
    return client.post(path, data=form_data(client.get(path).get_data(as_text=True),
                                            **changes))


@pytest.mark.parametrize("user, message", [
    ("support", ASK_WHO_RECORDS),    # cannot see the Consents tab
    ("sales", ASK_WHO_RECORDS),      # can only read it
    ("marketing", RECORD_IT_FIRST),  # records consents there
])
def test_consent_basis_without_a_consent_tells_the_role_what_it_can_do(
        signed_in, session, user, message):
    contact = make_contact(session)
    make_consent(session, contact, withdrawn_at=utcnow() - timedelta(days=1))
    session.commit()
    response = _edit_contact(signed_in(user), contact.id, legal_basis="consent")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "legal_basis") == [message]
    assert _stored(Contact, contact.id).legal_basis is LegalBasis.position


def test_the_role_is_told_in_finnish_who_records_consents(login_as, session):
    """Finnish, the users' default: fails until the catalog has the translation."""
    contact = make_contact(session)
    session.commit()
    response = _edit_contact(login_as("support"), contact.id, legal_basis="consent")
    assert field_errors(response.get_data(as_text=True), "legal_basis") == [
        "Tällä yhteyshenkilöllä ei ole voimassa olevaa kirjattua suostumusta, ja "
        "suostumuksia kirjaavat vain markkinointi ja tietosuojatiimi: pidä toinen peruste "
        "ja pyydä heitä kirjaamaan henkilön suostumus."]


@pytest.mark.parametrize("user", ["support", "sales"])
def test_consent_on_record_is_a_basis_for_a_role_that_may_not_record_it(
        signed_in, session, user):
    contact = make_contact(session)
    make_consent(session, contact, given_at=datetime.now(UTC) - timedelta(days=10))
    session.commit()
    response = _edit_contact(signed_in(user), contact.id, legal_basis="consent")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert _stored(Contact, contact.id).legal_basis is LegalBasis.consent


# -- a save refused as stale goes back to the record's form --------------------------


@pytest.mark.parametrize("model, view, change, colleague", [
    (Contact, "contactview", {"title": "CTO"}, {"last_name": "Järvinen"}),
    (Organisation, "organisationview", {"name": "Lomakkeen Nimi Oy"},
     {"industry": "Energy"}),
])
def test_a_stale_save_goes_back_to_the_records_form_loaded_afresh(
        signed_in, session, model, view, change, colleague):
    row = (make_contact(session, title="CIO") if model is Contact
           else make_organisation(session, name="Vanha Nimi Oy", industry="Retail"))
    session.commit()
    client = signed_in("sales")
    path = f"/{view}/edit/{row.id}"
    form = _edit_form(client, path, **change)
    _change_elsewhere(model, row.id, **colleague)  # a colleague saves first

    response = client.post(path, data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == path
    page = client.get(path).get_data(as_text=True)
    assert STALE_MESSAGE in page
    fresh = form_data(page)
    assert fresh["version"] == "2"  # the form is of the record as it is now
    (name, value), = colleague.items()
    assert fresh[name] == value
    stored = _stored(model, row.id)
    assert getattr(stored, name) == value and stored.version == 2

    # Saved again from there, it is saved, and the form is left.
    response = client.post(path, data=form_data(page, **change))
    assert response.status_code == 302
    assert response.headers["Location"] != path
    stored = _stored(model, row.id)
    assert stored.version == 3 and getattr(stored, name) == value
    (name, value), = change.items()
    assert getattr(stored, name) == value


def test_a_stale_save_is_told_in_finnish_where_to_look(login_as, session):
    """Finnish, the users' default: fails until the catalog has the translation."""
    contact = make_contact(session)
    session.commit()
    client = login_as("sales")
    path = f"/contactview/edit/{contact.id}"
    form = _edit_form(client, path, title="CTO")
    _change_elsewhere(Contact, contact.id, last_name="Järvinen")
    response = client.post(path, data=form)
    page = " ".join(unescape(client.get(response.headers["Location"]).get_data(
        as_text=True)).split())
    assert ("Joku muu muutti tietuetta samaan aikaan, kun muokkasit sitä. Muutoksiasi ei "
            "tallennettu: katso tietueen nykyiset tiedot ja tee muutokset uudestaan."
            ) in page


def test_two_tabs_the_second_save_stays_on_its_record(signed_in, session):
    """The second tab's history is the first's too: it led to another page."""
    first, second = make_contact(session), make_contact(session)
    session.commit()
    client = signed_in("sales")
    path = f"/contactview/edit/{first.id}"
    tab_one = _edit_form(client, path, title="CTO")
    tab_two = _edit_form(client, path, title="CFO")
    client.get(f"/contactview/show/{second.id}")  # the first tab goes on elsewhere
    assert client.post(path, data=tab_one).status_code == 302
    client.get("/contactview/list/")

    response = client.post(path, data=tab_two)
    assert response.headers["Location"] == path
    assert STALE_MESSAGE in client.get(path).get_data(as_text=True)
    assert _stored(Contact, first.id).title == "CTO"


# -- a consent's calendars end today -------------------------------------------------


def _latest_day(html: str, field: str) -> str | None:
    match = re.search(r'<div class="input-group date crm-date" data-crm-date="([^"]*)">'
                      rf'<input[^>]*id="{field}"', html)
    assert match, f"no calendar for {field}"
    return re.search(r'"latest": (null|"[^"]*")', unescape(match.group(1))).group(1)


def test_the_consents_calendars_end_today(signed_in, session):
    contact = make_contact(session)
    consent = make_consent(session, contact, given_at=utcnow() - timedelta(days=3))
    session.commit()
    client = signed_in("marketing")
    today = f'"{register_today().isoformat()}"'
    add = client.get(f"/consentview/add?_flt_0_contact={contact.id}").get_data(as_text=True)
    assert _latest_day(add, "given_at") == today
    edit = client.get(f"/consentview/edit/{consent.id}").get_data(as_text=True)
    assert _latest_day(edit, "withdrawn_at") == today


# -- a closed request offers no step -------------------------------------------------

CLOSED_MESSAGE = "The request is closed."


def _closed_request(session, status: RequestStatus, **values) -> int:
    contact = make_contact(session)
    return make_request(session, type=RequestType.erasure, contact=contact, status=status,
                        identity_verified_how="Letter", identity_verified_at=utcnow(),
                        delivered_at=utcnow(), outcome="Done", **values).id


def _state(session, pk: int) -> dict:
    session.expire_all()
    row = session.execute(sa.select(DataSubjectRequest.__table__)
                          .where(DataSubjectRequest.id == pk)).one()
    return dict(row._mapping)


def _show(client, pk: int) -> str:
    response = client.get(f"/datasubjectrequestview/show/{pk}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_find_the_person_is_offered_only_while_the_request_is_open(session, login_as):
    open_pk = make_request(session).id
    rejected = _closed_request(session, RequestStatus.rejected)
    completed = _closed_request(session, RequestStatus.completed)
    session.commit()
    client = login_as("privacy")
    assert 'id="find-person"' in _show(client, open_pk)
    for pk in (rejected, completed):
        assert 'id="find-person"' not in _show(client, pk), pk


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nobody_is_searched_for_on_a_closed_request(session, signed_in, method):
    pk = _closed_request(session, RequestStatus.completed, requester_name="Sulje Ttu")
    session.commit()
    client = signed_in("privacy")
    path = f"/requests/{pk}/find"
    if method == "GET":
        response = client.get(path)
    else:
        token = session_csrf_token(client)
        response = client.post(path, data={"csrf_token": token, "q": "Sulje"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/datasubjectrequestview/show/{pk}"
    assert CLOSED_MESSAGE in client.get(response.headers["Location"]).get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "find")) == 0


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("status", [RequestStatus.completed, RequestStatus.rejected])
def test_every_step_is_refused_on_a_closed_request(session, signed_in, step, status):
    pk = _closed_request(session, status, received_on=register_today() - timedelta(days=5))
    contact_id = _state(session, pk)["contact_id"]
    session.commit()
    before = _state(session, pk)
    client = signed_in("privacy")
    token = session_csrf_token(client)
    data = {k: str(contact_id) if v == "CONTACT" else v for k, v in STEPS[step].items()}
    response = client.post(f"/requests/{pk}/{step}", data={"csrf_token": token, **data})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert CLOSED_MESSAGE in page, step
    assert _state(session, pk) == before
