"""The web throughput measure (DESIGN §10): gunicorn, 2 workers, 50 clients.

gunicorn serves the bench database on a free loopback port; 50 threads, each
signed in as the Sales demo user, fetch the contacts list (first pages and a
search) and contacts' pages for a fixed time (`CRM_BENCH_WEB_SECONDS`, 30 s).
Reported: requests per second, p50 and p95 latency, and errors (any status but
200, any failed connection), which must be 0.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import requests

from crm.bench.timing import ensure_contacts, p50, p95, signed_in_client

if TYPE_CHECKING:
    from crm.bench import Bench

CLIENTS = 50
WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(bench: Bench, port: int) -> subprocess.Popen:
    config = bench.app.config
    env = dict(os.environ, CRM_DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
               CRM_SECRET_KEY=config["SECRET_KEY"], CRM_SCHEDULER="off",
               CRM_SUPPRESSION_KEY=config["CRM_SUPPRESSION_KEY"])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
         f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning", "app:app"],
        env=env, cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            from crm.bench import BenchError

            raise BenchError(f"gunicorn stopped: {server.stderr.read().decode()[-2000:]}")
        try:
            requests.get(f"http://127.0.0.1:{port}/login/", timeout=20)
            return server
        except requests.RequestException:
            time.sleep(0.3)
    server.terminate()
    from crm.bench import BenchError

    raise BenchError("gunicorn did not answer within 60 s")


def _login(base: str, password: str) -> requests.Session:
    session = requests.Session()
    html = session.get(f"{base}/login/", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    session.post(f"{base}/login/", data={"username": "sales", "password": password,
                                         "csrf_token": token}, timeout=30,
                 allow_redirects=False)
    return session


def measure(bench: Bench) -> dict:
    ensure_contacts(bench)
    signed_in_client(bench)  # sets the demo users' password for this run
    seconds = float(os.environ.get("CRM_BENCH_WEB_SECONDS", "30"))
    clients = int(os.environ.get("CRM_BENCH_WEB_CLIENTS", str(CLIENTS)))
    with bench.engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM contact WHERE anonymised_at IS NULL ORDER BY id LIMIT 2000")]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bench.echo(f"gunicorn, {WORKERS} workers; {clients} clients for {seconds:g} s")
    server = _start_gunicorn(bench, port)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    try:
        # One sign-in shared by every client: sign-ins are rate limited per address.
        cookies = _login(base, bench.password).cookies
        sessions = []
        for _ in range(clients):
            sessions.append(requests.Session())
            sessions[-1].cookies.update(cookies)
        stop = time.monotonic() + seconds

        def client(session: requests.Session, rnd: random.Random) -> None:
            while time.monotonic() < stop:
                kind = rnd.random()
                if kind < 0.4:
                    url = f"{base}/contactview/list/?page_ContactView={rnd.randint(0, 20)}"
                elif kind < 0.5:
                    url = f"{base}/contactview/list/?q=bench{rnd.randint(1, 99999)}@"
                else:
                    url = f"{base}/contactview/show/{rnd.choice(ids)}"
                started = time.perf_counter()
                try:
                    response = session.get(url, timeout=60, allow_redirects=False)
                    failed = None if response.status_code == 200 else str(response.status_code)
                except requests.RequestException as exc:
                    failed = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if failed:
                        errors.append(failed)

        threads = [threading.Thread(target=client, args=(s, random.Random(i)))
                   for i, s in enumerate(sessions)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    rate = len(latencies) / elapsed if elapsed else 0
    return {
        "figure": round(rate, 1), "unit": "req/s", "target": "errors 0",
        "ok": not errors and bool(latencies),
        "extra": [
            {"name": "web p50 latency", "figure": round(p50(latencies), 1), "unit": "ms",
             "target": "recorded", "ok": True},
            {"name": "web p95 latency", "figure": round(p95(latencies), 1), "unit": "ms",
             "target": "recorded", "ok": True},
            {"name": "web errors", "figure": len(errors), "target": "0", "ok": not errors},
        ],
        "details": {"clients": clients, "workers": WORKERS, "seconds": round(elapsed, 1),
                    "requests": len(latencies), "errors": sorted(set(errors))[:10],
                    "mix": "40% list pages 0-20, 10% email search, 50% contact pages"},
    }
