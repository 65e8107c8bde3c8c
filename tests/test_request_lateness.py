"""Requests answered late are marked so, on their page and in their list, and the list
filters them; open ones past their deadline keep their red "Overdue" (crm.services.requests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import DataSubjectRequest, RequestStatus
from crm.services.requests import answered_late, days_late
from tests.factories import make_request

LIST = "/datasubjectrequestview/list/"
LATE_FILTER = f"{LIST}?_flt_0_lateness="
DUE = date(2026, 11, 16)  # received 16.10.2026


def _answered(session, at: datetime | None, status=RequestStatus.completed, **overrides):
    return make_request(session, received_on=date(2026, 10, 16), status=status,
                        outcome="Vastattu." if at else None, delivered_at=at, **overrides)


# Helsinki is UTC+2 in November: its 17th begins at 22.00 UTC on the 16th.
@pytest.mark.parametrize("at, late", [
    (None, 0),
    (datetime(2026, 11, 10, 9, tzinfo=UTC), 0),
    (datetime(2026, 11, 16, 21, 59, tzinfo=UTC), 0),   # 23.59 on the due day
    (datetime(2026, 11, 16, 22, 0, tzinfo=UTC), 1),    # 00.00 the next day
    (datetime(2026, 11, 26, 10, 0, tzinfo=UTC), 10),   # the reviewer's #3
])
def test_days_late_count_the_days_after_the_deadline_on_the_registers_clock(session, at,
                                                                            late):
    request = _answered(session, at)
    assert days_late(request) == late
    # The list's filter says the same, in the database (SQLite and PostgreSQL alike).
    session.commit()
    found = session.scalars(sa.select(DataSubjectRequest.id).where(
        answered_late(session))).all()
    assert found == ([request.id] if late else [])


def test_an_extended_deadline_is_the_one_counted(session):
    extended = _answered(session, datetime(2026, 12, 1, 10, tzinfo=UTC),
                         extended_due_on=date(2026, 12, 20))
    late = _answered(session, datetime(2026, 12, 22, 10, tzinfo=UTC),
                     extended_due_on=date(2026, 12, 20))
    session.commit()
    assert (days_late(extended), days_late(late)) == (0, 2)
    assert session.scalars(sa.select(DataSubjectRequest.id).where(
        answered_late(session))).all() == [late.id]


@pytest.mark.parametrize("user", ["privacy", "dpo"])
@pytest.mark.parametrize("status", [RequestStatus.completed, RequestStatus.rejected])
def test_an_answer_given_late_is_marked_on_its_page_and_in_the_list(session, login_as, user,
                                                                   status):
    """The reviewer's #3, due 16.11.2026 and delivered 26.11.2026: its "Overdue" column
    was empty once delivered. A refusal is an answer, due the same day."""
    shown = "Answered 10 days late"
    late = _answered(session, datetime(2026, 11, 26, 10, tzinfo=UTC), status=status).id
    in_time = _answered(session, datetime(2026, 11, 12, 10, tzinfo=UTC), status=status).id
    session.commit()
    client = login_as(user)
    client.get("/lang/en")
    page = client.get(f"/datasubjectrequestview/show/{late}").get_data(as_text=True)
    summary = page.split('id="deadline"')[1].split("</p>")[0]
    assert 'class="label label-warning crm-answered-late" data-days-late="10"' in summary
    assert shown in summary
    page = client.get(f"/datasubjectrequestview/show/{in_time}").get_data(as_text=True)
    assert "crm-answered-late" not in page
    rows = _rows(client.get(LIST).get_data(as_text=True))
    assert shown in rows[late] and "crm-overdue" not in rows[late]
    assert "crm-answered-late" not in rows[in_time]
    # And when it was delivered.
    assert "26/11/2026" in rows[late]


def test_one_day_late_reads_in_the_singular(session, login_as):
    pk = _answered(session, datetime(2026, 11, 17, 8, tzinfo=UTC)).id
    session.commit()
    client = login_as("privacy")
    client.get("/lang/en")
    assert "Answered 1 day late" in _rows(client.get(LIST).get_data(as_text=True))[pk]


def test_an_open_request_past_its_deadline_keeps_its_overdue_mark(session, login_as):
    today = date.today()
    overdue = make_request(session, received_on=today - timedelta(days=40),
                           status=RequestStatus.in_progress).id
    session.commit()
    client = login_as("privacy")
    client.get("/lang/en")
    row = _rows(client.get(LIST).get_data(as_text=True))[overdue]
    assert '<span class="label label-danger crm-overdue">Overdue</span>' in row
    assert "crm-answered-late" not in row
    page = client.get(f"/datasubjectrequestview/show/{overdue}").get_data(as_text=True)
    assert "crm-overdue" in page and "crm-answered-late" not in page


@pytest.mark.parametrize("user", ["privacy", "dpo"])
def test_the_list_filters_the_answers_given_late(session, login_as, user):
    late = _answered(session, datetime(2026, 11, 26, 10, tzinfo=UTC)).id
    refused_late = _answered(session, datetime(2026, 11, 20, 10, tzinfo=UTC),
                             status=RequestStatus.rejected).id
    in_time = _answered(session, datetime(2026, 11, 12, 10, tzinfo=UTC)).id
    still_open = make_request(session, received_on=date.today() - timedelta(days=40)).id
    session.commit()
    client = login_as(user)
    client.get("/lang/en")
    listing = client.get(LIST).get_data(as_text=True)
    assert set(_rows(listing)) == {late, refused_late, in_time, still_open}
    # Offered in the filter box, under the "Overdue" column's name.
    assert "Answered late" in listing
    assert set(_rows(client.get(LATE_FILTER).get_data(as_text=True))) == {late, refused_late}


def test_lateness_reads_no_row_but_its_own(session, app):
    """The list's marks come from each row's own dates, its filter is one condition:
    no query per row."""
    for n in range(8):
        _answered(session, datetime(2026, 11, 20 + n % 5, 10, tzinfo=UTC))
    session.commit()
    requests = session.scalars(sa.select(DataSubjectRequest).order_by(DataSubjectRequest.id)).all()
    ran: list[str] = []

    def record(conn, cursor, statement, *args):
        ran.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        marks = [request.lateness for request in requests]
        late = session.scalars(sa.select(DataSubjectRequest.id).where(
            answered_late(session))).all()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert [mark.days_late for mark in marks] == [4, 5, 6, 7, 8, 4, 5, 6]
    assert len(late) == 8
    assert len(ran) == 1


def _rows(html: str) -> dict[int, str]:
    """Return the list's rows by request id."""
    rows = {}
    for row in html.split("<tr")[1:]:
        marker = 'href="/datasubjectrequestview/show/'
        if marker in row:
            rows[int(row.split(marker)[1].split('"')[0].split("?")[0])] = row
    return rows
