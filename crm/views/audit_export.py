"""The audit trail as a CSV file (DESIGN §9.5): the events the list's filters select.

Privacy and the DPO download what they filtered on the audit trail's screen, read as the
screen reads it, in the reader's language, as Excel opens it (crm.services.spreadsheets),
newest first. A file holds at most `CRM_AUDIT_EXPORT_ROWS` events (100,000 unless
configured); a file cut there ends with a line that says so. The rows are read and sent
a batch at a time, so a large file takes no more memory than a small one.

The download is itself an event of the trail: who exported, how many rows, and whether
the file was cut short; never the filters' values, which may hold a name. The file holds
the events recorded before it, not its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa
from flask import Response, current_app, g, stream_with_context
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _

from crm.extensions import db
from crm.models import AuditEvent
from crm.models.base import register_today
from crm.services.audit import record_event
from crm.services.audit_details import event_detail_text
from crm.services.audit_labels import action_label, object_type_label
from crm.services.spreadsheets import csv_text
from crm.views.audit_trail import event_object, job_runs

#: The file's columns, as the list shows them.
COLUMNS = ("at", "actor", "action", "object_type", "object_id", "fields", "detail")
#: The most events a file holds, unless configured (`CRM_AUDIT_EXPORT_ROWS`).
DEFAULT_MAX_ROWS = 100_000
#: Events read from the database at a time.
BATCH = 2_000
_READ = (AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
         AuditEvent.object_type, AuditEvent.object_id, AuditEvent.fields, AuditEvent.detail)


def max_rows() -> int:
    """Return the most events one file holds."""
    return int(current_app.config.get("CRM_AUDIT_EXPORT_ROWS", DEFAULT_MAX_ROWS))


def _selected(filters, *columns):
    """Return a query of `columns` of the events `filters` select (built anew each time:
    a name filter readies SQLite's connection for it, crm.services.subjects.lower)."""
    return filters.apply_all(db.session.query(*columns))


def _batches(filters, before_id: int, limit: int) -> Iterator[list]:
    """Yield the selected events older than event `before_id`, newest first, a batch at
    a time, at most `limit` in all; each batch from where the last one stopped."""
    last = None
    sent = 0
    while sent < limit:
        query = _selected(filters, *_READ).filter(AuditEvent.id < before_id)
        if last is not None:
            at, pk = last
            query = query.filter(sa.or_(AuditEvent.at < at,
                                        sa.and_(AuditEvent.at == at, AuditEvent.id < pk)))
        rows = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(
            min(BATCH, limit - sent)).all()
        if not rows:
            return
        yield rows
        sent += len(rows)
        last = (rows[-1].at, rows[-1].id)


def _cells(rows: list, field_names: Callable) -> list[list[str]]:
    """Return the events as the list shows them: a job's run as started by whom the jobs
    screen says, a detail read out (crm.services.audit_details)."""
    runs = job_runs(row.object_id for row in rows
                    if row.action == "job" and row.object_type == "JobRun")
    cells = []
    for row in rows:
        actor = row.actor or ""
        if row.action == "job" and row.object_type == "JobRun" and row.object_id in runs:
            actor = runs[row.object_id][1]
        object_type, object_id = event_object(row.action, row.object_type, row.object_id,
                                              row.detail)
        cells.append([format_datetime(row.at, "medium"), actor, action_label(row.action),
                      object_type_label(object_type), object_id or "",
                      field_names(row.fields), event_detail_text(row.action, row.detail)])
    return cells


def audit_trail_csv(filters, labels: dict, field_names: Callable) -> Response:
    """Return the download of the events `filters` select, recorded in the trail.

    :param labels: column -> its heading (the list's).
    :param field_names: an event's fields -> their names in the reader's language.
    """
    limit = max_rows()
    matching = db.session.scalar(sa.select(sa.func.count()).select_from(
        _selected(filters, AuditEvent.id).limit(limit + 1).subquery()))
    capped = matching > limit
    count = min(matching, limit)
    event = record_event(
        "export", object_type="AuditEvent", fields=list(COLUMNS),
        detail=f"audit trail CSV, {count} rows" + (", capped" if capped else ""),
        actor=(g.user.id, g.user.username))
    before_id = event.id

    def lines() -> Iterator[str]:
        yield csv_text([[str(labels[column]) for column in COLUMNS]], first=True)
        for rows in _batches(filters, before_id, limit):
            yield csv_text(_cells(rows, field_names))
        if capped:
            yield csv_text([[_(
                "The file holds the newest %(count)s events the filters select, the most "
                "one file holds. Narrow the filters (for example by date) to download the "
                "rest.", count=format_decimal(limit))]])

    # Dated as the register counts days (CRM_TIMEZONE), not by the server's clock.
    name = f"audit-trail-{register_today().isoformat()}.csv"
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
