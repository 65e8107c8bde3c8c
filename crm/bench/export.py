"""The access-export measure (DESIGN §10): one person's data among all the contacts.

The figure is `build_access_export` for a contact deep in the register; the
baseline is the bare SQL read of that contact's row, in the same run. The target
is ≤ 200 ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm.bench.timing import bare_sql, compare, ensure_contacts, timings_ms

if TYPE_CHECKING:
    from crm.bench import Bench

TARGET_MS = 200.0


def measure(bench: Bench) -> dict:
    from crm.privacy.export import build_access_export

    ensure_contacts(bench)
    with bench.engine.connect() as conn:
        contact_id = conn.scalar(sa.text(
            "SELECT id FROM contact ORDER BY id LIMIT 1 OFFSET :n"),
            {"n": bench.contacts * 3 // 4})

    def export():
        with bench.app.test_request_context("/"), Session(bench.engine) as session:
            return build_access_export(session, contact_id)

    figure = timings_ms(export, repetitions=20)
    baseline = timings_ms(bare_sql(bench.engine, "SELECT * FROM contact WHERE id = :id",
                                   {"id": contact_id}), repetitions=20)
    result = compare("access_export", figure, baseline, target_ratio=None,
                     target_ms=TARGET_MS)
    result["details"]["contact_id"] = contact_id
    return {k: v for k, v in result.items() if k != "name"}
