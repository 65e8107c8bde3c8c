"""`crm bench`: generated data at scale and the measures of DESIGN §10.

A measure is a function `measure(bench) -> dict` registered in `MEASURES`. It
returns its figure, the baseline measured in the same run, their ratio and the
target, and may add more rows (`extra`) and free-form `details`. The measures change
data (they generate it and run jobs over it): run `crm bench` on a scratch database.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.bench.generate import generate
from crm.extensions import db

#: Tables the bench keeps: reference data, sign-ins. Users, roles (ab_*) and the
#: migration state are kept too; every other table is emptied before generating.
KEPT_TABLES = {"alembic_version", "purpose", "source", "retention_policy", "recipient",
               "user_session", "oidc_identity"}


def register_tables() -> list[str]:
    """Return the tables the bench empties, children before parents."""
    from flask_appbuilder import Model

    return [t.name for t in reversed(Model.metadata.sorted_tables)
            if not t.name.startswith("ab_") and t.name not in KEPT_TABLES]


class BenchError(Exception):
    """The bench cannot run as asked; the message says why."""


@dataclass
class Bench:
    """What a measure works with: the app, the size asked for, output."""

    app: Flask
    contacts: int
    echo: Callable[[str], None]

    @property
    def engine(self) -> Engine:
        return db.engine

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def reset(self) -> None:
        """Empty the register tables."""
        db.session.remove()  # this process's own open transaction would block the TRUNCATE
        with self.engine.begin() as conn:
            if self.postgres:
                # Fail rather than wait for ever behind a session that reads these tables.
                conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
                conn.execute(sa.text(f"TRUNCATE {', '.join(register_tables())} "
                                     "RESTART IDENTITY CASCADE"))
            else:
                for table in register_tables():
                    conn.execute(sa.text(f"DELETE FROM {table}"))

    def generate(self, contacts: int) -> None:
        with Session(self.engine) as session:
            generate(session, contacts)
        self.compact()

    def compact(self) -> None:
        """Rewrite the tables compactly, as after a fresh load, and refresh statistics."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.postgres:
                conn.exec_driver_sql("VACUUM (FULL, ANALYZE) contact")
                conn.exec_driver_sql("VACUUM ANALYZE organisation")
                conn.exec_driver_sql("VACUUM ANALYZE activity")
            else:
                conn.exec_driver_sql("VACUUM")
                conn.exec_driver_sql("ANALYZE")

    def checkpoint(self) -> None:
        """Flush dirty pages now, so a measurement does not pay for the previous one's."""
        if not self.postgres:
            return
        with self.engine.connect() as conn:
            try:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "CHECKPOINT")
            except sa.exc.DBAPIError:
                pass  # not allowed for this database user: measure without it

    def run_worker(self, *args: str) -> dict:
        """Run `python -m crm.bench.worker ARGS` on this database; return its JSON answer."""
        env = dict(os.environ,
                   CRM_DATABASE_URL=self.app.config["SQLALCHEMY_DATABASE_URI"],
                   CRM_SECRET_KEY=self.app.config["SECRET_KEY"],
                   CRM_SUPPRESSION_KEY=self.app.config["CRM_SUPPRESSION_KEY"],
                   CRM_RETENTION_BATCH_SIZE=str(self.app.config["CRM_RETENTION_BATCH_SIZE"]),
                   CRM_RETENTION_WORKERS=str(self.app.config["CRM_RETENTION_WORKERS"]))
        done = subprocess.run([sys.executable, "-m", "crm.bench.worker", *args], env=env,
                              cwd=os.getcwd(), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"bench worker {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def _measures() -> dict[str, Callable[[Bench], dict]]:
    from crm.bench import imports, lists, retention, search, web

    # The read-only measures first: the retention job anonymises most contacts.
    measures = {"list_first_page": lists.first_page, "list_deep_page": lists.deep_page,
                "search_email": search.email, "search_name": search.name,
                "search_phone": search.phone, "search_organisation": search.organisation,
                "permission_queries": lists.permission_queries}
    if importlib.util.find_spec("crm.privacy.export") is not None:
        from crm.bench import export

        measures["access_export"] = export.measure
    measures["web_throughput"] = web.measure
    return measures | {"retention": retention.measure, "import": imports.measure}


MEASURES = _measures()


def run_bench(app: Flask, *, contacts: int | None, only: tuple[str, ...],
              output: str | None, reset: bool, echo: Callable[[str], None] = print,
              reuse: bool = False) -> dict:
    """Run the chosen measures; print a table; write JSON to `output` when given."""
    with app.app_context():
        bench = Bench(app, 0, echo)
        if contacts is None:
            contacts = 1_000_000 if bench.postgres else 100_000
        if contacts < 100:
            raise BenchError("--contacts must be at least 100")
        bench.contacts = contacts
        with bench.engine.connect() as conn:
            present = conn.scalar(sa.text("SELECT count(*) FROM contact"))
        if present and not reset and not (reuse and present == contacts):
            raise BenchError(f"the database holds {present} contacts: the bench changes data, "
                             "so run it on a scratch database, with --reset to empty it "
                             "(or --reuse to keep exactly --contacts generated ones)")
        if present and reset:
            bench.echo(f"emptying the register ({present} contacts)")
            bench.reset()
        from crm.services.reference import load_reference_data

        with Session(bench.engine) as session:
            load_reference_data(session)
            session.commit()
        results: dict = {"database": bench.engine.dialect.name, "contacts": contacts,
                         "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                         "measures": {}}
        for name in only:
            echo(f"== {name}")
            try:
                results["measures"][name] = MEASURES[name](bench)
            finally:
                # Requests of the test client share the bench's app context and its
                # session: end its transaction, which would block the next reset.
                db.session.remove()
            if output:  # what is measured so far survives a later measure's failure
                _write(output, results)
        echo(format_table(results))
        if output:
            _write(output, results)
            echo(f"results written to {output}")
        return results


def _write(output: str, results: dict) -> None:
    Path(output).write_text(json.dumps(results, indent=2, default=str) + "\n")


def format_table(results: dict) -> str:
    """Return the results as a plain-text table."""
    lines = [f"{'measure':<32} {'figure':>12} {'baseline':>12} {'ratio':>7}  target  ok"]
    for name, result in results["measures"].items():
        for row in [dict(result, name=name), *result.get("extra", [])]:
            lines.append(f"{row['name']:<32} {_fmt(row.get('figure'), row.get('unit')):>12} "
                         f"{_fmt(row.get('baseline'), row.get('unit')):>12} "
                         f"{_fmt(row.get('ratio')):>7}  {row.get('target', ''):<6}  "
                         f"{'yes' if row.get('ok') else 'NO'}")
    return "\n".join(lines)


def _fmt(value, unit: str | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return f"{value} {unit}" if unit else str(value)
