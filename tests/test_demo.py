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
    CallbackRequest,
    Consent,
    Contact,
    CustomerStatus,
    DataSubjectRequest,
    Identifier,
    JobRun,
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


def test_demo_content(demo):
    """One load of the demo data, checked from four sides."""
    _every_kind_of_record()
    _every_kind_of_source_and_status()
    _contacts_past_retention_and_current_ones()
    _values_pass_the_registers_own_checks()


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
