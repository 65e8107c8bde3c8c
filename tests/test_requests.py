"""Data subject requests (DESIGN §9.1): deadlines, extensions, the workflow, and who may act."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.models import AuditEvent, DataSubjectRequest, RequestStatus, RequestType
from crm.models.base import utcnow
from crm.services import requests as workflow
from crm.services.requests import RequestError, add_months, due_date, latest_extension
from tests.conftest import csrf_token, field_errors, session_csrf_token
from tests.factories import make_contact, make_identifier, make_request
from tests.test_permissions import field_names, filled, form_fields

# -- deadlines ------------------------------------------------------------------------


@pytest.mark.parametrize("received, due", [
    (date(2026, 1, 31), date(2026, 2, 28)),    # no 31 February: its last day
    (date(2028, 1, 31), date(2028, 2, 29)),    # leap year
    (date(2028, 1, 29), date(2028, 2, 29)),
    (date(2027, 1, 29), date(2027, 2, 28)),
    (date(2026, 11, 30), date(2026, 12, 30)),  # the same day, not the month's last
    (date(2026, 3, 31), date(2026, 4, 30)),
    (date(2026, 12, 31), date(2027, 1, 31)),   # into the next year
    (date(2026, 12, 15), date(2027, 1, 15)),
    (date(2028, 2, 29), date(2028, 3, 29)),
    (date(2026, 6, 1), date(2026, 7, 1)),
])
def test_due_date_is_one_calendar_month_after_receipt(received, due):
    assert due_date(received) == due


@pytest.mark.parametrize("received, latest", [
    (date(2026, 1, 31), date(2026, 4, 30)),
    (date(2026, 11, 30), date(2027, 2, 28)),
    (date(2027, 11, 30), date(2028, 2, 29)),   # into a leap February
    (date(2026, 12, 31), date(2027, 3, 31)),
    (date(2026, 10, 31), date(2027, 1, 31)),
])
def test_an_extension_reaches_at_most_three_months_after_receipt(received, latest):
    assert latest_extension(received) == latest


def test_add_months_across_many_years():
    assert add_months(date(2026, 1, 31), 25) == date(2028, 2, 29)
    assert add_months(date(2026, 5, 31), 0) == date(2026, 5, 31)


# -- extension rules -----------------------------------------------------------------

RECEIVED = date(2026, 1, 31)  # due 28 Feb 2026, latest 30 Apr 2026
TODAY = date(2026, 2, 10)


@pytest.fixture(autouse=True)
def _english():
    """The rules' messages in English, as matched below (Finnish is the default)."""
    with force_locale("en"):
        yield


@pytest.fixture
def open_request(session):
    return make_request(session, received_on=RECEIVED, status=RequestStatus.in_progress)


def test_extension_within_the_limit_is_recorded(session, open_request):
    workflow.extend_deadline(session, open_request, new_due_on=date(2026, 4, 30),
                             reason="Many records to collect", notified_on=date(2026, 2, 9),
                             actor=(None, "test"), on=TODAY)
    assert workflow.deadline(open_request) == date(2026, 4, 30)
    assert open_request.extension_notified_on == date(2026, 2, 9)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "extend")).one()
    assert event.fields == ["extended_due_on", "extension_notified_on", "extension_reason"]
    # The reason is not in the trail: field names only.
    assert "Many records" not in f"{event.detail} {event.fields}"


@pytest.mark.parametrize("new_due_on, reason, notified_on, message", [
    (date(2026, 5, 1), "Many records", date(2026, 2, 9), "two further months"),
    (date(2026, 2, 28), "Many records", date(2026, 2, 9), "after the original"),
    (date(2026, 2, 20), "Many records", date(2026, 2, 9), "after the original"),
    (date(2026, 4, 1), "   ", date(2026, 2, 9), "needs a reason"),
    (date(2026, 4, 1), "", date(2026, 2, 9), "needs a reason"),
    (date(2026, 4, 1), "Many records", None, "told of the extension"),
    (date(2026, 4, 1), "Many records", date(2026, 1, 30), "before the request arrived"),
    (date(2026, 4, 1), "Many records", date(2026, 2, 11), "in the future"),
    (date(2026, 4, 1), "Sairausloma viivästytti", date(2026, 2, 9), "health"),
])
def test_invalid_extensions_are_refused(session, open_request, new_due_on, reason,
                                        notified_on, message):
    with pytest.raises(RequestError, match=message):
        workflow.extend_deadline(session, open_request, new_due_on=new_due_on, reason=reason,
                                 notified_on=notified_on, actor=(None, "test"), on=TODAY)
    assert open_request.extended_due_on is None


