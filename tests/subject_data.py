"""A person seeded into every table that can hold data about them, with a colleague at the
same organisation and a stranger elsewhere who have rows of every kind too.

Used by the access-export and erasure tests: the person's values are distinctive
strings (`SECRETS`), so that "nothing of them remains" and "nothing of the others
appears" can be checked as plain text over whole tables or whole exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User

from crm.models import (
    Contact,
    ContactChange,
    Provenance,
    Purpose,
    RequestStatus,
    RequestType,
    Source,
    SourceKind,
)
from crm.services.audit import record_event
from crm.services.rectification import change_context
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_request,
)

PERSON = {
    "first_name": "Xantippa",
    "last_name": "Qvistbergh",
    "title": "Head of Qvist Affairs",
    "email": "Xantippa.Qvistbergh@qvist-corp.example",
    "alt_email": "xq.home@qvisthome.example",
    "phone": "+358401237781",
    "mobile": "+358457651129",
    "street_address": "Qvistinkuja 9 C 12",
    "city": "Qvistala",
    "notes": "Xantippa prefers mornings",
    "relationship_notes": "Met Xantippa at the Qvist expo",
}
IDENTIFIER = "xantippa-login-4411"
ACTIVITY_TEXT = "Xantippa asked about federation"
CONSENT_EVIDENCE = "Xantippa ticked the box on the expo form"
#: Searched for, lower-cased, as text: none may remain after erasure.
SECRETS = ["xantippa", "qvistbergh", "qvisthome", "qvist-corp", "358401237781",
           "358457651129", "qvistinkuja", "qvistala", "head of qvist", IDENTIFIER]
#: Values of the colleague and the stranger: none may appear in the person's export.
OTHERS = ["ottokar", "kollegasson", "vieraskorpi", "ventla", "colleague-login-9",
          "+358409990001", "colleague note", "stranger note"]
LIST_NAME, SUPPLIER, FILE_HASH = "Qvist expo leads 2026", "Listatalo Oy", "e" * 64


@dataclass
class Seeded:
    contact_id: int
    colleague_id: int
    stranger_id: int
    organisation_id: int
    #: table -> primary keys of the rows about the person.
    about: dict[str, set[tuple]] = field(default_factory=dict)
    #: table -> primary keys of the colleague's and the stranger's rows.
    others: dict[str, set[tuple]] = field(default_factory=dict)


def _add(bucket: dict[str, set[tuple]], table: str, *keys) -> None:
    bucket.setdefault(table, set()).add(tuple(keys))


def _user_id(session, username: str) -> int:
    return session.scalar(sa.select(User.id).where(User.username == username))


def seed_subject(session) -> Seeded:
    """Seed the person, the colleague and the stranger; commit; return their rows' keys."""
    sales, privacy = _user_id(session, "sales"), _user_id(session, "privacy")
    bought = Source(kind=SourceKind.purchased_list, name=LIST_NAME, supplier=SUPPLIER,
                    received_on=date(2026, 1, 5), file_hash=FILE_HASH, row_count=120)
    session.add(bought)
    org = make_organisation(session, name="Qvist Corp Oy")
    elsewhere = make_organisation(session, name="Muu Yhtiö Oy")
    person = make_contact(session, organisation=org, source=bought, **PERSON)
    person.purposes = [session.scalar(sa.select(Purpose).where(
        Purpose.code == "new_business"))]
    colleague = make_contact(session, organisation=org, first_name="Ottokar",
                             last_name="Kollegasson", email="ottokar@qvist-colleague.example",
                             phone="+358409990001", notes="colleague note")
    stranger = make_contact(session, organisation=elsewhere, first_name="Ventla",
                            last_name="Vieraskorpi", email="ventla@vieras.example",
                            notes="stranger note")
    session.flush()
    seeded = Seeded(person.id, colleague.id, stranger.id, org.id)
    about, others = seeded.about, seeded.others
    _add(about, "contact", person.id)
    _add(about, "organisation", org.id)
    _add(about, "source", bought.id)
    _add(about, "contact_purpose", person.id, person.purposes[0].id)
    _add(about, "identifier", make_identifier(session, person, identifier=IDENTIFIER).id)
    _add(about, "consent", make_consent(session, person, evidence=CONSENT_EVIDENCE).id)
    provenance = Provenance(contact=person, source=bought, art14_due_on=date(2026, 2, 5))
    session.add(provenance)
    session.flush()
    _add(about, "provenance", provenance.id)
    activity = make_activity(session, person, subject="Call with Xantippa", body=ACTIVITY_TEXT,
                             author_id=sales)
    _add(about, "activity", activity.id)
    linked = make_callback_request(session, contact=person, name="Xantippa Q",
                                   email=PERSON["email"], message="Call Xantippa")
    by_email = make_callback_request(session, name="X. Qvistbergh",
                                     email=PERSON["alt_email"].upper(), message="Soittakaa")
    by_phone = make_callback_request(session, name="Xantippa Qvistbergh",
                                     phone=PERSON["mobile"], email=None)
    for row in (linked, by_email, by_phone):
        _add(about, "callback_request", row.id)
    request = make_request(session, contact=person, requester_name="Xantippa Qvistbergh",
                           requester_email=PERSON["email"], type=RequestType.access)
    old = make_request(session, type=RequestType.objection, requester_name="X. Q.",
                       requester_email=PERSON["alt_email"], status=RequestStatus.completed,
                       outcome="Objection recorded for Xantippa",
                       received_on=date.today() - timedelta(days=400))
    _add(about, "data_subject_request", request.id)
    _add(about, "data_subject_request", old.id)
    with change_context(session, actor=(privacy, "privacy"), reason="Xantippa asked"):
        person.title = PERSON["title"] + " (corrected)"
        session.flush()
    change_ids = session.scalars(sa.select(ContactChange.id).where(
        ContactChange.contact_id == person.id)).all()
    for change_id in change_ids:
        _add(about, "contact_change", change_id)
    person.title = PERSON["title"]
    view = record_event("view", person, actor=(privacy, "privacy"), session=session,
                        commit=False)
    session.flush()
    _add(about, "audit_event", view.id)
    mailchimp = Model.metadata.tables.get("mailchimp_member")
    if mailchimp is not None:
        member = session.execute(mailchimp.insert().values(
            contact_id=person.id, subscriber_hash="a" * 32, status="subscribed",
            contact_version=1, last_synced_at=datetime.now(UTC)).returning(mailchimp.c.id))
        _add(about, "mailchimp_member", member.scalar_one())

    # The colleague and the stranger: rows of every kind of their own.
    for other in (colleague, stranger):
        _add(others, "contact", other.id)
        _add(others, "identifier", make_identifier(
            session, other, identifier="colleague-login-9" if other is colleague
            else "stranger-login-9").id)
        _add(others, "consent", make_consent(session, other).id)
        _add(others, "activity", make_activity(session, other, author_id=sales,
                                               body=f"{other.notes} in a call").id)
        _add(others, "callback_request", make_callback_request(
            session, contact=other, name=f"{other.first_name} {other.last_name}",
            email=other.email).id)
        _add(others, "data_subject_request", make_request(
            session, contact=other, requester_name=f"{other.first_name} {other.last_name}",
            requester_email=other.email).id)
        event = record_event("view", other, actor=(sales, "sales"), session=session,
                             commit=False)
        session.flush()
        _add(others, "audit_event", event.id)
    _add(others, "organisation", elsewhere.id)
    # The colleague shares the switchboard: a callback left with its number by someone else.
    switchboard = make_callback_request(session, name="Ottokar Kollegasson",
                                        phone=PERSON["mobile"], email=None)
    _add(others, "callback_request", switchboard.id)
    session.commit()
    return seeded


def person(session, seeded: Seeded) -> Contact:
    return session.get(Contact, seeded.contact_id)
