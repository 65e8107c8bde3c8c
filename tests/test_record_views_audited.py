"""Who viewed what (DESIGN §9.5): every page of a record about a person is in the trail.

Opening the page of a contact, or of a record about one (a consent, a login id, where
the person came from, an activity, a callback request, a data subject request, a change
in the history) or of a user account, records a "view" of that very record, which the
audit trail reads in words and links to the record. Lists are not logged as views of a
record (each list page is one "view_list" event, tests/test_list_views_audited.py), nor
are the pages of records about no one (an organisation: a company; its Contacts tab is
such a list, and each person's own page is logged).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.models import AuditEvent, ContactChange, Provenance, Source, SourceKind
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_request,
)


@pytest.fixture
def records(session):
    """A person bought on a list, and one record of every kind about them."""
    source = Source(kind=SourceKind.purchased_list, name="Katselulista",
                    received_on=date(2026, 1, 5))
    session.add(source)
    organisation = make_organisation(session)
    contact = make_contact(session, organisation=organisation, source=source)
    provenance = Provenance(contact=contact, source=source, art14_due_on=date(2026, 2, 5))
    change = ContactChange(contact=contact, field="title", old_value="Vanha",
                           new_value="Uusi", changed_by="privacy",
                           changed_at=datetime.now(UTC))
    session.add_all([provenance, change])
    rows = {
        "Contact": contact, "Organisation": organisation, "Provenance": provenance,
        "ContactChange": change,
        "Consent": make_consent(session, contact),
        "Identifier": make_identifier(session, contact),
        "Activity": make_activity(session, contact),
        "CallbackRequest": make_callback_request(session, contact=contact),
        "DataSubjectRequest": make_request(session, contact=contact),
        "User": session.scalar(sa.select(User).where(User.username == "sales")),
    }
    session.commit()
    return {kind: row.id for kind, row in rows.items()}


def _views(session) -> list[tuple[str, str, str]]:
    session.rollback()
    return [tuple(row) for row in session.execute(
        sa.select(AuditEvent.actor, AuditEvent.object_type, AuditEvent.object_id)
        .where(AuditEvent.action == "view").order_by(AuditEvent.id))]


#: The record pages that show a person's data: object type -> (page, who opens it).
PERSONAL_PAGES = {
    "Contact": ("/contactview/show/{}", "sales"),
    "Consent": ("/consentview/show/{}", "marketing"),
    "Identifier": ("/identifierview/show/{}", "support"),
    "Provenance": ("/provenanceview/show/{}", "sales"),
    "Activity": ("/activityview/show/{}", "ar"),
    "CallbackRequest": ("/callbackrequestview/show/{}", "sales"),
    "DataSubjectRequest": ("/datasubjectrequestview/show/{}", "privacy"),
    "ContactChange": ("/contactchangeview/show/{}", "dpo"),
    "User": ("/users/show/{}", "admin"),
}


@pytest.mark.parametrize("kind", PERSONAL_PAGES)
def test_opening_a_record_about_a_person_records_a_view_of_that_record(
        session, login_as, records, kind):
    page, user = PERSONAL_PAGES[kind]
    client = login_as(user)
    before = _views(session)
    assert client.get(page.format(records[kind])).status_code == 200
    assert _views(session) == [*before, (user, kind, str(records[kind]))]


#: Lists, and the pages of records about no one.
UNLOGGED_PAGES = [
    ("/contactview/list/", "sales"), ("/consentview/list/", "marketing"),
    ("/activityview/list/", "sales"), ("/callbackrequestview/list/", "sales"),
    ("/datasubjectrequestview/list/", "privacy"), ("/provenanceview/list/", "sales"),
    ("/identifierview/list/", "privacy"), ("/users/list/", "admin"),
    ("/organisationview/show/{Organisation}", "sales"), ("/users/userinfo/", "sales"),
]


@pytest.mark.parametrize(("page", "user"), UNLOGGED_PAGES)
def test_lists_and_pages_about_no_one_are_not_logged_as_views(session, login_as, records,
                                                             page, user):
    client = login_as(user)
    before = _views(session)
    assert client.get(page.format(**records)).status_code == 200
    assert _views(session) == before


#: Each kind of record as the Finnish trail names it, and its page.
IN_WORDS = {
    "Consent": ("Suostumus", "/consentview/show/{}"),
    "Identifier": ("Tunniste", "/identifierview/show/{}"),
    "Provenance": ("Tietojen alkuperä", "/provenanceview/show/{}"),
    "Activity": ("Toimenpide", "/activityview/show/{}"),
}


def test_the_trail_reads_the_views_in_words_and_links_the_records(session, login_as,
                                                                  records):
    sales = login_as("sales")
    for kind in IN_WORDS:
        assert sales.get(IN_WORDS[kind][1].format(records[kind])).status_code == 200
    privacy = login_as("privacy")
    privacy.get("/lang/fi")
    # The person's own events (the contact page's link) hold the views of their records.
    page = privacy.get("/auditeventview/list/", query_string={
        "_flt_0_contact": records["Contact"], "_flt_0_action": "view"}).get_data(as_text=True)
    rows = [" ".join(row.split()) for row in page.split("<tr")[2:]]
    for kind, (label, url) in IN_WORDS.items():
        link = f'<a href="{url.format(records[kind])}">{records[kind]}</a>'
        assert any(f"<td>sales</td> <td>Katsottu</td> <td>{label}</td> <td>{link}</td>" in row
                   for row in rows), (kind, rows)
    # The home page's latest events: "sales: Katsottu (Suostumus)".
    home = " ".join(privacy.get("/").get_data(as_text=True).split())
    assert "sales: Katsottu (Toimenpide)" in home
