"""A data subject request's edit form: a closed request is not edited, and an open one's
day of receipt is not changed there, since its deadline counts from it. A deadline moves
only through "Extend the deadline" (crm.services.requests, crm.views.privacy)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa

from crm.models import AuditEvent, DataSubjectRequest, RequestStatus
from crm.security import roles
from crm.services.demo import DEMO_USERS
from crm.services.requests import RequestError, require_editable
from tests.conftest import session_csrf_token
from tests.factories import make_request
from tests.test_permissions import field_names, filled, form_fields

#: The demo users whose role may edit requests (Privacy), and those whose may not.
EDITORS = [user for user, (role, *_names) in DEMO_USERS.items()
           if roles.EDIT in roles.role_actions(role, roles.DATA_SUBJECT_REQUEST)]
OTHERS = [user for user in DEMO_USERS if user not in EDITORS]
CLOSED = [RequestStatus.completed, RequestStatus.rejected]
RECEIVED = date(2026, 10, 1)  # due 1.11.2026
CLOSED_TEXT = {RequestStatus.completed: "The request is closed (Completed): it can no "
                                        "longer be changed.",
               RequestStatus.rejected: "The request is closed (Rejected): it can no "
                                       "longer be changed."}
RECEIPT_FIXED = ("The day of receipt cannot be changed: the deadline counts from it. Extend "
                 "the deadline on the request's page if more time is needed.")


def test_the_roles_are_as_the_matrix_says():
    assert EDITORS == ["privacy"]
    assert OTHERS and "dpo" in OTHERS


def _closed(session, status: RequestStatus) -> DataSubjectRequest:
    return make_request(session, received_on=RECEIVED, status=status, outcome="Vastattu.",
                        delivered_at=datetime(2026, 10, 20, 9, tzinfo=UTC))


def _client(login_as, user: str):
    client = login_as(user)
    client.get("/lang/en")
    return client


def _stored(session, pk: int) -> tuple:
    session.expire_all()
    request = session.get(DataSubjectRequest, pk)
    return (request.received_on, request.due_on, request.extended_due_on,
            request.requester_name, request.outcome, request.status)


def _shown(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("status", CLOSED)
def test_a_closed_request_cannot_be_edited_in_the_service(session, status):
    with pytest.raises(RequestError):
        require_editable(make_request(session, status=status))


@pytest.mark.parametrize("status", [RequestStatus.received, RequestStatus.verifying,
                                    RequestStatus.in_progress])
def test_an_open_request_can_be_edited_in_the_service(session, status):
    require_editable(make_request(session, status=status))


@pytest.mark.parametrize("user", EDITORS)
@pytest.mark.parametrize("status", CLOSED)
def test_a_closed_request_offers_no_edit(session, login_as, user, status):
    closed = _closed(session, status).id
    still_open = make_request(session, received_on=RECEIVED).id
    session.commit()
    client = _client(login_as, user)
    page = client.get(f"/datasubjectrequestview/show/{closed}").get_data(as_text=True)
    assert f"/datasubjectrequestview/edit/{closed}" not in page
    page = client.get(f"/datasubjectrequestview/show/{still_open}").get_data(as_text=True)
    assert f"/datasubjectrequestview/edit/{still_open}" in page
    listing = client.get("/datasubjectrequestview/list/").get_data(as_text=True)
    assert f"/datasubjectrequestview/show/{closed}" in listing
    assert f"/datasubjectrequestview/edit/{closed}" not in listing
    assert f"/datasubjectrequestview/edit/{still_open}" in listing


@pytest.mark.parametrize("user", EDITORS)
@pytest.mark.parametrize("status", CLOSED)
def test_editing_a_closed_request_is_refused_saying_why(session, login_as, user, status):
    """The reviewer's #4: a new day of receipt and outcome posted to a completed request
    were saved, and its due date moved a month on."""
    pk = _closed(session, status).id
    open_pk = make_request(session, received_on=RECEIVED).id
    session.commit()
    before = _stored(session, pk)
    client = _client(login_as, user)
    # Its edit form, as it was offered before: taken from an open request's.
    fields = form_fields(client.get(f"/datasubjectrequestview/edit/{open_pk}")
                         .get_data(as_text=True))
    response = client.get(f"/datasubjectrequestview/edit/{pk}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/datasubjectrequestview/show/{pk}")
    assert CLOSED_TEXT[status] in _shown(client.get(response.headers["Location"]))
    response = client.post(f"/datasubjectrequestview/edit/{pk}", data=filled(fields, {
        "received_on": "2026-10-02", "outcome": "Overwritten", "requester_name": "Other"}))
    assert response.status_code == 302
    assert CLOSED_TEXT[status] in _shown(client.get(response.headers["Location"]))
    assert _stored(session, pk) == before
    assert not session.scalar(sa.select(sa.exists().where(
        AuditEvent.action == "update", AuditEvent.object_id == str(pk))))


@pytest.mark.parametrize("user", EDITORS)
def test_the_day_of_receipt_is_shown_above_the_form_not_in_it(session, login_as, user):
    pk = make_request(session, received_on=RECEIVED, requester_name="Pyytäjä").id
    session.commit()
    client = _client(login_as, user)
    page = client.get(f"/datasubjectrequestview/edit/{pk}").get_data(as_text=True)
    assert "received_on" not in field_names(page)
    details = page.split('class="dl-horizontal crm-edit-details">')[1].split("</dl>")[0]
    assert "Received" in details and "01/10/2026" in details  # and the due date
    assert "01/11/2026" in details
    # The rest of the form saves; the deadline stays.
    response = client.post(f"/datasubjectrequestview/edit/{pk}", data=filled(
        form_fields(page), {"requester_name": "Uusi Nimi"}))
    assert response.status_code == 302
    assert _stored(session, pk)[:4] == (RECEIVED, date(2026, 11, 1), None, "Uusi Nimi")


@pytest.mark.parametrize("user", EDITORS)
@pytest.mark.parametrize("posted", ["2026-10-25", "25.10.2026", "2026-10-01"])
def test_a_posted_day_of_receipt_is_refused_and_nothing_saved(session, login_as, user,
                                                              posted):
    """The reviewer's #1: a later day of receipt moved the deadline from 15.12. to 25.12.
    with no extension, reason or notice recorded. Refused, whatever day is sent."""
    pk = make_request(session, received_on=RECEIVED, status=RequestStatus.in_progress).id
    session.commit()
    before = _stored(session, pk)
    client = _client(login_as, user)
    page = client.get(f"/datasubjectrequestview/edit/{pk}").get_data(as_text=True)
    response = client.post(f"/datasubjectrequestview/edit/{pk}", data=filled(
        form_fields(page), {"received_on": posted, "requester_name": "Uusi Nimi"}))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/datasubjectrequestview/show/{pk}")
    assert RECEIPT_FIXED in _shown(client.get(response.headers["Location"]))
    assert _stored(session, pk) == before


@pytest.mark.parametrize("user", OTHERS)
@pytest.mark.parametrize("status", [RequestStatus.in_progress, *CLOSED])
def test_the_other_roles_still_cannot_edit_a_request(session, login_as, user, status):
    pk = (_closed(session, status) if status in CLOSED
          else make_request(session, received_on=RECEIVED, status=status)).id
    session.commit()
    before = _stored(session, pk)
    client = _client(login_as, user)
    assert client.get(f"/datasubjectrequestview/edit/{pk}").status_code == 403
    response = client.post(f"/datasubjectrequestview/edit/{pk}", data={
        "csrf_token": session_csrf_token(client), "outcome": "Muutettu",
        "received_on": "2026-10-02"})
    assert response.status_code == 403
    assert _stored(session, pk) == before
    if user == "dpo":  # reads the request, is offered no edit of it
        page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
        assert f"/datasubjectrequestview/edit/{pk}" not in page
