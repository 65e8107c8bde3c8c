"""The access export (DESIGN §9.1, GDPR Art. 15): everything the register holds about a person.

`build_access_export` gathers every row about the person from every table that can
hold one (`EXPORTED_TABLES`; the tables left out, and why, are in `LEFT_OUT`, and a
test fails when a new table is in neither), with the Art. 15 information generated
from the live configuration and registers like the privacy notice. Nothing about
other people goes in: of the organisation only its name, colleagues not at all, and
the staff who wrote notes or acted on the person's data appear by their role, never
by name or id. `render_access_export_html` gives the printable version, in Finnish or
English, for the person to read (crm.privacy.export_text). `audit_export` records that
an export was made (ids, never values).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, render_template
from flask_appbuilder.security.sqla.models import Role, assoc_user_role
from sqlalchemy.orm import Session

from crm.models import (
    Activity,
    AuditEvent,
    AuditEventPerson,
    CallbackRequest,
    Consent,
    Contact,
    ContactChange,
    DataSubjectRequest,
    Identifier,
    Provenance,
    Purpose,
    Source,
    contact_purpose,
)
from crm.models.base import utcnow
from crm.privacy.export_text import EXPORT_TEXT, STAFF, SYSTEM, ExportReader
from crm.privacy.notice import build_notice
from crm.public.notice_text import LABELS, TEXT
from crm.services.audit import record_event
from crm.services.subjects import lower

FORMAT = "crm-access-export"
VERSION = 1
LANGUAGES = ("fi", "en")

#: Tables with rows about the person, and how they are found.
EXPORTED_TABLES = {
    "contact": "the person's contact records",
    "contact_purpose": "the purposes their data is processed for",
    "organisation": "the name of the organisation they work for (nothing else of it)",
    "identifier": "their ids in the company's systems",
    "consent": "their consents",
    "provenance": "where their data came from",
    "source": "the sources themselves, down to the purchased list and its file",
    "activity": "calls, meetings, emails and notes about them (authors by role)",
    "callback_request": "callback requests linked to them or left with their email, or "
                        "with their phone under their name",
    "data_subject_request": "their requests, found the same way",
    "contact_change": "the change history of their contact records",
    "audit_event": "who (by role) viewed, changed or exported their records, and when, "
                   "and the lists that showed them",
}
#: Any other table that points at a contact (`contact_id`) is exported too, every column
#: of the person's rows: a table added later cannot be forgotten (`linked_tables`).
#: Tables with no row about the person, and why.
LEFT_OUT = {
    "purpose": "reference data: the purposes appear with the person's records",
    "recipient": "reference data: in the Art. 15 information",
    "retention_policy": "reference data: in the Art. 15 information",
    "suppression_entry": "keyed hashes that cannot be read back into an address",
    "job_run": "counts of scheduled jobs, no person",
    "job_lock": "which process runs a job",
    "notification": "reminders for staff: ids, dates and counts",
    "user_session": "staff members' sign-in sessions",
    "oidc_identity": "staff members' sign-in identities",
    "alembic_version": "the schema's version",
    "audit_event_person": "which people a list showed: ids, the person's list views "
                          "are exported as audit events",
}
#: FAB's own tables (ab_*) hold the staff's accounts and roles: left out too.
STAFF_TABLE_PREFIX = "ab_"


def _value(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj, *, skip: Iterable[str] = ()) -> dict:
    """Return the row's columns as JSON values, but those in `skip`."""
    skipped = set(skip)
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__table__.columns
            if c.key not in skipped}


