"""The scheduler process: APScheduler 3 running the jobs on their crontabs (DESIGN §8).

One scheduler process per deployment (`crm scheduler`, or the child `crm serve`
starts beside gunicorn). Runs that were missed while it was down or busy coalesce
into one; a job never runs twice at once in this process (max_instances=1) nor
across processes and machines (the database lock of `crm.jobs.runner`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from crm.jobs import JOBS, schedules
from crm.jobs.context import STOPPING
from crm.jobs.crontab import crontab_trigger
from crm.jobs.runner import run_job

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    "coalesce": True,  # several missed runs: run once
    "max_instances": 1,
    "misfire_grace_time": 3600,  # a run missed by up to an hour still happens
}
SCHEDULER_ACTOR = (None, "scheduler")


def run_scheduled(app: Flask, name: str) -> None:
    """Run job `name` for the scheduler; errors are logged, never raised into APScheduler."""
    try:
        run_job(app, name, trigger="schedule", actor=SCHEDULER_ACTOR)
    except Exception as exc:  # e.g. the database is down: try again at the next time
        log.error("scheduled job %s could not run: %s", name, type(exc).__name__)


def build_scheduler(app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler,
                    run_now: tuple[str, ...] = ()) -> BaseScheduler:
    """Return a scheduler with every scheduled job added (not started).

    :param run_now: jobs to run once right at start, besides their schedules.
    """
    zone = ZoneInfo(app.config["CRM_TIMEZONE"])
    scheduler = scheduler_class(timezone=zone, job_defaults=dict(JOB_DEFAULTS))
    for name, crontab in schedules(app.config).items():
        if crontab:
            scheduler.add_job(run_scheduled, crontab_trigger(crontab, zone),
                              args=[app, name], id=name, name=name)
    for name in run_now:
        if name not in JOBS:
            raise KeyError(name)
        scheduler.add_job(run_scheduled, "date", run_date=datetime.now(zone), args=[app, name],
                          id=f"{name}-at-start", name=name)
    return scheduler


#: The job checking, every two seconds, that `crm serve` is still there.
WATCH_PARENT = "watch-parent"


class _QuietWatch(logging.Filter):
    """Leave out APScheduler's "Running job" / "executed successfully" lines of the
    parent watch: two lines every two seconds would bury the log's real news."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(getattr(arg, "id", None) == WATCH_PARENT for arg in args)


def watch_parent(scheduler: BaseScheduler, parent_pid: int, stop) -> None:
    """Stop the scheduler (`stop()`) once the process that started it has ended."""

    def watch() -> None:
        if os.getppid() != parent_pid:
            log.info("the process that started the scheduler ended; stopping")
            stop()

    logging.getLogger("apscheduler.executors.default").addFilter(_QuietWatch())
    scheduler.add_job(watch, "interval", seconds=2, id=WATCH_PARENT)


def run_scheduler(app: Flask, run_now: tuple[str, ...] = (),
                  parent_pid: int | None = None) -> None:
    """Run the scheduler until SIGTERM or SIGINT (or until `parent_pid` ends)."""
    scheduler = build_scheduler(app, BlockingScheduler, run_now)
    if parent_pid is not None:
        watch_parent(scheduler, parent_pid, lambda: stop())

    def stop(*_args) -> None:
        STOPPING.set()  # running jobs stop at their next batch boundary
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s", ", ".join(
        f"{job.id} ({job.trigger})" for job in scheduler.get_jobs()))
    scheduler.start()
    log.info("scheduler stopped")


def start_scheduler_process() -> subprocess.Popen:
    """Start the scheduler in a child process that ends when this process ends."""
    return subprocess.Popen([sys.executable, "-m", "crm.jobs.scheduler",
                             "--parent", str(os.getpid())], cwd=os.getcwd())


def main(argv: list[str] | None = None) -> None:
    """Entry of the child process `crm serve` starts: build the app, run the scheduler."""
    import argparse

    parser = argparse.ArgumentParser(prog="crm.jobs.scheduler")
    parser.add_argument("--parent", type=int, default=None)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s "
                                                   "%(name)s: %(message)s")
    from crm import create_app

    run_scheduler(create_app(), parent_pid=args.parent)


if __name__ == "__main__":
    main()
