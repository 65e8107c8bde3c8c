"""Someone known only from a callback request (no contact: kept apart from the register)
is found for their data subject request, linked to it, exported and erased (DESIGN §9.1–9.3).
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from crm.models import (
    AuditEvent,
    CallbackRequest,
    CallbackStatus,
    DataSubjectRequest,
    RequestStatus,
    RequestType,
    SuppressionEntry,
)
from crm.models.base import utcnow
from crm.privacy.suppression import suppression_hash
from tests.conftest import session_csrf_token
from tests.factories import make_callback_request, make_contact, make_organisation, make_request
from tests.test_erasure import dump

VILLE = {"name": "Ville Lehtonen", "organisation_name": "Lehtosen Kone Oy",
         "email": "ville5@callback.example", "phone": "+358500010005",
         "message": "Haluaisin nähdä demon, Ville."}
#: Ville's values as text, lower-cased: none may remain anywhere after his erasure.
VILLE_VALUES = ["ville", "lehtonen", "lehtosen kone", "callback.example", "358500010005",
                "nähdä demon"]


def _callback(session, **overrides) -> CallbackRequest:
    return make_callback_request(session, **{**VILLE, "status": CallbackStatus.new, **overrides})


def _request(session, **overrides) -> DataSubjectRequest:
    values = dict(type=RequestType.access, requester_name="Ville Lehtonen",
                  requester_email="ville5@callback.example",
                  identity_verified_how="Called back the number", identity_verified_at=utcnow(),
                  status=RequestStatus.in_progress)
    return make_request(session, **{**values, **overrides})


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": session_csrf_token(client), **data})


def _rows(page: str) -> list[tuple[str, str]]:
    """Return the find page's matches: ("callback" or "contact", id), in order."""
    return re.findall(r'<tr data-(callback|contact)="(\d+)"', page)


def _leftovers(session) -> list[str]:
    """Return where any of Ville's values is still stored: "table key: value"."""
    found = []
    for name, rows in dump(session).items():
        for key, row in rows.items():
            text = " ".join(str(v) for v in row).lower()
            found += [f"{name} {key}: {value}" for value in VILLE_VALUES if value in text]
    return found


@pytest.mark.parametrize("typed, reason", [
    ("ville5@callback.example", "email"),
    ("VILLE5@Callback.Example", "email"),
    ("+358500010005", "phone"),
    ("050 001 0005", "phone"),
    ("Ville Lehtonen", "name"),
    ("lehtonen ville", "name"),
])
def test_the_find_step_lists_a_callback_request_of_someone_not_in_the_register(
        session, signed_in, typed, reason):
    callback = _callback(session)
    make_contact(session, first_name="Ville", last_name="Virtanen",
                 email="ville.virtanen@firma.example")
    pk = _request(session, requester_name="Pyytäjä", requester_email=None).id
    session.commit()
    client = signed_in("privacy")
    page = _post(client, f"/requests/{pk}/find", q=typed).get_data(as_text=True)
    assert _rows(page) == [("callback", str(callback.id))]
    assert f"Callback request #{callback.id}, not in the register" in page
    assert "Ville Lehtonen, Lehtosen Kone Oy" in page
    assert f'data-reason="{reason}"' in page
    assert "No one matches." not in page


def test_the_requesters_details_find_the_callback_request_beside_a_namesake_contact(
        session, signed_in):
    """The review's first run: only the namesake contact was offered."""
    namesake = make_contact(session, first_name="Timo", last_name="Koskinen",
                            email="timo.koskinen@pohjan.example",
                            organisation=make_organisation(session, name="PohjanSolutions Oy"))
    callback = _callback(session, name="Timo Koskinen", email="timo4@callback.example",
                         phone="+358500010004", organisation_name="Koskitalo Oy")
    pk = _request(session, requester_name="Timo Koskinen",
                  requester_email="timo4@callback.example").id
    session.commit()
    page = signed_in("privacy").get(f"/requests/{pk}/find").get_data(as_text=True)
    # Email and name beat the name alone.
    assert _rows(page) == [("callback", str(callback.id)), ("contact", str(namesake.id))]


def test_a_callback_request_linked_to_a_contact_is_found_through_the_contact_only(
        session, signed_in):
    contact = make_contact(session, first_name="Ville", last_name="Lehtonen",
                           email=VILLE["email"], phone=VILLE["phone"])
    _callback(session, contact_id=contact.id)
    pk = _request(session).id
    session.commit()
    client = signed_in("privacy")
    assert _rows(client.get(f"/requests/{pk}/find").get_data(as_text=True)) == [
        ("contact", str(contact.id))]
    for typed in (VILLE["email"], VILLE["phone"], VILLE["name"]):
        page = _post(client, f"/requests/{pk}/find", q=typed).get_data(as_text=True)
        assert _rows(page) == [("contact", str(contact.id))], typed


def test_an_erased_callback_request_is_not_found(session, signed_in):
    _callback(session, name="", organisation_name=None, email=None, phone=None, message=None)
    pk = _request(session).id
    session.commit()
    page = signed_in("privacy").get(f"/requests/{pk}/find").get_data(as_text=True)
    assert _rows(page) == []
    assert "No one matches." in page


