"""The audit trail as a CSV file (crm.views.audit_export): what the filters select, in
the reader's language, as Finnish Excel opens it, recorded in the trail itself."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.models import AuditEvent

URL = "/auditeventview/export.csv"
BASE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def trail(session):
    """Events of three kinds, a minute apart, the newest last."""
    rows = [("login", "sales", "User", "31", None, "password"),
            ("view", "support", "Contact", "32", None, None),
            ("update", "sales", "Contact", "33", ["email", "legal_hold"], None),
            ("view", "sales", "Contact", "34", None, None),
            # A detail a spreadsheet would take for a formula.
            ("view", "privacy", "Contact", "35", None, "=HYPERLINK(\"x\")")]
    ids = dict(session.execute(sa.select(User.username, User.id)).all())
    for minute, (action, actor, object_type, object_id, fields, detail) in enumerate(rows):
        session.add(AuditEvent(action=action, actor=actor, actor_id=ids[actor],
                               object_type=object_type,
                               object_id=object_id, fields=fields, detail=detail,
                               at=BASE + timedelta(minutes=minute)))
    session.commit()


def download(client, **filters) -> tuple[str, list[list[str]]]:
    """Return the file's text and its rows."""
    response = client.get(URL, query_string=filters)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="audit-trail-')
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    text = body.decode("utf-8-sig")
    return text, list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def exports(session) -> list[AuditEvent]:
    session.rollback()
    session.expire_all()
    return session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "export", AuditEvent.object_type == "AuditEvent")
        .order_by(AuditEvent.id)).all()


@pytest.mark.parametrize("user", ["privacy", "dpo"])
def test_the_download_holds_the_filtered_events_in_english(trail, signed_in, user):
    text, rows = download(signed_in(user), _flt_0_object_type="Contact")
    assert "\r\n" in text
    assert rows[0] == ["When", "Who", "Action", "Object", "Object id", "Fields", "Detail"]
    # Newest first, as the list; the sign-in is not a contact's event.
    assert [row[4] for row in rows[1:]] == ["35", "34", "33", "32"]
    update = rows[3]
    assert update[1:6] == ["sales", "Changed", "Contact", "33", "Email, Legal hold"]
    assert update[0] == "2 Mar 2026, 11:32:00"  # in the register's time zone
    # A would-be formula is text.
    assert rows[1][6] == "'=HYPERLINK(\"x\")"


def test_the_download_is_in_finnish_for_a_finnish_reader(trail, login_as):
    _text, rows = download(login_as("dpo"), _flt_0_action="update")
    assert rows[0] == ["Aika", "Tekijä", "Toiminto", "Kohde", "Kohteen tunniste", "Kentät",
                       "Tiedot"]
    assert rows[1][:5] == ["2.3.2026 11.32.00", "sales", "Muutettu", "Yhteyshenkilö", "33"]


def test_the_download_takes_every_filter_of_the_list(trail, signed_in):
    client = signed_in("privacy")
    # By name ("Sanna Myyjä" is sales), by action, by date.
    _text, rows = download(client, _flt_2_actor="myyjä", _flt_0_action="view")
    assert [row[4] for row in rows[1:]] == ["34"]
    _text, rows = download(client, _flt_0_at="2026-03-02", _flt_0_object_type="Contact")
    assert [row[4] for row in rows[1:]] == ["35", "34", "33", "32"]
    _text, rows = download(client, _flt_0_at="2026-03-01", _flt_0_object_type="Contact")
    assert rows[1:] == []


def test_the_list_offers_the_download_of_what_it_shows(trail, signed_in):
    client = signed_in("dpo")
    page = client.get("/auditeventview/list/", query_string={
        "_flt_0_action": "view", "page_AuditEventView": "0"}).get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"[^>]*id="audit-export"', page)
    assert link, "no download on the list"
    assert unescape(link.group(1)) == f"{URL}?_flt_0_action=view"
    assert "at most 100,000 per file" in page
    _text, rows = download(client, _flt_0_action="view")
    assert [row[4] for row in rows[1:]] == ["35", "34", "32"]


def test_a_download_is_recorded_and_read_out_in_the_trail(trail, signed_in, session):
    client = signed_in("dpo")
    download(client, _flt_0_action="view")
    [event] = exports(session)
    assert (event.actor, event.detail) == ("dpo", "audit trail CSV, 3 rows")
    assert event.fields == ["action", "actor", "at", "detail", "fields", "object_id",
                            "object_type"]
    page = client.get("/auditeventview/list/", query_string={
        "_flt_0_object_type": "AuditEvent"}).get_data(as_text=True)
    assert "Audit trail as CSV, 3 rows" in page
    # The next file holds the download before it, not itself.
    _text, rows = download(client, _flt_0_action="export")
    assert [row[6] for row in rows[1:]] == ["Audit trail as CSV, 3 rows"]


def test_a_file_holds_at_most_the_configured_rows_and_says_so(trail, signed_in, session, app,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "CRM_AUDIT_EXPORT_ROWS", 2)
    client = signed_in("privacy")
    _text, rows = download(client, _flt_0_object_type="Contact")
    assert [row[4] for row in rows[1:3]] == ["35", "34"]  # the newest
    assert len(rows) == 4 and len(rows[3]) == 1
    assert rows[3][0].startswith("The file holds the newest 2 events the filters select")
    assert exports(session)[-1].detail == "audit trail CSV, 2 rows, capped"
    page = client.get("/auditeventview/list/", query_string={
        "_flt_0_object_type": "AuditEvent"}).get_data(as_text=True)
    assert "Audit trail as CSV, the first 2 rows (the most a file holds)" in page
    # Exactly as many as the file holds: not cut.
    _text, rows = download(client, _flt_0_action="view", _flt_2_actor="sales")
    assert [row[4] for row in rows[1:]] == ["34"]


def test_a_large_trail_is_read_a_batch_at_a_time_without_losing_a_row(session, signed_in,
                                                                      monkeypatch):
    """Events recorded at the same moment continue where the last batch stopped."""
    monkeypatch.setattr("crm.views.audit_export.BATCH", 3)
    for i in range(10):
        session.add(AuditEvent(action="view", actor="sales", object_type="Contact",
                               object_id=str(100 + i), at=BASE + timedelta(minutes=i // 4)))
    session.commit()
    _text, rows = download(signed_in("dpo"), _flt_0_action="view")
    ids = [row[4] for row in rows[1:]]
    assert sorted(ids) == [str(100 + i) for i in range(10)]
    assert ids == ["109", "108", "107", "106", "105", "104", "103", "102", "101", "100"]


def test_the_limit_is_read_from_the_environment_and_a_wrong_one_refused(monkeypatch):
    from config import TestConfig

    monkeypatch.delenv("CRM_AUDIT_EXPORT_ROWS", raising=False)
    assert TestConfig("sqlite://").CRM_AUDIT_EXPORT_ROWS == 100_000
    monkeypatch.setenv("CRM_AUDIT_EXPORT_ROWS", "5000")
    assert TestConfig("sqlite://").CRM_AUDIT_EXPORT_ROWS == 5000
    for wrong in ("0", "lots"):
        monkeypatch.setenv("CRM_AUDIT_EXPORT_ROWS", wrong)
        with pytest.raises(ValueError, match="CRM_AUDIT_EXPORT_ROWS"):
            TestConfig("sqlite://")