class _Roles:
    """Who did something, by role: "Sales", "Privacy, DPO"; never a name or an id."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[int, str] = {}

    def load(self, user_ids: Iterable[int | None]) -> None:
        wanted = {i for i in user_ids if i is not None} - set(self.known)
        if not wanted:
            return
        names: dict[int, list[str]] = {}
        for user_id, role in self.session.execute(
                sa.select(assoc_user_role.c.user_id, Role.name)
                .join(Role, Role.id == assoc_user_role.c.role_id)
                .where(assoc_user_role.c.user_id.in_(wanted))):
            names.setdefault(user_id, []).append(role)
        for user_id in wanted:
            self.known[user_id] = ", ".join(sorted(names.get(user_id, []))) or STAFF

    def of(self, user_id: int | None) -> str:
        return SYSTEM if user_id is None else self.known.get(user_id, STAFF)


def build_access_export(session: Session, contact_id: int | Iterable[int], *,
                        callback_requests: Iterable[CallbackRequest] = (), lang: str = "en",
                        config=None) -> dict:
    """Return everything the register holds about the person, as JSON-ready data.

    :param contact_id: the person's contact, or all their contacts (one person
        entered twice); none for someone known only from callback requests.
    :param callback_requests: the callback requests without a contact of someone not in the
        register (crm.services.subjects.same_callbacks); their email, phone and name
        find the rest, as a contact's do.
    :param lang: the language of the Art. 15 information's texts ("fi" or "en").
    """
    ids = sorted({contact_id} if isinstance(contact_id, int) else set(contact_id))
    config = config or current_app.config
    contacts = list(session.scalars(sa.select(Contact).where(Contact.id.in_(ids))
                                    .order_by(Contact.id)))
    if len(contacts) != len(ids):
        raise LookupError("no such contact")
    roles = _Roles(session)
    callback_requests = list(callback_requests)
    callback_ids = sorted(c.id for c in callback_requests)
    emails = {e.lower() for c in contacts for e in (c.email, c.alt_email) if e} \
        | {c.email.lower() for c in callback_requests if c.email}
    phones = {p for c in contacts for p in (c.phone, c.mobile) if p} \
        | {c.phone for c in callback_requests if c.phone}
    surnames = {c.last_name.lower() for c in contacts if c.last_name} \
        | {c.name.split()[-1].lower() for c in callback_requests if c.name.strip()}

    def named(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
        # A phone may be a switchboard's: it finds a row only under the person's own name.
        return sa.or_(*(lower(session, column).contains(name, autoescape=True)
                        for name in surnames)) \
            if surnames else sa.false()

    records: dict[str, list[dict]] = {}
    records["contact"] = [
        {**_row(c, skip=("version",)), "organisation": c.organisation.name
         if c.organisation else None, "purposes": sorted(p.code for p in c.purposes)}
        for c in contacts]
    purpose_rows = session.execute(
        sa.select(contact_purpose.c.contact_id, Purpose)
        .join(Purpose, Purpose.id == contact_purpose.c.purpose_id)
        .where(contact_purpose.c.contact_id.in_(ids))
        .order_by(contact_purpose.c.contact_id, Purpose.id)).all()
    records["contact_purpose"] = [
        {"contact_id": cid, "purpose_id": p.id, "purpose": p.code, "name_fi": p.name_fi,
         "name_en": p.name_en} for cid, p in purpose_rows]
    organisations = {c.organisation.id: c.organisation.name for c in contacts
                     if c.organisation is not None}
    records["organisation"] = [{"id": i, "name": n} for i, n in sorted(organisations.items())]
    records["identifier"] = [_row(i) for i in session.scalars(
        sa.select(Identifier).where(Identifier.contact_id.in_(ids)).order_by(Identifier.id))]
    consents = list(session.scalars(sa.select(Consent).where(Consent.contact_id.in_(ids))
                                    .order_by(Consent.id)))
    records["consent"] = [{**_row(c), "purpose": c.purpose.code} for c in consents]
    provenance = list(session.scalars(sa.select(Provenance).where(
        Provenance.contact_id.in_(ids)).order_by(Provenance.id)))
    records["provenance"] = [_row(p) for p in provenance]
    source_ids = {p.source_id for p in provenance} | {c.source_id for c in contacts}
    sources = list(session.scalars(sa.select(Source).where(Source.id.in_(source_ids))
                                   .order_by(Source.id)))
    records["source"] = [_row(s, skip=("row_count", "import_counts", "created_at"))
                         for s in sources]
    activities = list(session.scalars(sa.select(Activity).where(Activity.contact_id.in_(ids))
                                      .order_by(Activity.occurred_at, Activity.id)))
    callback = CallbackRequest
    callbacks = list(session.scalars(sa.select(callback).where(sa.or_(
        callback.contact_id.in_(ids), callback.id.in_(callback_ids),
        lower(session, callback.email).in_(emails) if emails else sa.false(),
        callback.phone.in_(phones) & named(callback.name) if phones else sa.false(),
    )).order_by(callback.received_at, callback.id)))
    request = DataSubjectRequest
    requests = list(session.scalars(sa.select(request).where(sa.or_(
        request.contact_id.in_(ids),
        lower(session, request.requester_email).in_(emails) if emails else sa.false(),
        request.requester_phone.in_(phones) & named(request.requester_name)
        if phones else sa.false(),
    )).order_by(request.received_on, request.id)))
    changes = list(session.scalars(sa.select(ContactChange).where(
        ContactChange.contact_id.in_(ids)).order_by(ContactChange.changed_at, ContactChange.id)))
    about = {"Contact": ids, "Identifier": [r["id"] for r in records["identifier"]],
             "Consent": [c.id for c in consents], "Provenance": [p.id for p in provenance],
             "Activity": [a.id for a in activities], "CallbackRequest": [c.id for c in callbacks],
             "DataSubjectRequest": [r.id for r in requests]}
    # Their records' own events, and the lists that showed them (audit_event_person).
    shown = sa.select(AuditEventPerson.event_id).where(sa.or_(*(
        (AuditEventPerson.object_type == kind) & AuditEventPerson.object_id.in_(keys)
        for kind, keys in about.items() if keys)))
    events = list(session.scalars(sa.select(AuditEvent).where(sa.or_(*(
        (AuditEvent.object_type == kind) & AuditEvent.object_id.in_([str(i) for i in keys])
        for kind, keys in about.items() if keys), AuditEvent.id.in_(shown)))
        .order_by(AuditEvent.at, AuditEvent.id)))
    roles.load([a.author_id for a in activities] + [c.handled_by_id for c in callbacks]
               + [r.identity_verified_by_id for r in requests]
               + [c.changed_by_id for c in changes] + [e.actor_id for e in events])
    records["activity"] = [{**_row(a, skip=("author_id",)), "author": roles.of(a.author_id)}
                           for a in activities]
    records["callback_request"] = [
        {**_row(c, skip=("handled_by_id",)),
         "handled_by": roles.of(c.handled_by_id) if c.handled_at else None} for c in callbacks]
    records["data_subject_request"] = [
        {**_row(r, skip=("identity_verified_by_id", "version")),
         "identity_verified_by": roles.of(r.identity_verified_by_id)
         if r.identity_verified_at else None} for r in requests]
    records["contact_change"] = [
        {**_row(c, skip=("changed_by_id", "changed_by")), "changed_by": roles.of(c.changed_by_id)}
        for c in changes]
    records["audit_event"] = [
        {**_row(e, skip=("actor_id", "actor")), "actor": roles.of(e.actor_id)} for e in events]
    for table in linked_tables():
        records[table.name] = [
            {key: _value(value) for key, value in row._mapping.items()}
            for row in session.execute(sa.select(table).where(table.c.contact_id.in_(ids))
                                       .order_by(*table.primary_key.columns))]
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": utcnow().isoformat(),
        "language": lang,
        "subject": {"contact_ids": ids, "callback_request_ids": callback_ids},
        "records": records,
        "information": _information(session, config, contacts, sources, lang),
    }


def linked_tables() -> list[sa.Table]:
    """Return the tables pointing at a contact that `EXPORTED_TABLES` does not name."""
    from flask_appbuilder import Model

    return [table for table in Model.metadata.sorted_tables
            if table.name not in EXPORTED_TABLES and "contact_id" in table.c
            and any(fk.column.table.name == "contact" for fk in table.c.contact_id.foreign_keys)]


def _information(session: Session, config, contacts: list[Contact], sources: list[Source],
                 lang: str) -> dict:
    """Return the Art. 15(1)–(2) information, from the live configuration and registers."""
    notice = build_notice(session, config)
    text = TEXT[lang]
    return {
        "controller": notice.controller,
        "register": notice.register_name,
        "purposes": [{"code": p.code, "name": p.name_fi if lang == "fi" else p.name_en}
                     for p in notice.purposes],
        "legal_basis": sorted({c.legal_basis.value for c in contacts}),
        "categories": text["categories_list"].split("|"),
        "recipients": [
            {"name": r.name, "role": r.role, "country": r.country, "purpose": r.purpose,
             "outside_eea": r.outside_eea, "safeguard": r.safeguard.value,
             "safeguard_valid": r.safeguard_valid} for r in notice.recipients],
        "retention": [
            {"records": p.record_kind.value, "period_days": p.period_days,
             "period_months": p.period_months, "action": p.action.value}
            for p in notice.retention],
        "sources": [
            {"kind": s.kind.value, "name": s.name, "supplier": s.supplier,
             "received_on": _value(s.received_on), "file_hash": s.file_hash} for s in sources],
        "rights": text["rights_text"],
        "supervisory_authority": text["authority"],
        "automated_decision_making": False,
        "profiling": text["profiling_text"],
    }


def export_json(export: dict) -> str:
    """Return the export as JSON text (UTF-8, readable)."""
    return json.dumps(export, ensure_ascii=False, indent=2)


def render_access_export_html(export: dict, lang: str) -> str:
    """Return the printable export in `lang` ("fi" or "en"), Art. 15 information first.

    It reads as the CRM's screens do in that language (`ExportReader`): labels, not
    codes; times on the register's clock (`CRM_TIMEZONE`); names, not ids; phone
    numbers grouped ("+358 40 1234567") and countries named ("Yhdysvallat"). The JSON
    export keeps the stored codes, UTC times, ids, E.164 numbers and country codes.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"no export in {lang!r}")
    reader = ExportReader(export, lang, ZoneInfo(current_app.config["CRM_TIMEZONE"]))
    return render_template("privacy/export.html", export=export, lang=lang,
                           t=EXPORT_TEXT[lang], notice=TEXT[lang], labels=LABELS[lang],
                           reader=reader, sections=reader.sections(export["records"]))


