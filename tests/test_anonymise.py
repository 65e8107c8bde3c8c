"""Anonymisation is complete and irreversible: the person gone from every table.

One invented person is seeded into every table that can hold data about them, among
other people; every table is dumped (all rows, all columns) before and after. After,
none of the person's values is anywhere, every row not about them is unchanged, and
the aggregates (organisation, source, dates, kinds) are still there.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User

from crm.extensions import db
from crm.jobs.runner import run_job
from crm.models import (
    AuditEvent,
    CallbackRequest,
    CallbackStatus,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    JobRun,
    JobStatus,
    Provenance,
    Purpose,
    RequestStatus,
    RequestType,
    Source,
    SourceKind,
    UserSession,
)
from crm.privacy.anonymise import (
    ContactAnonymiser,
    StaleContact,
    anonymise_contact,
    anonymise_contacts,
)
from crm.privacy.suppression import hmac_pads, is_suppressed, suppression_hash
from crm.security.sessions import SERIALIZER
from crm.services.audit import record_event
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_request,
)

LONG_AGO = datetime.now(UTC) - timedelta(days=1200)

#: The person's values: invented and distinctive, so a search for them finds only them.
PERSON = {
    "first_name": "Zyxwena",
    "last_name": "Qörtilä-Vrantz",
    "title": "Chief Zyx Officer",
    "email": "Zyxwena.Qortila@vrantz-zyx.example",
    "alt_email": "zq.private@zyxhome.example",
    "phone": "+358401239871",
    "mobile": "+358457654329",
    "street_address": "Kvartsizyxkuja 17 B 4",
    "postal_code": "99871",
    "city": "Zyxvaara",
    "notes": "Zyxwena prefers calls after three",
    "relationship_notes": "Met Zyxwena at the Zyx fair",
}
IDENTIFIERS = ("zyxwena-login-7781", "cookie-zyx-5f3a9c")
ACTIVITY_TEXT = "Zyxwena Qörtilä-Vrantz asked about SSO pricing"
CONSENT_EVIDENCE = "Signed by Zyxwena on the Zyx fair form"
#: Searched for as text in every column of every row, lower-cased. (The postal code is
#: five digits, as found in any timestamp's microseconds: it is checked by column.)
SECRETS = [*(v for k, v in PERSON.items() if k != "postal_code"), *IDENTIFIERS,
           ACTIVITY_TEXT, CONSENT_EVIDENCE, "qortila", "zyxwena", "qörtilä", "358401239871",
           "358457654329", "zyxhome"]
#: Tables whose rows a run adds or changes besides those about the person.
RUN_TABLES = {"job_run", "audit_event", "job_lock", "suppression_entry"}


@dataclass
class Seeded:
    contact_id: int
    others: list[int]
    #: table -> primary keys of the rows about the person (changed or deleted by anonymisation).
    about: dict[str, set] = field(default_factory=dict)


def _pk(table: sa.Table, row) -> tuple:
    return tuple(row._mapping[c.name] for c in table.primary_key.columns)


def dump() -> dict[str, dict[tuple, tuple]]:
    """Return every row of every table: table -> primary key -> all column values."""
    db.session.expire_all()
    result = {}
    for table in Model.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).all()
        result[table.name] = {_pk(table, row): tuple(row) for row in rows}
    return result


def _visible(value: object) -> str:
    """Return `value` as text the way a reader would see it: JSON and URL escapes undone."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), str(value))
    return f"{text} {unquote_plus(text)}".lower()


def leftovers(tables: dict[str, dict[tuple, tuple]]) -> list[str]:
    """Return where any of the person's values still appears."""
    found = []
    for name, rows in tables.items():
        for pk, row in rows.items():
            text = " ".join(_visible(value) for value in row)
            for secret in SECRETS:
                if secret.lower() in text:
                    found.append(f"{name} {pk}: {secret}")
    return found


