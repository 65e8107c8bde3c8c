"""The jobs: the runner and its lock, the CLI, the screens, and each job of DESIGN §8."""

from __future__ import annotations

import email
import os
import re
import socketserver
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.jobs import JOBS, Job, schedules
from crm.jobs.context import STOPPING
from crm.jobs.crontab import crontab_trigger
from crm.jobs.locks import AdvisoryLock, LockLost, RowLock, acquire
from crm.jobs.runner import INTERRUPTED, SKIPPED, UnknownJob, run_job
from crm.models import (
    AuditEvent,
    Consent,
    Contact,
    JobRun,
    JobStatus,
    MarketingStatus,
    Provenance,
    Purpose,
    RequestStatus,
    RetentionPolicy,
    Source,
    SourceKind,
    UserSession,
)
from crm.models.base import utcnow
from crm.models.privacy import JobLock, Notification, NotificationKind
from crm.services.reference import load_reference_data
from tests.conftest import csrf_token, session_csrf_token
from tests.factories import make_consent, make_contact, make_request

NOW = datetime.now(UTC)
TODAY = date.today()


def policy_name(code: str) -> str:
    """A retention policy's name, as the privacy officer reads and edits it."""
    return db.session.scalar(sa.select(RetentionPolicy.name).where(RetentionPolicy.code == code))


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def run(app, name: str, **kwargs):
    outcome = run_job(app, name, **kwargs)
    assert outcome.status is JobStatus.succeeded, outcome.error
    return outcome


# -- registry and runner ---------------------------------------------------------------

def test_the_jobs_of_design_section_8_are_registered():
    assert set(JOBS) >= {"retention", "audit_pruning", "consent_expiry", "request_reminders",
                         "art14_notices", "session_purge"}
    for job in JOBS.values():
        assert job.func.__module__.startswith("crm.jobs.") and job.schedule


def test_schedules_come_from_config_with_defaults():
    assert schedules({})["retention"] == "30 2 * * *"
    changed = schedules({"CRM_JOB_SCHEDULES": {"retention": "0 1 * * *", "session_purge": "off"}})
    assert changed["retention"] == "0 1 * * *" and changed["session_purge"] is None
    with pytest.raises(ValueError, match="unknown jobs"):
        schedules({"CRM_JOB_SCHEDULES": {"nosuch": "* * * * *"}})


def test_every_run_is_recorded_and_audited(app, session):
    make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    outcome = run(app, "retention", trigger="screen", actor=(None, "privacy"))
    run_row = session.get(JobRun, outcome.run_id)
    assert run_row.status is JobStatus.succeeded and run_row.trigger == "screen"
    assert run_row.finished_at >= run_row.started_at
    assert run_row.counts["prospects"] == 1 and run_row.error is None
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "job"))
    assert (event.actor, event.object_type, event.object_id) == (
        "privacy", "JobRun", str(outcome.run_id))
    assert event.detail == "retention succeeded"


def test_a_run_that_finds_the_lock_taken_is_recorded_as_skipped(app, session):
    lock = acquire(db.engine, "retention")
    try:
        outcome = run_job(app, "retention")
    finally:
        lock.release()
    assert outcome.status is JobStatus.skipped and outcome.error == SKIPPED
    assert session.get(JobRun, outcome.run_id).status is JobStatus.skipped
    # Released: the next run goes ahead.
    assert run(app, "retention").status is JobStatus.succeeded


def test_a_run_left_running_by_a_dead_process_is_closed_by_the_next(app, session):
    session.add(JobRun(job="retention", status=JobStatus.running, started_at=days_ago(1)))
    session.commit()
    run(app, "retention")
    runs = session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()
    assert [(r.status, r.error) for r in runs] == [(JobStatus.failed, INTERRUPTED),
                                                   (JobStatus.succeeded, None)]


def test_a_failing_job_is_recorded_with_its_counts_and_without_its_message(app, session,
                                                                           monkeypatch):
    def boom(ctx):
        ctx.counts["done_before_failing"] = 2
        raise RuntimeError("contact aino@example.test was bad")

    monkeypatch.setitem(JOBS, "retention", Job("retention", boom, "x", "* * * * *"))
    outcome = run_job(app, "retention")
    assert outcome.status is JobStatus.failed and outcome.error == "RuntimeError"
    assert session.get(JobRun, outcome.run_id).counts == {"done_before_failing": 2}
    # The lock was released after the failure.
    assert run_job(app, "audit_pruning").status is JobStatus.succeeded


def test_a_run_stops_between_batches_when_the_scheduler_shuts_down(app, session):
    make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    STOPPING.set()
    try:
        outcome = run_job(app, "retention")
    finally:
        STOPPING.clear()
    assert outcome.status is JobStatus.failed and "shutting down" in outcome.error
    assert outcome.counts["prospects"] == 1  # the batch it was in was finished


def test_an_unknown_job_is_refused(app):
    with pytest.raises(UnknownJob):
        run_job(app, "nosuch")


# -- locks -------------------------------------------------------------------------------

def test_a_job_lock_is_held_by_one_at_a_time(app):
    first = acquire(db.engine, "retention")
    assert first is not None
    assert acquire(db.engine, "retention") is None
    other_job = acquire(db.engine, "consent_expiry")
    assert other_job is not None
    other_job.release()
    first.release()
    again = acquire(db.engine, "retention")
    assert again is not None
    again.release()


def test_postgres_frees_the_lock_when_its_connection_ends(app, is_postgres):
    if not is_postgres:
        pytest.skip("advisory locks are PostgreSQL's")
    lock = acquire(db.engine, "retention")
    assert isinstance(lock, AdvisoryLock)
    lock.connection.invalidate()  # as when the process holding it is killed
    lock.connection.close()
    again = acquire(db.engine, "retention")
    assert again is not None
    again.release()


