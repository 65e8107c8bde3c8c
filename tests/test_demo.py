"""`crm demo` (DESIGN §3): invented demo data and one demo user per role, idempotently.

The demo users get conftest's PASSWORD here, so the other tests' logins keep working.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from werkzeug.security import check_password_hash

from crm.extensions import db
from crm.models import (
    Activity,
    AuditEvent,
    CallbackRequest,
    Consent,
    ConsentMethod,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    Identifier,
    JobRun,
    MarketingStatus,
    Organisation,
    Provenance,
    Purpose,
    Recipient,
    RetentionPolicy,
    Source,
    SourceKind,
    SuppressionEntry,
    contact_purpose,
)
from crm.privacy.guard import find_sensitive
from crm.public.contact_text import CONSENT_TEXT_VERSIONS
from crm.services.demo import DEMO_USERS, load_demo, load_demo_users
from crm.services.validation import (
    normalise_business_id,
    normalise_email,
    normalise_phone,
    normalise_postal_code,
)
from tests.conftest import PASSWORD, csrf_token

ROOT = Path(__file__).resolve().parent.parent


def _load(app) -> str:
    summary = load_demo(db.session, app.appbuilder.sm, PASSWORD)
    db.session.commit()
    return summary


def _count(table) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(table))


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: _count(t) for t in Model.metadata.sorted_tables}


@pytest.fixture
def demo(app):
    _load(app)


def test_demo_load_is_idempotent_and_refreshes_the_demo_users(app, login_as):
    first = _load(app)
    assert first.startswith("demo data loaded")
    after_first = _row_counts()
    assert after_first["contact"] >= 200  # "a few hundred invented contacts"

    second = _load(app)
    assert second == "demo data already loaded; 0 demo users created"
    assert _row_counts() == after_first  # nothing added twice, nothing lost

    # A demo user's password, role and status changed since ...
    sm = app.appbuilder.sm
    sm.reset_password(sm.find_user(username="sales").id, "an-older-password", seeded=True)
    marketing = sm.find_user(username="marketing")
    marketing.active = False
    marketing.roles = [sm.find_role("Admin")]
    db.session.commit()
    try:
        assert _load(app) == "demo data already loaded; 0 demo users created"

        # ... and the next run put every demo user back: role, status, password.
        for username, (role, _, _) in DEMO_USERS.items():
            user = sm.find_user(username=username)
            assert user.active and [r.name for r in user.roles] == [role], username
        for username in ("sales", "marketing"):
            assert login_as(username).get("/contactview/list/").status_code == 200
        client = app.test_client()
        client.post("/login/", data={"username": "sales", "password": "an-older-password",
                                     "csrf_token": csrf_token(client, "/login/")})
        response = client.get("/contactview/list/")  # the old password lets nobody in
        assert response.status_code == 302 and "/login/" in response.headers["Location"]
    finally:
        load_demo_users(db.session, sm, PASSWORD)
        db.session.commit()


def _every_kind_of_record():
    """DESIGN §5: every kind of record, so that every screen has something to show."""
    kinds = [Organisation, Contact, Identifier, Consent, Provenance, Source, Activity,
             CallbackRequest, Recipient, DataSubjectRequest, RetentionPolicy, JobRun,
             SuppressionEntry, Purpose, contact_purpose]
    empty = [getattr(k, "name", getattr(k, "__tablename__", k)) for k in kinds
             if _count(k) == 0]
    assert empty == []


def _every_kind_of_source_and_status():
    sources = db.session.scalars(sa.select(Source)).all()
    assert {s.kind for s in sources} == set(SourceKind)
    bought = [s for s in sources if s.kind is SourceKind.purchased_list]
    assert bought and all(s.supplier and s.received_on and s.file_hash for s in bought)
    # Purchased-list contacts owe an Art. 14 notice.
    owed = db.session.scalars(sa.select(Provenance).where(
        Provenance.source_id.in_([s.id for s in bought]))).all()
    assert owed and all(p.art14_due_on is not None for p in owed)
    statuses = set(db.session.scalars(sa.select(Organisation.customer_status)))
    assert statuses == set(CustomerStatus)


def _contacts_past_retention_and_current_ones():
    now = datetime.now(UTC)
    today = date.today()
    prospects = db.session.scalars(
        sa.select(Contact).join(Organisation)
        .where(Organisation.customer_status == CustomerStatus.prospect)).all()
    silent = [c for c in prospects if c.last_activity_at < now - timedelta(days=730)]
    assert silent, "no prospect silent for over 24 months"
    assert len(silent) < len(prospects), "every prospect is past retention"

    former = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.customer_status == CustomerStatus.former_customer)).all()
    ended_long_ago = [o for o in former if o.relationship_end < today - timedelta(days=1826)]
    assert any(o.contacts for o in ended_long_ago), "no former customer ended 5+ years ago"
    assert len(ended_long_ago) < len(former)

    # The stories hold together: a relationship starts before it ends, and nobody at a
    # former customer was last heard of after the relationship ended.
    for organisation in former:
        assert organisation.relationship_start < organisation.relationship_end, organisation.name
        for contact in organisation.contacts:
            assert contact.last_activity_at.date() <= organisation.relationship_end


def _values_pass_the_registers_own_checks():
    """A demo record opened and saved in the UI is not refused for its own values."""
    for contact in db.session.scalars(sa.select(Contact)):
        assert normalise_email(contact.email) == contact.email
        assert contact.email.endswith(".example")  # invented: the reserved domain
        assert normalise_phone(contact.phone) == contact.phone
        assert contact.phone.startswith("+35850000")  # invented: the documented range
        for text in (contact.first_name, contact.last_name, contact.title, contact.notes,
                     contact.relationship_notes):
            assert find_sensitive(text) is None, text
    for organisation in db.session.scalars(sa.select(Organisation)):
        assert normalise_business_id(organisation.business_id) == organisation.business_id
        assert normalise_postal_code(organisation.visiting_postal_code) == (
            organisation.visiting_postal_code)
        if organisation.billing_email:
            assert normalise_email(organisation.billing_email) == organisation.billing_email
    for activity in db.session.scalars(sa.select(Activity)):
        assert find_sensitive(f"{activity.subject} {activity.body}") is None


def _nothing_happened_in_the_future():
    """The demo's "today" is the day it is loaded: nothing was recorded, given or
    received after it."""
    now, today = datetime.now(UTC), date.today()
    times = [Contact.created_at, Contact.last_activity_at, Provenance.recorded_at,
             Consent.given_at, Consent.withdrawn_at, Activity.occurred_at,
             CallbackRequest.received_at, Source.created_at, JobRun.started_at,
             AuditEvent.at]
    for column in times:
        latest = db.session.scalar(sa.select(sa.func.max(column)))
        assert latest is None or latest.replace(tzinfo=latest.tzinfo or UTC) <= now, column
    for column in (Source.received_on, DataSubjectRequest.received_on):
        assert db.session.scalar(sa.select(sa.func.max(column))) <= today, column


def _purchased_list_people_came_with_the_list():
    """A purchased list's people were recorded when it came, not before; the register had
    none of them before (the import's counts say all were new)."""
    for provenance in db.session.scalars(sa.select(Provenance).join(Source).where(
            Source.kind == SourceKind.purchased_list)):
        received = provenance.source.received_on
        assert provenance.recorded_at.date() >= received, (provenance.recorded_at, received)
        contact = provenance.contact
        assert contact.created_at.date() >= received
        assert contact.last_activity_at.date() >= received
        assert contact.consents == [] and contact.marketing_status is MarketingStatus.never
    # Everyone's first record of them is no later than anything else about them.
    for contact in db.session.scalars(sa.select(Contact)):
        first = min(p.recorded_at for p in contact.provenance)
        assert first <= contact.last_activity_at
        assert all(c.given_at >= first for c in contact.consents)


def _consent_version_in_use(consent: Consent) -> date:
    """Return the first day the consent's wording was in use: its version names the
    month ("2026-11", "Uutiskirjeen tilausvahvistus 2025-09")."""
    match = re.search(r"(\d{4})-(\d{2})$", consent.text_version)
    assert match, consent.text_version
    return date(int(match.group(1)), int(match.group(2)), 1)


def _consents_and_marketing_statuses_tell_one_story(app):
    """Each consent was given to a wording that existed then, and is recorded as the
    Consents tab would take it; each marketing status stands on the consents
    (crm.services.consents): subscribed on a valid one, unsubscribed after withdrawing."""
    valid_since = datetime.now(UTC) - timedelta(days=app.config["CRM_CONSENT_VALID_DAYS"])
    for consent in db.session.scalars(sa.select(Consent)):
        assert _consent_version_in_use(consent) <= consent.given_at.date(), (
            consent.text_version, consent.given_at)
        if consent.given_how is ConsentMethod.form:
            assert consent.text_version in CONSENT_TEXT_VERSIONS
        else:
            assert consent.evidence, consent.given_how  # by phone or email: where to check
        assert consent.withdrawn_at is None or consent.withdrawn_at > consent.given_at
    unsubscribed = 0
    for contact in db.session.scalars(sa.select(Contact)):
        marketing = [c for c in contact.consents if c.purpose.code == "direct_marketing"]
        valid = [c for c in marketing if c.withdrawn_at is None and c.given_at >= valid_since]
        status = contact.marketing_status
        if status is MarketingStatus.subscribed:
            assert valid, f"{contact.id} subscribed without a valid consent"
        elif status is MarketingStatus.unsubscribed:
            unsubscribed += 1
            assert not valid and any(c.withdrawn_at for c in marketing), (
                f"{contact.id} unsubscribed with no consent withdrawn")
        else:
            assert marketing == [], f"{contact.id} never subscribed, with a consent"
    assert unsubscribed


def test_demo_content(app, demo):
    """One load of the demo data, checked from several sides."""
    _every_kind_of_record()
    _every_kind_of_source_and_status()
    _contacts_past_retention_and_current_ones()
    _values_pass_the_registers_own_checks()
    _nothing_happened_in_the_future()
    _purchased_list_people_came_with_the_list()
    _consents_and_marketing_statuses_tell_one_story(app)


def test_crm_init_and_demo_commands_on_a_fresh_sqlite(tmp_path):
    """`crm init` and `crm demo` twice, as a new user runs them: no URL, the default SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "FLASK_"))}
    # An empty CRM_DATABASE_URL counts as unset, and keeps a .env file from setting one.
    env.update(CRM_INSTANCE_DIR=str(tmp_path), CRM_DATABASE_URL="",
               CRM_DEMO_PASSWORD="demo-pass-1")

    def crm(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "crm", *args],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "database at head" in crm("init")
    first = crm("demo")
    assert "demo data loaded: 40 organisations" in first
    assert "9 demo users created" in first
    assert crm("demo").strip() == "demo data already loaded; 0 demo users created"

    database = tmp_path / "crm.db"  # the default database, in the instance directory
    assert database.exists()
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            contacts = conn.scalar(sa.select(sa.func.count()).select_from(Contact.__table__))
            users = User.__table__
            hashes = dict(conn.execute(sa.select(users.c.username, users.c.password)).all())
    finally:
        engine.dispose()
    assert contacts >= 200
    assert set(hashes) == set(DEMO_USERS)
    assert all(check_password_hash(h, "demo-pass-1") for h in hashes.values())


def test_the_demo_list_shows_in_the_import_history_like_an_import(demo, login_as):
    """The purchased list has its counts and its importer (Marketing), as a real one."""
    bought = db.session.scalar(sa.select(Source).where(
        Source.kind == SourceKind.purchased_list))
    listed = db.session.scalar(sa.select(sa.func.count()).select_from(Provenance)
                               .where(Provenance.source_id == bought.id))
    assert bought.import_counts["new"] == bought.row_count == listed > 0
    page = login_as("privacy").get("/imports/").get_data(as_text=True)
    row = re.search(rf'<tr data-source="{bought.id}">(.*?)</tr>', page, re.S).group(1)
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # Who, named as the users screen names people; lines, new, merged, then the lines not
    # imported apart: duplicates, suppressed, unsubscribed or objected, with errors.
    assert cells[4:] == ["Matti Markkinoija (marketing)", str(listed), str(listed), "0",
                         "0", "0", "0", "0"], cells


def test_the_demo_dry_run_counts_by_policy_as_the_job_does(demo, login_as):
    """Yesterday's retention dry run reads as a real one: its counts by policy name."""
    run = db.session.scalars(sa.select(JobRun).where(JobRun.job == "retention")).one()
    assert set(run.counts) <= {"prospects", "former_customers"} and run.trigger == "schedule"
    page = login_as("privacy").get(f"/jobrunview/show/{run.id}").get_data(as_text=True)
    assert "joihin ei ole ollut yhteyttä 24 kuukauteen" in page  # the policy, by its name
    assert "would_anonymise" not in page