def seed_person(session, *, expired: bool = True) -> Seeded:
    """Seed the person into every table that can hold data about them, and others beside."""
    user_id = session.scalar(sa.select(User.id).where(User.username == "sales"))
    bought = Source(kind=SourceKind.purchased_list, name="Zyx list 2026", supplier="Lists Oy",
                    received_on=date.today() - timedelta(days=40), file_hash="f" * 64)
    session.add(bought)
    home = make_organisation(session, customer_status=CustomerStatus.prospect,
                             billing_email=PERSON["alt_email"])
    other_org = make_organisation(session, customer_status=CustomerStatus.prospect)
    person = make_contact(session, organisation=home, source=bought,
                          last_activity_at=LONG_AGO if expired else datetime.now(UTC),
                          **PERSON)
    person.purposes = [session.scalar(sa.select(Purpose).where(Purpose.code == "new_business"))]
    seeded = Seeded(person.id, [])
    about = seeded.about
    about["contact"] = {(person.id,)}
    about["organisation"] = {(home.id,)}
    about["contact_purpose"] = {(person.id, p.id) for p in person.purposes}
    about["identifier"] = {(make_identifier(session, person, identifier=i).id,)
                           for i in IDENTIFIERS}
    about["consent"] = {(make_consent(session, person, evidence=CONSENT_EVIDENCE).id,)}
    provenance = Provenance(contact=person, source=bought,
                            art14_due_on=date.today() + timedelta(days=3))
    session.add(provenance)
    session.flush()
    about["provenance"] = {(provenance.id,)}
    about["activity"] = {(make_activity(session, person, organisation=home,
                                        subject="Call with Zyxwena", body=ACTIVITY_TEXT,
                                        occurred_at=LONG_AGO).id,)}
    linked = make_callback_request(session, contact=person, name="Zyxwena Q",
                                   email=PERSON["email"], phone=PERSON["phone"],
                                   message="Call Zyxwena back", organisation_name="Vrantz Zyx")
    by_phone = make_callback_request(session, name="Z. Qörtilä-Vrantz", phone=PERSON["mobile"],
                                     status=CallbackStatus.done)
    about["callback_request"] = {(linked.id,), (by_phone.id,)}
    request = make_request(session, contact=person, requester_name="Zyxwena Qörtilä-Vrantz",
                           requester_email=PERSON["email"], status=RequestStatus.completed,
                           identity_verified_how="Zyxwena showed a passport",
                           outcome="Sent Zyxwena her data")
    by_email = make_request(session, type=RequestType.objection, requester_name="Z. Q.",
                            requester_email=PERSON["alt_email"].upper(),
                            status=RequestStatus.rejected)
    about["data_subject_request"] = {(request.id,), (by_email.id,)}
    history = Model.metadata.tables.get("contact_change")
    if history is not None:  # the rectification history (data subject rights)
        session.execute(history.insert().values(
            contact_id=person.id, field="email", old_value="zyxwena.old@zyxhome.example",
            new_value=PERSON["email"], reason="Zyxwena asked", changed_at=datetime.now(UTC)))
        about["contact_change"] = {(i,) for i in session.scalars(
            sa.select(history.c.id).where(history.c.contact_id == person.id))}
    record_event("view", person, session=session, commit=False)
    record_event("update", person, fields=["email", "phone"], session=session, commit=False)
    session.add(JobRun(job="retention", status=JobStatus.succeeded, counts={"prospects": 3},
                       started_at=LONG_AGO, finished_at=LONG_AGO))
    now = datetime.now(UTC)
    mentioning = UserSession(
        key_hash="a" * 64, user_id=user_id, expires_at=now + timedelta(hours=8),
        data=SERIALIZER.dumps({"_user_id": str(user_id), "page_history": [
            "http://localhost/contactview/list/?q=Zyxwena.Qortila%40vrantz-zyx.example",
            "http://localhost/contactview/list/?_flt_0_last_name=Q%C3%B6rtil%C3%A4-Vrantz",
            "http://localhost/contactview/list/?q=%2B358457654329",
            "http://localhost/organisationview/list/"]}))
    unrelated = UserSession(key_hash="b" * 64, user_id=user_id,
                            expires_at=now + timedelta(hours=8),
                            data=SERIALIZER.dumps({
                                "_user_id": str(user_id),
                                "page_history": ["http://localhost/contactview/list/?q=Aino"]}))
    session.add_all([mentioning, unrelated])
    about["user_session"] = {("a" * 64,)}

    # Others: in the same organisation and elsewhere, with rows of every kind.
    for org in (home, other_org):
        other = make_contact(session, organisation=org, first_name="Aino", last_name="Muu",
                             email=f"aino.muu{org.id}@muu.example",
                             notes="Ei mitään erityistä")
        make_identifier(session, other)
        make_consent(session, other)
        make_activity(session, other, organisation=org)
        make_callback_request(session, contact=other, email=other.email)
        make_request(session, contact=other, requester_name="Aino Muu",
                     status=RequestStatus.completed)
        seeded.others.append(other.id)
    make_callback_request(session, name="Joku Muu", phone="+358409998877")
    session.commit()
    return seeded


