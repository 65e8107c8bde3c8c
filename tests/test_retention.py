"""The retention job: policies as data, legal hold, batches, concurrent edits, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from crm.extensions import db
from crm.jobs.runner import INTERRUPTED, run_job
from crm.models import (
    CallbackRequest,
    CallbackStatus,
    ClockStart,
    Contact,
    CustomerStatus,
    JobRun,
    JobStatus,
    RecordKind,
    RequestStatus,
    RetentionPolicy,
)
from crm.services.retention import expiring_contacts, forecast
from tests.conftest import csrf_token, field_errors, session_csrf_token
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_request,
)
from tests.test_permissions import form_fields

NOW = datetime.now(UTC)


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def retention(app, **kwargs):
    outcome = run_job(app, "retention", **kwargs)
    assert outcome.status is JobStatus.succeeded, outcome.error
    return outcome


def anonymised(session, contact) -> bool:
    session.expire_all()
    return session.get(Contact, contact.id).anonymised_at is not None


def set_policy(session, code: str, **values) -> None:
    session.execute(sa.update(RetentionPolicy).where(RetentionPolicy.code == code)
                    .values(**values))
    session.commit()


# -- which records expire -----------------------------------------------------------

def test_prospects_expire_after_24_months_of_silence(app, session):
    prospect = make_organisation(session, customer_status=CustomerStatus.prospect)
    customer = make_organisation(session, customer_status=CustomerStatus.customer)
    silent = make_contact(session, organisation=prospect, last_activity_at=days_ago(731))
    recent = make_contact(session, organisation=prospect, last_activity_at=days_ago(700))
    no_org = make_contact(session, organisation=None, last_activity_at=days_ago(800))
    customers_person = make_contact(session, organisation=customer,
                                    last_activity_at=days_ago(2000))
    session.commit()
    outcome = retention(app)
    assert outcome.counts["prospects"] == 2
    assert anonymised(session, silent) and anonymised(session, no_org)
    assert not anonymised(session, recent)
    assert not anonymised(session, customers_person)


def test_former_customers_expire_five_years_after_the_relationship_ended(app, session):
    ended_long_ago = make_organisation(session, customer_status=CustomerStatus.former_customer,
                                       relationship_end=(NOW - timedelta(days=1830)).date())
    ended_lately = make_organisation(session, customer_status=CustomerStatus.former_customer,
                                     relationship_end=(NOW - timedelta(days=700)).date())
    old = make_contact(session, organisation=ended_long_ago, last_activity_at=days_ago(10))
    newer = make_contact(session, organisation=ended_lately, last_activity_at=days_ago(1900))
    session.commit()
    outcome = retention(app)
    assert outcome.counts["former_customers"] == 1
    assert anonymised(session, old) and not anonymised(session, newer)


def test_callback_requests_that_led_nowhere_are_deleted_after_six_months(app, session):
    old = make_callback_request(session, status=CallbackStatus.no_result,
                                received_at=days_ago(200))
    young = make_callback_request(session, status=CallbackStatus.no_result,
                                  received_at=days_ago(100))
    done = make_callback_request(session, status=CallbackStatus.done, received_at=days_ago(900))
    session.commit()
    ids = (old.id, young.id, done.id)
    outcome = retention(app)
    assert outcome.counts["callbacks"] == 1
    session.expire_all()
    assert [session.get(CallbackRequest, i) is not None for i in ids] == [False, True, True]


@pytest.mark.parametrize("hold", ["contact", "organisation", "open request"])
def test_a_legal_hold_stops_the_clock(app, session, hold):
    org = make_organisation(session, customer_status=CustomerStatus.prospect,
                            legal_hold=hold == "organisation")
    held = make_contact(session, organisation=org, last_activity_at=days_ago(900),
                        legal_hold=hold == "contact")
    if hold == "open request":
        request = make_request(session, contact=held, status=RequestStatus.in_progress)
    other = make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    assert [r.due_now for r in forecast(session) if r.code == "prospects"] == [1]
    outcome = retention(app)
    assert outcome.counts["prospects"] == 1
    assert anonymised(session, other) and not anonymised(session, held)
    # Lifting the hold starts the clock again: the next run takes the person.
    if hold == "contact":
        held.legal_hold = False
    elif hold == "organisation":
        org.legal_hold = False
    else:
        request.status = RequestStatus.completed
    session.commit()
    retention(app)
    assert anonymised(session, held)


def test_policies_are_data_the_privacy_officer_edits(app, session, login_as):
    contact = make_contact(session, last_activity_at=days_ago(60))
    session.commit()
    policy = session.scalar(sa.select(RetentionPolicy).where(RetentionPolicy.code == "prospects"))
    client = login_as("privacy")
    url = f"/retentionpolicyview/edit/{policy.id}"
    form = {"name": policy.name, "period_days": "30", "action": "anonymise", "enabled": "y",
            "description": "Shortened for the test", "csrf_token": csrf_token(client, url)}
    assert client.post(url, data={**form, "period_days": "0"}).status_code == 200  # refused
    session.expire_all()
    assert session.get(RetentionPolicy, policy.id).period_days == 730
    assert client.post(url, data=form).status_code == 302
    session.expire_all()
    assert session.get(RetentionPolicy, policy.id).period_days == 30
    sales = login_as("sales")
    form["csrf_token"] = session_csrf_token(sales)
    assert sales.post(url, data=form).status_code == 403
    retention(app)
    assert anonymised(session, contact)


def test_a_policy_form_explains_enabled_and_refuses_a_non_number_once(app, session,
                                                                     login_as):
    """The "enabled" box says what it does; "abc" as the period gets one message, not two."""
    policy = session.scalar(sa.select(RetentionPolicy).where(RetentionPolicy.code == "prospects"))
    client = login_as("privacy")
    client.get("/lang/en")
    url = f"/retentionpolicyview/edit/{policy.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Only enabled policies are applied by the retention job." in page
    form = {"name": policy.name, "period_days": "abc", "action": "anonymise", "enabled": "y",
            "csrf_token": csrf_token(client, url)}
    page = client.post(url, data=form).get_data(as_text=True)
    assert "Not a valid integer value." in page
    assert "Number must be between" not in page
    page = client.post(url, data={**form, "period_days": "0"}).get_data(as_text=True)
    assert "Number must be between 1 and 36600." in page
    session.expire_all()
    assert session.get(RetentionPolicy, policy.id).period_days == 730


def test_a_disabled_policy_is_not_applied(app, session):
    contact = make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    set_policy(session, "prospects", enabled=False)
    outcome = retention(app)
    assert "prospects" not in outcome.counts
    assert not anonymised(session, contact)


def test_a_new_policy_must_use_a_clock_that_applies(app, session, login_as):
    """Refused, the form comes back as typed, the reason beside the clock, in Finnish."""
    client = login_as("privacy")
    token = csrf_token(client, "/retentionpolicyview/add")
    before = session.scalar(sa.select(sa.func.count()).select_from(RetentionPolicy))
    form = {"code": "odd", "name": "Pariton", "record_kind": "prospect_contact",
            "clock_start": "relationship_end", "period_days": "10", "action": "anonymise",
            "enabled": "y", "description": "Kokeilu", "csrf_token": token}
    response = client.post("/retentionpolicyview/add", data=form)
    assert response.status_code == 200, "the refused form should be shown again"
    page = response.get_data(as_text=True)
    assert field_errors(page, "clock_start") == [
        "Tämä säilytysajan alku ei koske näitä tietueita."]
    assert field_errors(page, "record_kind") == []
    kept = dict(form_fields(page))
    assert {k: kept.get(k) for k in form if k != "csrf_token"} == {
        k: v for k, v in form.items() if k != "csrf_token"}
    assert session.scalar(sa.select(sa.func.count()).select_from(RetentionPolicy)) == before
    # With a clock that applies, the same form is saved.
    response = client.post("/retentionpolicyview/add", data={**form, "clock_start": "created"})
    assert response.status_code == 302
    saved = session.scalar(sa.select(RetentionPolicy).where(RetentionPolicy.code == "odd"))
    assert (saved.record_kind, saved.clock_start) == (RecordKind.prospect_contact,
                                                      ClockStart.created)


# -- batches and concurrency ------------------------------------------------------------

def test_the_job_goes_in_keyset_batches_each_its_own_transaction(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_SIZE", 3)
    monkeypatch.setitem(app.config, "CRM_RETENTION_WORKERS", 1)  # one after the other
    people = [make_contact(session, last_activity_at=days_ago(800)) for _ in range(8)]
    for person in people:
        make_identifier(session, person)
    session.commit()
    committed: list[int] = []

    def count_committed(code, ids):
        committed.append(db.session.scalar(sa.select(sa.func.count()).select_from(Contact)
                                           .where(Contact.anonymised_at.is_not(None))))
        db.session.rollback()

    outcome = retention(app, hooks={"before_batch": count_committed})
    assert outcome.counts["batches"] == 3
    # Before each batch, the batches before it are committed and visible to others.
    assert committed == [0, 3, 6]
    assert outcome.counts["prospects"] == 8 and outcome.counts["identifiers"] == 8
    assert outcome.counts["longest_lock_ms"] >= 0


def test_a_contact_edited_while_its_batch_runs_keeps_the_edit(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_SIZE", 3)
    people = [make_contact(session, last_activity_at=days_ago(800)) for _ in range(7)]
    target = people[4]
    session.commit()
    # The hook runs on a batch's own thread, outside the app context.
    target_id, engine = target.id, db.engine
    edited = []

    def edit_in_another_transaction(code, ids):
        if target_id in ids and not edited:
            # A user saves the contact between the job choosing the batch and doing it.
            with engine.begin() as conn:
                conn.execute(sa.update(Contact.__table__).where(Contact.id == target_id)
                             .values(title="Edited by a user",
                                     version=Contact.__table__.c.version + 1))
            edited.append(target_id)

    outcome = retention(app, hooks={"before_batch": edit_in_another_transaction})
    assert edited and outcome.counts["prospects"] == 6
    assert outcome.counts["prospects_retry"] == 1
    session.expire_all()
    kept = session.get(Contact, target.id)
    assert kept.title == "Edited by a user" and kept.anonymised_at is None
    assert kept.email is not None
    # Still expired (an edit is not activity): a later run takes it.
    assert retention(app).counts["prospects"] == 1
    assert anonymised(session, target)


def test_an_edit_form_opened_before_the_job_cannot_write_the_person_back(app, session):
    contact = make_contact(session, last_activity_at=days_ago(800))
    session.commit()
    with Session(db.engine, expire_on_commit=False) as user:
        stale = user.get(Contact, contact.id)  # the form was opened with this version
        retention(app)
        stale.phone = "+358401111111"
        with pytest.raises(StaleDataError):
            user.commit()
    session.expire_all()
    assert session.get(Contact, contact.id).phone is None


def test_a_row_a_user_holds_locked_is_skipped_not_waited_for(app, session, is_postgres,
                                                               monkeypatch):
    if not is_postgres:
        pytest.skip("SQLite has one writer: a user's open write blocks the job, not a row")
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_SIZE", 10)
    people = [make_contact(session, last_activity_at=days_ago(800)) for _ in range(4)]
    target = people[1]
    session.commit()
    user = db.engine.connect()
    user.execute(sa.update(Contact.__table__).where(Contact.id == target.id)
                 .values(title="Typing...", version=Contact.__table__.c.version + 1))
    try:
        started = time.monotonic()
        outcome = retention(app)
        assert time.monotonic() - started < 5
        user.commit()  # the user's save lands after the job
    finally:
        user.close()
    assert outcome.counts["prospects"] == 3 and outcome.counts["prospects_retry"] == 1
    session.expire_all()
    assert session.get(Contact, target.id).title == "Typing..."
    assert not anonymised(session, target)


# -- forecast ---------------------------------------------------------------------------

def _forecast_people(session):
    due = make_contact(session, first_name="Due", last_name="Now", last_activity_at=days_ago(800))
    soon = make_contact(session, first_name="Soon", last_name="Gone",
                        last_activity_at=days_ago(715))
    later = make_contact(session, first_name="Later", last_name="Still",
                         last_activity_at=days_ago(600))
    held = make_contact(session, first_name="Held", last_name="Back",
                        last_activity_at=days_ago(715), legal_hold=True)
    make_callback_request(session, status=CallbackStatus.no_result, received_at=days_ago(170))
    session.commit()
    return due, soon, later, held


def test_forecast_counts_what_expires_in_the_next_30_days(app, session):
    due, soon, later, held = _forecast_people(session)
    rows = {row.code: row for row in forecast(session, days=30)}
    assert (rows["prospects"].due_now, rows["prospects"].due_soon) == (1, 1)
    assert (rows["callbacks"].due_now, rows["callbacks"].due_soon) == (0, 1)
    contacts, total = expiring_contacts(session, days=30)
    assert [c.id for c in contacts] == [due.id, soon.id] and total == 2
    assert contacts[1].expires_on.date() == (days_ago(715) + timedelta(days=730)).date()


def test_forecast_page_counts_for_job_readers_names_only_for_contact_readers(app, session,
                                                                           login_as):
    _forecast_people(session)
    page = login_as("privacy").get("/jobs/forecast")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-due-soon="1"' in html and "Soon Gone" in html and "Held" not in html
    admin = login_as("admin").get("/jobs/forecast")
    assert admin.status_code == 200
    assert 'data-due-now="1"' in admin.get_data(as_text=True)
    assert "Soon Gone" not in admin.get_data(as_text=True)
    assert login_as("sales").get("/jobs/forecast").status_code == 403


def test_forecast_page_says_how_many_are_left_out_only_when_some_are(app, session, login_as,
                                                                    monkeypatch):
    """Not "The 2 soonest of 2." when every contact is listed."""
    import crm.views.jobs

    _forecast_people(session)
    client = login_as("privacy")
    client.get("/lang/en")
    html = client.get("/jobs/forecast").get_data(as_text=True)
    assert "Soon Gone" in html and 'id="forecast-shown"' not in html
    listed = crm.views.jobs.expiring_contacts
    monkeypatch.setattr(crm.views.jobs, "expiring_contacts",
                        lambda session, days: listed(session, days, limit=1))
    html = client.get("/jobs/forecast").get_data(as_text=True)
    assert "The 1 soonest of 2." in html


def test_forecast_page_marks_the_contacts_already_past_their_period(app, session, login_as):
    """A listed contact whose date has passed is marked as due at the next run."""
    due, soon, _later, _held = _forecast_people(session)
    client = login_as("privacy")
    client.get("/lang/en")
    html = client.get("/jobs/forecast").get_data(as_text=True)
    rows = {pk: html.split(f'/contactview/show/{pk}"')[1].split("</tr>")[0]
            for pk in (due.id, soon.id)}
    assert "crm-due-now" in rows[due.id] and "Due at the next run" in rows[due.id]
    assert "crm-due-now" not in rows[soon.id]


@pytest.mark.parametrize("lang, ended, never, last, failed", [
    ("fi", "Säilytysaika päättyi 70 päivää sitten", "ei ole vielä koskaan ajettu oikeana",
     "on viimeksi ajettu oikeana ajona (ei koeajona)", "Epäonnistui"),
    ("en", "Period ended 70 days ago", "has never run for real",
     "last ran for real (not as a dry run)", "Failed"),
])
def test_forecast_page_says_how_long_overdue_and_when_the_job_last_ran_for_real(
        app, session, login_as, lang, ended, never, last, failed):
    """A contact whose period ended weeks ago is not just "due at the next run": the page
    says how long ago, and whether the retention job has run for real at all (dry runs,
    however many, change nothing)."""
    due, soon, _later, _held = _forecast_people(session)
    session.add(JobRun(job="retention", dry_run=True, status=JobStatus.succeeded,
                       started_at=days_ago(1), finished_at=days_ago(1)))
    session.commit()
    client = login_as("privacy")
    client.get(f"/lang/{lang}")
    html = client.get("/jobs/forecast").get_data(as_text=True)
    rows = {pk: html.split(f'/contactview/show/{pk}"')[1].split("</tr>")[0]
            for pk in (due.id, soon.id)}
    assert 'class="label label-danger crm-overdue" data-days-past="70"' in rows[due.id]
    assert ended in rows[due.id]
    assert "crm-overdue" not in rows[soon.id]
    assert 'id="last-real-run" data-status="never"' in html and never in html

    session.add(JobRun(job="retention", dry_run=False, status=JobStatus.failed,
                       started_at=days_ago(300), finished_at=days_ago(300)))
    session.add(JobRun(job="retention", dry_run=False, status=JobStatus.skipped,
                       started_at=days_ago(2), finished_at=days_ago(2)))
    session.commit()
    html = client.get("/jobs/forecast").get_data(as_text=True)
    line = html.split('id="last-real-run"')[1].split("</p>")[0]
    assert 'data-status="failed"' in line and last in line and failed in line
    assert never not in html


# -- a killed run -------------------------------------------------------------------------

def _seed_bulk(app, contacts: int) -> int:
    """Generate `contacts` people with identifiers, consents and activities; return expired."""
    from crm.bench import Bench

    with app.app_context():
        bench = Bench(app, contacts, lambda _: None)
        bench.reset()
        bench.generate(contacts)
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO identifier (contact_id, system, identifier, created_at) "
                "SELECT id, 'Portal', 'login' || id, created_at FROM contact WHERE id % 3 = 0"))
            conn.execute(sa.text(
                "INSERT INTO activity (contact_id, organisation_id, kind, subject, body, "
                "occurred_at, created_at) SELECT id, organisation_id, 'call', 'Call ' || "
                "last_name, 'Spoke with ' || first_name, last_activity_at, created_at "
                "FROM contact WHERE id % 2 = 0"))
            purpose = conn.scalar(sa.text("SELECT id FROM purpose WHERE code = 'direct_marketing'"))
            conn.execute(sa.text(
                "INSERT INTO consent (contact_id, purpose_id, text_version, given_at, given_how, "
                "evidence) SELECT id, :p, 'v1', created_at, 'form', 'form of ' || email "
                "FROM contact WHERE id % 5 = 0"), {"p": purpose})
        return db.session.scalar(sa.text(
            "SELECT count(*) FROM contact WHERE last_activity_at < now() - interval '730 days'"))


def _state() -> dict:
    """The register in a canonical form: what a run decides, without its clock times."""
    q = db.session.execute
    db.session.expire_all()
    state = {
        "contacts": q(sa.text(
            "SELECT id, first_name, last_name, title, email, phone, marketing_status, version, "
            "anonymised_at IS NOT NULL FROM contact ORDER BY id")).all(),
        "identifiers": q(sa.text("SELECT id, contact_id, identifier FROM identifier ORDER BY id")
                         ).all(),
        "consents": q(sa.text("SELECT id, contact_id, evidence FROM consent ORDER BY id")).all(),
        "activities": q(sa.text("SELECT id, contact_id, subject, body FROM activity ORDER BY id")
                        ).all(),
        "suppressed": sorted(q(sa.text("SELECT kind, key_hash, reason FROM suppression_entry"))
                             .all()),
    }
    db.session.rollback()
    return state


def _consistent(state: dict) -> None:
    """Each person is wholly as they were or wholly anonymised, their rows with them."""
    gone = {row[0] for row in state["contacts"] if row[-1]}
    for row in state["contacts"]:
        if row[-1]:
            assert row[1:7] == ("", "Anonymised", None, None, None, "unsubscribed"), row
        else:
            assert row[4] is not None and row[5] is not None and row[2] != "Anonymised", row
    assert not [r for r in state["identifiers"] if r[1] in gone]
    assert not [r for r in state["consents"] if r[1] in gone]
    for _, contact_id, subject, body in state["activities"]:
        assert (subject == "" and body is None) == (contact_id in gone)
    # Two entries (email, phone) per anonymised person: no more, no fewer.
    assert len(state["suppressed"]) == 2 * len(gone)


@pytest.mark.postgres
def test_a_killed_run_then_run_again_ends_where_an_uninterrupted_run_ends(
        app, session, is_postgres, tmp_path):
    if not is_postgres:
        pytest.skip("SIGKILL mid-run is tested on PostgreSQL")
    contacts = 6000
    expired = _seed_bulk(app, contacts)
    env = dict(os.environ, CRM_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               CRM_SECRET_KEY=app.config["SECRET_KEY"],
               CRM_SUPPRESSION_KEY=app.config["CRM_SUPPRESSION_KEY"],
               CRM_INSTANCE_DIR=str(tmp_path), CRM_RETENTION_BATCH_SIZE="200",
               CRM_RETENTION_BATCH_PAUSE="0.05")
    process = subprocess.Popen(
        [sys.executable, "-c", "from crm.cli import main; main()", "jobs", "run", "retention"],
        env=env, cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    deadline = time.monotonic() + 60
    with db.engine.connect() as conn:
        while time.monotonic() < deadline and process.poll() is None:
            done = conn.scalar(sa.text(
                "SELECT count(*) FROM contact WHERE anonymised_at IS NOT NULL"))
            conn.rollback()
            if done >= 600:
                break
            time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert 0 < done < expired, "the run should have been killed halfway"

    # PostgreSQL frees the killed process's advisory lock when it notices the connection gone.
    with db.engine.connect() as conn:
        while conn.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")):
            assert time.monotonic() < deadline + 20, "the killed run's lock was never freed"
            conn.rollback()
            time.sleep(0.05)

    halfway = _state()
    _consistent(halfway)
    assert 0 < sum(1 for row in halfway["contacts"] if row[-1]) < expired
    assert session.scalar(sa.select(JobRun.status).where(JobRun.job == "retention")) \
        is JobStatus.running

    retention(app)
    resumed = _state()
    _consistent(resumed)
    interrupted = session.scalar(sa.select(JobRun).where(JobRun.job == "retention")
                                 .order_by(JobRun.id).limit(1))
    assert interrupted.status is JobStatus.failed and interrupted.error == INTERRUPTED

    session.rollback()  # no transaction of ours may hold the tables the reset empties
    _seed_bulk(app, contacts)  # the same data again (same seed, same ids)
    retention(app)
    uninterrupted = _state()
    assert resumed == uninterrupted
    assert sum(1 for row in uninterrupted["contacts"] if row[-1]) == expired


@pytest.mark.postgres
def test_batches_run_side_by_side_end_where_one_at_a_time_ends(app, session, is_postgres,
                                                                monkeypatch):
    if not is_postgres:
        pytest.skip("SQLite has one writer: its batches run one at a time")
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_SIZE", 100)
    contacts = 3000
    expired = _seed_bulk(app, contacts)
    monkeypatch.setitem(app.config, "CRM_RETENTION_WORKERS", 1)
    one_at_a_time = retention(app)
    alone = _state()

    session.rollback()
    _seed_bulk(app, contacts)  # the same data again (same seed, same ids)
    monkeypatch.setitem(app.config, "CRM_RETENTION_WORKERS", 2)
    threads, overlapping, running = set(), [], []
    guard = threading.Lock()

    def note(code, ids):
        with guard:
            threads.add(threading.current_thread().name)
            running.append(ids[0])
            overlapping.append(len(running) > 1)
        time.sleep(0.01)  # let the other worker's batch start meanwhile
        with guard:
            running.remove(ids[0])

    side_by_side = retention(app, hooks={"before_batch": note})
    assert len(threads) == 2 and any(overlapping), "the batches never ran at once"
    assert _state() == alone
    _consistent(alone)
    assert sum(1 for row in alone["contacts"] if row[-1]) == expired
    for key in ("prospects", "former_customers", "identifiers", "consents", "activities",
                "suppressed", "batches"):
        assert side_by_side.counts.get(key) == one_at_a_time.counts.get(key), key


@pytest.mark.postgres
def test_a_batch_failing_beside_another_stops_the_run_and_leaves_no_half_person(
        app, session, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("SQLite has one writer: its batches run one at a time")
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_SIZE", 100)
    monkeypatch.setitem(app.config, "CRM_RETENTION_WORKERS", 2)
    expired = _seed_bulk(app, 2000)
    started = []

    def fail_the_fourth(code, ids):
        started.append(ids[0])
        if len(started) == 4:
            raise RuntimeError("the database went away")
        time.sleep(0.01)

    outcome = run_job(app, "retention", hooks={"before_batch": fail_the_fourth})
    assert outcome.status is JobStatus.failed
    halfway = _state()
    _consistent(halfway)
    assert 0 < sum(1 for row in halfway["contacts"] if row[-1]) < expired
    retention(app)
    done = _state()
    _consistent(done)
    assert sum(1 for row in done["contacts"] if row[-1]) == expired


def test_activity_touching_a_contact_moves_its_clock(app, session):
    """Recording an activity sets last activity (services.contacts): not expired then."""
    from crm.services.contacts import touch_contact

    contact = make_contact(session, last_activity_at=days_ago(800))
    activity = make_activity(session, contact, occurred_at=days_ago(1))
    touch_contact(activity)
    make_consent(session, contact)
    session.commit()
    assert retention(app).counts["prospects"] == 0
    assert not anonymised(session, contact)
    assert date.today() - session.get(Contact, contact.id).last_activity_at.date() <= \
        timedelta(days=2)


def test_the_privacy_officer_sees_whose_legal_hold_and_what_it_does(login_as, session):
    """Privacy may change only the legal hold of an organisation or a contact: the edit
    page names the record, and the box says what a hold does."""
    from tests.factories import make_contact, make_organisation

    organisation = make_organisation(session, name="Pitokoe Oy")
    contact = make_contact(session, first_name="Pito", last_name="Koehenkilö",
                           organisation=organisation)
    session.commit()
    client = login_as("privacy")
    page = client.get(f"/organisationview/edit/{organisation.id}").get_data(as_text=True)
    assert "Muokkaa organisaatiota: Pitokoe Oy" in page
    assert "pysäyttää organisaation yhteyshenkilöiden säilytysajan" in page
    page = client.get(f"/contactview/edit/{contact.id}").get_data(as_text=True)
    assert "Muokkaa yhteyshenkilöä: Pito Koehenkilö" in page
    assert "pysäyttää tämän yhteyshenkilön säilytysajan" in page
