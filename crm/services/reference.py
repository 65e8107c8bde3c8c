"""Reference data every deployment starts with: purposes, sources, retention, recipients.

Loaded by `crm init`, idempotently; rows that exist are left as the privacy
officer has edited them.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import (
    ClockStart,
    Purpose,
    Recipient,
    RecipientRole,
    RecordKind,
    RetentionAction,
    RetentionPolicy,
    TransferSafeguard,
)
from crm.services.contacts import own_activity_source, the_person_source

PURPOSES = [
    ("customer_relationship", "Asiakassuhteen hoito", "Keeping the customer relationship"),
    ("new_business", "Uusien asiakas- ja yhteistyösuhteiden luominen",
     "Creating new customer and partner relationships"),
    ("direct_marketing", "Suoramarkkinointi ja muut osoitteelliset lähetykset",
     "Direct marketing and other addressed mailings"),
    ("customer_support", "Asiakastuki", "Customer support"),
    ("invoicing", "Laskutus", "Invoicing"),
]

#: DESIGN §8 defaults: (code, name, records, clock, days, action). A policy's name is
#: the privacy officer's to edit, like any data: it is written in the register's own
#: language (`BABEL_DEFAULT_LOCALE`) when the row is first made.
RETENTION = [
    ("prospects", _l("Prospects with no activity for 24 months"), RecordKind.prospect_contact,
     ClockStart.last_activity, 730, RetentionAction.anonymise),
    ("former_customers", _l("Former customers 5 years after the relationship ended"),
     RecordKind.former_customer_contact, ClockStart.relationship_end, 1826,
     RetentionAction.anonymise),
    ("callbacks", _l("Callback requests that led nowhere, after 6 months"),
     RecordKind.callback_request, ClockStart.received, 183, RetentionAction.delete),
    ("audit_events", _l("Audit events after 3 years"), RecordKind.audit_event,
     ClockStart.created, 1096, RetentionAction.delete),
    ("job_runs", _l("Job runs after 1 year"), RecordKind.job_run, ClockStart.created, 365,
     RetentionAction.delete),
]


def load_reference_data(session: Session) -> None:
    """Insert the reference rows that are missing."""
    own_activity_source(session)
    the_person_source(session)
    existing = set(session.scalars(select(Purpose.code)))
    for code, fi, en in PURPOSES:
        if code not in existing:
            session.add(Purpose(code=code, name_fi=fi, name_en=en))
    existing = set(session.scalars(select(RetentionPolicy.code)))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        for code, name, kind, clock, days, action in RETENTION:
            if code not in existing:
                session.add(RetentionPolicy(code=code, name=str(name), record_kind=kind,
                                            clock_start=clock, period_days=days,
                                            action=action))
    if session.scalar(select(Recipient).where(Recipient.name == "Mailchimp")) is None:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            session.add(Recipient(
                name="Mailchimp", role=RecipientRole.processor, country="US",
                purpose=str(_l("Direct marketing and newsletters by email")),
                transfer_safeguard=TransferSafeguard.dpf,
                safeguard_notes=str(_l(
                    "Intuit Mailchimp is certified under the EU–US Data Privacy Framework; "
                    "the notice's Privacy Shield reference is obsolete.")),
            ))
    session.flush()
