"""An activity's date moves the contact's retention clock: it cannot be a day to come.

A call logged as "25.11.2062" instead of 2026 set the contact's last activity decades
ahead, so retention, which counts from it, would have kept the person for decades,
and correcting the activity did not move the clock back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Activity, ActivityKind, Contact
from crm.services.contacts import touch_contact
from tests.conftest import csrf_token
from tests.factories import make_contact
from tests.test_contact_forms import field_errors

ADD = "/activityview/add"
MESSAGE = "Toimenpidettä ei voi kirjata päivälle, joka on vasta tulossa."


def log_call(client, contact: Contact, when: str):
    return client.post(ADD, data={"contact": str(contact.id), "kind": "call",
                                  "subject": "Soitto", "occurred_at": when,
                                  "csrf_token": csrf_token(client, ADD)})


def test_an_activity_in_a_year_to_come_is_refused_and_the_clock_kept(session, login_as):
    before = datetime.now(UTC) - timedelta(days=400)
    contact = make_contact(session, last_activity_at=before)
    session.commit()
    response = log_call(login_as("sales"), contact, "25.11.2062 10.00")
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "occurred_at") == [MESSAGE]
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
    assert db.session.get(Contact, contact.id).last_activity_at == before


def test_tomorrow_is_refused_and_today_taken(session, login_as):
    contact = make_contact(session, last_activity_at=datetime.now(UTC) - timedelta(days=9))
    session.commit()
    client = login_as("sales")
    tomorrow = datetime.now(UTC) + timedelta(days=2)
    response = log_call(client, contact, tomorrow.strftime("%Y-%m-%d 09:00"))
    assert field_errors(response.get_data(as_text=True), "occurred_at") == [MESSAGE]
    earlier = datetime.now(UTC) - timedelta(hours=3)
    assert log_call(client, contact, earlier.strftime("%Y-%m-%d %H:%M")).status_code == 302


def test_an_activity_later_today_counts_from_now(session):
    contact = make_contact(session, last_activity_at=datetime.now(UTC) - timedelta(days=9))
    later = datetime.now(UTC) + timedelta(minutes=30)
    touch_contact(Activity(contact=contact, kind=ActivityKind.meeting, subject="Palaveri",
                           occurred_at=later))
    assert contact.last_activity_at <= datetime.now(UTC) < later