def export_file_name(export: dict, fmt: str, number: int) -> str:
    """Return the downloaded file's name: one scheme for every format, in ASCII (no "ö"),
    for every mail client and disk.

    `tietopyynto-12-2026-11-25.json`, and `tietopyynto-12-2026-11-25-fi.html` or `-en.html`
    for the printable ones: the request's number, the day it was made on the register's
    clock, and the HTML's language.

    :param fmt: "json", "html-fi" or "html-en".
    :param number: the request's number.
    """
    day = datetime.fromisoformat(export["generated_at"]).astimezone(
        ZoneInfo(current_app.config["CRM_TIMEZONE"])).date()
    stem = f"tietopyynto-{number}-{day.isoformat()}"
    return f"{stem}.json" if fmt == "json" else f"{stem}-{fmt.removeprefix('html-')}.html"


def audit_export(session: Session, export: dict, *, fmt: str,
                 actor: tuple[int | None, str | None] | None = None,
                 request_id: int | None = None) -> None:
    """Record one 'export' event per contact, or callback request of someone not in the
    register, exported (ids and table names, no values)."""
    tables = sorted(name for name, rows in export["records"].items() if rows)
    detail = f"{fmt}" + (f" request {request_id}" if request_id else "")
    subject = export["subject"]
    for object_type, ids in (("Contact", subject["contact_ids"]),
                             ("CallbackRequest", subject.get("callback_request_ids", []))):
        for object_id in ids:
            record_event("export", object_type=object_type, object_id=object_id,
                         fields=tables, detail=detail, actor=actor, session=session,
                         commit=False)
