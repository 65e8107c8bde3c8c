"""What the page measures share: repeated timing, percentiles, a signed-in client."""

from __future__ import annotations

import re
import secrets
import statistics
import time
from collections.abc import Callable

import sqlalchemy as sa

#: Runs after warm-up; the p95 of 30 runs is the second slowest.
REPETITIONS = 30
WARM_UP = 3
PAGE_TARGET = 1.5
PAGE_MS_TARGET = 50.0


def timings_ms(run: Callable[[], object], repetitions: int = REPETITIONS) -> list[float]:
    """Return the durations of `repetitions` runs of `run`, in ms, after a warm-up."""
    for _ in range(WARM_UP):
        run()
    result = []
    for _ in range(repetitions):
        started = time.perf_counter()
        run()
        result.append((time.perf_counter() - started) * 1000)
    return result


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 \
        else values[0]


def p50(values: list[float]) -> float:
    return statistics.median(values)


def compare(name: str, figure: list[float], baseline: list[float], *,
            target_ratio: float | None = PAGE_TARGET,
            target_ms: float | None = None) -> dict:
    """Return a result row: p95 of `figure` against the p95 of `baseline`."""
    f, b = p95(figure), p95(baseline)
    ratio = f / b if b else None
    ok = ((target_ratio is None or (ratio is not None and ratio <= target_ratio))
          and (target_ms is None or f <= target_ms))
    targets = [t for t in (target_ratio and f"≤ {target_ratio:g}×",
                           target_ms and f"≤ {target_ms:g} ms") if t]
    return {"name": name, "figure": round(f, 3), "baseline": round(b, 3),
            "ratio": round(ratio, 3) if ratio else None, "unit": "ms",
            "target": ", ".join(targets), "ok": ok,
            "details": {"p50_ms": round(p50(figure), 3), "baseline_p50_ms": round(p50(baseline), 3),
                        "repetitions": len(figure)}}


def bare_sql(engine: sa.Engine, sql: str, params: dict | None = None) -> Callable[[], list]:
    """Return a function running `sql` through the DB-API alone and fetching every row."""
    raw = engine.raw_connection()
    # Values inline, as literals: a generic plan for `LIKE $1` could not use an index.
    for name, value in (params or {}).items():
        quoted = "'" + str(value).replace("'", "''") + "'"
        sql = re.sub(rf":{name}\b", lambda _, q=quoted: q, sql)

    def run() -> list:
        cursor = raw.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    return run


def ensure_contacts(bench) -> None:
    """Generate the bench's contacts unless the database holds that many already."""
    with bench.engine.connect() as conn:
        present = conn.scalar(sa.text("SELECT count(*) FROM contact"))
    if present != bench.contacts:
        bench.echo(f"generating {bench.contacts} contacts")
        bench.reset()
        bench.generate(bench.contacts)
    if bench.postgres:
        # Index-only scans need the visibility map that a plain VACUUM sets.
        with bench.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE contact")


def signed_in_client(bench, username: str = "sales"):
    """Return a Flask test client signed in as the demo user `username`.

    One per run: sign-ins are rate limited (10 a minute).
    """
    from crm.extensions import db

    if getattr(bench, "client", None) is not None:
        return bench.client
    from crm.services.demo import load_demo_users

    password = secrets.token_urlsafe(16)
    load_demo_users(db.session, bench.app.appbuilder.sm, password)
    db.session.commit()
    bench.password = password
    client = bench.app.test_client()
    html = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login/", data={"username": username, "password": password,
                                            "csrf_token": token})
    if response.status_code != 302:
        from crm.bench import BenchError

        raise BenchError(f"the bench could not sign in as {username}")
    bench.client = client
    return client