@pytest.mark.parametrize("holder, stale, taken", [
    ("live", False, False),
    ("dead", False, True),
    ("live", True, True),
    ("other host", False, False),
])
def test_sqlite_lock_of_a_dead_or_silent_holder_is_taken_over(app, session, is_postgres,
                                                               holder, stale, taken):
    if is_postgres:
        pytest.skip("the lock row is SQLite's")
    import socket
    import subprocess
    import sys

    if holder == "dead":
        done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        owner = f"{socket.gethostname()}:{done.stdout.strip()}:dead"
    elif holder == "live":
        owner = f"{socket.gethostname()}:{os.getppid()}:live"
    else:
        owner = "elsewhere.example:1:other"
    beat = NOW - timedelta(hours=2) if stale else NOW
    session.add(JobLock(job="retention", owner=owner, acquired_at=beat, heartbeat_at=beat))
    session.commit()
    lock = acquire(db.engine, "retention", stale_seconds=900)
    assert (lock is not None) is taken
    if lock is not None:
        lock.release()


def test_a_lock_taken_over_makes_the_old_holder_stop(app, session, is_postgres):
    if is_postgres:
        pytest.skip("the lock row is SQLite's")
    lock = acquire(db.engine, "retention")
    assert isinstance(lock, RowLock)
    session.execute(sa.update(JobLock).values(owner="someone:1:else"))
    session.commit()
    lock._beat = 0  # due for a heartbeat
    with pytest.raises(LockLost):
        lock.heartbeat()


# -- command line -----------------------------------------------------------------------------

def test_jobs_list_shows_every_job_with_its_schedule(app, session):
    run(app, "session_purge")
    result = app.test_cli_runner().invoke(args=["crm", "jobs", "list"])
    assert result.exit_code == 0, result.output
    for name in JOBS:
        assert name in result.output
    assert "*/15 * * * *" in result.output and "last succeeded" in result.output
    # One language throughout, as `crm import` speaks: English, not the app's Finnish.
    assert "Delete expired sign-in sessions" in result.output


def test_jobs_run_prints_counts_and_exits_by_status(app, session, monkeypatch):
    contact = make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    cli = app.test_cli_runner()
    result = cli.invoke(args=["crm", "jobs", "run", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "succeeded (dry run)" in result.output and "prospects: 1" in result.output
    session.expire_all()
    assert session.get(Contact, contact.id).anonymised_at is None

    assert cli.invoke(args=["crm", "jobs", "run", "nosuch"]).exit_code == 2
    lock = acquire(db.engine, "retention")
    try:
        assert cli.invoke(args=["crm", "jobs", "run", "retention"]).exit_code == 3
    finally:
        lock.release()

    def boom(ctx):
        raise RuntimeError("no")

    monkeypatch.setitem(JOBS, "retention", Job("retention", boom, "x", "* * * * *"))
    result = cli.invoke(args=["crm", "jobs", "run", "retention"])
    assert result.exit_code == 1 and "RuntimeError" in result.output


# -- the jobs screen ---------------------------------------------------------------------------

def english(client):
    assert client.get("/lang/en").status_code == 302
    return client


def latest_run(session) -> JobRun:
    session.expire_all()
    return session.scalar(sa.select(JobRun).order_by(JobRun.id.desc()).limit(1))


def job_runs(session) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(JobRun))


def count_cell(html: str, key: str) -> tuple[str, str]:
    """Return the (label, value) of a count row of a run's counts table."""
    match = re.search(rf'<tr data-count="{re.escape(key)}"><th>([^<]*)</th>'
                      rf'<td class="text-right">([^<]*)</td>', html)
    assert match, f"no count row {key}"
    return match.group(1), match.group(2)


def shown_as(html: str, text: str) -> bool:
    """Return whether `text` is the whole of an element's text (spaces aside)."""
    return re.search(rf">\s*{re.escape(text)}\s*<", html) is not None


def test_privacy_dry_runs_a_job_from_the_screen_in_one_click(app, session, login_as):
    contact = make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    client = english(login_as("privacy"))
    page = client.get("/jobs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Every job but the Mailchimp sync, which the tests leave unconfigured (see below).
    for name in JOBS:
        assert (f'action="/jobs/run/{name}"' in html) is (name != "mailchimp_sync"), name
    token = csrf_token(client, "/jobs/")

    response = client.post("/jobs/run/retention", data={"csrf_token": token, "dry_run": "1"})
    assert response.status_code == 302 and "/jobrunview/show/" in response.location
    dry = latest_run(session)
    assert dry.dry_run and dry.trigger == "screen" and dry.counts["prospects"] == 1
    assert session.get(Contact, contact.id).anonymised_at is None
    shown = client.get(response.location).get_data(as_text=True)
    # The message says outright that nothing changed, by the job's title.
    assert "Dry run of Retention: Succeeded. Nothing was changed." in shown
    assert count_cell(shown, "prospects") == (policy_name("prospects"), "1")


def test_run_now_shows_the_dry_runs_counts_and_runs_only_when_confirmed(app, session,
                                                                        login_as):
    contact = make_contact(session, last_activity_at=days_ago(900))
    session.commit()
    client = english(login_as("privacy"))
    token = csrf_token(client, "/jobs/")

    # "Run now" counts first (a dry run) and asks; nothing is anonymised yet.
    response = client.post("/jobs/run/retention", data={"csrf_token": token, "dry_run": "0"})
    assert response.status_code == 302
    dry = latest_run(session)
    assert response.location.endswith(f"/jobs/confirm/retention/{dry.id}")
    assert dry.dry_run and dry.status is JobStatus.succeeded and dry.trigger == "screen"
    assert session.get(Contact, contact.id).anonymised_at is None
    runs_before = job_runs(session)
    confirm = client.get(response.location)
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Run Retention now?" in page and "It changed nothing" in page
    assert count_cell(page, "prospects") == (policy_name("prospects"), "1")
    assert f'name="confirm" type="hidden" value="{dry.id}"' in page
    assert 'id="confirm-run-retention"' in page
    # Looking at the page (again) changes nothing.
    assert client.get(response.location).status_code == 200
    assert job_runs(session) == runs_before
    assert session.get(Contact, contact.id).anonymised_at is None

    # The confirming post runs the job, with its token.
    refused = client.post("/jobs/run/retention", data={"dry_run": "0", "confirm": dry.id})
    assert refused.status_code in (302, 400) and job_runs(session) == runs_before
    done = client.post("/jobs/run/retention",
                       data={"csrf_token": token, "dry_run": "0", "confirm": dry.id})
    assert done.status_code == 302 and "/jobrunview/show/" in done.location
    real = latest_run(session)
    assert not real.dry_run and real.status is JobStatus.succeeded
    assert session.get(Contact, contact.id).anonymised_at is not None
    shown = client.get(done.location).get_data(as_text=True)
    assert "Job Retention: Succeeded." in shown
    assert count_cell(shown, "prospects") == (policy_name("prospects"), "1")
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "job")
                           .order_by(AuditEvent.id.desc()).limit(1))
    assert event.actor == "privacy"

    # Pressing confirm again (a second click) runs nothing: it counts afresh and asks.
    again = client.post("/jobs/run/retention",
                        data={"csrf_token": token, "dry_run": "0", "confirm": dry.id})
    assert "/jobs/confirm/retention/" in again.location
    assert latest_run(session).dry_run


