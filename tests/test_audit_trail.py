"""The audit trail (DESIGN §9.5): append-only, values never, readable by Privacy and the DPO."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from crm.extensions import db
from crm.jobs.runner import run_job
from crm.models import AuditEvent, JobStatus, RetentionPolicy
from crm.services.audit_labels import ACTIONS, OBJECT_TYPES
from tests.factories import make_contact, make_organisation
from tests.test_permissions import filled, form_fields

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _event(session, at: datetime, action: str = "view") -> int:
    event = AuditEvent(action=action, object_type="Contact", object_id="1", at=at)
    session.add(event)
    session.commit()
    return event.id


def _count(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("the database enforces the append-only trail on PostgreSQL only; SQLite, "
                    "the embedded single-machine default, has no such trigger (migration 0005)")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET detail = 'changed'",
    "UPDATE audit_event SET at = at - interval '10 years'",
    "DELETE FROM audit_event",
    "DELETE FROM audit_event WHERE id = :id",
])
def test_the_application_user_cannot_change_or_delete_audit_events(session, postgres_only,
                                                                   statement):
    pk = _event(session, datetime.now(UTC))
    old = _event(session, LONG_AGO)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(sa.text(statement), {"id": old})
    session.rollback()
    assert session.get(AuditEvent, pk).detail is None
    assert _count(session) == 2


def test_pruning_flag_alone_deletes_only_expired_events(session, postgres_only):
    recent = _event(session, datetime.now(UTC) - timedelta(days=30))
    old = _event(session, LONG_AGO)
    session.execute(sa.text("SET LOCAL crm.audit_pruning = 'on'"))
    with pytest.raises(DBAPIError, match="past their retention period"):
        session.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": recent})
    session.rollback()
    session.execute(sa.text("SET LOCAL crm.audit_pruning = 'on'"))
    session.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": old})
    session.commit()
    assert session.get(AuditEvent, recent) is not None
    assert session.get(AuditEvent, old) is None
    # The flag is local to its transaction: the next one is refused again.
    with pytest.raises(DBAPIError):
        session.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": recent})
    session.rollback()


def test_no_pruning_at_all_without_an_enabled_policy(session, postgres_only):
    old = _event(session, LONG_AGO)
    session.execute(sa.update(RetentionPolicy).where(RetentionPolicy.code == "audit_events")
                    .values(enabled=False))
    session.commit()
    session.execute(sa.text("SET LOCAL crm.audit_pruning = 'on'"))
    with pytest.raises(DBAPIError):
        session.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": old})
    session.rollback()


def test_the_pruning_job_still_prunes(app, session):
    """On both engines: the scheduled pruning deletes what its policy lets go, no more."""
    old, older = _event(session, LONG_AGO), _event(session, LONG_AGO - timedelta(days=9))
    recent = _event(session, datetime.now(UTC) - timedelta(days=100))
    outcome = run_job(app, "audit_pruning")
    assert outcome.status is JobStatus.succeeded, outcome.error
    assert outcome.counts["audit_events"] == 2
    session.expire_all()
    assert session.get(AuditEvent, old) is None and session.get(AuditEvent, older) is None
    assert session.get(AuditEvent, recent) is not None


# -- what is recorded --------------------------------------------------------------------


def test_views_changes_and_logins_are_recorded_with_field_names_only(session, login_as):
    contact = make_contact(session, email="seurattava@firma.example")
    session.commit()
    client = login_as("sales")
    client.get(f"/contactview/show/{contact.id}")
    page = client.get(f"/contactview/edit/{contact.id}").get_data(as_text=True)
    client.post(f"/contactview/edit/{contact.id}", data=filled(
        form_fields(page), {"email": "uusi.osoite@firma.example"}))
    session.expire_all()
    events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    kinds = [(e.action, e.object_type, e.actor) for e in events]
    assert ("login", "User", "sales") in kinds
    assert ("view", "Contact", "sales") in kinds
    assert ("update", "Contact", "sales") in kinds
    update = next(e for e in events if e.action == "update")
    # The field changed, not every field of the form.
    assert update.fields == ["email"] and update.object_id == str(contact.id)
    stored = " ".join(f"{e.fields} {e.detail} {e.object_id}" for e in events)
    assert "seurattava" not in stored and "uusi.osoite" not in stored


@pytest.mark.parametrize("user", ["privacy", "dpo"])
def test_audit_screen_filters_by_actor_action_object_and_date(session, login_as, user):
    for days, action, actor, object_id in [(1, "view", "sales", "11"), (2, "export", "privacy",
                                                                        "12"),
                                           (40, "view", "support", "13")]:
        session.add(AuditEvent(action=action, actor=actor, object_type="Contact",
                               object_id=object_id,
                               at=datetime.now(UTC) - timedelta(days=days)))
    session.commit()
    client = login_as(user)

    def listed(**filters) -> set[str]:
        page = client.get("/auditeventview/list/", query_string=filters).get_data(as_text=True)
        return {i for i in ("11", "12", "13") if f">{i}<" in page.replace(" ", "")
                .replace("\n", "")}

    assert listed() == {"11", "12", "13"}
    assert listed(_flt_0_action="export") == {"12"}
    assert listed(_flt_0_actor="support") == {"13"}
    assert listed(_flt_0_object_id="11") == {"11"}
    since = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%d %H:%M:%S")
    assert listed(_flt_1_at=since) == {"11", "12"}


@pytest.mark.parametrize("user", ["sales", "admin", "maintainer"])
def test_audit_screen_is_closed_to_others(login_as, user):
    assert login_as(user).get("/auditeventview/list/").status_code == 403


def test_nobody_edits_or_deletes_an_event_through_the_screens(session, login_as):
    pk = _event(session, datetime.now(UTC))
    client = login_as("privacy")
    from tests.conftest import session_csrf_token

    token = session_csrf_token(client)
    assert client.post(f"/auditeventview/delete/{pk}",
                       data={"csrf_token": token}).status_code == 403
    assert client.post(f"/auditeventview/edit/{pk}",
                       data={"csrf_token": token, "detail": "x"}).status_code == 403
    db.session.rollback()
    assert session.get(AuditEvent, pk).detail is None


def _recorded_codes() -> tuple[set[str], set[str]]:
    """Return the actions and literal object types passed to record_event( in crm/."""
    source = " ".join(p.read_text() for p in Path("crm").rglob("*.py"))
    actions = set(re.findall(r'record_event\(\s*"([a-z_]+)"', source))
    types = set(re.findall(r'record_event\([^)]*?object_type="([A-Za-z]+)"', source, re.S))
    return actions, types


def test_every_recorded_action_and_object_type_has_a_label():
    actions, types = _recorded_codes()
    assert {"login", "view", "create", "import"} <= actions
    assert actions <= set(ACTIONS), actions - set(ACTIONS)
    assert types <= set(OBJECT_TYPES), types - set(OBJECT_TYPES)


def test_audit_screen_and_home_panel_show_actions_and_objects_in_the_readers_language(
        session, login_as):
    session.add(AuditEvent(action="login", actor="sales", object_type="User", object_id="5"))
    session.add(AuditEvent(action="view", actor="sales", object_type="Contact", object_id="6"))
    session.commit()
    client = login_as("privacy")
    client.get("/lang/en")
    page = client.get("/auditeventview/list/").get_data(as_text=True)
    assert "Signed in" in page and "Viewed" in page
    assert ">login<" not in page.replace(" ", "").replace("\n", "")
    home = client.get("/").get_data(as_text=True)
    home = home.replace("</a>", "<")
    assert "sales: Viewed (Contact)<" in home and "sales: Signed in<" in home
    # Stored codes are unchanged and still filter the list.
    assert session.scalars(sa.select(AuditEvent.action)).all().count("login") >= 1
    filtered = client.get("/auditeventview/list/", query_string={"_flt_0_action": "view"})
    assert "Viewed" in filtered.get_data(as_text=True)
    client.get("/lang/fi")
    page = client.get("/auditeventview/list/").get_data(as_text=True)
    assert "Yhteyshenkilö" in page
    assert "sales: " in client.get("/").get_data(as_text=True)


# -- filtering by what the screen shows -----------------------------------------------------


def _filter_box_field(page: str, column: str) -> str:
    """Return the filter box's field of `column`, as the list page hands it to FAB's script."""
    fields = re.search(r"new AdminFilters\(\s*'#filter_form',\s*[^\n]*\n\s*(\{.*?\}),\n",
                       page, re.S)
    assert fields, "no filter box"
    return json.loads(fields.group(1))[column]


@pytest.fixture
def trail(session):
    """Return the object ids of a login, a view of a contact and an export of a request."""
    for action, object_type, object_id in [("login", "User", "21"), ("view", "Contact", "22"),
                                           ("export", "DataSubjectRequest", "23"),
                                           ("job", None, "24")]:
        session.add(AuditEvent(action=action, actor="sales", object_type=object_type,
                               object_id=object_id))
    session.commit()


def _listed(client, **filters) -> set[str]:
    page = client.get("/auditeventview/list/", query_string=filters).get_data(as_text=True)
    flat = page.replace(" ", "").replace("\n", "")
    return {i for i in ("21", "22", "23", "24") if f">{i}<" in flat}


@pytest.mark.parametrize("language, column, code, label", [
    ("fi", "action", "login", "Kirjautui sisään"),
    ("fi", "object_type", "Contact", "Yhteyshenkilö"),
    ("en", "action", "login", "Signed in"),
    ("en", "object_type", "DataSubjectRequest", "Data subject request"),
])
def test_the_filter_box_offers_actions_and_objects_by_their_labels(login_as, language, column,
                                                                   code, label):
    client = login_as("dpo")
    client.get(f"/lang/{language}")
    field = _filter_box_field(client.get("/auditeventview/list/").get_data(as_text=True), column)
    assert field.startswith("<select")
    assert f'<option value="{code}">{label}</option>' in field
    options = re.findall(r"<option[^>]*>([^<]*)</option>", field)
    labels = ACTIONS if column == "action" else OBJECT_TYPES
    assert len(options) == len(labels)
    assert options == sorted(options, key=str.casefold)  # a DPO scans them alphabetically


@pytest.mark.parametrize("user", ["privacy", "dpo"])
def test_a_filter_picked_by_label_finds_the_events_so_labelled(trail, login_as, user):
    client = login_as(user)  # Finnish, the default
    # As the select sends them: the stored code, "equal to" (0) or "not equal to" (1).
    assert _listed(client, _flt_0_action="login") == {"21"}
    assert _listed(client, _flt_0_object_type="Contact") == {"22"}
    assert _listed(client, _flt_1_action="login") == {"22", "23", "24"}
    # An event with no object type is not of the type named either.
    assert _listed(client, _flt_1_object_type="Contact") == {"21", "23", "24"}
    # The label typed into the address, as the list shows it, in any case.
    assert _listed(client, _flt_0_action="Kirjautui sisään") == {"21"}
    assert _listed(client, _flt_0_action="kirjautui SISÄÄN") == {"21"}
    assert _listed(client, _flt_0_object_type="Yhteyshenkilö") == {"22"}
    assert _listed(client, _flt_1_object_type="Yhteyshenkilö") == {"21", "23", "24"}
    assert _listed(client, _flt_0_action="Kirjautui") == set()  # a label, not a part of one


def test_an_address_saved_before_keeps_its_equal_and_not_equal(trail, login_as):
    """FAB's text filters had "equal to" at place 3 and "not equal to" at place 7."""
    client = login_as("dpo")
    assert _listed(client, _flt_3_action="login") == {"21"}
    assert _listed(client, _flt_7_object_type="Contact") == {"21", "23", "24"}
    # A text filter no longer offered is left out, as FAB leaves out any it does not know.
    assert _listed(client, _flt_6_action="login") == {"21", "22", "23", "24"}


def test_the_filter_stays_an_equality_on_the_stored_code(app, trail, login_as):
    """The trail is large: the filter is answered by the column's index, not by a scan."""
    client = login_as("dpo")
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        if "FROM audit_event" in statement:
            statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert _listed(client, _flt_0_action="Kirjautui sisään") == {"21"}
        assert _listed(client, _flt_0_object_type="Contact") == {"22"}
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    where = " ".join(s.split("WHERE", 1)[1] for s in statements if "WHERE" in s)
    assert "audit_event.action IN" in where and "audit_event.object_type =" in where
    assert "LIKE" not in where.upper() and "lower(" not in where


def test_an_edit_records_only_the_fields_it_changed(session, login_as):
    organisation = make_organisation(session, name="Kirjattava Oy")
    session.commit()
    client = login_as("privacy")  # edits an organisation's legal hold only
    page = client.get(f"/organisationview/edit/{organisation.id}").get_data(as_text=True)
    response = client.post(f"/organisationview/edit/{organisation.id}",
                           data=filled(form_fields(page), {"legal_hold": "y"}))
    assert response.status_code == 302
    session.expire_all()
    update = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert update.fields == ["legal_hold"]


# -- who saw or changed person X ----------------------------------------------------------


@pytest.fixture
def look_alikes(session):
    """Views of contacts 2, 20 and 25: a filter by id 2 must find only the first."""
    for object_id, actor in [("2", "nahnyt"), ("20", "eikatsonut"), ("25", "eihankaan")]:
        session.add(AuditEvent(action="view", actor=actor, object_type="Contact",
                               object_id=object_id))
    session.commit()


def _actors(client, **filters) -> set[str]:
    page = client.get("/auditeventview/list/", query_string=filters).get_data(as_text=True)
    return {a for a in ("nahnyt", "eikatsonut", "eihankaan") if a in page}


@pytest.mark.parametrize(("language", "equal"), [("fi", "Yhtä kuin"), ("en", "Equal to")])
def test_an_object_id_is_filtered_exactly(look_alikes, login_as, language, equal):
    """Who looked at person 2 names nobody who looked at persons 20 and 25."""
    client = login_as("dpo")
    client.get(f"/lang/{language}")
    assert _actors(client, _flt_0_object_type="Contact", _flt_0_object_id="2") == {"nahnyt"}
    assert _actors(client, _flt_0_object_id="25") == {"eihankaan"}
    # An address saved when "equal to" was the id's fourth filter means the same.
    assert _actors(client, _flt_3_object_id="2") == {"nahnyt"}
    # "Equal to" is the id's only filter in the filter box.
    page = client.get("/auditeventview/list/").get_data(as_text=True)
    offered = re.search(r'"object_id": (\[[^\]]*\])', page.split("new AdminFilters", 1)[1])
    assert json.loads(offered.group(1)) == [equal]


def _contact_with_records(session):
    """Return a contact whose records have events, and the event ids of another person."""
    from tests.factories import (
        make_activity,
        make_callback_request,
        make_consent,
        make_identifier,
        make_request,
    )

    person = make_contact(session, first_name="Seurattu", last_name="Henkilö")
    other = make_contact(session, first_name="Toinen", last_name="Henkilö")
    session.flush()
    records = [make_activity(session, person), make_consent(session, person),
               make_identifier(session, person),
               make_callback_request(session, contact=person),
               make_request(session, contact=person)]
    other_activity = make_activity(session, other)
    session.flush()
    session.add(AuditEvent(action="view", actor="katsoja", object_type="Contact",
                           object_id=str(person.id)))
    for record in records:
        session.add(AuditEvent(action="update", actor=f"muokkaaja{type(record).__name__}",
                               object_type=type(record).__name__, object_id=str(record.id)))
    session.add(AuditEvent(action="view", actor="vieras", object_type="Contact",
                           object_id=str(other.id)))
    session.add(AuditEvent(action="update", actor="vieraanmuokkaaja", object_type="Activity",
                           object_id=str(other_activity.id)))
    # Another kind's record with the person's id is not theirs.
    session.add(AuditEvent(action="view", actor="organisaationkatsoja",
                           object_type="Organisation", object_id=str(person.id)))
    session.commit()
    return person, [f"muokkaaja{type(r).__name__}" for r in records]


@pytest.mark.parametrize(("language", "link"), [("fi", "Tapahtumaloki"),
                                                ("en", "Audit trail")])
def test_a_contacts_page_links_to_the_events_of_the_person_and_their_records(
        session, login_as, language, link):
    person, record_actors = _contact_with_records(session)
    client = login_as("privacy")
    client.get(f"/lang/{language}")
    page = client.get(f"/contactview/show/{person.id}").get_data(as_text=True)
    found = re.search(r'<a href="([^"]+)" id="contact-audit-trail">\s*<i[^>]*></i>\s*([^<]+)</a>',
                      page)
    assert found and found.group(2).strip() == link
    listed = client.get(found.group(1).replace("&amp;", "&")).get_data(as_text=True)
    for actor in ["katsoja", *record_actors]:
        assert actor in listed
    for actor in ("vieras", "vieraanmuokkaaja", "organisaationkatsoja"):
        assert actor not in listed


@pytest.mark.parametrize("user", ["sales", "marketing", "comms", "ar", "support", "privacy",
                                  "dpo", "admin", "maintainer"])
def test_only_the_audit_trails_readers_get_the_link_to_a_persons_events(session, login_as,
                                                                        user):
    person = make_contact(session, first_name="Linkitetty", last_name="Henkilö")
    session.commit()
    client = login_as(user)
    response = client.get(f"/contactview/show/{person.id}")
    readers = user in ("privacy", "dpo")
    if user in ("admin", "maintainer"):  # no contact data at all
        assert response.status_code != 200
    else:
        assert response.status_code == 200
        assert ('id="contact-audit-trail"' in response.get_data(as_text=True)) == readers
    target = client.get("/auditeventview/list/", query_string={"_flt_0_contact": person.id})
    assert (target.status_code == 200) == readers


def _object_cell(page: str, object_id: str) -> str:
    flat = page.replace("\n", "")
    found = re.search(rf"<td>\s*(<a href=\"[^\"]*\">{object_id}</a>|{object_id})\s*</td>", flat)
    assert found, object_id
    return found.group(1)


@pytest.mark.parametrize("language", ["fi", "en"])
def test_an_events_object_links_to_its_record_while_the_reader_may_open_it(
        session, login_as, language):
    shown = make_contact(session, first_name="Näkyvä", last_name="Henkilö")
    gone = make_contact(session, first_name="Poistettu", last_name="Henkilö")
    session.flush()
    gone.anonymised_at = datetime.now(UTC)
    for object_id in (shown.id, gone.id, 987654):
        session.add(AuditEvent(action="view", actor="sales", object_type="Contact",
                               object_id=str(object_id)))
    session.commit()
    client = login_as("dpo")
    client.get(f"/lang/{language}")
    page = client.get("/auditeventview/list/").get_data(as_text=True)
    assert _object_cell(page, str(shown.id)) == (
        f'<a href="/contactview/show/{shown.id}">{shown.id}</a>')
    # An anonymised contact has no page, nor one never recorded: their ids are text.
    assert _object_cell(page, str(gone.id)) == str(gone.id)
    assert _object_cell(page, "987654") == "987654"
    assert "Näkyvä" not in page  # the id, never a name
    event = session.scalars(sa.select(AuditEvent.id).where(
        AuditEvent.object_id == str(shown.id))).one()
    show = client.get(f"/auditeventview/show/{event}").get_data(as_text=True)
    assert f'<a href="/contactview/show/{shown.id}">{shown.id}</a>' in show


@pytest.mark.parametrize(("language", "scheduler", "command", "title", "run"), [
    ("fi", "Ajastus", "Komentorivi", "Tapahtumalokin karsinta", "ajokerta"),
    ("en", "Scheduler", "Command line", "Audit trail pruning", "run"),
])
def test_a_jobs_event_names_the_job_and_who_started_it(app, session, login_as, language,
                                                       scheduler, command, title, run):
    from crm.jobs.scheduler import SCHEDULER_ACTOR

    scheduled = run_job(app, "audit_pruning", trigger="schedule", actor=SCHEDULER_ACTOR)
    by_hand = run_job(app, "audit_pruning", trigger="command")
    client = login_as("privacy")
    client.get(f"/lang/{language}")
    home = client.get("/").get_data(as_text=True).replace("</a>", "<")
    assert f"{scheduler}: {title} ({run} {scheduled.run_id})<" in home
    assert f"{command}: {title} ({run} {by_hand.run_id})<" in home
    page = client.get("/auditeventview/list/", query_string={"_flt_0_action": "job"})
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.get_data(as_text=True), re.S)
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                     row, re.S)]
             for row in rows]
    by_run = {row[-3]: row for row in cells if len(row) > 4}
    assert scheduler in by_run[str(scheduled.run_id)]
    assert command in by_run[str(by_hand.run_id)]
    assert any(cell.startswith(title) for cell in by_run[str(scheduled.run_id)])