def test_requester_must_be_told_within_the_first_month(session, open_request):
    with pytest.raises(RequestError, match="within one month"):
        workflow.extend_deadline(session, open_request, new_due_on=date(2026, 4, 1),
                                 reason="Many records", notified_on=date(2026, 3, 1),
                                 actor=(None, "test"), on=date(2026, 3, 5))


def test_a_closed_request_is_not_extended(session):
    closed = make_request(session, received_on=RECEIVED, status=RequestStatus.completed)
    with pytest.raises(RequestError, match="closed"):
        workflow.extend_deadline(session, closed, new_due_on=date(2026, 4, 1), reason="x",
                                 notified_on=date(2026, 2, 9), actor=(None, "t"), on=TODAY)


# -- the workflow over HTTP ------------------------------------------------------------


def _page(client, pk: int) -> str:
    response = client.get(f"/datasubjectrequestview/show/{pk}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post(client, pk: int, step: str, **data):
    token = session_csrf_token(client)
    return client.post(f"/requests/{pk}/{step}", data={"csrf_token": token, **data})


def _fresh(session, pk: int) -> DataSubjectRequest:
    session.expire_all()
    return session.get(DataSubjectRequest, pk)


@pytest.mark.parametrize("locale, told", [
    ("fi", "Määräaikaa voi pidentää enintään kahdella kuukaudella: 31.1.2027 asti."),
    ("en", "A deadline can be extended by two further months at most: to 31/01/2027."),
])
def test_a_refused_extension_names_its_last_day_as_the_page_writes_dates(session, login_as,
                                                                        locale, told):
    received = date(2026, 10, 31)  # due 30.11.2026; extended at most to 31.1.2027
    pk = make_request(session, received_on=received, status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("privacy")
    if locale != "fi":  # Finnish is the default
        client.get(f"/lang/{locale}")
    response = _post(client, pk, "extend", new_due_on="1.2.2027", reason="Paljon aineistoa",
                     notified_on=received.strftime("%d.%m.%Y"))
    assert response.status_code == 302
    assert told in _page(client, pk)  # not the ISO 2027-01-31 on a Finnish page
    assert _fresh(session, pk).extended_due_on is None


def test_a_refused_step_comes_back_filled_in_once(session, login_as):
    received = date(2026, 10, 31)
    pk = make_request(session, received_on=received, status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("privacy")
    refused = _post(client, pk, "extend", new_due_on="1.2.2027",
                    reason="Paljon aineistoa kerättävänä", notified_on="31.10.2026")
    assert refused.location.endswith(f"/datasubjectrequestview/show/{pk}")
    page = _page(client, pk)
    # The form is open, as typed: nothing to type again after reading why it was refused.
    assert '<details id="extend" open>' in page
    extend = page.split('id="extend-form"')[1].split("</form>")[0]
    assert 'value="1.2.2027"' in extend and 'value="31.10.2026"' in extend
    assert "Paljon aineistoa kerättävänä</textarea>" in extend
    # Once: the page looked at again is as before.
    page = _page(client, pk)
    assert '<details id="extend">' in page and "Paljon aineistoa" not in page
    # A refusal is kept for its own request only.
    other = make_request(session, received_on=received, status=RequestStatus.in_progress).id
    session.commit()
    _post(client, pk, "reject", reason="", how="email")
    assert '<details id="reject">' in _page(client, other)


def test_privacy_officer_takes_a_request_from_receipt_to_completion(session, login_as):
    contact = make_contact(session, email="aava.pyytaja@firma.example")
    session.commit()
    client = login_as("privacy")
    client.get("/lang/en")
    received = date.today() - timedelta(days=3)
    token = csrf_token(client, "/datasubjectrequestview/add")
    response = client.post("/datasubjectrequestview/add", data={
        "csrf_token": token, "type": "access", "requester_name": "Aava Pyytäjä",
        "requester_email": "aava.pyytaja@firma.example", "channel": "email",
        "received_on": received.isoformat()})
    assert response.status_code == 302
    pk = session.scalar(sa.select(DataSubjectRequest.id))
    request = _fresh(session, pk)
    assert (request.status, request.due_on) == (RequestStatus.received, due_date(received))

    # Delivering before the identity is verified is refused.
    _post(client, pk, "deliver", how="email", outcome="Sent")
    assert _fresh(session, pk).status is RequestStatus.received

    assert _post(client, pk, "verify", how="Reply from the address on file").status_code == 302
    request = _fresh(session, pk)
    assert request.status is RequestStatus.in_progress
    assert request.identity_verified_by.username == "privacy"
    assert request.identity_verified_at is not None
    # Verified once only.
    _post(client, pk, "verify", how="Again")
    assert _fresh(session, pk).identity_verified_how == "Reply from the address on file"

    page = client.get(f"/requests/{pk}/find").get_data(as_text=True)
    assert f'data-contact="{contact.id}"' in page and 'data-reason="email"' in page
    _post(client, pk, "link", contact_id=str(contact.id))
    assert _fresh(session, pk).contact_id == contact.id

    # No outcome yet: not delivered.
    _post(client, pk, "deliver", how="email", outcome="")
    assert _fresh(session, pk).status is RequestStatus.in_progress
    _post(client, pk, "deliver", how="email", outcome="Export sent by encrypted email")
    request = _fresh(session, pk)
    assert request.status is RequestStatus.completed
    assert request.delivered_at is not None and request.delivered_how.value == "email"
    # Closed: no step applies any more.
    _post(client, pk, "extend", new_due_on=request.due_on.isoformat(), reason="x",
          notified_on=received.isoformat())
    assert _fresh(session, pk).extended_due_on is None
    actions = session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "DataSubjectRequest").order_by(AuditEvent.id)).all()
    assert [a for a in actions if a != "view" and a != "find"] == [
        "create", "verify", "update", "deliver"]


def test_the_first_verify_and_link_hint_shows_only_while_it_applies(session, login_as):
    """Step 3 asks to verify and link first while that is still to do: not once both
    are done (an erased person among them), nor on a closed request."""
    contact = make_contact(session, email="hanna.hinta@firma.example")
    pk = make_request(session, type=RequestType.erasure, contact=contact).id
    session.commit()
    client = login_as("privacy")
    hint = 'id="carry-out-first"'

    def page() -> str:
        return client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)

    assert hint in page()  # linked, not verified
    _post(client, pk, "verify", how="Called back")
    assert hint not in page() and 'id="erase-form"' in page()
    _post(client, pk, "erase", confirm="y")
    assert _fresh(session, pk).contact.anonymised_at is not None
    assert hint not in page()
    _post(client, pk, "deliver", how="email", outcome="Erased")
    assert _fresh(session, pk).status is RequestStatus.completed
    assert hint not in page()
    closed = make_request(session, status=RequestStatus.rejected).id
    session.commit()
    assert hint not in client.get(f"/datasubjectrequestview/show/{closed}").get_data(
        as_text=True)