@pytest.mark.parametrize("case", ["old", "failed", "other job", "not dry", "none"])
def test_run_now_without_a_fresh_successful_dry_run_of_that_job_only_counts(
        app, session, login_as, case):
    contact = make_contact(session, last_activity_at=days_ago(900))
    preview = JobRun(job="consent_expiry" if case == "other job" else "retention",
                     started_at=days_ago(1) if case == "old" else datetime.now(UTC),
                     dry_run=case != "not dry", trigger="screen",
                     status=JobStatus.failed if case == "failed" else JobStatus.succeeded)
    session.add(preview)
    session.commit()
    client = login_as("privacy")
    token = csrf_token(client, "/jobs/")
    data = {"csrf_token": token, "dry_run": "0"}
    if case != "none":
        data["confirm"] = preview.id
    response = client.post("/jobs/run/retention", data=data)
    assert "/jobs/confirm/retention/" in response.location
    assert latest_run(session).dry_run
    assert session.get(Contact, contact.id).anonymised_at is None


def test_the_confirm_page_of_a_failed_dry_run_offers_no_run(app, session, login_as):
    failed = JobRun(job="retention", started_at=NOW, dry_run=True, trigger="screen",
                    status=JobStatus.failed, error="RuntimeError")
    not_dry = JobRun(job="retention", started_at=NOW, dry_run=False, trigger="screen",
                     status=JobStatus.succeeded)
    session.add_all([failed, not_dry])
    session.commit()
    client = login_as("privacy")
    page = client.get(f"/jobs/confirm/retention/{failed.id}").get_data(as_text=True)
    assert 'id="job-confirm-unfinished"' in page and 'id="confirm-run-retention"' not in page
    assert client.get(f"/jobs/confirm/retention/{not_dry.id}").status_code == 404
    assert client.get(f"/jobs/confirm/consent_expiry/{failed.id}").status_code == 404
    assert client.get(f"/jobs/confirm/nosuch/{failed.id}").status_code == 404
    assert client.post(f"/jobs/confirm/retention/{failed.id}").status_code == 405
    # Reading the job runs is not enough to be asked.
    assert login_as("dpo").get(f"/jobs/confirm/retention/{failed.id}").status_code == 403


def test_the_runners_own_errors_are_shown_in_the_readers_language(app, session, login_as):
    """"Skipped" and "interrupted" are recorded in English; the pages say them in words
    of the reader's language, in the message after a press, on the run's page and on the
    confirm page."""
    client = english(login_as("privacy"))
    token = csrf_token(client, "/jobs/")
    lock = acquire(db.engine, "retention")
    try:
        response = client.post("/jobs/run/retention", data={"csrf_token": token,
                                                            "dry_run": "1"})
    finally:
        lock.release()
    skipped = latest_run(session)
    assert skipped.status is JobStatus.skipped and skipped.error == SKIPPED
    page = client.get(response.location).get_data(as_text=True)
    said = "Another run of this job held its lock, so this one did nothing."
    assert page.count(said) == 2  # the message and the run's "error" field
    assert SKIPPED not in page
    interrupted = JobRun(job="retention", started_at=NOW, dry_run=True, trigger="screen",
                         status=JobStatus.failed, error=INTERRUPTED)
    session.add(interrupted)
    session.commit()
    page = client.get(f"/jobs/confirm/retention/{interrupted.id}").get_data(as_text=True)
    assert "Interrupted: the process running it ended before it finished." in page
    assert INTERRUPTED not in page


def test_a_job_runs_page_labels_its_trigger_counts_and_technical_figures(app, session,
                                                                          login_as):
    run_row = JobRun(job="retention", started_at=NOW, finished_at=NOW, dry_run=False,
                     trigger="schedule", status=JobStatus.succeeded,
                     counts={"batches": 3, "former_customers": 2, "longest_lock_ms": 41,
                             "mystery_key": 7, "prospects": 5, "prospects_retry": 1,
                             "suppressed": 6})
    by_hand = JobRun(job="session_purge", started_at=NOW, finished_at=NOW, dry_run=True,
                     trigger="command", status=JobStatus.succeeded, counts={"sessions": 4})
    session.add_all([run_row, by_hand])
    session.commit()
    client = english(login_as("dpo"))
    page = client.get(f"/jobrunview/show/{run_row.id}").get_data(as_text=True)
    assert count_cell(page, "prospects") == (policy_name("prospects"), "5")
    assert count_cell(page, "former_customers") == (policy_name("former_customers"), "2")
    assert count_cell(page, "suppressed") == ("Added to the suppression list", "6")
    assert count_cell(page, "prospects_retry")[0] == (
        f"{policy_name('prospects')}: changed meanwhile, left for the next run")
    assert count_cell(page, "mystery_key") == ("mystery_key", "7")
    # What each policy removed comes first.
    assert page.index('data-count="prospects"') < page.index('data-count="mystery_key"')
    counts, technical = page.split("Technical details")
    assert "crm-job-technical" in technical and "batches" not in counts
    assert count_cell(technical, "batches") == ("Batches", "3")
    assert count_cell(technical, "longest_lock_ms") == ("Longest batch lock (ms)", "41")
    assert shown_as(page, "Scheduler") and not shown_as(page, "schedule")
    assert shown_as(page, "Retention") and not shown_as(page, "retention")
    assert "prospects: 5" not in page

    page = client.get(f"/jobrunview/show/{by_hand.id}").get_data(as_text=True)
    assert count_cell(page, "sessions") == ("Expired sign-in sessions deleted", "4")
    assert shown_as(page, "Command line") and "Technical details" not in page
    assert 'id="job-run-dry-note"' in page

    listed = client.get("/jobrunview/list/").get_data(as_text=True)
    for label in ("Retention", "Sign-in session purge", "Scheduler", "Command line"):
        assert shown_as(listed, label), label
    for raw in ("retention", "session_purge", "schedule", "command"):
        assert not shown_as(listed, raw), raw

    # In Finnish by default.
    page = login_as("dpo").get(f"/jobrunview/show/{run_row.id}").get_data(as_text=True)
    assert "Tekniset tiedot" in page and shown_as(page, "Ajastus")


