"""`crm import FILE --source NAME`: import a purchased list from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from crm.views.locale import COMMAND_LINE_LOCALE

#: Errors printed before "... and N more".
SHOWN_ERRORS = 200


def parse_mappings(values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        field, sep, header = value.partition("=")
        if not sep or not field.strip():
            raise click.BadParameter(f"{value!r} is not FIELD=HEADER", param_hint="--map")
        mapping[field.strip()] = header.strip()
    return mapping


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_name", required=True, metavar="NAME",
              help="The list's name, e.g. what the supplier calls it.")
@click.option("--supplier", default=None, help="Who sold the list.")
@click.option("--received", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD", help="When the list was received (default: today).")
@click.option("--dry-run", is_flag=True, help="Check and count everything; change nothing.")
@click.option("--valid-only", is_flag=True,
              help="Import the valid lines even when others are bad.")
@click.option("--map", "mappings", multiple=True, metavar="FIELD=HEADER",
              help="Read FIELD (first_name, last_name, title, email, phone, organisation, "
                   "business_id) from the column HEADER (repeatable; empty HEADER: skip).")
@with_appcontext
def import_command(file: Path, source_name: str, supplier: str | None, received,
                   dry_run: bool, valid_only: bool, mappings: tuple[str, ...]) -> None:
    """Import the purchased list FILE (CSV, UTF-8 or Windows-1252, ',' or ';').

    Exit status 0 when people were imported (with --dry-run: would be), 1 when
    nothing was: the file was refused, had bad lines, or everyone was skipped.
    """
    from crm.extensions import db
    from crm.services.imports import ImportRefused, import_list

    mapping = parse_mappings(mappings)
    with force_locale(COMMAND_LINE_LOCALE):
        try:
            result = import_list(db.session, file.read_bytes(), name=source_name,
                                 supplier=supplier,
                                 received_on=received.date() if received else None,
                                 mapping=mapping, dry_run=dry_run, valid_only=valid_only,
                                 actor=(None, "command"))
        except ImportRefused as exc:
            click.echo(f"refused: {exc}", err=True)
            sys.exit(1)
        report(result)
    current_app.logger.debug("import finished")
    sys.exit(0 if result.imported and not result.refused_for_errors else 1)


def line_numbers(lines: list[int], count: int) -> str:
    """Return "lines 4, 17, 23" (of `count` lines: "... and 12 more")."""
    text = ("line " if count == 1 else "lines ") + ", ".join(str(n) for n in lines)
    return f"{text} and {count - len(lines)} more" if count > len(lines) else text


def report(result) -> None:
    """Print what the import did (counts, then each bad line)."""
    counts = result.counts
    mode = "dry run: " if result.dry_run else ""
    click.echo(f"{mode}{result.lines} lines ({result.encoding}, separated by "
               f"{result.delimiter!r}); columns: "
               + ", ".join(f"{field}={header!r}" for field, header in result.columns.items()))
    if result.ignored_columns:
        click.echo("ignored columns: " + ", ".join(repr(h) for h in result.ignored_columns))
    for key in ("new", "merged", "updated", "duplicate", "suppressed", "opted_out", "invalid",
                "organisations_new", "organisations_matched"):
        if key in counts:
            lines = result.lines_of.get(key)
            click.echo(f"  {key}: {counts[key]}"
                       + (f" ({line_numbers(lines, counts[key])})" if lines else ""))
    if result.not_taken:
        click.echo("not taken from merged lines (the register holds another value, and "
                   "keeps it):")
        for field_name, count in result.not_taken.items():
            click.echo(f"  {field_name}: {count} "
                       f"({line_numbers(result.not_taken_lines[field_name], count)})")
    for error in result.errors[:SHOWN_ERRORS]:
        click.echo(str(error), err=True)
    if len(result.errors) > SHOWN_ERRORS:
        click.echo(f"... and {len(result.errors) - SHOWN_ERRORS} more errors", err=True)
    if result.refused_for_errors:
        click.echo(f"nothing was imported: {len(result.errors)} errors on "
                   f"{counts.get('invalid', 0)} lines (fix them, or use --valid-only)",
                   err=True)
    elif result.stored:
        click.echo(f"imported as source #{result.source_id}: {result.imported} people")
    elif not result.dry_run:
        click.echo("nothing was imported: no one to add or merge", err=True)
