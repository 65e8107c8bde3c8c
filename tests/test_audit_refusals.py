"""Refused requests in the audit trail (DESIGN §9.5, §11): a signed-in user refused a
screen, record, export or API endpoint (403) is recorded, by method and path only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.extensions import db
from crm.models import AuditEvent
from tests.conftest import session_csrf_token
from tests.factories import make_contact, make_request
from tests.test_audit_trail import _filter_box_field

#: What a reader searched for, in an address's query: never recorded.
SEARCHED = "etsitty.henkilo@firma.example"


def refusals(session) -> list[AuditEvent]:
    session.rollback()
    session.expire_all()
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "access_denied")
                           .order_by(AuditEvent.id)).all()


def user_id(session, username: str) -> int:
    return session.scalar(sa.select(User.id).where(User.username == username))


def _stored(event: AuditEvent) -> str:
    return " ".join(str(v) for v in (event.actor, event.object_type, event.object_id,
                                      event.fields, event.detail))


@pytest.mark.parametrize(("user", "method", "url", "recorded"), [
    # A screen, its query holding what was searched.
    ("sales", "GET", f"/auditeventview/list/?_flt_2_actor={SEARCHED}", "GET /auditeventview/list/"),
    # A record.
    ("sales", "GET", "/datasubjectrequestview/show/{request}",
     "GET /datasubjectrequestview/show/{request}"),
    ("admin", "GET", "/contactview/show/{contact}", "GET /contactview/show/{contact}"),
    # An export.
    ("marketing", "GET", f"/auditeventview/export.csv?_flt_2_actor={SEARCHED}",
     "GET /auditeventview/export.csv"),
    ("sales", "GET", "/audience/export.csv", "GET /audience/export.csv"),
    # A change, refused by the CRM's own check (crm.views.imports).
    ("sales", "POST", "/imports/upload", "POST /imports/upload"),
    # FAB's REST API, which answers in JSON.
    ("support", "GET", "/api/v1/menu/", "GET /api/v1/menu/"),
])
def test_a_refused_request_is_recorded_by_who_method_and_path(session, login_as, user, method,
                                                             url, recorded):
    contact = make_contact(session)
    request = make_request(session, contact=contact)
    session.commit()
    ids = {"contact": contact.id, "request": request.id}
    client = login_as(user)
    before = len(refusals(session))
    if method == "POST":
        token = session_csrf_token(client)
        response = client.post(url.format(**ids), data={"csrf_token": token})
    else:
        response = client.get(url.format(**ids))
    assert response.status_code == 403
    events = refusals(session)[before:]
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.actor) == (user_id(session, user), user)
    assert event.detail == recorded.format(**ids)
    assert event.object_type is None and event.fields is None
    assert SEARCHED not in _stored(event) and "_flt_" not in _stored(event)


def test_a_part_of_the_path_that_could_be_typed_text_is_recorded_by_its_name(session,
                                                                             login_as):
    """FAB's file download takes any file name: a reader could type someone's address."""
    client = login_as("sales")
    assert client.get(f"/contactview/download/{SEARCHED}").status_code == 403
    [event] = refusals(session)
    assert event.detail == "GET /contactview/download/<filename>"
    assert SEARCHED not in _stored(event)


def test_only_a_signed_in_users_refusals_are_recorded(session, app, login_as):
    contact = make_contact(session)
    session.commit()
    anonymous = app.test_client()
    # Not signed in: sent to sign in (or 401 from the API), not refused.
    assert anonymous.get("/contactview/list/").status_code == 302
    assert anonymous.get("/auditeventview/export.csv").status_code == 302
    assert anonymous.get("/api/v1/menu/").status_code == 401
    assert anonymous.get("/health").status_code == 200
    sales = login_as("sales")
    # Allowed, missing, or a file: nothing refused.
    assert sales.get(f"/contactview/show/{contact.id}").status_code == 200
    assert sales.get("/contactview/show/999999").status_code == 404
    assert sales.get("/static/appbuilder/css/flags/flags16.css").status_code in (200, 404)
    assert refusals(session) == []


def test_the_same_refusal_is_recorded_once_a_minute(session, login_as):
    sales, support = login_as("sales"), login_as("support")
    for _ in range(3):
        assert sales.get("/auditeventview/list/").status_code == 403
    assert sales.get(f"/auditeventview/list/?_flt_2_actor={SEARCHED}").status_code == 403
    assert sales.get("/jobs/").status_code == 403
    assert support.get("/auditeventview/list/").status_code == 403
    recorded = [(e.actor, e.detail) for e in refusals(session)]
    assert recorded == [("sales", "GET /auditeventview/list/"), ("sales", "GET /jobs/"),
                        ("support", "GET /auditeventview/list/")]


def test_after_a_minute_the_same_refusal_is_recorded_again(session):
    from crm.services.audit import record_refusal

    actor = (user_id(session, "sales"), "sales")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert record_refusal(db.session, actor, "GET", "/jobs/", now=start) is not None
    assert record_refusal(db.session, actor, "GET", "/jobs/",
                          now=start + timedelta(seconds=59)) is None
    assert record_refusal(db.session, actor, "POST", "/jobs/",
                          now=start + timedelta(seconds=59)) is not None
    assert record_refusal(db.session, actor, "GET", "/jobs/",
                          now=start + timedelta(seconds=61)) is not None
    assert len(refusals(session)) == 3


@pytest.mark.parametrize("failure", [
    sa.exc.OperationalError("INSERT INTO audit_event", {}, Exception("database is locked")),
    RuntimeError("anything else"),
])
def test_a_refusal_that_cannot_be_recorded_still_gets_the_403_page(session, login_as,
                                                                  monkeypatch, failure):
    client = login_as("sales")

    def fail(*args, **kwargs):
        db.session.execute(sa.text("SELECT 1"))  # the failure leaves a transaction behind
        raise failure

    monkeypatch.setattr("crm.views.errors.record_refusal", fail)
    response = client.get("/auditeventview/list/", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert 'data-status="403"' in response.get_data(as_text=True)
    monkeypatch.undo()
    # The CRM goes on working, and records the next refusal.
    assert client.get("/contactview/list/").status_code == 200
    assert client.get("/jobs/").status_code == 403
    assert [e.detail for e in refusals(session)] == ["GET /jobs/"]


def test_the_trail_reads_a_refusal_as_access_denied_and_the_screen(session, login_as,
                                                                   signed_in):
    """The screen and what was tried, in words (crm.views.audit_trail), not the path."""
    contact = make_contact(session)
    session.commit()
    assert login_as("admin").get(f"/contactview/show/{contact.id}").status_code == 403
    [event] = refusals(session)
    client = signed_in("dpo")
    page = client.get("/auditeventview/list/",
                      query_string={"_flt_0_action": "access_denied"}).get_data(as_text=True)
    assert "Access denied" in page
    assert "Register › Contacts: viewing" in page
    assert f"GET /contactview/show/{contact.id}" not in page
    show = client.get(f"/auditeventview/show/{event.id}").get_data(as_text=True)
    assert "Access denied" in show and "Register › Contacts: viewing" in show
    # The filter box offers it among the actions, by its label.
    assert '<option value="access_denied">Access denied</option>' in _filter_box_field(
        page, "action")


def test_the_trail_reads_a_refusal_in_finnish(session, login_as):
    """Needs the Finnish translations compiled."""
    assert login_as("admin").get("/auditeventview/list/").status_code == 403
    page = login_as("privacy").get("/auditeventview/list/").get_data(as_text=True)
    assert "Pääsy estetty" in page and "Tietosuoja › Tapahtumaloki: " in page
