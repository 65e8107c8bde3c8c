"""The purchased-list import measure (DESIGN §10): rows per second of `import_list`.

A clean list of 100,000 lines (Windows-1252, semicolons, as Finnish Excel writes
it; 20 people per organisation, 5 % of them already in the register) is imported
into the generated register, from reading the file to the commit. The baseline is
PostgreSQL's own COPY of the same file into a bare table of text columns, in the
same run: the least any import of the file can cost. On SQLite the baseline is
batched inserts into a bare table, and the figure is recorded without a target.

Three more figures explain the gap between the two:

- the floor: the same people written straight from the copied table (contact,
  provenance, purpose), with no checks, matching or organisations: what the
  schema's indexes and foreign keys cost, whoever writes the rows;
- the floor's contact insert with the contact table's secondary indexes dropped
  (in a transaction rolled back): how much of the floor is index upkeep;
- the checks alone: reading and checking every line in Python, no database.

The import's own time is split by phase (`details.phases`).
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.services.demo import FIRST_NAMES, LAST_NAMES, TITLES, business_id

if TYPE_CHECKING:
    from crm.bench import Bench

LIST_ROWS = 100_000
TARGET_ROWS_PER_SECOND = 50_000
#: Share of the list's people already in the register (they merge).
KNOWN_SHARE = 0.05
HEADER = ["Etunimi", "Sukunimi", "Titteli", "Sähköposti", "Puhelin", "Yritys", "Y-tunnus"]
_ASCII = str.maketrans("äöåÄÖÅ", "aoaAOA")


def write_list(path: Path, rows: int, known: int = 0, seed: int = 7) -> None:
    """Write a clean purchased list of `rows` lines; the first `known` of every 100 lines
    use the email of a generated contact (crm.bench.generate) and so merge."""
    rnd = random.Random(seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(rows):
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        org = i // 20
        if known and i % 100 < known:
            email = f"bench{i + 1}@bench{(i + 1) % 997}.example"
        else:
            email = f"{first}.{last}.{i}@listayritys{org}.example".translate(_ASCII).lower()
        writer.writerow([first, last, rnd.choice(TITLES), email,
                         f"040 {i // 10000:03d} {i % 10000:04d}",
                         f"Listayritys {org:05d} Oy", business_id(5_000_000 + org * 3)])
    path.write_bytes(out.getvalue().encode("cp1252"))


def measure(bench: Bench) -> dict:
    from crm.services.imports import import_list

    bench.echo(f"generating {bench.contacts} contacts, then a list of {LIST_ROWS} lines")
    bench.reset()
    with bench.engine.begin() as conn:  # lists of earlier runs (the bench keeps sources)
        conn.execute(sa.text("DELETE FROM source WHERE kind = 'purchased_list'"))
    bench.generate(bench.contacts)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ostolista.csv"
        known = round(KNOWN_SHARE * 100) if bench.contacts >= LIST_ROWS else 0
        write_list(path, LIST_ROWS, known=known)
        bench.echo("baseline: the file copied into a bare table")
        baseline = _baseline(bench, path)
        bench.checkpoint()
        bench.echo("the import")
        with Session(bench.engine) as session:
            started = time.perf_counter()
            result = import_list(session, path.read_bytes(), name="Bench list",
                                 supplier="Bench", actor=(None, "bench"))
            seconds = time.perf_counter() - started
        bench.echo("floor: the same people written straight from a table, nothing checked")
        bench.checkpoint()
        floor = _floor(bench, path)
        bare = None
        if bench.postgres:  # transactional DROP INDEX, surely rolled back
            bench.echo("the floor's contact insert without the contact table's "
                       "secondary indexes")
            bench.checkpoint()
            bare = _floor(bench, path, without_indexes=True)["writes"]["contact"]
        bench.echo("the checks alone: every line read and checked, no database")
        checks = _checks(path)
    if not result.stored or result.errors:
        from crm.bench import BenchError

        raise BenchError(f"the bench list was not imported: {result.counts}, "
                         f"{len(result.errors)} errors")
    rate = LIST_ROWS / seconds
    baseline_rate = LIST_ROWS / baseline
    target = bench.postgres
    floor_seconds = sum(floor["writes"].values())

    def extra(name: str, part_seconds: float | None) -> dict:
        if part_seconds is None:
            return {"name": name, "figure": None, "unit": "rows/s", "target": "recorded",
                    "ok": True}
        return {"name": name, "figure": round(LIST_ROWS / part_seconds), "unit": "rows/s",
                "ratio": round(seconds / part_seconds, 3), "target": "recorded", "ok": True}

    return {
        "figure": round(rate), "baseline": round(baseline_rate),
        "ratio": round(seconds / baseline, 3), "unit": "rows/s",
        "target": f"≥ {TARGET_ROWS_PER_SECOND}" if target else "recorded",
        "ok": rate >= TARGET_ROWS_PER_SECOND if target else True,
        "extra": [extra("import: writes alone (floor)", floor_seconds),
                  extra("import: floor's contacts, no index", bare),
                  extra("import: checks alone (Python)", checks)],
        "details": {"lines": result.lines, "seconds": round(seconds, 3),
                    "phases": {k: round(v, 3) for k, v in result.seconds.items()},
                    "baseline_seconds": round(baseline, 3),
                    "floor_seconds": round(floor_seconds, 3),
                    "floor_writes": {k: round(v, 3) for k, v in floor["writes"].items()},
                    "contact_indexes": floor["indexes"],
                    "floor_contact_without_indexes_seconds": bare and round(bare, 3),
                    "checks_seconds": round(checks, 3),
                    "counts": result.counts, "register_contacts": bench.contacts},
    }


def _baseline(bench: Bench, path: Path) -> float:
    """Seconds to load the file as it is into a bare table, rolled back."""
    with bench.engine.connect() as conn:
        started = time.perf_counter()
        _load_raw(bench, conn, path)
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


#: What any import must write for each new person: the contact, its provenance and
#: its purpose, with the schema's indexes and foreign keys. The contacts go in email
#: order, as the import writes them (crm.services.imports.merge).
_FLOOR_WRITES = {
    "contact": "INSERT INTO contact (first_name, last_name, title, email, phone, country, "
    "language, legal_basis, source_id, marketing_status, legal_hold, created_at, updated_at, "
    "version) SELECT c0, c1, c2, c3, c4, 'FI', 'fi', 'position', :source, 'never', false, "
    ":now, :now, 1 FROM bench_list ORDER BY lower(c3)",
    "provenance": "INSERT INTO provenance (contact_id, source_id, recorded_at, art14_due_on) "
    "SELECT id, :source, :now, :due FROM contact WHERE source_id = :source",
    "contact_purpose": "INSERT INTO contact_purpose (contact_id, purpose_id) SELECT c.id, p.id "
    "FROM contact c, purpose p WHERE c.source_id = :source AND p.code = 'new_business'",
}


def _floor(bench: Bench, path: Path, without_indexes: bool = False) -> dict:
    """Seconds of each write of the list's people with no checks, merging or matching,
    and how many indexes the contact table has; rolled back.

    :param without_indexes: drop the contact table's secondary indexes first (inside
        the transaction, so they come back) and write only the contacts.
    """
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    with bench.engine.connect() as conn:
        _load_raw(bench, conn, path)
        source = conn.execute(sa.text(
            "INSERT INTO source (kind, name, created_at) VALUES ('purchased_list', "
            "'Bench floor', :now) RETURNING id"), {"now": now}).scalar_one()
        values = {"source": source, "now": now, "due": (now + timedelta(days=30)).date()}
        indexes = [i["name"] for i in sa.inspect(conn).get_indexes("contact")
                   if not i.get("unique")]
        writes = _FLOOR_WRITES
        if without_indexes:
            for name in indexes:
                conn.exec_driver_sql(f"DROP INDEX {name}")
            writes = {"contact": _FLOOR_WRITES["contact"]}
        seconds = {}
        for name, statement in writes.items():
            started = time.perf_counter()
            conn.execute(sa.text(statement), values)
            seconds[name] = time.perf_counter() - started
        conn.rollback()
    return {"writes": seconds, "indexes": len(indexes)}


def _checks(path: Path) -> float:
    """Seconds to read and check every line of the file, as the import does, in Python."""
    from crm.services.imports import checks
    from crm.services.imports.parsing import open_list, read_rows

    checks.clear_caches()  # as the import found them: every value checked afresh
    started = time.perf_counter()
    errors: list = []
    for _row in read_rows(open_list(path.read_bytes()), errors):
        pass
    return time.perf_counter() - started


def _load_raw(bench: Bench, conn, path: Path) -> None:
    """Load the file's lines as they are into a temporary table of text columns."""
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    conn.exec_driver_sql("DROP TABLE IF EXISTS bench_list")  # SQLite keeps temp DDL
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE bench_list ({columns})")
    if bench.postgres:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                "COPY bench_list FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true, "
                "ENCODING 'WIN1252')") as copy:
            copy.write(path.read_bytes())
    else:
        reader = csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline=""),
                            delimiter=";")
        next(reader)
        marks = ", ".join("?" * len(HEADER))
        conn.connection.driver_connection.executemany(
            f"INSERT INTO bench_list VALUES ({marks})", reader)
