"""The `crm` commands (DESIGN §3): `flask --app app crm ...` or the `crm` script."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

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
def serve_command(host: str, port: int, workers: int) -> None:
    """Run the web app under gunicorn."""
    from gunicorn.app.base import BaseApplication

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

    Server().run()


def init_app(app: Flask) -> None:
    app.cli.add_command(crm)


def main() -> None:
    """Entry point of the `crm` console script: `crm init` is `flask --app app crm init`."""
    sys.path.insert(0, os.getcwd())
    from crm import create_app

    group = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False)
    group.add_command(crm)
    group.main(args=["crm", *sys.argv[1:]], prog_name="crm")
