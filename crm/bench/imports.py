"""The purchased-list import measure (DESIGN §10): rows per second of `import_list`.

A clean list of 100,000 lines (Windows-1252, semicolons, as Finnish Excel writes
it; 20 people per organisation, 5 % of them already in the register) is imported
into the generated register, from reading the file to the commit. The baseline is
PostgreSQL's own COPY of the same file into a bare table of text columns, in the
same run: the least any import of the file can cost. On SQLite the baseline is
batched inserts into a bare table, and the figure is recorded without a target.
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
        floor = _floor(bench, path)
    if not result.stored or result.errors:
        from crm.bench import BenchError

        raise BenchError(f"the bench list was not imported: {result.counts}, "
                         f"{len(result.errors)} errors")
    rate = LIST_ROWS / seconds
    baseline_rate = LIST_ROWS / baseline
    target = bench.postgres
    return {
        "figure": round(rate), "baseline": round(baseline_rate),
        "ratio": round(seconds / baseline, 3), "unit": "rows/s",
        "target": f"≥ {TARGET_ROWS_PER_SECOND}" if target else "recorded",
        "ok": rate >= TARGET_ROWS_PER_SECOND if target else True,
        "extra": [{"name": "import: writes alone (floor)", "figure": round(LIST_ROWS / floor),
                   "unit": "rows/s", "ratio": round(seconds / floor, 3),
                   "target": "recorded", "ok": True}],
        "details": {"lines": result.lines, "seconds": round(seconds, 3),
                    "baseline_seconds": round(baseline, 3), "floor_seconds": round(floor, 3),
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
#: its purpose, with the schema's indexes and foreign keys.
_FLOOR_WRITES = (
    "INSERT INTO contact (first_name, last_name, title, email, phone, country, language, "
    "legal_basis, source_id, marketing_status, legal_hold, created_at, updated_at, version) "
    "SELECT c0, c1, c2, c3, c4, 'FI', 'fi', 'position', :source, 'never', false, "
    ":now, :now, 1 FROM bench_list",
    "INSERT INTO provenance (contact_id, source_id, recorded_at, art14_due_on) "
    "SELECT id, :source, :now, :due FROM contact WHERE source_id = :source",
    "INSERT INTO contact_purpose (contact_id, purpose_id) SELECT c.id, p.id "
    "FROM contact c, purpose p WHERE c.source_id = :source AND p.code = 'new_business'",
)


def _floor(bench: Bench, path: Path) -> float:
    """Seconds to write the list's people with no checks, merging or matching; rolled back."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    with bench.engine.connect() as conn:
        _load_raw(bench, conn, path)
        source = conn.execute(sa.text(
            "INSERT INTO source (kind, name, created_at) VALUES ('purchased_list', "
            "'Bench floor', :now) RETURNING id"), {"now": now}).scalar_one()
        values = {"source": source, "now": now, "due": (now + timedelta(days=30)).date()}
        started = time.perf_counter()
        for statement in _FLOOR_WRITES:
            conn.execute(sa.text(statement), values)
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


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
