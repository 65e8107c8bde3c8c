"""The scheduler: APScheduler in one process, misfires coalesced, one run per job at a time
even when two schedulers (or two machines) fire it together."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from crm.extensions import db
from crm.jobs import JOBS
from crm.jobs.scheduler import JOB_DEFAULTS, build_scheduler, watch_parent
from crm.models import Contact, JobRun, JobStatus
from tests.factories import make_contact

NOW = datetime.now(UTC)


def expired_people(session, count: int) -> None:
    for _ in range(count):
        make_contact(session, last_activity_at=NOW - timedelta(days=900))
    session.commit()


def finished_runs(job: str = "retention") -> list[JobRun]:
    db.session.expire_all()
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.job == job,
                                                      JobRun.status != JobStatus.running)).all()
    db.session.rollback()
    return runs


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def assert_ran_once(session, people: int) -> None:
    runs = finished_runs()
    assert sorted(r.status.value for r in runs) == ["skipped", "succeeded"], \
        [(r.status, r.error) for r in runs]
    done = next(r for r in runs if r.status is JobStatus.succeeded)
    assert done.counts["prospects"] == people
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)
                          .where(Contact.anonymised_at.is_not(None))) == people
    # No double work: one suppression entry per email and per phone.
    assert session.scalar(sa.text("SELECT count(*) FROM suppression_entry")) == 2 * people


def cli_env(app, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `crm` process working on the test database, no job scheduled."""
    return dict(os.environ, CRM_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                CRM_SECRET_KEY=app.config["SECRET_KEY"],
                CRM_SUPPRESSION_KEY=app.config["CRM_SUPPRESSION_KEY"],
                CRM_INSTANCE_DIR=str(tmp_path),
                CRM_JOB_SCHEDULES=json.dumps(dict.fromkeys(JOBS, "off")), **extra)


CRM = [sys.executable, "-c", "from crm.cli import main; main()"]


def test_every_job_is_scheduled_with_coalescing_and_one_instance(app):
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == set(JOBS)
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time == JOB_DEFAULTS["misfire_grace_time"]
        assert "hour='2', minute='30'" in str(jobs["retention"].trigger)
    finally:
        scheduler.shutdown(wait=False)


def test_misfired_runs_coalesce_into_one(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES",
                        {name: "off" for name in JOBS} | {"retention": "* * * * *"})
    # The schedule fires on every whole minute: keep the test's few seconds clear of
    # one, or its rightful next run would count as a second catch-up.
    seconds = datetime.now(UTC).second
    if seconds > 45:
        time.sleep(61 - seconds)
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        # Five runs were missed (the machine slept): one run catches up, not five.
        scheduler.modify_job("retention", next_run_time=datetime.now(UTC) - timedelta(minutes=5))
        scheduler.resume()
        wait_for(lambda: finished_runs())
        time.sleep(1.5)
    finally:
        scheduler.shutdown(wait=True)
    assert len(finished_runs()) == 1


def test_two_schedulers_firing_together_run_the_job_once(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", {name: "off" for name in JOBS})
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_SIZE", 2)
    monkeypatch.setitem(app.config, "CRM_RETENTION_BATCH_PAUSE", 0.3)
    expired_people(session, 6)
    schedulers = [build_scheduler(app, BackgroundScheduler, run_now=("retention",))
                  for _ in range(2)]
    for scheduler in schedulers:
        scheduler.start()
    try:
        wait_for(lambda: len(finished_runs()) == 2)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    assert_ran_once(session, 6)


def test_two_scheduler_processes_started_together_run_the_job_once(app, session, tmp_path):
    people = 12
    expired_people(session, people)
    env = cli_env(app, tmp_path, CRM_RETENTION_BATCH_SIZE="2", CRM_RETENTION_BATCH_PAUSE="0.4")
    processes = [subprocess.Popen([*CRM, "scheduler", "--run-now", "retention"], env=env,
                                  cwd=os.getcwd(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(2)]
    try:
        wait_for(lambda: len(finished_runs()) == 2, timeout=90)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    assert_ran_once(session, people)
    assert all(process.returncode == 0 for process in processes), [
        process.stderr.read()[-2000:] for process in processes]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def test_serve_runs_the_scheduler_beside_gunicorn_and_stops_it(app, tmp_path):
    port = _free_port()
    serve = subprocess.Popen([*CRM, "serve", "--port", str(port), "--workers", "1"],
                             env=cli_env(app, tmp_path), cwd=os.getcwd(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(answers, timeout=60)
        schedulers = [pid for pid, cmd in _children(serve.pid) if "crm.jobs.scheduler" in cmd]
        assert len(schedulers) == 1
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        wait_for(lambda: not Path(f"/proc/{schedulers[0]}").exists()
                 or "Z" in Path(f"/proc/{schedulers[0]}/stat").read_text().split()[2],
                 timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()


@pytest.mark.parametrize("args", [["--run-now", "nosuch"]])
def test_scheduler_refuses_unknown_jobs(app, args):
    result = app.test_cli_runner().invoke(args=["crm", "scheduler", *args])
    assert result.exit_code == 2 and "nosuch" in result.output


def test_serve_warns_when_its_workers_would_each_count_rate_limits(app):
    from crm.cli import shared_limits_warning

    config = {"RATELIMIT_STORAGE_URI": "memory://"}
    warning = shared_limits_warning(config, 2)
    assert warning and "multiplied by 2" in warning and "CRM_RATELIMIT_STORAGE_URI" in warning
    assert shared_limits_warning(config, 1) is None
    assert shared_limits_warning({"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}, 4) is None


def test_the_parent_watch_does_not_fill_the_log_but_other_jobs_still_log(caplog):
    """`crm serve`'s scheduler checks every two seconds that its parent lives: APScheduler
    would log two lines for each check, 86,400 a day."""
    scheduler = BackgroundScheduler()
    stopped = []
    watch_parent(scheduler, os.getppid(), lambda: stopped.append(True))
    scheduler.add_job(lambda: None, "interval", seconds=1, id="other-job", name="other-job")
    with caplog.at_level("INFO", logger="apscheduler"):
        scheduler.start()
        time.sleep(2.5)  # the watch runs once, the other job twice
        scheduler.shutdown()
    lines = [record.getMessage() for record in caplog.records
             if record.name == "apscheduler.executors.default"]
    assert any("other-job" in line for line in lines)
    assert not any("watch" in line for line in lines), lines
    assert stopped == []  # the parent is alive
