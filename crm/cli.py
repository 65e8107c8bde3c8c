"""The `crm` commands (DESIGN §3): `flask --app app crm ...` or the `crm` script."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from flask_babel import force_locale

from crm.privacy.cli import subject
from crm.services.imports.cli import import_command
from crm.views.locale import COMMAND_LINE_LOCALE

crm = AppGroup("crm", help="Contact register CRM commands.")


@crm.command("init")
def init_command() -> None:
    """Migrate the database to head and sync role definitions."""
    from flask_migrate import upgrade

    from crm.extensions import db
    from crm.security.sync import sync_roles
    from crm.services.reference import load_reference_data

    upgrade(directory=current_app.extensions["migrate"].directory)
    counts = sync_roles(current_app.appbuilder)
    load_reference_data(db.session)
    db.session.commit()
    click.echo(f"database at head; {len(counts)} roles synced; reference data in place")


@crm.command("demo")
def demo_command() -> None:
    """Load invented demo data and one demo user per role (idempotent)."""
    from crm.extensions import db
    from crm.services.demo import load_demo

    summary = load_demo(db.session, current_app.appbuilder.sm,
                        current_app.config["CRM_DEMO_PASSWORD"])
    db.session.commit()
    click.echo(summary)


@crm.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=lambda: int(os.environ.get("CRM_WORKERS", "2")),
              show_default="2 or CRM_WORKERS", type=int)
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=None,
              help="Run the scheduler beside the web workers (default: CRM_SCHEDULER, on).")
def serve_command(host: str, port: int, workers: int, with_scheduler: bool | None) -> None:
    """Run the web app under gunicorn, and the scheduler in a process beside it."""
    from gunicorn.app.base import BaseApplication

    from crm.jobs.scheduler import start_scheduler_process

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            # Query strings can carry search terms (names, emails): log the path only.
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms')

        def load(self):
            from app import app

            return app

    warning = shared_limits_warning(current_app.config, workers)
    if warning:
        click.echo(warning, err=True)
    if with_scheduler is None:
        with_scheduler = current_app.config["CRM_SCHEDULER"]
    # One scheduler per machine; the jobs' database locks make a second machine's harmless.
    scheduler = start_scheduler_process() if with_scheduler else None
    try:
        Server().run()
    finally:
        if scheduler is not None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                scheduler.kill()


def shared_limits_warning(config, workers: int) -> str | None:
    """Say so when the workers would each count rate limits on their own (memory://):
    the public form's "5 per minute" would then let 5 per worker through."""
    if workers > 1 and config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return (f"warning: the {workers} workers count rate limits apart (memory://), so "
                f"the public form's and sign-in's limits are multiplied by {workers}. Set "
                "CRM_RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379) to share the "
                "counts.")
    return None


@crm.command("scheduler")
@click.option("--run-now", "run_now", multiple=True, metavar="NAME",
              help="Also run this job once at start (repeatable).")
def scheduler_command(run_now: tuple[str, ...]) -> None:
    """Run the scheduler alone: the one scheduler process of a deployment."""
    from crm.jobs import JOBS
    from crm.jobs.scheduler import run_scheduler

    for name in run_now:
        if name not in JOBS:
            raise click.BadParameter(f"no job {name!r}; the jobs are: {', '.join(JOBS)}",
                                     param_hint="--run-now")
    _log_to_stderr()
    run_scheduler(current_app._get_current_object(), run_now=run_now)


jobs = AppGroup("jobs", help="The scheduled jobs: list them, run one now.")
crm.add_command(jobs)
crm.add_command(import_command)
crm.add_command(subject)

#: Exit status of `crm jobs run`: 0 succeeded, 1 failed, 3 skipped (another run holds the lock).
EXIT_STATUS = {"succeeded": 0, "failed": 1, "skipped": 3}


@jobs.command("list")
def jobs_list_command() -> None:
    """List the jobs with their schedules and last runs."""
    import sqlalchemy as sa

    from crm.extensions import db
    from crm.jobs import JOBS, schedules
    from crm.models import JobRun

    crontabs = schedules(current_app.config)
    for name, job in JOBS.items():
        last = db.session.scalar(sa.select(JobRun).where(JobRun.job == name)
                                 .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
        when = (f"last {last.status.value} {last.started_at:%Y-%m-%d %H:%M}"
                f"{' (dry run)' if last.dry_run else ''}" if last else "never run")
        click.echo(f"{name:<18} {crontabs[name] or 'not scheduled':<14} {when}")
        with force_locale(COMMAND_LINE_LOCALE):  # English, as `crm import` speaks
            click.echo(f"{'':<18} {job.description}")


@jobs.command("run")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Count what would change; change nothing.")
def jobs_run_command(name: str, dry_run: bool) -> None:
    """Run job NAME now and print its counts (exit 1 when it fails, 3 when skipped)."""
    from crm.jobs import JOBS
    from crm.jobs.runner import run_job

    if name not in JOBS:
        raise click.BadParameter(f"no job {name!r}; the jobs are: {', '.join(JOBS)}",
                                 param_hint="NAME")
    _log_to_stderr(logging.WARNING)
    outcome = run_job(current_app._get_current_object(), name, dry_run=dry_run,
                      trigger="command")
    click.echo(f"{name}: {outcome.status.value}{' (dry run)' if dry_run else ''}, "
               f"run #{outcome.run_id}")
    for key, value in outcome.counts.items():
        click.echo(f"  {key}: {value}")
    if outcome.error:
        click.echo(f"  error: {outcome.error}", err=True)
    sys.exit(EXIT_STATUS[outcome.status.value])


@crm.command("bench")
@click.option("--contacts", type=int, default=None,
              help="Contacts to generate (default 1,000,000 on PostgreSQL, 100,000 on SQLite).")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Run only this measure (repeatable).")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write the results as JSON to this file.")
@click.option("--reset", is_flag=True,
              help="Empty the register first. The measures change data: use a scratch database.")
@click.option("--reuse", is_flag=True,
              help="Keep the generated contacts of an earlier run if there are --contacts of them.")
def bench_command(contacts: int | None, only: tuple[str, ...], output: str | None,
                  reset: bool, reuse: bool) -> None:
    """Run the benchmark of DESIGN §10 on generated data in the configured database."""
    from crm.bench import MEASURES, BenchError, run_bench

    unknown = [name for name in only if name not in MEASURES]
    if unknown:
        raise click.BadParameter(f"no measure {unknown[0]!r}; the measures are: "
                                 f"{', '.join(MEASURES)}", param_hint="--only")
    try:
        run_bench(current_app._get_current_object(), contacts=contacts,
                  only=only or tuple(MEASURES), output=output, reset=reset, echo=click.echo,
                  reuse=reuse)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc


def _log_to_stderr(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def init_app(app: Flask) -> None:
    app.cli.add_command(crm)


def main() -> None:
    """Entry point of the `crm` console script: `crm init` is `flask --app app crm init`."""
    sys.path.insert(0, os.getcwd())
    from crm import create_app

    group = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False)
    group.add_command(crm)
    group.main(args=["crm", *sys.argv[1:]], prog_name="crm")


if __name__ == "__main__":
    main()