def assert_only_person_changed(before: dict, after: dict, seeded: Seeded) -> None:
    for table, rows in before.items():
        about = seeded.about.get(table, set())
        for pk, row in rows.items():
            if pk in about or table in RUN_TABLES:
                continue
            assert after[table].get(pk) == row, f"{table} {pk} changed"
        added = set(after[table]) - set(rows)
        if table not in RUN_TABLES:
            assert not added, f"rows added to {table}: {added}"


def run_retention(app, **kwargs):
    outcome = run_job(app, "retention", **kwargs)
    assert outcome.status is JobStatus.succeeded, outcome.error
    return outcome


# -- the tests -------------------------------------------------------------------

def test_retention_leaves_nothing_of_the_person_and_everyone_else_untouched(app, session):
    seeded = seed_person(session)
    before = dump()
    assert leftovers(before), "the seeding should have put the person's values in place"

    outcome = run_retention(app)

    after = dump()
    assert leftovers(after) == []
    assert_only_person_changed(before, after, seeded)
    assert outcome.counts["prospects"] == 1
    # Deleted: identifiers, consents, purposes.
    for table in ("identifier", "consent", "contact_purpose"):
        assert not seeded.about[table] & set(after[table])


def test_aggregates_remain_after_anonymisation(app, session):
    seeded = seed_person(session)
    before = session.get(Contact, seeded.contact_id)
    org_id, source_id, created = before.organisation_id, before.source_id, before.created_at
    run_retention(app)
    session.expire_all()
    contact = session.get(Contact, seeded.contact_id)
    assert contact.anonymised_at is not None
    assert (contact.organisation_id, contact.source_id, contact.created_at) == (
        org_id, source_id, created)
    assert str(contact) == f"#{contact.id}"
    assert contact.postal_code is None and contact.street_address is None
    # Per organisation, per month, per source: the counts are what they were.
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)
                          .where(Contact.organisation_id == org_id)) == 2
    activity = contact.activities[0]
    assert activity.kind is not None and activity.organisation_id == org_id
    assert activity.occurred_at.date() == LONG_AGO.date()
    assert session.scalar(sa.select(sa.func.count()).select_from(Provenance)
                          .where(Provenance.source_id == source_id)) == 1
    # The request's record of having been handled stays, without the requester.
    request = session.scalar(sa.select(DataSubjectRequest)
                             .where(DataSubjectRequest.contact_id == contact.id))
    assert request.status is RequestStatus.completed and request.requester_name == ""
    # The audit trail still says who looked at the record; it never held values.
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.object_type == "Contact", AuditEvent.object_id == str(contact.id))) == 2


def test_suppression_entries_keep_an_import_from_bringing_the_person_back(app, session):
    seed_person(session)
    run_retention(app)
    for kind, value in (("email", PERSON["email"]), ("email", PERSON["email"].upper()),
                        ("email", PERSON["alt_email"]), ("phone", PERSON["phone"]),
                        ("phone", PERSON["mobile"])):
        assert is_suppressed(session, kind, value), (kind, value)
    assert not is_suppressed(session, "email", "someone.else@muu.example")


def test_suppression_hash_in_sql_matches_the_python_one(app, session):
    """PostgreSQL hashes in SQL (HMAC from sha256()); it must equal the Python HMAC."""
    contact = make_contact(session, email="Ärrä.Ÿksi@Example.ORG", phone=" +358401112223 ")
    session.commit()
    anonymise_contacts(session, [contact.id], reason="erasure")
    session.commit()
    assert is_suppressed(session, "email", "ärrä.ÿksi@example.org")
    assert is_suppressed(session, "phone", "+358401112223")


def test_hmac_pads_follow_rfc_2104_for_long_keys():
    import hashlib
    import hmac

    key = "k" * 100  # longer than a SHA-256 block: hashed first
    inner, outer = hmac_pads(key)
    message = b"email:x@y.example"
    manual = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).digest()
    assert manual == hmac.new(key.encode(), message, hashlib.sha256).digest()
    assert suppression_hash("email", "X@y.example", key) == manual


def test_anonymise_contact_for_one_person(app, session):
    seeded = seed_person(session, expired=False)
    before = dump()
    contact = session.get(Contact, seeded.contact_id)
    assert anonymise_contact(session, contact.id, "erasure") is True
    session.commit()
    after = dump()
    assert leftovers(after) == []
    assert_only_person_changed(before, after, seeded)
    assert contact.anonymised_at is not None  # the ORM object was refreshed
    assert anonymise_contact(session, contact.id, "erasure") is False
    entry_reasons = set(session.scalars(sa.text("SELECT DISTINCT reason FROM suppression_entry")))
    assert entry_reasons == {"erasure"}


