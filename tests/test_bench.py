"""`crm bench`: the retention measure, small, on the test database."""

from __future__ import annotations

import json

import sqlalchemy as sa

from crm.bench import MEASURES, BenchError, format_table, run_bench
from crm.bench.generate import generate
from crm.extensions import db
from crm.models import Contact


def test_generated_data_has_about_sixty_percent_expired(app, session):
    from crm.models.base import utcnow
    from crm.services.retention import CONTACT_KINDS, enabled_policies, expired

    generate(session, 2000)
    conditions = [expired(p, utcnow())[1] for p in enabled_policies(session, CONTACT_KINDS)]
    total = session.scalar(sa.select(sa.func.count()).select_from(Contact))
    due = session.scalar(sa.select(sa.func.count()).select_from(Contact)
                         .where(sa.or_(*conditions)))
    assert total == 2000 and 0.55 < due / total < 0.65


def test_the_retention_measure_reports_ratio_memory_and_lock(app, session, tmp_path):
    session.commit()
    db.session.remove()
    output = tmp_path / "bench.json"
    results = run_bench(app, contacts=1200, only=("retention",), output=str(output),
                        reset=True, echo=lambda _: None)
    written = json.loads(output.read_text())
    assert written["contacts"] == 1200 and set(written["measures"]) == {"retention"}
    measure = results["measures"]["retention"]
    assert measure["figure"] > 0 and measure["baseline"] > 0
    details = measure["details"]
    assert measure["ratio"] == round(details["job_seconds"] / details["update_seconds"], 3)
    assert details["expired_by_update"] == details["anonymised_by_job"] > 0
    assert details["job_status"] == "succeeded"
    names = [row["name"] for row in measure["extra"]]
    assert names == ["retention peak memory N vs N/4", "retention vs UPDATE + INSERT",
                     "retention longest batch lock"]
    assert details["suppression_insert_seconds"] > 0
    assert all(row["figure"] is not None for row in measure["extra"])
    assert "retention" in format_table(results)


def test_the_bench_refuses_a_database_with_data_unless_reset(app, session):
    from tests.factories import make_contact

    make_contact(session)
    session.commit()
    try:
        run_bench(app, contacts=200, only=("retention",), output=None, reset=False,
                  echo=lambda _: None)
    except BenchError as exc:
        assert "scratch database" in str(exc)
    else:
        raise AssertionError("the bench ran on a database with contacts")
    assert set(MEASURES) >= {"retention"}
