"""`crm subject find TEXT` and `crm subject export EMAIL` (DESIGN §3, §9.1).

Both print to stdout and are audited with the actor "cli". They exit with status 1
and a message on stderr when nobody matches.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

CLI_ACTOR = (None, "cli")

subject = AppGroup("subject", help="Find a person across the register; export their data.")


@subject.command("find")
@click.argument("text")
def find_command(text: str) -> None:
    """Find the people TEXT names: email, phone, name or identifier; say why each matched."""
    from crm.extensions import db
    from crm.services.audit import record_event
    from crm.services.subjects import find_subject

    matches = find_subject(db.session, text)
    if not matches:
        raise click.ClickException("no one in the register matches")
    for match in matches:
        # A callback request of someone not in the register: "callback 12".
        shown = f"callback {match.callback_id}" if match.callback_id else match.contact_id
        click.echo(f"{shown}\t{match.display}\t{', '.join(match.reasons)}")
        record_event("view", object_type="CallbackRequest" if match.callback_id else "Contact",
                     object_id=match.key[1], detail="subject find", actor=CLI_ACTOR,
                     commit=False)
    db.session.commit()


@subject.command("export")
@click.argument("email")
@click.option("--format", "fmt", type=click.Choice(["json", "html"]), default="json",
              show_default=True)
@click.option("--lang", type=click.Choice(["fi", "en"]), default="fi", show_default=True,
              help="Language of the HTML export and of the Art. 15 texts.")
def export_command(email: str, fmt: str, lang: str) -> None:
    """Write the access export of the person with EMAIL (all their contacts) to stdout."""
    from crm.extensions import db
    from crm.privacy.export import (
        audit_export,
        build_access_export,
        export_json,
        render_access_export_html,
    )
    from crm.services.subjects import find_by_email

    ids = find_by_email(db.session, email)
    if not ids:
        raise click.ClickException("no contact in the register has that email address")
    export = build_access_export(db.session, ids, lang=lang, config=current_app.config)
    output = export_json(export) if fmt == "json" else render_access_export_html(export, lang)
    audit_export(db.session, export, fmt=fmt if fmt == "json" else f"html-{lang}",
                 actor=CLI_ACTOR)
    db.session.commit()
    click.echo(output)
