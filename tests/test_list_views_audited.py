"""Who viewed lists of people (DESIGN §9.5): a list page about people is in the trail.

Each list whose rows are about people (the contacts, their consents, login ids,
provenance, activities, callback requests, data subject requests, change history, the
user accounts; an organisation's Contacts and Activities tabs) is recorded once per
page shown, with the people on it, for every role that may read it: the trail's person
filter then finds the list for each of them. A reload within a minute is not recorded
again, a list refused is recorded as the refusal only, the filters are named but their
values never kept, and anonymising a person leaves nothing of them in these events.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.exc import DBAPIError

from crm.jobs.runner import run_job
from crm.models import (
    AuditEvent,
    AuditEventPerson,
    Contact,
    ContactChange,
    JobStatus,
    Provenance,
    Source,
    SourceKind,
)
from crm.privacy.anonymise import anonymise_contact
from crm.security import roles
from crm.services.demo import DEMO_USERS
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_request,
)
from tests.test_anonymise import PERSON, dump, leftovers, seed_person

#: role -> the demo user holding it.
USER_OF = {role: username for username, (role, *_names) in DEMO_USERS.items()}


@pytest.fixture
def people(session):
    """Two people of one organisation, with a record of every kind, and records of
    people not in the register and of no one: list -> (rows, people) shown."""
    source = Source(kind=SourceKind.purchased_list, name="Listalista",
                    received_on=date(2026, 1, 5))
    session.add(source)
    org = make_organisation(session)
    first = make_contact(session, organisation=org, source=source)
    second = make_contact(session, organisation=org)
    session.add_all([Provenance(contact=first, source=source, art14_due_on=date(2026, 2, 5)),
                     ContactChange(contact=first, field="title", old_value="Vanha",
                                   new_value="Uusi", changed_by="privacy",
                                   changed_at=datetime.now(UTC))])
    make_identifier(session, first)
    make_consent(session, first)
    make_consent(session, second)
    make_activity(session, first, organisation=org)
    make_activity(session, None, organisation=org)  # the company's, about no one
    make_callback_request(session, contact=first)
    stranger_call = make_callback_request(session)  # someone not in the register
    make_request(session, contact=first)
    stranger_request = make_request(session)
    session.commit()
    a, b = ("Contact", first.id), ("Contact", second.id)
    users = {("User", pk) for pk in session.scalars(sa.select(User.id))}
    return {
        "first": first.id, "org": org.id,
        "ContactView": (2, {a, b}), "IdentifierView": (1, {a}),
        "ConsentView": (2, {a, b}), "ProvenanceView": (1, {a}),
        "ActivityView": (2, {a}),
        "CallbackRequestView": (2, {a, ("CallbackRequest", stranger_call.id)}),
        "DataSubjectRequestView": (2, {a, ("DataSubjectRequest", stranger_request.id)}),
        "ContactChangeView": (1, {a}), "CrmUserDBModelView": (len(users), users),
    }


#: Each list of people: (its view, its address, the resource whose readers open it).
LISTS = [
    ("ContactView", "/contactview/list/", roles.CONTACT),
    ("IdentifierView", "/identifierview/list/", roles.IDENTIFIER),
    ("ConsentView", "/consentview/list/", roles.CONSENT),
    ("ProvenanceView", "/provenanceview/list/", roles.PROVENANCE),
    ("ActivityView", "/activityview/list/", roles.ACTIVITY),
    ("CallbackRequestView", "/callbackrequestview/list/", roles.CALLBACK_REQUEST),
    ("DataSubjectRequestView", "/datasubjectrequestview/list/", roles.DATA_SUBJECT_REQUEST),
    ("ContactChangeView", "/contactchangeview/list/", roles.CONTACT_CHANGE),
    ("CrmUserDBModelView", "/users/list/", roles.USER_ADMIN),
]


def _readers(resource: str) -> list[str]:
    return [role for role in roles.ROLES if roles.READ in roles.role_actions(role, resource)]


READABLE = [(view, url, role) for view, url, resource in LISTS for role in _readers(resource)]
REFUSED = [(view, url, role) for view, url, resource in LISTS
           for role in roles.ROLES if role not in _readers(resource)]


def _events(session, action: str = "view_list") -> list[AuditEvent]:
    session.rollback()
    session.expire_all()
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)).all()


def _shown(session, event: AuditEvent) -> set[tuple[str, int]]:
    return set(session.execute(sa.select(AuditEventPerson.object_type,
                                         AuditEventPerson.object_id)
                               .where(AuditEventPerson.event_id == event.id)).tuples())


def _found_by_person_filter(login_as, person, event: AuditEvent) -> bool:
    page = login_as("privacy").get("/auditeventview/list/", query_string={
        "_flt_0_contact": person, "_flt_0_action": "view_list"}).get_data(as_text=True)
    return f"/auditeventview/show/{event.id}" in page


@pytest.mark.parametrize(("view", "url", "role"), READABLE)
def test_opening_a_list_of_people_records_who_saw_whom_once_a_minute(
        session, login_as, people, view, url, role):
    user = USER_OF[role]
    client = login_as(user)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # a reload within the minute
    [event] = _events(session)
    rows, shown = people[view]
    assert event.actor == user
    assert event.detail.startswith(f"list {view} rows={rows} people={len(shown)} ")
    assert (event.object_type, event.object_id, event.fields) == (None, None, None)
    assert _shown(session, event) == shown
    if view != "CrmUserDBModelView":  # user accounts are no contacts
        assert _found_by_person_filter(login_as, people["first"], event)


#: An organisation's tabs that list its people: (view, the resource they need).
TABS = [("ContactView", roles.CONTACT), ("ActivityView", roles.ACTIVITY)]


@pytest.mark.parametrize(("view", "role"), [
    (view, role) for view, resource in TABS for role in _readers(resource)
    if role in _readers(roles.ORGANISATION)])
def test_an_organisations_tab_of_its_people_is_recorded_as_a_list_of_that_organisation(
        session, login_as, people, view, role):
    client = login_as(USER_OF[role])
    assert client.get(f"/organisationview/show/{people['org']}").status_code == 200
    [event] = [e for e in _events(session) if e.detail.startswith(f"list {view} ")]
    assert (event.object_type, event.object_id) == ("Organisation", str(people["org"]))
    assert _shown(session, event) == people[view][1]
    assert _found_by_person_filter(login_as, people["first"], event)


def test_a_contacts_own_tabs_are_not_lists_of_other_people(session, login_as, people):
    """Their page is recorded as a view of the person; its tabs are about them only."""
    client = login_as("privacy")
    assert client.get(f"/contactview/show/{people['first']}").status_code == 200
    assert _events(session) == []
    [view] = _events(session, "view")
    assert (view.object_type, view.object_id) == ("Contact", str(people["first"]))


def test_the_same_list_with_other_rows_is_recorded_again(session, login_as, people):
    client = login_as("sales")
    assert client.get("/contactview/list/").status_code == 200
    assert client.get("/contactview/list/?psize_ContactView=1").status_code == 200
    assert client.get("/contactview/list/").status_code == 200  # the first page again
    assert [len(_shown(session, e)) for e in _events(session)] == [2, 1]


def test_an_empty_list_shows_no_one_and_is_not_recorded(session, login_as, people):
    client = login_as("sales")
    assert client.get("/contactview/list/?_flt_0_last_name=Eiketään").status_code == 200
    assert _events(session) == []


@pytest.mark.parametrize(("view", "url", "role"), REFUSED)
def test_a_list_the_role_may_not_read_records_only_the_refusal(session, login_as, people,
                                                               view, url, role):
    client = login_as(USER_OF[role])
    assert client.get(url).status_code == 403
    assert _events(session) == []
    assert [e.detail for e in _events(session, "access_denied")] == [f"GET {url}"]


def test_the_filters_are_named_and_their_values_never_kept(session, login_as, signed_in,
                                                           people):
    first = session.get(Contact, people["first"])
    last_name, email = first.last_name, first.email
    client = login_as("sales")
    assert client.get("/contactview/list/", query_string={
        "_flt_0_last_name": last_name, "q": email}).status_code == 200
    [event] = _events(session)
    assert event.fields == ["last_name", "q"]
    stored = " ".join(str(value) for value in (event.actor, event.object_type,
                                              event.object_id, event.fields, event.detail))
    assert last_name not in stored and email not in stored
    assert _shown(session, event) == {("Contact", first.id)}
    # The trail names the filters as the forms do.
    row = signed_in("privacy").get(f"/auditeventview/show/{event.id}").get_data(as_text=True)
    assert "Last name, Search box" in row


def test_anonymising_a_person_leaves_none_of_their_values_in_list_events(app, session,
                                                                        login_as):
    seeded = seed_person(session, expired=False)
    client = login_as("privacy")
    for query in ({"_flt_0_last_name": PERSON["last_name"]}, {"q": PERSON["email"]},
                  {}):
        assert client.get("/contactview/list/", query_string=query).status_code == 200
    assert client.get("/callbackrequestview/list/").status_code == 200
    assert client.get("/datasubjectrequestview/list/").status_code == 200
    assert any(("Contact", seeded.contact_id) in _shown(session, e) for e in _events(session))
    assert anonymise_contact(session, seeded.contact_id, "erasure") is True
    session.commit()
    trail = {name: rows for name, rows in dump().items()
             if name in ("audit_event", "audit_event_person")}
    assert trail["audit_event_person"]
    assert leftovers(trail) == []


def test_the_pruning_job_prunes_the_people_with_their_events(app, session, login_as, people):
    assert login_as("sales").get("/contactview/list/").status_code == 200
    [event] = _events(session)
    long_ago = datetime.now(UTC) - timedelta(days=4000)
    session.execute(sa.insert(AuditEvent).values(at=long_ago, action="view_list",
                                                 actor="sales", detail="list ContactView "
                                                 "rows=1 people=1"))
    old = session.scalar(sa.select(sa.func.max(AuditEvent.id)))
    session.execute(sa.insert(AuditEventPerson).values(event_id=old, object_type="Contact",
                                                       object_id=people["first"]))
    session.commit()
    assert run_job(app, "audit_pruning").status is JobStatus.succeeded
    session.expire_all()
    remaining = set(session.scalars(sa.select(AuditEventPerson.event_id)))
    assert remaining == {event.id}


# -- the trail reads them in words ---------------------------------------------------------


def _rows(page: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in page.split("<tr")[2:]]


def test_the_trail_reads_a_list_shown_in_words_and_its_page_links_the_people(
        session, login_as, signed_in, people):
    assert login_as("sales").get("/contactview/list/").status_code == 200
    assert login_as("sales").get("/consentview/list/").status_code == 200
    contacts, consents = _events(session)
    client = signed_in("privacy")
    page = client.get("/auditeventview/list/", query_string={
        "_flt_0_action": "view_list"}).get_data(as_text=True)
    rows = _rows(page)
    assert any("Viewed a list" in row and "Viewed the list Contacts: 2 people" in row
               for row in rows), rows
    assert any("Viewed the list Consents: 2 rows, 2 people" in row for row in rows), rows
    show = client.get(f"/auditeventview/show/{contacts.id}").get_data(as_text=True)
    assert "People shown" in show
    for pk in sorted(pk for _kind, pk in people["ContactView"][1]):
        assert f'<a href="/contactview/show/{pk}">{pk}</a>' in show
    # The people themselves are named by id only, never by name.
    assert session.get(Contact, people["first"]).last_name not in show
    assert consents.id  # (both recorded)


def test_the_trail_names_the_organisation_whose_tab_was_shown(session, signed_in, people):
    client = signed_in("sales")
    assert client.get(f"/organisationview/show/{people['org']}").status_code == 200
    page = signed_in("privacy").get("/auditeventview/list/", query_string={
        "_flt_0_action": "view_list"}).get_data(as_text=True)
    org = people["org"]
    assert f'<a href="/organisationview/show/{org}">{org}</a>' in page
    assert any("Organisation" in row and "Viewed the list Contacts: 2 people" in row
               for row in _rows(page))


# -- refusals in words ---------------------------------------------------------------------


@pytest.mark.parametrize(("user", "url", "words"), [
    ("admin", "/contactview/edit/{first}", "Register › Contacts: editing"),
    ("admin", "/contactview/show/{first}", "Register › Contacts: viewing"),
    ("sales", "/users/list/", "Security › Users: list"),
    ("sales", "/auditeventview/list/", "Privacy › Audit trail: list"),
    ("sales", "/datasubjectrequestview/add", "Privacy › Data subject requests: adding"),
    ("sales", "/jobs/", "Privacy › Scheduled jobs"),
    ("sales", "/contactchangeview/list/", "Change history: list"),
])
def test_the_trail_reads_a_refusal_by_its_screen_and_what_was_tried(
        session, login_as, signed_in, people, user, url, words):
    url = url.format(**people)
    assert login_as(user).get(url).status_code == 403
    assert len(_events(session, "access_denied")) == 1
    page = signed_in("privacy").get("/auditeventview/list/", query_string={
        "_flt_0_action": "access_denied"}).get_data(as_text=True)
    row = next(row for row in _rows(page) if user in row)
    assert words in row, row
    assert f"GET {url}" not in row


def test_a_refused_records_page_links_the_record_for_whoever_may_open_it(
        session, login_as, signed_in, people):
    first = people["first"]
    assert login_as("admin").get(f"/contactview/edit/{first}").status_code == 403
    [event] = _events(session, "access_denied")
    link = f'<a href="/contactview/show/{first}">{first}</a>'
    for reader in ("privacy", "dpo"):
        client = signed_in(reader)
        row = client.get("/auditeventview/list/", query_string={
            "_flt_0_action": "access_denied"}).get_data(as_text=True)
        assert link in row and "Contact" in row
        show = client.get(f"/auditeventview/show/{event.id}").get_data(as_text=True)
        assert link in show and "Register › Contacts: editing" in show
    csv = signed_in("dpo").get("/auditeventview/export.csv", query_string={
        "_flt_0_action": "access_denied"}).get_data(as_text=True)
    assert f";Contact;{first};;Register › Contacts: editing" in csv


def test_the_trail_reads_a_refusal_in_finnish_by_the_screens_finnish_names(
        session, login_as, people):
    """Needs the Finnish translations compiled."""
    assert login_as("admin").get(f"/contactview/edit/{people['first']}").status_code == 403
    client = login_as("privacy")
    client.get("/lang/fi")
    page = client.get("/auditeventview/list/").get_data(as_text=True)
    assert "Rekisteri › Yhteyshenkilöt: " in page and "Yhteyshenkilö" in page


def test_a_path_no_screen_names_is_read_as_stored(session, signed_in):
    from crm.extensions import db
    from crm.services.audit import record_refusal

    actor = (session.scalar(sa.select(User.id).where(User.username == "sales")), "sales")
    record_refusal(db.session, actor, "GET", "/api/v1/menu/")
    record_refusal(db.session, actor, "GET", "/no/such/page")
    page = signed_in("privacy").get("/auditeventview/list/").get_data(as_text=True)
    assert "GET /api/v1/menu/" in page and "GET /no/such/page" in page


def test_the_person_filter_finds_the_lists_through_the_index_of_their_people(session,
                                                                           is_postgres):
    """The trail is large and a DPO asks of one person: the lists that showed them are
    found by the index on (object type, object id) of the people shown."""
    from crm.views.audit_filters import contact_events

    query = sa.select(AuditEvent.id).where(contact_events(7))
    compiled = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN" if is_postgres else "EXPLAIN QUERY PLAN"
    if is_postgres:
        # A list of 5,000 people, analysed: PostgreSQL plans by what a table holds.
        session.execute(sa.insert(AuditEvent).values(action="view_list"))
        session.execute(sa.text(
            "INSERT INTO audit_event_person (event_id, object_type, object_id) "
            "SELECT (SELECT max(id) FROM audit_event), 'Contact', n "
            "FROM generate_series(1, 5000) AS n"))
        session.execute(sa.text("ANALYZE audit_event_person"))
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(str(row[-1]) for row in session.execute(sa.text(f"{explain} {compiled}")))
    assert "ix_audit_event_person_object" in plan, plan
    assert "Seq Scan on audit_event_person" not in plan
    assert not re.search(r"SCAN audit_event_person\b(?! USING)", plan), plan
    session.rollback()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event_person SET object_id = object_id + 1",
    "DELETE FROM audit_event_person",
])
def test_the_people_of_a_list_are_append_only_on_postgresql(session, login_as, people,
                                                            is_postgres, statement):
    """As the events (migrations 0005, 0017): only the pruning deletes them."""
    if not is_postgres:
        pytest.skip("the database enforces the append-only trail on PostgreSQL only")
    assert login_as("sales").get("/contactview/list/").status_code == 200
    [event] = _events(session)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(sa.text(statement))
    session.rollback()
    assert _shown(session, event) == people["ContactView"][1]


@pytest.mark.parametrize("user, url, make", [
    ("sales", "/contactview/list/", lambda session: make_contact(session)),
    ("privacy", "/datasubjectrequestview/list/", lambda session: make_request(session)),
])
def test_recording_a_list_costs_no_query_per_row(session, login_as, user, url, make):
    """Recording the page commits its event; the rows the page then renders are not
    read again one by one (they would be if the commit expired them)."""
    from tests.test_list_speed import statements

    client = login_as(user)
    for _ in range(3):
        make(session)
    session.commit()
    _, few = statements(client, url)
    for _ in range(20):
        make(session)
    session.commit()
    _, many = statements(client, url)  # other rows: recorded again
    assert sum("INSERT INTO audit_event " in s for s in many) == 1
    assert len(many) == len(few), many


def test_a_persons_access_export_holds_the_lists_that_showed_them(session, login_as, people):
    """Art. 15: who saw the person's data includes the lists they were on, by role."""
    from crm.privacy.export import build_access_export

    login_as("sales").get("/contactview/list/")
    login_as("marketing").get("/consentview/list/")
    by_list = {e.detail.split()[1]: e for e in _events(session)}
    contacts_list, consents_list = by_list["ContactView"], by_list["ConsentView"]
    session.expire_all()
    export = build_access_export(session, people["first"])
    exported = {e["id"]: e for e in export["records"]["audit_event"]}
    assert {contacts_list.id, consents_list.id} <= set(exported)
    assert exported[contacts_list.id]["actor"] == "Sales"
    assert exported[contacts_list.id]["action"] == "view_list"
