"""The import's benchmark (crm.bench.imports), small, on the test database, and the
phase timings it reports."""

from __future__ import annotations

from crm.bench import format_table, run_bench
from crm.bench import imports as import_bench
from crm.extensions import db
from crm.services.imports import import_list
from tests.test_import import RECEIVED, csv_file, line

PHASES = {"read_check_stage", "match", "organisations", "update_merged", "add_new",
          "provenance_merged", "line_numbers", "commit"}


def test_an_import_reports_the_seconds_of_each_phase(session):
    result = import_list(session, csv_file([line(1), line(2)]), name="Vaiheet",
                         received_on=RECEIVED)
    assert result.stored and set(result.seconds) == PHASES
    assert all(seconds >= 0 for seconds in result.seconds.values())
    dry = import_list(session, csv_file([line(3)]), name="Kuiva", received_on=RECEIVED,
                      dry_run=True)
    assert set(dry.seconds) == PHASES - {"commit"}


def test_the_import_measure_explains_its_figure(app, session, monkeypatch):
    monkeypatch.setattr(import_bench, "LIST_ROWS", 1000)
    session.commit()
    db.session.remove()
    results = run_bench(app, contacts=1200, only=("import",), output=None, reset=True,
                        echo=lambda _: None)
    measure = results["measures"]["import"]
    details = measure["details"]
    assert details["lines"] == 1000 and measure["figure"] > 0 and measure["baseline"] > 0
    # 5 of every 100 lines are generated contacts: a third of them opted out.
    counts = details["counts"]
    assert (counts["new"], counts["merged"] + counts["opted_out"]) == (950, 50)
    assert set(details["phases"]) == PHASES
    assert set(details["floor_writes"]) == {"contact", "provenance", "contact_purpose"}
    assert details["contact_indexes"] > 0 and details["checks_seconds"] > 0
    names = [row["name"] for row in measure["extra"]]
    assert names == ["import: writes alone (floor)", "import: floor's contacts, no index",
                     "import: checks alone (Python)"]
    postgres = results["database"] == "postgresql"
    assert (details["floor_contact_without_indexes_seconds"] is not None) is postgres
    assert "import" in format_table(results)