def _steps(page: str) -> list[tuple[str, str]]:
    """Return the request page's steps in the order shown, each with its state: done, next
    (the one marked as the step to take now) or todo."""
    return re.findall(r'data-step="(\w+)"\s+data-state="(\w+)"', page)


def _in_order(page: str, *marks: str) -> bool:
    """Return whether each of `marks` is on the page, each after the one before it."""
    places = [page.find(mark) for mark in marks]
    return -1 not in places and places == sorted(places)


@pytest.mark.parametrize("locale, title, status, first_step, requester", [
    ("fi", "Rekisteröidyn pyyntö", "Tila", "1. Henkilöllisyys", "Pyytäjä"),
    ("en", "Data subject request", "Status", "1. Identity", "Requester"),
])
def test_the_request_page_leads_with_the_step_to_take_next(session, login_as, locale, title,
                                                           status, first_step, requester):
    """Under the page's title and where the request stands, the step to take now with its
    form; the steps taken stay above it in order; the request's fields come after."""
    contact = make_contact(session, email="nelli.seuraava@firma.example")
    pk = make_request(session, requester_name="Nelli Seuraava",
                      requester_email="nelli.seuraava@firma.example").id
    session.commit()
    client = login_as("privacy")
    client.get(f"/lang/{locale}")
    details = ('id="request-details"', f"<th class=\"col-lg-2 col-md-2 col-sm-2\">{requester}<")

    page = _page(client, pk)
    assert _steps(page) == [("identity", "next"), ("person", "todo"), ("carry_out", "todo"),
                            ("answer", "todo")]
    assert _in_order(page, f">{title}<", f"{status}: <strong>", 'id="deadline"',
                     first_step, 'id="verify-form"', *details)
    heading = page.split('id="step-identity"')[1].split("</h3>")[0]
    assert 'class="label label-primary">' in heading
    if locale == "en":  # in Finnish "Seuraava vaihe", once the catalog has it
        assert ">Next step<" in heading

    _post(client, pk, "verify", how="Kirje tiedossa olevaan osoitteeseen")
    page = _page(client, pk)
    assert _steps(page) == [("identity", "done"), ("person", "next"), ("carry_out", "todo"),
                            ("answer", "todo")]
    assert _in_order(page, 'id="deadline"', 'id="identity"', 'id="find-person"', *details)

    _post(client, pk, "link", contact_id=str(contact.id))
    page = _page(client, pk)
    assert _steps(page) == [("identity", "done"), ("person", "done"), ("carry_out", "next"),
                            ("answer", "todo")]
    assert _in_order(page, 'id="identity"', 'id="linked-contact"', 'id="export-form"',
                     'id="deliver-form"', *details)

    assert _post(client, pk, "export", format="json").status_code == 200
    page = _page(client, pk)
    assert _steps(page) == [("identity", "done"), ("person", "done"), ("carry_out", "done"),
                            ("answer", "next")]
    # The export stays at hand, in its place: to send again.
    assert _in_order(page, 'id="identity"', 'id="linked-contact"', 'id="export-form"',
                     'id="deliver-form"', *details)

    _post(client, pk, "deliver", how="email", outcome="Vastattu sähköpostilla")
    page = _page(client, pk)
    assert _steps(page) == [("identity", "done"), ("person", "done"), ("carry_out", "done"),
                            ("answer", "done")]
    assert 'aria-current="step"' not in page
    assert _in_order(page, 'id="deadline"', 'id="delivered"', *details)