def test_linking_a_callback_request_and_exporting_its_data(session, signed_in):
    callback = _callback(session)
    twice = _callback(session, message="Soittakaa uudestaan", phone=None)
    other = _callback(session, name="Ulla Muukalainen", organisation_name="Muu Oy",
                      email="ulla@muu.example", phone="+358500010099", message="Muu asia")
    pk = _request(session).id
    session.commit()
    client = signed_in("privacy")
    response = _post(client, f"/requests/{pk}/link-callback", callback_id=str(callback.id))
    assert response.status_code == 302
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert "The request is now linked to the person." in page
    assert f"Callback request #{callback.id}, not in the register: Ville Lehtonen" in page
    assert re.search(r'data-step="person"\s+data-state="done"', page)
    assert 'id="export-form"' in page
    found = client.get(f"/requests/{pk}/find").get_data(as_text=True)
    assert f'<tr data-callback="{callback.id}"' in found and "linked" in found

    response = _post(client, f"/requests/{pk}/export", format="json")
    assert response.status_code == 200
    export = json.loads(response.get_data(as_text=True))
    rows = {row["id"]: row for row in export["records"]["callback_request"]}
    assert set(rows) == {callback.id, twice.id}, "his two requests, not another's"
    row = rows[callback.id]
    assert {key: row[key] for key in VILLE} == VILLE
    assert row["status"] == "new" and row["received_at"]
    assert export["subject"] == {"contact_ids": [], "callback_request_ids": [callback.id,
                                                                             twice.id]}
    assert other.id not in rows
    html = _post(client, f"/requests/{pk}/export", format="html-fi").get_data(as_text=True)
    assert "Haluaisin nähdä demon, Ville." in html and "Lehtosen Kone Oy" in html
    # The export is in the audit trail, by ids, and carries the request out.
    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "export", AuditEvent.object_type == "CallbackRequest")).all()
    assert {e.object_id for e in events} == {str(callback.id), str(twice.id)}
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert re.search(r'data-step="carry_out"\s+data-state="done"', page)


def test_a_callback_request_with_a_contact_cannot_be_linked_apart(session, signed_in):
    contact = make_contact(session)
    callback = _callback(session, contact_id=contact.id)
    pk = _request(session).id
    session.commit()
    client = signed_in("privacy")
    _post(client, f"/requests/{pk}/link-callback", callback_id=str(callback.id))
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert "There is no such callback request." in page
    session.expire_all()
    assert session.get(DataSubjectRequest, pk).callback_request_id is None


def test_erasing_someone_known_only_from_callback_requests_leaves_none_of_their_values(
        session, signed_in):
    callback = _callback(session)
    twice = _callback(session, message="Soittakaa uudestaan, Ville", phone=None)
    other = _callback(session, name="Ulla Muukalainen", organisation_name="Muu Oy",
                      email="ulla@muu.example", phone="+358500010099", message="Muu asia")
    earlier = _request(session, status=RequestStatus.completed, outcome="Sent Ville his data",
                       callback_request_id=callback.id)
    pk = _request(session, type=RequestType.erasure, requester_phone=VILLE["phone"]).id
    session.commit()
    client = signed_in("privacy")
    _post(client, f"/requests/{pk}/link-callback", callback_id=str(callback.id))
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert f'<li data-callback="{callback.id}">' in page
    assert f'<li data-callback="{twice.id}">' in page
    assert _leftovers(session)

    assert _post(client, f"/requests/{pk}/erase", confirm="y").status_code == 302
    assert _leftovers(session) == []
    for row in (callback, twice):
        stored = session.get(CallbackRequest, row.id)
        assert (stored.name, stored.email, stored.phone, stored.message) == ("", None, None,
                                                                             None)
        assert stored.status is CallbackStatus.new  # the record that it came stays
    assert session.get(CallbackRequest, other.id).email == "ulla@muu.example"
    request = session.get(DataSubjectRequest, pk)
    assert request.erasure_result == {"contacts": [], "callback_requests": [callback.id,
                                                                            twice.id],
                                      "processors": []}
    assert session.get(DataSubjectRequest, earlier.id).requester_name == ""
    hashes = set(session.scalars(sa.select(SuppressionEntry.key_hash)))
    assert suppression_hash("email", VILLE["email"]) in hashes
    assert suppression_hash("phone", VILLE["phone"]) in hashes
    erased = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "erase")).all()
    assert {(e.object_type, e.object_id, e.detail) for e in erased} == {
        ("CallbackRequest", str(callback.id), f"request {pk}"),
        ("CallbackRequest", str(twice.id), f"request {pk}")}
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert ("Erased: 2 callback request(s) emptied in the CRM, the email addresses and phone "
            "numbers in them added to the suppression list. No processor holds copies.") in page
    assert 'id="erase-form"' not in page
    # Nobody is found any more.
    found = _post(client, f"/requests/{pk}/find", q=VILLE["email"]).get_data(as_text=True)
    assert "The request is closed." in found or _rows(found) == []


def test_rectifying_someone_known_only_from_a_callback_request_says_why_not(session,
                                                                            signed_in):
    callback = _callback(session)
    pk = _request(session, type=RequestType.rectification, callback_request_id=callback.id).id
    session.commit()
    client = signed_in("privacy")
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert 'id="callback-only"' in page and 'id="rectify-form"' not in page
    _post(client, f"/requests/{pk}/rectify", field="email", value="uusi@firma.example",
          reason="Typo")
    page = client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)
    assert ("This step needs a contact: the person is known only from a callback request."
            in page)