@pytest.mark.parametrize(("language", "reasons"), [
    ("fi", ["Tunnistuspalveluun ei saatu yhteyttä", "Ei missään ryhmässä, joka antaa pääsyn",
            "Väärä käyttäjätunnus tai salasana"]),
    ("en", ["The identity provider could not be reached", "In no group that gives access",
            "Wrong username or password"]),
])
def test_a_failed_sign_in_says_why_in_the_list(app, session, login_as, language, reasons):
    from tests.conftest import csrf_token

    session.add(AuditEvent(action="login_failed", object_type="User", detail="unavailable"))
    session.add(AuditEvent(action="login_refused", object_type="User", object_id="3",
                           detail="no_mapped_group"))
    session.commit()
    stranger = app.test_client()
    stranger.post("/login/", data={"username": "dpo", "password": "arvattu-väärin",
                                   "csrf_token": csrf_token(stranger, "/login/")})
    assert session.scalar(sa.select(AuditEvent.detail).where(
        AuditEvent.action == "login_failed", AuditEvent.detail != "unavailable")) == "password"
    client = login_as("dpo")
    client.get(f"/lang/{language}")
    page = client.get("/auditeventview/list/").get_data(as_text=True)
    for reason in reasons:
        assert reason in page


def test_a_persons_events_are_found_through_the_object_index(session, is_postgres):
    """One query, each of its parts answered by the index on (object type, object id):
    the trail is large and a DPO asks of one person."""
    from crm.views.audit_filters import contact_events

    query = sa.select(AuditEvent.id).where(contact_events(7))
    compiled = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if is_postgres:
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(sa.text(f"EXPLAIN {compiled}")))
        assert "ix_audit_event_object" in plan and "Seq Scan on audit_event" not in plan
    else:
        plan = "\n".join(row[-1] for row in session.execute(
            sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "ix_audit_event_object" in plan
        assert not re.search(r"SCAN audit_event\b(?! USING)", plan), plan
    session.rollback()


@pytest.mark.parametrize(("language", "list_heading", "event_heading"), [
    ("fi", "Tapahtumaloki", "Lokitapahtuma"), ("en", "Audit trail", "Audit event")])
def test_an_events_page_is_headed_as_one_event_and_the_list_as_the_trail(
        session, login_as, language, list_heading, event_heading):
    pk = _event(session, datetime.now(UTC))
    client = login_as("privacy")
    client.get(f"/lang/{language}")
    h1 = re.compile(r"<h1[^>]*>\s*(.*?)\s*</h1>", re.S)
    assert h1.search(client.get("/auditeventview/list/").text)[1] == list_heading
    assert h1.search(client.get(f"/auditeventview/show/{pk}").text)[1] == event_heading


@pytest.mark.parametrize(("typed", "found"), [
    ("Seurattu Henkilö", "person"), ("seur", "person"), ("HENKILÖ SEUR", "person"),
    ("henkilö", "both"), ("Tuntematon", "nobody")])
def test_a_persons_events_are_found_by_their_name_as_by_their_number(session, login_as,
                                                                     typed, found):
    """The filter said nothing and found nothing when a name was typed: only a number."""
    person, record_actors = _contact_with_records(session)
    session.commit()
    client = login_as("privacy")
    listed = client.get("/auditeventview/list/", query_string={
        "_flt_0_contact": typed}).get_data(as_text=True)
    by_number = client.get("/auditeventview/list/", query_string={
        "_flt_0_contact": person.id}).get_data(as_text=True)
    persons = ["katsoja", *record_actors]
    others = ["vieras", "vieraanmuokkaaja"]
    assert all(actor in by_number for actor in persons)
    assert all((actor in listed) == (found != "nobody") for actor in persons)
    assert all((actor in listed) == (found == "both") for actor in others)
    assert "organisaationkatsoja" not in listed  # an organisation is no person