@pytest.mark.parametrize("request_type, step, data", [
    (RequestType.rectification, "rectify",
     {"field": "title", "value": "Toimitusjohtaja", "reason": "Pyysi itse"}),
    (RequestType.erasure, "erase", {"confirm": "y"}),
    (RequestType.objection, "objection", {"confirm": "y"}),
])
def test_a_verified_and_linked_request_leads_with_carrying_it_out(session, login_as,
                                                                  request_type, step, data):
    """Then, once carried out (a field corrected, the person erased, the objection
    recorded), with the answer."""
    contact = make_contact(session)
    pk = make_request(session, type=request_type, contact=contact,
                      identity_verified_how="Kirje", identity_verified_at=utcnow(),
                      status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("privacy")
    page = _page(client, pk)
    assert ("carry_out", "next") in _steps(page)
    assert _in_order(page, 'id="deadline"', f'id="{step}-form"', 'id="request-details"')
    _post(client, pk, step, version=str(contact.version), **data)
    page = _page(client, pk)
    assert _steps(page)[2:] == [("carry_out", "done"), ("answer", "next")]
    assert _in_order(page, 'id="deadline"', 'id="deliver-form"', 'id="request-details"')


def test_find_the_person_says_how_each_matched_in_the_readers_language(session, login_as):
    """"Sähköposti", "Nimi", "Tunniste: Portal": not the search's keys email, name."""
    contact = make_contact(session, first_name="Osku", last_name="Osuma",
                           email="osku.osuma@firma.example")
    make_identifier(session, contact, system="Portal", identifier="OSKU-1")
    pk = make_request(session, requester_name="Osku Osuma",
                      requester_email="osku.osuma@firma.example").id
    session.commit()
    client = login_as("privacy")
    client.get("/lang/fi")
    page = client.get(f"/requests/{pk}/find").get_data(as_text=True)
    assert 'data-reason="email">Sähköposti<' in page
    assert 'data-reason="name">Nimi<' in page
    token = csrf_token(client, f"/requests/{pk}/find")
    page = client.post(f"/requests/{pk}/find", data={"csrf_token": token, "q": "OSKU-1"}
                       ).get_data(as_text=True)
    assert 'data-reason="identifier:Portal">Tunniste: Portal<' in page
    client.get("/lang/en")
    page = client.get(f"/requests/{pk}/find").get_data(as_text=True)
    assert 'data-reason="email">Email<' in page


def test_refusing_a_request_closes_it(session, login_as):
    pk = make_request(session).id
    session.commit()
    client = login_as("privacy")
    _post(client, pk, "reject", reason="", how="letter")
    assert _fresh(session, pk).status is RequestStatus.received
    _post(client, pk, "reject", reason="Identity could not be verified", how="letter")
    request = _fresh(session, pk)
    assert request.status is RequestStatus.rejected
    assert request.outcome == "Identity could not be verified"


def test_extension_through_the_page(session, login_as):
    received = date.today() - timedelta(days=5)
    pk = make_request(session, received_on=received, status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("privacy")
    too_far = latest_extension(received) + timedelta(days=1)
    _post(client, pk, "extend", new_due_on=too_far.isoformat(), reason="Many systems",
          notified_on=date.today().isoformat())
    assert _fresh(session, pk).extended_due_on is None
    _post(client, pk, "extend", new_due_on=latest_extension(received).isoformat(),
          reason="Many systems", notified_on=date.today().isoformat())
    request = _fresh(session, pk)
    assert request.extended_due_on == latest_extension(received)
    assert request.extension_reason == "Many systems"


def test_a_request_cannot_be_received_in_the_future(session, login_as):
    """Refused, the form comes back as typed, the reason beside the day of receipt."""
    client = login_as("privacy")
    token = csrf_token(client, "/datasubjectrequestview/add")
    typed = {"type": "access", "requester_name": "Tuleva", "channel": "email",
             "requester_email": "tuleva@firma.example",
             "received_on": (date.today() + timedelta(days=2)).isoformat()}
    response = client.post("/datasubjectrequestview/add", data={"csrf_token": token, **typed})
    assert response.status_code == 200, "the refused form should be shown again"
    page = response.get_data(as_text=True)
    assert field_errors(page, "received_on") == ["Vastaanottopäivä ei voi olla tulevaisuudessa."]
    kept = dict(form_fields(page))
    assert {k: kept.get(k) for k in typed if k != "received_on"} == {
        k: v for k, v in typed.items() if k != "received_on"}
    assert kept["received_on"]  # as typed, or as the page writes that day
    assert session.scalar(sa.select(sa.func.count()).select_from(DataSubjectRequest)) == 0


@pytest.mark.parametrize("locale, shown, latest", [
    ("fi", "25.11.2026", "2026-11-25"),
    ("en", "25/11/2026", "2026-11-25"),
])
def test_a_new_request_is_received_today_unless_changed(session, login_as, monkeypatch,
                                                        locale, shown, latest):
    """The add form's day of receipt starts as the register's today (already the 25th in
    Helsinki at 23.30 UTC on the 24th), as the page writes dates; kept, the answer is due
    a month from it; changed to an earlier day, from that day."""
    import crm.models.base

    monkeypatch.setattr(crm.models.base, "utcnow",
                        lambda: datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    client = login_as("privacy")
    client.get(f"/lang/{locale}")
    page = client.get("/datasubjectrequestview/add").get_data(as_text=True)
    fields = dict(form_fields(page))
    assert fields["received_on"] == shown
    # Its calendar still ends today.
    assert f"&#34;latest&#34;: &#34;{latest}&#34;" in page
    response = client.post("/datasubjectrequestview/add", data=filled(form_fields(page), {
        "type": "access", "requester_name": "Tänään Tullut", "channel": "email"}))
    assert response.status_code == 302
    response = client.post("/datasubjectrequestview/add", data=filled(form_fields(page), {
        "type": "access", "requester_name": "Eilen Tullut", "channel": "letter",
        "received_on": "2026-11-02"}))
    assert response.status_code == 302
    requests = session.execute(sa.select(
        DataSubjectRequest.requester_name, DataSubjectRequest.received_on,
        DataSubjectRequest.due_on).order_by(DataSubjectRequest.id)).all()
    assert [tuple(r) for r in requests] == [
        ("Tänään Tullut", date(2026, 11, 25), date(2026, 12, 25)),
        ("Eilen Tullut", date(2026, 11, 2), date(2026, 12, 2))]


def test_the_edit_form_leaves_out_what_the_steps_and_the_deadline_own(session, login_as):
    """The status, identity, person and deadline change only through the steps; the day
    of receipt, which the deadline counts from, is shown above the form
    (tests/test_request_edits.py)."""
    pk = make_request(session, received_on=date(2026, 1, 5)).id
    session.commit()
    client = login_as("privacy")
    page = client.get(f"/datasubjectrequestview/edit/{pk}").get_data(as_text=True)
    assert field_names(page) & {"status", "received_on", "due_on", "extended_due_on",
                                "extension_reason", "contact", "delivered_at"} == set()


def test_open_requests_by_deadline_with_overdue_marked(session, login_as):
    today = date.today()
    overdue = make_request(session, requester_name="Myöhässä Olli",
                           received_on=today - timedelta(days=40))
    soon = make_request(session, requester_name="Pian Paula",
                        received_on=today - timedelta(days=20))
    extended = make_request(session, requester_name="Jatkettu Jaana",
                            received_on=today - timedelta(days=40),
                            extended_due_on=today + timedelta(days=30))
    make_request(session, requester_name="Valmis Ville", received_on=today - timedelta(days=90),
                 status=RequestStatus.completed)
    session.commit()
    for user in ("privacy", "dpo"):
        client = login_as(user)
        client.get("/lang/en")
        page = client.get("/requests/").get_data(as_text=True)
        assert page.index("Myöhässä Olli") < page.index("Pian Paula") < page.index(
            "Jatkettu Jaana")
        assert "Valmis Ville" not in page
        assert f'data-request="{overdue.id}" class="danger" data-overdue="1"' in page
        assert f'data-request="{soon.id}" data-overdue' not in page
        assert f'data-request="{extended.id}" data-overdue' not in page
        listing = client.get("/datasubjectrequestview/list/").get_data(as_text=True)
        assert listing.count("crm-overdue") == 1
    assert login_as("sales").get("/requests/").status_code == 403


def test_request_dates_read_as_the_user_writes_them(session, login_as):
    """Finnish users read 5.1.2026, English ones 05/01/2026 (British, not the US 1/5/26):
    not 2026-01-05."""
    received = date(2026, 1, 5)
    request = make_request(session, requester_name="Päivä Paula", received_on=received)
    session.commit()
    client = login_as("privacy")
    client.get("/lang/fi")
    for path in ("/requests/", f"/datasubjectrequestview/show/{request.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "5.2.2026" in page, path  # the answer is due a month after receipt
        assert "2026-02-05" not in page, path
    client.get("/lang/en")
    page = client.get("/requests/").get_data(as_text=True)
    assert "05/02/2026" in page and "2/5/26" not in page


def test_request_list_shows_the_answer_due_date_as_the_user_writes_dates(session, login_as):
    """The list's "answer due" column reads 5.2.2026 (05/02/2026 in English), not 2026-02-05."""
    make_request(session, requester_name="Päivä Paula", received_on=date(2026, 1, 5))
    session.commit()
    client = login_as("privacy")
    client.get("/lang/fi")
    listing = client.get("/datasubjectrequestview/list/").get_data(as_text=True)
    assert "5.2.2026" in listing
    assert "2026-02-05" not in listing
    client.get("/lang/en")
    listing = client.get("/datasubjectrequestview/list/").get_data(as_text=True)
    assert "05/02/2026" in listing and "2026-02-05" not in listing


# -- the DPO reads everything and changes nothing --------------------------------------

STEPS = {
    "verify": {"how": "Passport"},
    "extend": {"new_due_on": "2026-03-30", "reason": "Busy", "notified_on": "2026-02-01"},
    "link": {"contact_id": "CONTACT"},
    "rectify": {"field": "title", "value": "CEO", "reason": "Asked", "version": "1"},
    "erase": {"confirm": "y"},
    "objection": {"confirm": "y"},
    "deliver": {"how": "email", "outcome": "Done"},
    "reject": {"reason": "No", "how": "email"},
    "export": {"format": "json"},
}


def _state(session, pk: int) -> dict:
    session.expire_all()
    row = session.execute(sa.select(DataSubjectRequest.__table__)
                          .where(DataSubjectRequest.id == pk)).one()
    return dict(row._mapping)


@pytest.mark.parametrize("request_type", [RequestType.access, RequestType.erasure,
                                          RequestType.rectification, RequestType.objection])
def test_dpo_reads_requests_but_no_step_is_allowed(session, login_as, request_type):
    contact = make_contact(session)
    pk = make_request(session, type=request_type, contact=contact,
                      received_on=date(2026, 1, 20), identity_verified_how="Letter",
                      identity_verified_at=utcnow(), status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("dpo")
    client.get("/lang/en")
    page = _page(client, pk)
    assert "Handling the request" in page
    for form in ("verify-form", "extend-form", "export-form", "rectify-form", "erase-form",
                 "objection-form", "deliver-form", "reject-form", "crm-link"):
        assert form not in page, form
    # Searching the register for the requester is a step of handling (RequestDeskView).
    assert client.get(f"/requests/{pk}/find").status_code == 403
    before = _state(session, pk)
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    token = session_csrf_token(client)
    for step, data in STEPS.items():
        data = {k: str(contact.id) if v == "CONTACT" else v for k, v in data.items()}
        response = client.post(f"/requests/{pk}/{step}", data={"csrf_token": token, **data})
        assert response.status_code == 403, step
    assert _state(session, pk) == before
    # Nothing was even recorded as done (only as refused: crm.views.errors).
    not_done = ["view", "find", "login", "access_denied"]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action.not_in(not_done))) == session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action.not_in(not_done), AuditEvent.id <= events))


def _headings(page: str) -> dict[str, str]:
    """Return each step's heading (its title and state label) by step, tags left out."""
    return {step: re.sub(r"<[^>]+>", "", re.sub(r"\s+", " ", heading)).strip()
            for step, heading in re.findall(
                r'data-step="(\w+)".*?<h3 class="h4">(.*?)</h3>', page, re.S)}


@pytest.mark.parametrize("locale, up_next, not_yet, done, act", [
    ("fi", "Seuraavana vuorossa", "Ei vielä", "Hoidettu", "Seuraava vaihe"),
    ("en", "Up next", "Not yet", "Done", "Next step"),
])
def test_a_reader_sees_where_the_steps_stand_without_prompts_to_act(
        session, login_as, locale, up_next, not_yet, done, act):
    """The DPO may read a request but not act on it: each step's state, no call to act,
    no "verify first" hint, no button to search the register for the person."""
    pk = make_request(session, received_on=date(2026, 1, 20), identity_verified_how="Kirje",
                      identity_verified_at=utcnow(), status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("dpo")
    client.get(f"/lang/{locale}")
    page = _page(client, pk)
    assert _steps(page) == [("identity", "done"), ("person", "next"), ("carry_out", "todo"),
                            ("answer", "todo")]
    headings = _headings(page)
    assert headings["identity"].endswith(done)
    assert headings["person"].endswith(up_next)
    assert headings["carry_out"].endswith(not_yet) and headings["answer"].endswith(not_yet)
    assert act not in page
    assert 'id="carry-out-first"' not in page and 'id="find-person"' not in page
    # The privacy officer, who handles it, is still prompted and offered the search.
    privacy = login_as("privacy")
    privacy.get(f"/lang/{locale}")
    page = _page(privacy, pk)
    assert _headings(page)["person"].endswith(act)
    assert 'id="carry-out-first"' in page and 'id="find-person"' in page
    assert not_yet not in _headings(page)["answer"]


@pytest.mark.parametrize("step", list(STEPS))
def test_a_step_without_csrf_token_changes_nothing(session, login_as, step):
    pk = make_request(session, identity_verified_at=utcnow(), identity_verified_how="x",
                      status=RequestStatus.in_progress).id
    session.commit()
    before = _state(session, pk)
    response = login_as("privacy").post(f"/requests/{pk}/{step}", data=STEPS[step])
    assert response.status_code == 400
    assert _state(session, pk) == before


def test_steps_are_posts_only(session, login_as):
    pk = make_request(session).id
    session.commit()
    client = login_as("privacy")
    for step in STEPS:
        assert client.get(f"/requests/{pk}/{step}").status_code == 405, step


@pytest.mark.parametrize("recorded, required", [(None, True), ("Vastattu kirjeellä.", False)])
def test_the_answer_step_asks_for_the_outcome_unless_recorded(session, login_as, recorded,
                                                               required):
    """The request cannot be completed without an outcome: the form says so before it is
    sent, not only after."""
    pk = make_request(session, identity_verified_how="Letter", identity_verified_at=utcnow(),
                      status=RequestStatus.in_progress, outcome=recorded).id
    session.commit()
    page = _page(login_as("privacy"), pk)
    form = re.search(r'<form[^>]*id="deliver-form".*?</form>', page, re.S).group()
    outcome = re.search(r'<textarea[^>]*name="outcome"[^>]*>', form).group()
    assert (" required" in outcome) is required
