"""Invented demo data and one demo user per role (DESIGN §3). Never for production.

Every person and organisation here is made up; phone numbers are in the
+358 50 000 range and email addresses end in the reserved `.example` domain.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import (
    Activity,
    ActivityKind,
    CallbackRequest,
    CallbackStatus,
    Consent,
    ConsentMethod,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    Identifier,
    JobRun,
    JobStatus,
    Language,
    LegalBasis,
    MarketingStatus,
    Organisation,
    Provenance,
    Purpose,
    Recipient,
    RecipientRole,
    RelationshipRole,
    RequestChannel,
    RequestStatus,
    RequestType,
    Source,
    SourceKind,
    TransferSafeguard,
)
from crm.privacy.suppression import suppress
from crm.security import roles
from crm.services.audit import record_event
from crm.services.contacts import own_activity_source, the_person_source
from crm.services.reference import load_reference_data
from crm.services.requests import due_date

#: username -> (role, first name, last name)
DEMO_USERS = {
    "sales": ("Sales", "Sanna", "Myyjä"),
    "marketing": ("Marketing", "Matti", "Markkinoija"),
    "comms": ("Communications", "Viivi", "Viestijä"),
    "ar": ("Receivables", "Reijo", "Reskontra"),
    "support": ("Support", "Tuula", "Tukija"),
    "privacy": ("Privacy", "Pekka", "Rekisterinpitäjä"),
    "dpo": ("DPO", "Tiina", "Tietosuoja"),
    "admin": ("Admin", "Aki", "Ylläpitäjä"),
    "maintainer": ("Maintainer", "Huoltaja", "Kolmas Osapuoli"),
}

FIRST_NAMES = ["Aino", "Eero", "Helmi", "Ilkka", "Jaana", "Kalle", "Laura", "Mikko", "Noora",
               "Olli", "Paula", "Risto", "Satu", "Timo", "Ulla", "Veikko", "Elina", "Janne",
               "Kirsi", "Lauri", "Minna", "Pasi", "Riikka", "Sami", "Tanja", "Ville"]
LAST_NAMES = ["Aaltonen", "Heikkilä", "Honkanen", "Järvinen", "Kallio", "Koskinen", "Laine",
              "Lehtonen", "Mäkelä", "Niemi", "Ojala", "Peltonen", "Rantanen", "Saarinen",
              "Salo", "Toivonen", "Vainio", "Virtanen", "Hiltunen", "Kettunen"]
ORG_WORDS = ["Kuusi", "Lumi", "Revon", "Kallio", "Meri", "Tähti", "Koivu", "Aalto", "Ilves",
             "Karhu", "Pohjan", "Sini", "Hiisi", "Otava", "Tuuli", "Halla"]
ORG_TAILS = ["tekniikka Oy", "data Oy", "palvelut Oy", "Solutions Oy", "Systems Ab",
             "logistiikka Oy", "kunta", "Group Oy"]
INDUSTRIES = ["Ohjelmistot", "Teollisuus", "Julkinen sektori", "Logistiikka",
              "Terveydenhuollon IT", "Kauppa", "Energia", "Koulutus"]
CITIES = [("Helsinki", "00100"), ("Espoo", "02100"), ("Tampere", "33100"),
          ("Kouvola", "45100"), ("Turku", "20100"), ("Oulu", "90100")]
TITLES = ["Tietohallintojohtaja", "IT-päällikkö", "Identiteettiarkkitehti",
          "Tietoturvapäällikkö", "Hankintapäällikkö", "Talousjohtaja", "Järjestelmäasiantuntija",
          "Palvelupisteen esihenkilö"]

DEMO_LIST_HASH = hashlib.sha256(b"demo purchased list 2026-03").hexdigest()

#: The versions of the newsletter's consent wording (read out on the phone, sent by email),
#: each in use from the first day of its month: a consent names the one it was given to.
NEWSLETTER_CONSENT_VERSIONS = ("2020-05", "2024-01", "2025-09")
#: What a consent by phone or by email says it agreed to ("what was agreed, in brief",
#: crm.views.consent_forms), and where it can be checked.
NEWSLETTER_CONSENT_WAYS = {
    ConsentMethod.phone: ("Uutiskirjeen puhelinkäsikirjoitus {version}",
                          "Puhelu {day}; muistiinpano myynnin puhelulokissa"),
    ConsentMethod.email: ("Uutiskirjeen tilausvahvistus {version}",
                          "Sähköposti {day}; tallessa markkinoinnin postilaatikossa"),
}


def business_id(body: int) -> str:
    """Return a valid Y-tunnus for a 7-digit body, skipping bodies with no check digit."""
    digits = f"{body:07d}"
    remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2),
                                                strict=True)) % 11
    if remainder == 1:
        return business_id(body + 1)
    return f"{digits}-{0 if remainder == 0 else 11 - remainder}"


def _slug(text: str) -> str:
    table = str.maketrans("äöåÄÖÅ ", "aoaAOA-")
    return "".join(ch for ch in text.translate(table).lower() if ch.isalnum() or ch == "-")


def load_demo_users(session: Session, sm, password: str) -> int:
    """Create or refresh one demo user per role; return how many were created."""
    created = 0
    for username, (role_name, first, last) in DEMO_USERS.items():
        role = sm.find_role(role_name)
        if role is None:
            raise RuntimeError(f"role {role_name} is missing: run `crm init` first")
        user = sm.find_user(username=username)
        if user is None:
            # Seeded by code, not granted by an administrator (crm.security.manager).
            sm.add_user(username, first, last, f"{username}@crm-demo.example", [role],
                        password=password, seeded=True)
            created += 1
        else:
            user.roles = [role]
            user.active = True
            sm.reset_password(user.id, password, seeded=True)
    return created


def load_demo(session: Session, sm, password: str) -> str:
    """Load the demo users and, unless already present, the demo register."""
    load_reference_data(session)
    created_users = load_demo_users(session, sm, password)
    if session.scalar(select(Source.id).where(Source.file_hash == DEMO_LIST_HASH)):
        return f"demo data already loaded; {created_users} demo users created"
    counts = _load_register(session, random.Random(20261124))
    return (f"demo data loaded: {counts['organisations']} organisations, "
            f"{counts['contacts']} contacts ({counts['expired']} past retention); "
            f"{created_users} demo users created")


def _version_start(version: str) -> datetime:
    year, month = version.split("-")
    return datetime(int(year), int(month), 1, tzinfo=UTC)


def _between(rnd: random.Random, start: datetime, end: datetime) -> datetime:
    """Return a time between `start` and `end`, to the second."""
    return start + timedelta(seconds=int((end - start).total_seconds() * rnd.random()))


def _newsletter_consent(rnd: random.Random, purpose: Purpose, given_at: datetime,
                        withdrawn_at: datetime | None = None) -> Consent:
    """Return a consent to the newsletter given at `given_at` by phone or email, to the
    version of its wording in use then."""
    version = [v for v in NEWSLETTER_CONSENT_VERSIONS if _version_start(v) <= given_at][-1]
    how = rnd.choice(list(NEWSLETTER_CONSENT_WAYS))
    wording, evidence = NEWSLETTER_CONSENT_WAYS[how]
    day = given_at.date()
    return Consent(purpose=purpose, text_version=wording.format(version=version),
                   given_how=how, given_at=given_at, withdrawn_at=withdrawn_at,
                   evidence=evidence.format(day=f"{day.day}.{day.month}.{day.year}"))


def _marketing_story(rnd: random.Random, contact: Contact, purpose: Purpose,
                     recorded_at: datetime, now: datetime) -> None:
    """Give `contact` the consents its marketing status stands on (crm.services.consents):
    subscribed on a valid consent to direct marketing, unsubscribed after withdrawing
    theirs, never without one. Each was given, and withdrawn, while the person was in
    touch: after they were recorded, by their last activity."""
    status = contact.marketing_status
    if status is MarketingStatus.never:
        return
    valid_days = current_app.config["CRM_CONSENT_VALID_DAYS"]
    # Given well within the period a consent is valid for, so that none lapses at once.
    earliest = max(recorded_at, now - timedelta(days=max(valid_days - 30, 1)),
                   _version_start(NEWSLETTER_CONSENT_VERSIONS[0]))
    latest = contact.last_activity_at
    if status is MarketingStatus.subscribed and earliest < latest:
        contact.purposes.append(purpose)
        contact.consents.append(_newsletter_consent(rnd, purpose,
                                                    _between(rnd, earliest, latest)))
        return
    earliest = max(recorded_at, _version_start(NEWSLETTER_CONSENT_VERSIONS[0]))
    if earliest >= latest:  # last heard of before the newsletter asked for consents
        contact.marketing_status = MarketingStatus.never
        return
    # Not in touch since a consent would still be valid (a former customer, a prospect
    # silent for long): they withdrew theirs.
    contact.marketing_status = MarketingStatus.unsubscribed
    given = _between(rnd, earliest, earliest + (latest - earliest) / 2)
    withdrawn = _between(rnd, given + timedelta(minutes=1), latest)
    contact.consents.append(_newsletter_consent(rnd, purpose, given, withdrawn))


def _record_list_import(session: Session, bought: Source, new: int) -> None:
    """Record the purchased list as `import_purchased_list` does: its counts, and who
    imported it (Marketing) in the audit trail, which the import history shows."""
    bought.row_count = new
    bought.import_counts = {"duplicate": 0, "invalid": 0, "merged": 0, "new": new,
                            "opted_out": 0, "suppressed": 0}
    session.flush()
    importer = session.execute(select(User.id, User.username)
                               .where(User.username == "marketing")).first()
    detail = " ".join(f"{key}={count}" for key, count in bought.import_counts.items())
    event = record_event("import", bought, fields=["email", "first_name", "last_name",
                                                   "organisation", "phone", "title"],
                         detail=detail, actor=tuple(importer) if importer else (None, None),
                         session=session, commit=False)
    event.at = bought.created_at  # imported the day it was received


def _load_register(session: Session, rnd: random.Random) -> dict[str, int]:
    now = datetime.now(UTC)
    today = now.date()
    own = own_activity_source(session)
    person = the_person_source(session)
    list_received = today - timedelta(days=20)
    # Imported the morning it was received: its people were recorded then.
    imported_at = datetime.combine(list_received, time(8, 30), tzinfo=UTC)
    bought = Source(kind=SourceKind.purchased_list, name="Tietohallinnon päättäjät 2026",
                    supplier="Esimerkkirekisteri Oy", received_on=list_received,
                    file_hash=DEMO_LIST_HASH, created_at=imported_at)
    session.add(bought)
    purposes = {p.code: p for p in session.scalars(select(Purpose))}
    # Activities are logged by the people whose role writes them (Sales, Support), never
    # by an administrator or the maintainer, who see no contact data at all.
    writers = [name for name, (role, _, _) in DEMO_USERS.items()
               if (roles.ADD, roles.ACTIVITY) in roles.role_permissions(role)]
    author_ids = list(session.scalars(select(User.id).where(User.username.in_(writers))
                                      .order_by(User.id)))
    statuses = ([CustomerStatus.customer] * 14 + [CustomerStatus.prospect] * 14
                + [CustomerStatus.partner] * 4 + [CustomerStatus.former_customer] * 8)
    organisations = []
    used_names = set()
    for i, status in enumerate(statuses):
        name = f"{rnd.choice(ORG_WORDS)}{rnd.choice(ORG_TAILS)}"
        while name in used_names:
            name = f"{rnd.choice(ORG_WORDS)}{rnd.choice(ORG_TAILS)}"
        used_names.add(name)
        city, postal = rnd.choice(CITIES)
        org = Organisation(
            name=name, business_id=business_id(2900000 + i * 37), customer_status=status,
            industry=rnd.choice(INDUSTRIES), website=f"https://{_slug(name)}.example",
            visiting_street=f"Esimerkkikatu {i + 1}", visiting_postal_code=postal,
            visiting_city=city,
        )
        if status in (CustomerStatus.customer, CustomerStatus.former_customer):
            org.relationship_start = today - timedelta(days=rnd.randint(800, 4000))
            org.invoicing_street = f"PL {100 + i}" if i % 3 else None
            org.invoicing_postal_code = postal if i % 3 else None
            org.invoicing_city = city if i % 3 else None
            org.e_invoice_address = f"0037{2900000 + i * 37:08d}" if i % 2 else None
            org.billing_email = f"laskut@{_slug(name)}.example"
            org.payment_terms_days = 14
        if status is CustomerStatus.former_customer:
            # Half of the former customers ended over five years ago: past retention.
            years = 6 if len([o for o in organisations
                              if o.customer_status is status]) % 2 == 0 else 2
            org.relationship_end = today - timedelta(days=365 * years)
            # A relationship starts before it ends.
            org.relationship_start = org.relationship_end - timedelta(days=rnd.randint(400, 3000))
        session.add(org)
        organisations.append(org)
    session.flush()

    counts = {"organisations": len(organisations), "contacts": 0, "expired": 0, "bought": 0,
              "prospects": 0, "former_customers": 0}
    serial = 0
    for org in organisations:
        for _ in range(rnd.randint(5, 10)):
            serial += 1
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            domain = f"{_slug(org.name)}.example"
            last_activity_at = now - timedelta(days=rnd.randint(1, 300))
            if org.relationship_end is not None:
                # Former customers' people were last heard of while the relationship lasted.
                ended = datetime.combine(org.relationship_end, datetime.min.time(), tzinfo=UTC)
                last_activity_at = ended - timedelta(days=rnd.randint(1, 300))
            silent = org.customer_status is CustomerStatus.prospect and serial % 4 == 0
            if silent:
                # Prospects silent for over two years: past retention.
                last_activity_at = now - timedelta(days=rnd.randint(760, 1100))
            # The purchased list brought only people new to the register, who have been in
            # touch since it came (if at all); none at a former customer.
            if serial % 5 == 0 and not silent and org.relationship_end is None:
                source, recorded_at = bought, imported_at
                last_activity_at = _between(rnd, imported_at, now)
            else:
                source = person if serial % 7 == 0 else own
                recorded_at = last_activity_at - timedelta(days=rnd.randint(1, 900))
            contact = Contact(
                first_name=first, last_name=last, title=rnd.choice(TITLES), organisation=org,
                email=f"{_slug(first)}.{_slug(last)}{serial}@{domain}",
                phone=f"+35850000{serial:04d}",
                language=rnd.choice([Language.fi] * 6 + [Language.sv, Language.en]),
                legal_basis=(LegalBasis.contract if org.customer_status is
                             CustomerStatus.customer else LegalBasis.position),
                source=source,
                # A purchased list brings no consents: its people start with none.
                marketing_status=(MarketingStatus.never if source is bought
                                  else rnd.choice(list(MarketingStatus))),
                relationship_role=rnd.choice(list(RelationshipRole)),
                last_activity_at=last_activity_at, created_at=recorded_at,
            )
            contact.purposes = [purposes["customer_relationship"], purposes["new_business"]]
            if silent:
                counts["expired"] += 1
                counts["prospects"] += 1
            elif org.relationship_end and org.relationship_end < today - timedelta(days=1826):
                counts["expired"] += 1
                counts["former_customers"] += 1
            if serial % 9 == 0:
                contact.legal_hold = contact.last_activity_at < now - timedelta(days=730)
            session.add(contact)
            session.add(Provenance(contact=contact, source=source, recorded_at=recorded_at,
                                   art14_due_on=(bought.received_on + timedelta(days=30)
                                                 if source is bought else None)))
            if serial % 3 == 0:
                session.add(Identifier(contact=contact, system="Asiakasportaali",
                                       identifier=f"user{serial:05d}"))
            _marketing_story(rnd, contact, purposes["direct_marketing"], recorded_at, now)
            for _ in range(rnd.randint(0, 3)):
                kind = rnd.choice(list(ActivityKind))
                session.add(Activity(
                    contact=contact, organisation=org, kind=kind,
                    subject=rnd.choice(["Esittely", "Tarjous", "Tukipyyntö", "Kuulumiset",
                                        "Sopimuksen uusinta", "Demo"]),
                    body="Keskusteltiin identiteetinhallinnan tarpeista.",
                    occurred_at=contact.last_activity_at,
                    author_id=rnd.choice(author_ids) if author_ids else None))
            counts["contacts"] += 1
            counts["bought"] += source is bought

    for i in range(12):
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        old = i < 4
        session.add(CallbackRequest(
            name=f"{first} {last}", organisation_name=f"{rnd.choice(ORG_WORDS)}talo Oy",
            phone=f"+35850001{i:04d}", email=f"{_slug(first)}{i}@callback.example",
            message="Haluaisin nähdä demon.",
            status=CallbackStatus.no_result if old else rnd.choice(
                [CallbackStatus.new, CallbackStatus.new, CallbackStatus.in_progress]),
            received_at=now - timedelta(days=240 + i if old else rnd.randint(0, 20)),
        ))

    session.add(Recipient(
        name="Kyselypalvelu Example Inc.", role=RecipientRole.processor, country="US",
        purpose="Customer satisfaction surveys (not in use since 2021)",
        transfer_safeguard=TransferSafeguard.privacy_shield, active=False,
        safeguard_notes="Left over from the old notice: needs a valid safeguard or removal.",
    ))
    first_contacts = session.scalars(select(Contact).order_by(Contact.id).limit(3)).all()
    for offset, (kind, status) in enumerate([
        (RequestType.access, RequestStatus.in_progress),
        (RequestType.rectification, RequestStatus.received),
        (RequestType.erasure, RequestStatus.verifying),
    ]):
        received = today - timedelta(days=10 + offset * 15)
        contact = first_contacts[offset] if offset < len(first_contacts) else None
        session.add(DataSubjectRequest(
            type=kind, contact=contact, requester_name=str(contact) if contact else "Demo",
            requester_email=contact.email if contact else None,
            channel=RequestChannel.email, received_on=received, due_on=due_date(received),
            status=status,
        ))
    # Yesterday's dry run of the retention job, counted by policy as the job counts.
    session.add(JobRun(job="retention", started_at=now - timedelta(days=1),
                       finished_at=now - timedelta(days=1) + timedelta(seconds=4),
                       status=JobStatus.succeeded, dry_run=True, trigger="schedule",
                       counts={code: counts.pop(code)
                               for code in ("prospects", "former_customers")}))
    _record_list_import(session, bought, counts["bought"])
    suppress(session, "email", "poistettu.henkilo@erased.example", "erasure")
    suppress(session, "phone", "+358500009999", "opt_out")
    session.flush()
    return counts
