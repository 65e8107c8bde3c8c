"""Importing purchased lists (DESIGN §9.4): check every line, then merge, or change nothing.

`import_list` reads a CSV file (crm.services.imports.parsing), checks every line,
and merges the good ones into the register (crm.services.imports.merge) in one
transaction. A file with any bad line changes nothing unless only the valid lines
are asked for; a dry run does everything and then rolls it back, so its counts are
exactly what an import would do. The list becomes a `Source` (supplier, date
received, the file's SHA-256, counts), and each of its people a provenance row that
owes the Art. 14 notice within a month.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from crm.models import Source, SourceKind
from crm.models.base import register_today, utcnow
from crm.privacy.guard import TEXT, as_sentence, field_kind, find_sensitive
from crm.services.audit import record_event
from crm.services.imports.merge import Merge
from crm.services.imports.parsing import (
    FIELDS,
    ImportRefused,
    LineError,
    ParsedList,
    missing_columns,
    open_list,
    read_layout,
    read_rows,
    require_columns,
)
from crm.services.requests import add_months

__all__ = ["FIELDS", "ImportRefused", "ImportResult", "LineError", "ParsedList",
           "import_list", "missing_columns", "read_layout", "require_columns"]


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a refused file, would have done)."""

    dry_run: bool
    valid_only: bool
    #: Data lines in the file (blank lines not counted).
    lines: int = 0
    errors: list[LineError] = field(default_factory=list)
    #: new, merged, updated, duplicate, suppressed, opted_out, invalid,
    #: organisations_new, organisations_matched
    counts: dict[str, int] = field(default_factory=dict)
    #: merged, duplicate, suppressed, opted_out -> the first line numbers of such lines
    #: (SHOWN_LINES at most; the counts say how many there are). Numbers, never values.
    lines_of: dict[str, list[int]] = field(default_factory=dict)
    #: field -> how many merged lines had a value there that the register holds
    #: differently (the register's is kept), and their first line numbers.
    not_taken: dict[str, int] = field(default_factory=dict)
    not_taken_lines: dict[str, list[int]] = field(default_factory=dict)
    #: Whether the register changed (committed).
    stored: bool = False
    source_id: int | None = None
    encoding: str = ""
    delimiter: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    #: Seconds per phase (read_check_stage, match, organisations, update_merged,
    #: add_new, provenance_merged, line_numbers, commit), for the benchmark.
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def imported(self) -> int:
        """People added or merged (what an import adds to the register)."""
        return self.counts.get("new", 0) + self.counts.get("merged", 0)

    @property
    def refused_for_errors(self) -> bool:
        return bool(self.errors) and not self.valid_only


def import_list(session: Session, data: bytes, *, name: str, supplier: str | None = None,
                received_on: date | None = None, mapping: dict[str, str] | None = None,
                dry_run: bool = False, valid_only: bool = False,
                actor: tuple[int | None, str | None] | None = None) -> ImportResult:
    """Import a purchased list, committing it, or roll everything back.

    Nothing is stored when the file has a bad line (unless `valid_only`), on a dry
    run, or when no one would be added or merged.

    :param name: the list's name (e.g. what the supplier calls it).
    :param mapping: field -> column header for columns not named as usual.
    :raises ImportRefused: the file cannot be imported at all (empty, wrong encoding,
        required columns missing, imported already); nothing was changed.
    """
    name = (name or "").strip()
    supplier = (supplier or "").strip() or None
    _check_list_details(name, supplier)
    today = register_today()
    received_on = received_on or today
    if received_on > today:
        raise ImportRefused(_("The date the list was received cannot be in the future."))
    file_hash = hashlib.sha256(data).hexdigest()
    already = imported_already(session, data)
    if already is not None:
        raise ImportRefused(already)
    parsed = open_list(data, mapping)
    result = ImportResult(dry_run=dry_run, valid_only=valid_only, encoding=parsed.encoding,
                          delimiter=parsed.delimiter,
                          columns={f: parsed.headers[i] for f, i in parsed.columns.items()},
                          ignored_columns=parsed.ignored_headers)
    source = Source(kind=SourceKind.purchased_list, name=name, supplier=supplier,
                    received_on=received_on, file_hash=file_hash)
    try:
        session.add(source)
        session.flush()
        merge = Merge(session, source_id=source.id, now=utcnow(),
                      art14_due_on=add_months(received_on, 1),
                      suppression_key=current_app.config["CRM_SUPPRESSION_KEY"])
        loaded = merge.load(read_rows(parsed, result.errors))
        invalid = len({e.line for e in result.errors})
        result.lines = loaded + invalid
        result.counts = {"invalid": invalid}
        if result.refused_for_errors or loaded == 0:
            session.rollback()
            return result
        result.counts.update(merge.run())
        merge.drop()
        result.seconds = merge.seconds
        result.lines_of = merge.lines
        result.not_taken, result.not_taken_lines = merge.not_taken, merge.not_taken_lines
        if dry_run or result.imported == 0:
            session.rollback()
            return result
        source.row_count = result.lines
        source.import_counts = dict(sorted(result.counts.items()))
        record_event("import", source, fields=sorted(result.columns),
                     detail=_audit_detail(result), actor=actor, session=session,
                     commit=False)
        started = time.perf_counter()
        session.commit()
        result.seconds["commit"] = time.perf_counter() - started
    except sa.exc.IntegrityError:
        session.rollback()
        if session.scalar(sa.select(Source.id).where(Source.file_hash == file_hash)):
            # The same file, imported by someone else at the same moment.
            raise ImportRefused(_("This file was imported already: nothing was changed.")) \
                from None
        raise
    except BaseException:
        session.rollback()
        raise
    result.stored, result.source_id = True, source.id
    return result


def imported_already(session: Session, data: bytes) -> str | None:
    """Return why this file cannot be imported again (the list it was imported as, and
    when), or None if it was not imported before: the same file twice is one list."""
    earlier = session.execute(sa.select(Source.name, Source.created_at).where(
        Source.file_hash == hashlib.sha256(data).hexdigest())).first()
    if earlier is None:
        return None
    return _("This file was imported already, as the list %(name)s on %(date)s: nothing "
             "was changed.", name=earlier.name, date=format_date(earlier.created_at, "short"))


def _check_list_details(name: str, supplier: str | None) -> None:
    if not name:
        raise ImportRefused(_("The list needs a name."))
    # The supplier is an organisation, whose name may hold a health word ("Syöpäsäätiö").
    for label, value, kind in ((_("list name"), name, TEXT),
                               (_("supplier"), supplier, field_kind("source", "supplier"))):
        if value is None:
            continue
        if len(value) > 200:
            raise ImportRefused(_("The %(what)s is longer than 200 characters.", what=label))
        problem = find_sensitive(value, kind)
        if problem:  # "List name: contains ..."
            raise ImportRefused(f"{as_sentence(str(label))}: {problem}")


def _audit_detail(result: ImportResult) -> str:
    keys = ("new", "merged", "duplicate", "suppressed", "opted_out", "invalid")
    return " ".join(f"{k}={result.counts.get(k, 0)}" for k in keys)[:200]