def test_anonymise_contact_refuses_a_changed_version(app, session):
    contact = make_contact(session)
    session.commit()
    with pytest.raises(StaleContact):
        anonymise_contact(session, contact.id, "erasure", expected_version=contact.version + 5)
    session.rollback()
    assert session.get(Contact, contact.id).anonymised_at is None


def test_delete_policy_removes_the_person_and_their_rows(app, session):
    from crm.models import RetentionAction, RetentionPolicy

    seeded = seed_person(session)
    session.execute(sa.update(RetentionPolicy).where(RetentionPolicy.code == "prospects")
                    .values(action=RetentionAction.delete))
    session.commit()
    run_retention(app)
    after = dump()
    assert leftovers(after) == []
    assert (seeded.contact_id,) not in after["contact"]
    assert not seeded.about["activity"] & set(after["activity"])
    for other in seeded.others:
        assert (other,) in after["contact"]
    callback = session.get(CallbackRequest, next(iter(seeded.about["callback_request"]))[0])
    assert callback.contact_id is None


def test_a_second_run_changes_nothing(app, session):
    seed_person(session)
    run_retention(app)
    before = dump()
    outcome = run_retention(app)
    after = dump()
    assert outcome.counts == {"callbacks": 0, "former_customers": 0, "prospects": 0}
    for table in before:
        if table not in ("job_run", "audit_event", "job_lock"):
            assert after[table] == before[table], table


def test_a_dry_run_changes_nothing(app, session):
    seed_person(session)
    before = dump()
    outcome = run_retention(app, dry_run=True)
    after = dump()
    assert outcome.counts["prospects"] == 1
    for table in before:
        if table not in ("job_run", "audit_event", "job_lock"):
            assert after[table] == before[table], table
    run = session.get(JobRun, outcome.run_id)
    assert run.dry_run is True and run.status is JobStatus.succeeded


def test_nothing_personal_in_logs_counts_or_errors(app, session, caplog, monkeypatch):
    seed_person(session)
    caplog.set_level(logging.DEBUG, logger="crm")
    caplog.set_level(logging.DEBUG, logger="apscheduler")
    run_retention(app)
    run_retention(app, dry_run=True)
    assert caplog.records, "the job should have logged something"

    # A failure whose database message quotes a value: neither the run nor the log keep it.
    seed_person_again = make_contact(session, email="quoted.zyxwena@zyxhome.example",
                                     last_activity_at=LONG_AGO)
    session.commit()
    assert seed_person_again.id

    def fail(*args, **kwargs):
        raise sa.exc.IntegrityError(
            "INSERT INTO suppression_entry ...", {"email": "quoted.zyxwena@zyxhome.example"},
            Exception('duplicate key value violates unique constraint: '
                      'Key (email)=(quoted.zyxwena@zyxhome.example) already exists'))

    monkeypatch.setattr(ContactAnonymiser, "__call__", fail)
    outcome = run_job(app, "retention")
    assert outcome.status is JobStatus.failed
    assert outcome.error == "IntegrityError (Exception)"
    text = caplog.text.lower()
    for secret in SECRETS:
        assert secret.lower() not in text, secret
    runs = session.scalars(sa.select(JobRun)).all()
    stored = " ".join(f"{r.counts} {r.error}" for r in runs).lower()
    assert "zyxwena" not in stored and "zyxhome" not in stored
    assert "zyxwena" not in " ".join(
        str(e.detail) for e in session.scalars(sa.select(AuditEvent))).lower()


def test_job_uses_the_configured_suppression_key(app, session):
    contact = make_contact(session, last_activity_at=LONG_AGO)
    email = contact.email
    session.commit()
    run_retention(app)
    key = current_app.config["CRM_SUPPRESSION_KEY"]
    assert session.scalar(sa.text("SELECT count(*) FROM suppression_entry WHERE key_hash = :h"),
                          {"h": suppression_hash("email", email, key)}) == 1


def test_every_table_that_points_at_a_contact_has_a_declared_treatment():
    """A new table holding rows about contacts must say what anonymisation does to it."""
    from crm.privacy.anonymise import TREATMENT

    pointing = {table.name for table in Model.metadata.sorted_tables
                for fk in table.foreign_keys if fk.column.table.name == "contact"}
    assert pointing <= set(TREATMENT), pointing - set(TREATMENT)
