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
    from tests.conftest import csrf_token

    token = csrf_token(client, "/resetmypassword/form")
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
