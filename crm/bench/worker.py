"""A measure's work in a process of its own, so its peak memory is its own.

`python -m crm.bench.worker retention` runs the retention job on the configured
database and prints one JSON line: seconds, status, counts and peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def _rss_mb() -> float:
    """Return this process's peak resident memory in MB.

    Linux's VmHWM: `ru_maxrss` would also count the parent's memory at the fork
    that started this process (it survives exec), which grows with the data the
    parent generated.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str]) -> None:
    sys.path.insert(0, os.getcwd())
    from crm import create_app
    from crm.jobs.runner import run_job
    from crm.models import RecordKind

    job = argv[0] if argv else "retention"
    app = create_app()
    with app.app_context():
        from crm.extensions import db

        db.engine.connect().close()  # connect before measuring
    rss_at_start = _rss_mb()
    started = time.perf_counter()
    outcome = run_job(app, job, trigger="command")
    seconds = time.perf_counter() - started
    with app.app_context():
        from sqlalchemy.orm import Session

        from crm.services.retention import CONTACT_KINDS, enabled_policies

        with Session(db.engine) as session:
            codes = [p.code for p in enabled_policies(session, CONTACT_KINDS)
                     if p.record_kind in (RecordKind.prospect_contact,
                                          RecordKind.former_customer_contact)]
    print(json.dumps({"job": job, "seconds": seconds, "status": outcome.status.value,
                      "counts": outcome.counts, "contact_policies": codes,
                      "rss_at_start_mb": rss_at_start, "maxrss_mb": _rss_mb()}))


if __name__ == "__main__":
    main(sys.argv[1:])
