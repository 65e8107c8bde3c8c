"""The marketing audience export (DESIGN §6, §9.8): Marketing and Communications only, audited."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from crm.models import AuditEvent, JobRun, JobStatus, MarketingStatus
from crm.models.base import utcnow
from crm.privacy.suppression import suppress
from tests.conftest import csrf_token
from tests.factories import make_contact, make_organisation

EXPORTERS = ("marketing", "comms")
OTHERS = ("sales", "ar", "support", "privacy", "dpo", "admin", "maintainer")


@pytest.fixture
def audience(session):
    org = make_organisation(session, name="Yleisö Oy")
    make_contact(session, first_name="Tiina", last_name="Tilaaja", email="tiina@yleiso.example",
                 organisation=org, language="en", marketing_status=MarketingStatus.subscribed,
                 title="Salainen titteli", phone="+358401111111")
    make_contact(session, first_name="=HYPERLINK(\"x\")", last_name="Kaava",
                 email="kaava@yleiso.example", marketing_status=MarketingStatus.subscribed)
    make_contact(session, last_name="Perunut", email="perunut@yleiso.example",
                 marketing_status=MarketingStatus.unsubscribed)
    make_contact(session, last_name="Vastustaja", email="vastustaja@yleiso.example",
                 marketing_status=MarketingStatus.unsubscribed, objected_at=utcnow())
    make_contact(session, last_name="Estetty", email="estetty@yleiso.example",
                 marketing_status=MarketingStatus.subscribed)
    make_contact(session, last_name="Osoitteeton", email=None,
                 marketing_status=MarketingStatus.subscribed)
    suppress(session, "email", "estetty@yleiso.example", "opt-out")
    session.commit()


def exports(session) -> list[AuditEvent]:
    session.rollback()
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export",
                                                       AuditEvent.object_type ==
                                                       "MarketingAudience")).all()


@pytest.mark.parametrize("user", EXPORTERS)
def test_marketing_and_communications_get_the_audience_as_csv(login_as, session, audience,
                                                              user):
    response = login_as(user).get("/audience/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    # The header row in the reader's language (Finnish by default).
    assert rows[0] == ["Sähköposti", "Etunimi", "Sukunimi", "Kieli", "Organisaatio"]
    assert sorted(rows[1:]) == [
        ["kaava@yleiso.example", "'=HYPERLINK(\"x\")", "Kaava", "fi", ""],
        ["tiina@yleiso.example", "Tiina", "Tilaaja", "en", "Yleisö Oy"]]
    assert "Salainen" not in text and "+358" not in text
    (event,) = exports(session)
    assert event.actor == user and event.detail == "audience CSV, 2 rows"
    assert event.fields == ["email", "first_name", "language", "last_name", "organisation"]


@pytest.mark.parametrize("user", OTHERS)
def test_other_roles_are_refused_and_nothing_is_exported(login_as, session, audience, user):
    client = login_as(user)
    assert client.get("/audience/export.csv").status_code == 403
    assert client.get("/audience/").status_code == 403
    assert exports(session) == []


def test_anonymous_is_sent_to_sign_in(client, session, audience):
    response = client.get("/audience/export.csv")
    assert response.status_code == 302 and "/login/" in response.location
    assert exports(session) == []


def test_the_audience_page_counts_and_runs_the_sync(login_as, session, audience):
    client = login_as("marketing")
    page = client.get("/audience/").get_data(as_text=True)
    # The count links to the contacts it counts (tests/test_audience_page.py).
    assert re.search(r'data-count="subscribed"><th>[^<]*</th><td><a href="[^"]+">3</a></td>',
                     page)
    token = csrf_token(client, "/imports/")
    assert client.post("/audience/sync", data={"csrf_token": token}).status_code == 302
    session.rollback()
    run = session.scalar(sa.select(JobRun).where(JobRun.job == "mailchimp_sync"))
    assert run.trigger == "screen" and run.status is JobStatus.skipped
    # The page says the run was skipped and why, in Finnish.
    page = client.get("/audience/").get_data(as_text=True)
    assert "Mailchimpiä ei ole määritetty" in page
    # No token (or a stale one): nothing run, and the page says so.
    refused = client.post("/audience/sync")
    assert refused.status_code == 302 and refused.location.endswith("/audience/")
    assert "Mitään ei ajettu" in client.get("/audience/").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)
                          .where(JobRun.job == "mailchimp_sync")) == 1


def test_the_export_is_named_by_the_registers_day_not_the_servers(login_as, session,
                                                                   audience, monkeypatch):
    from datetime import UTC, datetime

    import crm.models.base

    # 23.30 UTC on 24 November is already 25 November in Helsinki (CRM_TIMEZONE).
    monkeypatch.setattr(crm.models.base, "utcnow",
                        lambda: datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    client = login_as("marketing")
    response = client.get("/audience/export.csv")
    assert response.status_code == 200
    # Named as the page is titled, in the reader's language and in ASCII.
    assert 'filename="markkinoinnin-vastaanottajat-2026-11-25.csv"' in \
        response.headers["Content-Disposition"]
    client.get("/lang/en")
    assert 'filename="marketing-audience-2026-11-25.csv"' in \
        client.get("/audience/export.csv").headers["Content-Disposition"]


def test_the_exports_header_row_is_in_the_readers_language(login_as, session, audience):
    """Named as the contact screens name the fields, in a file Excel opens in columns
    (UTF-8 with a byte order mark, semicolons: Finnish Excel's list separator)."""
    client = login_as("marketing")
    finnish = client.get("/audience/export.csv").get_data()
    assert finnish.startswith(b"\xef\xbb\xbf")
    assert finnish.decode("utf-8-sig").split("\r\n")[0] == \
        "Sähköposti;Etunimi;Sukunimi;Kieli;Organisaatio"
    client.get("/lang/en")
    english = client.get("/audience/export.csv").get_data()
    assert english.startswith(b"\xef\xbb\xbf")
    lines = english.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Email;First name;Last name;Language;Organisation"
    # The rows are the same whatever the language: the language column keeps its codes.
    assert lines[1:] == finnish.decode("utf-8-sig").split("\r\n")[1:]
    assert "tiina@yleiso.example;Tiina;Tilaaja;en;Yleisö Oy" in lines


def test_the_last_sync_is_kept_on_one_line(login_as, session, audience):
    # The narrow value column wrapped "ei vielä ajettu" and "Onnistui 25.11.2026 9.47".
    client = login_as("marketing")
    page = client.get("/audience/").get_data(as_text=True)
    assert re.search(r'data-count="last-sync"><th>[^<]*</th><td class="text-nowrap">', page)
    token = csrf_token(client, "/imports/")
    client.post("/audience/sync", data={"csrf_token": token})
    page = client.get("/audience/").get_data(as_text=True)
    assert re.search(r'data-count="last-sync"><th>[^<]*</th><td class="text-nowrap">\S', page)


def test_the_audience_page_says_a_dry_run_was_one_and_names_no_variables(login_as, session,
                                                                         audience):
    from crm.jobs.mailchimp import NOT_CONFIGURED

    session.add(JobRun(job="mailchimp_sync", status=JobStatus.skipped, dry_run=True,
                       trigger="screen", error=NOT_CONFIGURED, started_at=utcnow()))
    session.commit()
    client = login_as("marketing")
    client.get("/lang/en")
    page = client.get("/audience/").get_data(as_text=True)
    last = re.search(r'data-count="last-sync">(.*?)</tr>', page, re.S).group(1)
    assert "Skipped" in last and "Dry run" in last
    assert "Ask the administrator" in last
    assert "Ask the administrator" in page.split('crm-not-configured">')[1]
    assert "CRM_MAILCHIMP" not in page
    # A real run says no such thing.
    session.add(JobRun(job="mailchimp_sync", status=JobStatus.succeeded, trigger="screen",
                       started_at=utcnow()))
    session.commit()
    page = client.get("/audience/").get_data(as_text=True)
    last = re.search(r'data-count="last-sync">(.*?)</tr>', page, re.S).group(1)
    assert "Dry run" not in last


def test_the_audience_page_counts_what_the_file_holds(login_as, session, audience):
    # Three subscribed with an address, one of them on the suppression list: the page
    # said 3 while the file had 2 rows.
    client = login_as("marketing")
    page = client.get("/audience/").get_data(as_text=True)
    assert re.search(r'data-count="subscribed"><th>[^<]*</th><td><a href="[^"]+">3</a></td>',
                     page)
    assert re.search(r'data-count="suppressed"><th>[^<]*</th><td>1</td>', page)
    assert re.search(r'data-count="audience"><th>[^<]*</th><td><strong>2</strong>', page)
    rows = client.get("/audience/export.csv").get_data().decode("utf-8-sig").splitlines()
    assert len(rows) - 1 == 2
