"""Plain factories for tests: `make_x(session, **overrides)` adds and flushes one row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from crm.models import (
    Activity,
    ActivityKind,
    CallbackRequest,
    Consent,
    ConsentMethod,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    Identifier,
    Organisation,
    Purpose,
    Recipient,
    RecipientRole,
    RequestChannel,
    RequestType,
    TransferSafeguard,
)
from crm.services.contacts import own_activity_source
from crm.services.demo import business_id
from crm.services.requests import due_date

_serial = itertools.count(1)


def _add(session, obj):
    session.add(obj)
    session.flush()
    return obj


def make_organisation(session, **overrides) -> Organisation:
    n = next(_serial)
    values = dict(name=f"Testiyhtiö {n} Oy", business_id=business_id(1000000 + n * 13),
                  customer_status=CustomerStatus.customer, visiting_city="Kouvola",
                  invoicing_street=f"PL {n}", invoicing_postal_code="45100",
                  invoicing_city="Kouvola", relationship_notes="Key account",
                  billing_email=f"billing{n}@org{n}.example")
    values.update(overrides)
    return _add(session, Organisation(**values))


def make_contact(session, **overrides) -> Contact:
    n = next(_serial)
    values = dict(first_name="Testi", last_name=f"Henkilö{n}", email=f"testi{n}@firma.example",
                  phone=f"+35850000{n % 10000:04d}", source=own_activity_source(session),
                  relationship_notes="Prefers email", last_activity_at=datetime.now(UTC))
    values.update(overrides)
    if "purposes" not in values:  # every contact is kept for a purpose (DESIGN §2)
        values["purposes"] = [purpose(session, "customer_relationship")]
    return _add(session, Contact(**values))


def purpose_ids(session, *codes: str) -> list[str]:
    """Return the reference purposes `codes` as a contact form sends them (their ids)."""
    return [str(purpose(session, code).id) for code in codes]


def purpose(session, code: str) -> Purpose:
    """Return the reference purpose `code` (crm.services.reference.PURPOSES)."""
    return session.query(Purpose).filter_by(code=code).one()


def make_identifier(session, contact, **overrides) -> Identifier:
    n = next(_serial)
    values = dict(contact=contact, system="Customer portal", identifier=f"login{n}")
    values.update(overrides)
    return _add(session, Identifier(**values))


def make_consent(session, contact, **overrides) -> Consent:
    purpose = session.query(Purpose).filter_by(code="direct_marketing").one()
    values = dict(contact=contact, purpose=purpose, text_version="2026-01",
                  given_how=ConsentMethod.form, evidence="form post")
    values.update(overrides)
    return _add(session, Consent(**values))


def make_activity(session, contact, **overrides) -> Activity:
    values = dict(contact=contact, kind=ActivityKind.call, subject="Soitto",
                  body="Keskusteltiin tarjouksesta.")
    values.update(overrides)
    return _add(session, Activity(**values))


def make_callback_request(session, **overrides) -> CallbackRequest:
    n = next(_serial)
    values = dict(name=f"Soittaja {n}", organisation_name="Yritys Oy",
                  email=f"soittaja{n}@firma.example", message="Soittakaa")
    values.update(overrides)
    return _add(session, CallbackRequest(**values))


def make_recipient(session, **overrides) -> Recipient:
    n = next(_serial)
    values = dict(name=f"Processor {n}", role=RecipientRole.processor, country="SE",
                  purpose="Hosting", transfer_safeguard=TransferSafeguard.within_eea)
    values.update(overrides)
    return _add(session, Recipient(**values))


def make_request(session, **overrides) -> DataSubjectRequest:
    received = overrides.pop("received_on", datetime.now(UTC).date())
    values = dict(type=RequestType.access, requester_name="Pyytäjä",
                  channel=RequestChannel.email, received_on=received,
                  due_on=due_date(received))
    values.update(overrides)
    return _add(session, DataSubjectRequest(**values))