def test_a_runs_counts_are_shown_in_the_order_of_their_labels(app, session, login_as):
    """Counts are stored sorted by key; the page shows each policy first, in the policies'
    order with what it left for later beside it, then the job's counts as its labels
    list them, then any unknown key."""
    codes = list(session.scalars(sa.select(RetentionPolicy.code)
                                 .order_by(RetentionPolicy.id).limit(2)))
    counts = {"activities": 4, "identifiers": 3, "mystery_key": 9, "suppressed": 2,
              codes[0]: 5, codes[1]: 1, f"{codes[0]}_retry": 1}
    retention = JobRun(job="retention", started_at=NOW, finished_at=NOW, dry_run=False,
                       trigger="schedule", status=JobStatus.succeeded,
                       counts=dict(sorted(counts.items())))
    reminders = JobRun(job="request_reminders", started_at=NOW, finished_at=NOW,
                       dry_run=False, trigger="schedule", status=JobStatus.succeeded,
                       counts={"due_soon": 1, "emailed": 0, "overdue": 2, "raised": 3,
                               "resolved": 0})
    session.add_all([retention, reminders])
    session.commit()
    client = login_as("privacy")

    def order(run_row: JobRun) -> list[str]:
        page = client.get(f"/jobrunview/show/{run_row.id}").get_data(as_text=True)
        return re.findall(r'<tr data-count="([^"]+)">', page)

    assert order(retention) == [codes[0], f"{codes[0]}_retry", codes[1], "suppressed",
                                "identifiers", "activities", "mystery_key"]
    assert order(reminders) == ["due_soon", "overdue", "raised", "resolved", "emailed"]


def test_the_jobs_screen_shows_titles_and_the_next_run_in_local_time(app, session, login_as,
                                                                     monkeypatch):
    from zoneinfo import ZoneInfo

    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", {"session_purge": "off"})
    zone = ZoneInfo(app.config["CRM_TIMEZONE"])
    before = datetime.now(zone)
    client = english(login_as("privacy"))
    html = client.get("/jobs/").get_data(as_text=True)
    row = html.split('data-job="retention"')[1].split("</tr>")[0]
    assert "<strong>Retention</strong>" in row
    when = datetime.fromisoformat(re.search(r'data-next-run="([^"]+)"', row).group(1))
    # The default crontab "30 2 * * *": 02:30 where the register is kept, within a day.
    assert (when.hour, when.minute) == (2, 30)
    assert when.utcoffset() == when.astimezone(zone).utcoffset()
    assert before < when <= before + timedelta(days=1)
    assert "2:30" in row.split("crm-next-run")[1]
    # Every scheduled job has one; one switched off has none.
    assert html.count("data-next-run=") == len(JOBS) - 1
    purge = html.split('data-job="session_purge"')[1].split("</tr>")[0]
    assert "data-next-run" not in purge and "not scheduled" in purge


@pytest.mark.parametrize("crontab, days", [
    ("0 4 * * 0", {"Sunday"}), ("0 4 * * 7", {"Sunday"}), ("0 4 * * sun", {"Sunday"}),
    ("0 7 * * 1-5", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}),
    ("0 7 * * 5-7", {"Friday", "Saturday", "Sunday"}),
    ("0 7 * * 0,6", {"Saturday", "Sunday"}),
    ("0 7 * * */2", {"Sunday", "Tuesday", "Thursday", "Saturday"}),
])
def test_weekdays_are_read_as_cron_reads_them(crontab, days):
    # APScheduler 3's own from_crontab counts 0 as Monday: "0 4 * * 0" ran on Mondays.
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Helsinki")
    trigger = crontab_trigger(crontab, zone)
    fired, when = set(), datetime(2026, 11, 23, tzinfo=zone)  # a Monday
    for _ in range(14):
        when = trigger.get_next_fire_time(None, when + timedelta(minutes=1))
        fired.add(when.strftime("%A"))
        assert (when.hour, when.minute) == (int(crontab.split()[1]), 0)
    assert fired == days


@pytest.mark.parametrize("crontab", ["0 4 * * 8", "0 4 * * 5-1", "0 4 * *", "0 4 * * moon",
                                     "61 4 * * *"])
def test_a_crontab_cron_would_refuse_is_refused(crontab):
    from zoneinfo import ZoneInfo

    with pytest.raises(ValueError):
        crontab_trigger(crontab, ZoneInfo("Europe/Helsinki"))


def test_the_scheduler_prunes_the_audit_trail_on_sundays_as_the_readme_says(app):
    from zoneinfo import ZoneInfo

    from apscheduler.schedulers.background import BackgroundScheduler

    from crm.jobs.scheduler import build_scheduler

    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        zone = ZoneInfo(app.config["CRM_TIMEZONE"])
        trigger = scheduler.get_job("audit_pruning").trigger
        when = trigger.get_next_fire_time(None, datetime.now(zone))
        assert when.strftime("%A") == "Sunday" and when.hour == 4
    finally:
        scheduler.shutdown(wait=False)


def test_the_jobs_screen_says_each_schedule_in_words(app, session, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", {"art14_notices": "0 1 1 * *"})
    client = login_as("privacy")

    def schedule(html: str, job: str) -> str:
        return html.split(f'data-job="{job}"')[1].split("</tr>")[0]

    html = client.get("/jobs/").get_data(as_text=True)
    assert "Päivittäin klo 2.30" in schedule(html, "retention")
    assert "Joka sunnuntai klo 4.00" in schedule(html, "audit_pruning")
    assert "15 minuutin välein" in schedule(html, "session_purge")
    assert "Joka tunti, 20 minuuttia yli tasatunnin" in schedule(html, "mailchimp_sync")
    # The crontab itself stays at hand for whoever set it.
    assert 'title="crontab: 30 2 * * *"' in schedule(html, "retention")
    # A shape not described in words is shown as it is.
    assert "<code>0 1 1 * *</code>" in schedule(html, "art14_notices")
    html = english(client).get("/jobs/").get_data(as_text=True)
    # A 24-hour clock, as the British write it (Babel's US English said 4:00 AM).
    assert "Every Sunday at 04:00" in schedule(html, "audit_pruning")
    assert "Daily at 02:30" in schedule(html, "retention")
    assert " AM" not in html and " PM" not in html


def test_one_minute_past_the_hour_is_said_in_the_singular(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", {"mailchimp_sync": "1 * * * *"})
    client = login_as("privacy")
    row = client.get("/jobs/").get_data(as_text=True).split('data-job="mailchimp_sync"')[1]
    assert "Joka tunti, 1 minuutti yli tasatunnin" in row.split("</tr>")[0]
    row = english(client).get("/jobs/").get_data(as_text=True).split(
        'data-job="mailchimp_sync"')[1]
    assert "Every hour at 1 minute past" in row.split("</tr>")[0]


def test_an_unconfigured_mailchimp_sync_shows_as_skipped_and_why(app, session, login_as,
                                                                 monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", None)
    assert run_job(app, "mailchimp_sync").status is JobStatus.skipped
    # Another run holding the lock is not what the screen shows as the last run.
    session.add(JobRun(job="mailchimp_sync", started_at=utcnow(), finished_at=utcnow(),
                       dry_run=False, trigger="schedule", status=JobStatus.skipped,
                       error=SKIPPED, counts={}))
    session.commit()
    html = login_as("privacy").get("/jobs/").get_data(as_text=True)
    row = html.split('data-job="mailchimp_sync"')[1].split("</tr>")[0]
    assert "Ohitettu" in row and "Mailchimpiä ei ole määritetty" in row
    assert "Onnistui" not in row


def test_a_skipped_dry_runs_page_gives_the_reason_not_an_error_nor_changes(app, session,
                                                                           login_as,
                                                                           monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", None)
    outcome = run_job(app, "mailchimp_sync", dry_run=True, trigger="screen")
    assert outcome.status is JobStatus.skipped
    page = login_as("privacy").get(f"/jobrunview/show/{outcome.run_id}").get_data(as_text=True)
    row = re.search(r"<tr>(?:(?!</tr>).)*Mailchimpiä ei ole määritetty", page, re.S).group(0)
    assert "Syy" in row and "Virhe" not in row
    # Skipped, it did nothing: no "a real run would have made these changes".
    assert 'id="job-run-dry-note"' not in page


def started_by_cell(page: str) -> str:
    """The text of a run page's "Started by" (Käynnistäjä) field."""
    match = re.search(r"<th[^>]*>\s*(?:Started by|Käynnistäjä)\s*</th>\s*<td>\s*"
                      r"(?:<span[^>]*>)?\s*([^<]*?)\s*<", page)
    assert match, "no Started by field"
    return match.group(1)


def test_a_runs_page_and_the_list_say_who_started_it(app, session, login_as):
    """A run from a screen is shown by the user, named as the users screen names them;
    the scheduler's and the command line's runs by those."""
    from crm.jobs.scheduler import run_scheduled

    client = login_as("privacy")
    token = csrf_token(client, "/jobs/")
    response = client.post("/jobs/run/session_purge", data={"csrf_token": token,
                                                            "dry_run": "1"})
    by_hand = latest_run(session)
    assert response.location.endswith(f"/jobrunview/show/{by_hand.id}")
    run_scheduled(app, "session_purge")
    scheduled = latest_run(session)
    command = run(app, "session_purge", trigger="command")
    # A screen run of an account since removed: by the username it was started under.
    gone = run(app, "session_purge", trigger="screen", actor=(987654, "poistunut"))
    # One still running has no audit event yet: shown by the screen.
    running = JobRun(job="retention", started_at=NOW, status=JobStatus.running,
                     trigger="screen")
    session.add(running)
    session.commit()

    def show(run_id: int, viewer=client) -> str:
        return started_by_cell(viewer.get(f"/jobrunview/show/{run_id}").get_data(as_text=True))

    assert show(by_hand.id) == "Pekka Rekisterinpitäjä (privacy)"
    assert show(scheduled.id) == "Ajastus"
    assert show(command.run_id) == "Komentorivi"
    assert show(gone.run_id) == "poistunut"
    assert show(running.id) == "Eräajonäkymä"
    dpo = english(login_as("dpo"))
    assert show(by_hand.id, dpo) == "Pekka Rekisterinpitäjä (privacy)"
    assert show(scheduled.id, dpo) == "Scheduler"
    assert show(command.run_id, dpo) == "Command line"

    listed = dpo.get("/jobrunview/list/").get_data(as_text=True)
    row = listed.split(f'/jobrunview/show/{by_hand.id}"')[1].split("</tr>")[0]
    assert shown_as(row, "Pekka Rekisterinpitäjä (privacy)")
    row = listed.split(f'/jobrunview/show/{scheduled.id}"')[1].split("</tr>")[0]
    assert shown_as(row, "Scheduler")
    assert not shown_as(listed, "screen") and not shown_as(listed, "schedule")


def _configure_mailchimp(app, monkeypatch, api_key="0123456789abcdef-us21", base_url=None):
    for key, value in (("CRM_MAILCHIMP_API_KEY", api_key),
                       ("CRM_MAILCHIMP_AUDIENCE_ID", "a1b2c3d4e5"),
                       ("CRM_MAILCHIMP_BASE_URL", base_url)):
        monkeypatch.setitem(app.config, key, value)


def _job_row(html: str, name: str) -> str:
    return html.split(f'data-job="{name}"')[1].split("</tr>")[0]


def test_an_unconfigured_mailchimp_sync_is_not_offered_and_says_what_to_set(app, session,
                                                                             login_as,
                                                                             monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", None)
    client = login_as("privacy")
    html = client.get("/jobs/").get_data(as_text=True)
    row = _job_row(html, "mailchimp_sync")
    assert 'id="run-mailchimp_sync"' not in row and 'id="dry-run-mailchimp_sync"' not in row
    assert "/jobs/run/mailchimp_sync" not in html
    assert 'id="run-retention"' in _job_row(html, "retention")
    said = row.split('class="text-warning small crm-not-configured">')[1].split("</p>")[0]
    assert said.startswith("Ei määritetty: ylläpitäjän on asetettava")
    assert "<code>CRM_MAILCHIMP_API_KEY</code>" in said
    assert "<code>CRM_MAILCHIMP_AUDIENCE_ID</code>" in said
    said = _job_row(english(client).get("/jobs/").get_data(as_text=True), "mailchimp_sync")
    assert ("Not configured: the administrator must set <code>CRM_MAILCHIMP_API_KEY</code>"
            in said and "<code>CRM_MAILCHIMP_AUDIENCE_ID</code>" in said)
    # The DPO, who may not run jobs, reads it too.
    assert "crm-not-configured" in _job_row(
        login_as("dpo").get("/jobs/").get_data(as_text=True), "mailchimp_sync")

    # A key without its server prefix cannot be called either (unless a base URL is set).
    _configure_mailchimp(app, monkeypatch, api_key="0123456789abcdef")
    row = _job_row(client.get("/jobs/").get_data(as_text=True), "mailchimp_sync")
    assert "crm-not-configured" in row and 'id="run-mailchimp_sync"' not in row
    _configure_mailchimp(app, monkeypatch)
    row = _job_row(client.get("/jobs/").get_data(as_text=True), "mailchimp_sync")
    assert "crm-not-configured" not in row
    assert 'id="run-mailchimp_sync"' in row and 'id="dry-run-mailchimp_sync"' in row


@pytest.mark.parametrize("form", [{"dry_run": "1"}, {"dry_run": "0"},
                                  {"dry_run": "0", "confirm": "1"}])
def test_a_post_to_run_an_unconfigured_mailchimp_sync_is_refused(app, session, login_as,
                                                                  monkeypatch, form):
    """Refused on the server, whatever the form says; recorded as skipped and why, as the
    scheduler's runs are then, with who tried."""
    from crm.jobs.mailchimp import NOT_CONFIGURED
    from crm.jobs.scheduler import run_scheduled

    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", None)
    client = login_as("privacy")
    token = csrf_token(client, "/jobs/")
    before = job_runs(session)
    response = client.post("/jobs/run/mailchimp_sync", data={"csrf_token": token, **form})
    assert response.status_code == 302 and response.location.endswith("/jobs/")
    refused = latest_run(session)
    assert job_runs(session) == before + 1
    assert (refused.job, refused.status, refused.error, refused.trigger, refused.dry_run) == (
        "mailchimp_sync", JobStatus.skipped, NOT_CONFIGURED, "screen", form["dry_run"] == "1")
    assert refused.counts == {}
    page = client.get(response.location).get_data(as_text=True)
    assert ("Mailchimp-synkronointi jäi ajamatta: Mailchimpiä ei ole määritetty. "
            "Ylläpitäjän on asetettava CRM_MAILCHIMP_API_KEY ja CRM_MAILCHIMP_AUDIENCE_ID."
            in page)
    assert started_by_cell(client.get(f"/jobrunview/show/{refused.id}")
                           .get_data(as_text=True)) == "Pekka Rekisterinpitäjä (privacy)"

    client = english(client)
    response = client.post("/jobs/run/mailchimp_sync", data={"csrf_token": token, **form})
    assert response.location.endswith("/jobs/")
    assert ("Mailchimp sync was not run: Mailchimp is not configured. The administrator must "
            "set CRM_MAILCHIMP_API_KEY and CRM_MAILCHIMP_AUDIENCE_ID."
            in client.get(response.location).get_data(as_text=True))
    # The scheduler's run then: the same record.
    run_scheduled(app, "mailchimp_sync")
    scheduled = latest_run(session)
    assert (scheduled.status, scheduled.error, scheduled.trigger) == (
        JobStatus.skipped, NOT_CONFIGURED, "schedule")


def test_a_sync_with_a_key_without_its_server_prefix_is_skipped_as_unconfigured(app, session,
                                                                               monkeypatch):
    from crm.jobs.mailchimp import NOT_CONFIGURED

    _configure_mailchimp(app, monkeypatch, api_key="0123456789abcdef")
    outcome = run_job(app, "mailchimp_sync", trigger="schedule")
    # Not a failure each hour ("ValueError"): skipped, saying what the screen says.
    assert (outcome.status, outcome.error) == (JobStatus.skipped, NOT_CONFIGURED)


def test_runs_need_the_run_permission_a_post_and_a_token(app, session, login_as):
    before = session.scalar(sa.select(sa.func.count()).select_from(JobRun))
    dpo = login_as("dpo")
    page = dpo.get("/jobs/")
    assert page.status_code == 200 and "/jobs/run/" not in page.get_data(as_text=True)
    token = session_csrf_token(dpo)
    assert dpo.post("/jobs/run/retention", data={"csrf_token": token}).status_code == 403
    for user in ("admin", "maintainer"):
        assert login_as(user).get("/jobs/").status_code == 200
    assert login_as("sales").get("/jobs/").status_code == 403

    privacy = login_as("privacy")
    assert privacy.post("/jobs/run/retention", data={}).status_code in (302, 400)
    assert privacy.get("/jobs/run/retention").status_code == 405
    token = csrf_token(privacy, "/jobs/")
    assert privacy.post("/jobs/run/nosuch", data={"csrf_token": token}).status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == before


# -- request reminders -------------------------------------------------------------------------

class SmtpSink(socketserver.ThreadingTCPServer):
    """A local SMTP server that keeps what it receives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[dict] = []

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.server_address[1]}"


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        reply = self.wfile.write
        reply(b"220 sink\r\n")
        recipients: list[str] = []
        lines: list[bytes] = []
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append({
                        "to": recipients,
                        "message": email.message_from_bytes(b"".join(lines))})
                    recipients, lines, in_data = [], [], False
                    reply(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            command = line[:4].upper()
            if command == b"RCPT":
                recipients.append(line.split(b":", 1)[1].strip(b" <>\r\n").decode())
            if command == b"DATA":
                in_data = True
                reply(b"354 go on\r\n")
            elif command == b"QUIT":
                reply(b"221 bye\r\n")
                return
            else:
                reply(b"250 ok\r\n")


@pytest.fixture
def smtp(app, monkeypatch):
    sink = SmtpSink()
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", sink.url)
    yield sink
    sink.shutdown()
    sink.server_close()


def test_request_reminders_raise_once_mail_once_and_resolve(app, session, smtp):
    due_soon = make_request(session, received_on=TODAY - timedelta(days=27),
                            requester_name="Salainen Pyytäjä",
                            requester_email="salainen@pyytaja.example")
    overdue = make_request(session, received_on=TODAY - timedelta(days=40))
    make_request(session, received_on=TODAY - timedelta(days=5))  # due in weeks
    make_request(session, received_on=TODAY - timedelta(days=60),
                 status=RequestStatus.completed)  # handled
    extended = make_request(session, received_on=TODAY - timedelta(days=40),
                            extended_due_on=TODAY + timedelta(days=40))
    session.commit()

    outcome = run(app, "request_reminders")
    assert (outcome.counts["due_soon"], outcome.counts["overdue"]) == (1, 1)
    assert outcome.counts["raised"] == 2 and outcome.counts["emailed"] == 2
    kinds = {(n.object_id, n.kind) for n in session.scalars(sa.select(Notification))}
    assert kinds == {(str(due_soon.id), NotificationKind.request_due),
                     (str(overdue.id), NotificationKind.request_overdue)}
    assert str(extended.id) not in {k for k, _ in kinds}
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["to"] == ["privacy@crm-demo.example"]
    body = mail["message"].get_payload(decode=True).decode()
    assert f"#{due_soon.id}" in body and f"/datasubjectrequestview/show/{overdue.id}" in body
    assert "Salainen" not in body and "pyytaja" not in body

    again = run(app, "request_reminders")
    assert again.counts["raised"] == 0 and again.counts["emailed"] == 0
    assert len(smtp.messages) == 1

    overdue.status = RequestStatus.completed
    session.commit()
    assert run(app, "request_reminders").counts["resolved"] == 1
    open_ = session.scalars(sa.select(Notification).where(Notification.resolved_at.is_(None)))
    assert [n.object_id for n in open_] == [str(due_soon.id)]


def test_reminders_show_on_the_jobs_screen(app, session, login_as):
    request = make_request(session, received_on=TODAY - timedelta(days=40))
    session.commit()
    run(app, "request_reminders")
    html = login_as("privacy").get("/jobs/").get_data(as_text=True)
    assert f"/datasubjectrequestview/show/{request.id}" in html
    assert 'data-kind="request_overdue"' in html


def test_reminders_on_the_jobs_screen_read_in_the_readers_language(app, session, login_as):
    """The date as the reader writes dates, and the role it is for translated."""
    request = make_request(session, received_on=TODAY - timedelta(days=40))
    session.commit()
    run(app, "request_reminders")
    due = session.scalar(sa.select(Notification.due_on)
                         .where(Notification.object_id == str(request.id)))
    client = login_as("privacy")
    html = client.get("/jobs/").get_data(as_text=True)
    item = html.split('data-kind="request_overdue"')[1].split("</li>")[0]
    assert f"{due.day}.{due.month}.{due.year}" in item and due.isoformat() not in item
    assert "Kenelle: Tietosuoja" in item and "Privacy" not in item
    html = english(client).get("/jobs/").get_data(as_text=True)
    item = html.split('data-kind="request_overdue"')[1].split("</li>")[0]
    # British (16/11/2026), not Babel's US English (11/16/26).
    assert f"{due:%d/%m/%Y}" in item and due.isoformat() not in item
    assert "For: Privacy" in item


def test_a_reminder_of_a_request_closed_since_is_not_shown(app, session, login_as):
    """Completed after the reminders job ran: no longer listed as overdue on the screen,
    though the job resolves it only at its next run."""
    request = make_request(session, received_on=TODAY - timedelta(days=40))
    other = make_request(session, received_on=TODAY - timedelta(days=41))
    session.commit()
    run(app, "request_reminders")
    request.status = RequestStatus.completed
    session.commit()
    html = login_as("privacy").get("/jobs/").get_data(as_text=True)
    assert f"/datasubjectrequestview/show/{request.id}" not in html
    assert f"/datasubjectrequestview/show/{other.id}" in html
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)
                          .where(Notification.resolved_at.is_(None))) == 2


def test_a_dry_run_of_reminders_raises_nothing(app, session, smtp):
    make_request(session, received_on=TODAY - timedelta(days=40))
    session.commit()
    outcome = run(app, "request_reminders", dry_run=True)
    assert outcome.counts["raised"] == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert smtp.messages == []


# -- Art. 14 notices ---------------------------------------------------------------------------

def test_art14_notices_owed_are_flagged_per_purchased_list(app, session):
    bought = Source(kind=SourceKind.purchased_list, name="Lista", supplier="Toimittaja Oy",
                    received_on=TODAY - timedelta(days=25), file_hash="c" * 64)
    session.add(bought)
    session.flush()

    def person(due_in: int, **contact_values) -> Provenance:
        row = Provenance(contact=make_contact(session, source=bought, **contact_values),
                         source=bought, art14_due_on=TODAY + timedelta(days=due_in))
        session.add(row)
        return row

    person(5)
    person(-1)  # overdue
    person(20)  # not yet
    notified = person(3)
    notified.art14_notified_at = NOW
    person(2, anonymised_at=NOW)  # nobody to notify
    session.commit()

    outcome = run(app, "art14_notices")
    assert (outcome.counts["owed"], outcome.counts["overdue"], outcome.counts["lists"]) == (2, 1, 1)
    notification = session.scalar(sa.select(Notification))
    assert notification.kind is NotificationKind.art14_owed
    assert (notification.object_type, notification.object_id) == ("Source", str(bought.id))
    assert notification.count == 2 and notification.due_on == TODAY - timedelta(days=1)
    assert notification.audience == "Marketing,Privacy"

    session.execute(sa.update(Provenance).values(art14_notified_at=NOW))
    session.commit()
    assert run(app, "art14_notices").counts["resolved"] == 1


# -- consent expiry -----------------------------------------------------------------------------

def test_consents_not_renewed_lapse_and_unsubscribe_who_has_none_left(app, session):
    lapsed = make_contact(session, marketing_status=MarketingStatus.subscribed)
    make_consent(session, lapsed, given_at=days_ago(800))
    renewed = make_contact(session, marketing_status=MarketingStatus.subscribed)
    make_consent(session, renewed, given_at=days_ago(800))
    make_consent(session, renewed, given_at=days_ago(10))
    other_purpose = make_contact(session, marketing_status=MarketingStatus.subscribed)
    purpose = session.scalar(sa.select(Purpose).where(Purpose.code == "new_business"))
    make_consent(session, other_purpose, purpose=purpose, given_at=days_ago(800))
    make_consent(session, other_purpose, given_at=days_ago(5))
    session.commit()
    version = lapsed.version

    dry = run(app, "consent_expiry", dry_run=True)
    assert (dry.counts["consents"], dry.counts["unsubscribed"]) == (3, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)
                          .where(Consent.withdrawn_at.is_not(None))) == 0

    outcome = run(app, "consent_expiry")
    assert (outcome.counts["consents"], outcome.counts["unsubscribed"]) == (3, 1)
    session.expire_all()
    assert session.get(Contact, lapsed.id).marketing_status is MarketingStatus.unsubscribed
    assert session.get(Contact, lapsed.id).version == version + 1
    assert session.get(Contact, renewed.id).marketing_status is MarketingStatus.subscribed
    assert session.get(Contact, other_purpose.id).marketing_status is MarketingStatus.subscribed
    assert run(app, "consent_expiry").counts == {"consents": 0, "unsubscribed": 0}


# -- audit-trail pruning and sessions --------------------------------------------------------

def test_audit_events_and_job_runs_past_their_period_are_pruned(app, session):
    session.add_all([
        AuditEvent(action="view", object_type="Contact", object_id="1", at=days_ago(1200)),
        AuditEvent(action="view", object_type="Contact", object_id="2", at=days_ago(300)),
        JobRun(job="retention", status=JobStatus.succeeded, started_at=days_ago(400)),
        JobRun(job="retention", status=JobStatus.succeeded, started_at=days_ago(100)),
    ])
    session.commit()
    outcome = run(app, "audit_pruning")
    assert (outcome.counts["audit_events"], outcome.counts["job_runs"]) == (1, 1)
    assert set(session.scalars(sa.select(AuditEvent.object_id)
                               .where(AuditEvent.action == "view"))) == {"2"}
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)
                          .where(JobRun.started_at < days_ago(365))) == 0


def test_expired_sessions_are_purged(app, session):
    session.add_all([
        UserSession(key_hash="1" * 64, data="{}", expires_at=NOW - timedelta(minutes=1),
                    last_seen_at=NOW),
        UserSession(key_hash="2" * 64, data="{}", expires_at=NOW + timedelta(hours=1),
                    last_seen_at=NOW - timedelta(hours=2)),
        UserSession(key_hash="3" * 64, data="{}", expires_at=NOW + timedelta(hours=1),
                    last_seen_at=NOW),
    ])
    session.commit()
    assert run(app, "session_purge", dry_run=True).counts["sessions"] == 2
    assert run(app, "session_purge").counts["sessions"] == 2
    assert set(session.scalars(sa.select(UserSession.key_hash))) == {"3" * 64}


def test_default_retention_policies_are_named_in_the_registers_language(app, session):
    """Seeded in Finnish for a Finnish register (the privacy officer edits them as data),
    in English for an English one."""
    assert policy_name("prospects") == \
        "Potentiaaliset asiakkaat, joihin ei ole ollut yhteyttä 24 kuukauteen"
    session.execute(sa.delete(RetentionPolicy).where(RetentionPolicy.code == "job_runs"))
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    try:
        load_reference_data(session)
        session.flush()
        assert policy_name("job_runs") == "Job runs after 1 year"
        assert policy_name("prospects").startswith("Potentiaaliset")  # left as it was
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = "fi"
        session.rollback()


def test_a_runs_page_and_a_policys_page_are_titled_in_the_singular(app, session, login_as):
    """One run's page is "Job run", one policy's "Retention policy": not the lists' titles."""
    run_row = JobRun(job="session_purge", started_at=NOW, finished_at=NOW, dry_run=False,
                     trigger="command", status=JobStatus.succeeded, counts={"sessions": 0})
    session.add(run_row)
    session.commit()
    policy = session.scalar(sa.select(RetentionPolicy).order_by(RetentionPolicy.id).limit(1))
    client = english(login_as("privacy"))
    for path, title in ((f"/jobrunview/show/{run_row.id}", "Job run"),
                        (f"/retentionpolicyview/show/{policy.id}", "Retention policy")):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r'<h1 class="panel-title">\s*(.*?)\s*</h1>', page).group(1) == title
    listing = client.get("/jobrunview/list/").get_data(as_text=True)
    assert re.search(r'<h1 class="panel-title">\s*(.*?)\s*</h1>', listing).group(1) == "Job runs"


def test_job_runs_are_filtered_by_the_jobs_titles(app, session, login_as):
    """The list shows titles; its filter offers the same titles, not a box for the
    internal name."""
    session.add_all([
        JobRun(job="retention", started_at=NOW, finished_at=NOW, dry_run=False,
               trigger="schedule", status=JobStatus.succeeded, counts={}),
        JobRun(job="session_purge", started_at=NOW, finished_at=NOW, dry_run=False,
               trigger="schedule", status=JobStatus.succeeded, counts={}),
    ])
    session.commit()
    client = english(login_as("privacy"))
    html = client.get("/jobrunview/list/").get_data(as_text=True)
    search = html.split("new AdminFilters(")[1].split("</script>")[0]
    for name in JOBS:
        assert f'value=\\"{name}\\"' in search, name
    assert "Mailchimp sync" in search and "Audit trail pruning" in search
    listed = client.get("/jobrunview/list/?_flt_0_job=retention").get_data(as_text=True)
    assert shown_as(listed, "Retention") and not shown_as(listed, "Sign-in session purge")
