"""Screens of the privacy officer, the maintainer and marketing, as they read them: the
jobs screen answers a stale form on itself, its reminders link only for who may follow
them, and the home page's panels say what they count (crm.views.jobs, crm.services.home).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from crm.jobs.runner import run_job
from crm.models import (
    AuditEvent,
    CallbackStatus,
    JobRun,
    JobStatus,
    MarketingStatus,
    RelationshipRole,
    RetentionPolicy,
    Source,
)
from crm.models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import (
    make_callback_request,
    make_contact,
    make_organisation,
    make_recipient,
    make_request,
)


def _panel(html: str, key: str) -> str:
    start = html.index(f'data-panel="{key}"')
    return html[start:html.index("</div>\n  </div>", start)]


def test_a_stale_form_on_the_jobs_screen_is_refused_there_and_runs_nothing(session,
                                                                         login_as):
    # A page left open while the session ended posts a token no longer valid: the
    # app-wide check refuses it before the view runs. Said on the jobs screen, not on an
    # error page.
    client = login_as("privacy")
    refused = client.post("/jobs/run/session_purge", data={"dry_run": "1",
                                                            "csrf_token": "stale"})
    assert refused.status_code == 302 and refused.location.endswith("/jobs/")
    assert "Mitään ei ajettu" in client.get("/jobs/").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_reminders_link_to_the_request_only_for_who_may_open_it(app, session, login_as):
    request = make_request(session, received_on=date.today() - timedelta(days=40))
    session.commit()
    assert run_job(app, "request_reminders").status is JobStatus.succeeded
    link = f"/datasubjectrequestview/show/{request.id}"
    assert link in login_as("privacy").get("/jobs/").get_data(as_text=True)
    for user in ("maintainer", "admin"):
        html = login_as(user).get("/jobs/").get_data(as_text=True)
        # The line is read, but not as a link to a page the role is refused.
        assert 'data-kind="request_overdue"' in html and link not in html
        assert login_as(user).get(link).status_code == 403


def test_the_home_page_says_a_dry_run_was_one(session, login_as):
    session.add(JobRun(job="retention", status=JobStatus.succeeded, dry_run=True,
                       trigger="screen", started_at=utcnow()))
    session.commit()
    for user in ("privacy", "maintainer"):
        panel = _panel(login_as(user).get("/").get_data(as_text=True), "jobs")
        assert "Säilytysaikojen toteutus: Onnistui (Koeajo)" in panel


def test_the_home_marketing_panel_is_not_titled_as_the_audience(session, login_as):
    # Subscribed but without an email address: counted under its marketing status, not
    # in the audience (the audience page and its file leave it out).
    make_contact(session, last_name="Osoitteeton", email=None,
                 marketing_status=MarketingStatus.subscribed)
    make_contact(session, last_name="Tilaaja", email="tilaaja@koti.example",
                 marketing_status=MarketingStatus.subscribed)
    session.commit()
    marketing = _panel(login_as("marketing").get("/").get_data(as_text=True), "marketing")
    assert "<strong>Markkinointi</strong>" in marketing
    assert "Markkinoinnin vastaanottajat" not in marketing
    assert 'class="badge"' not in marketing
    assert 'href="/audience/"' in marketing
    # Communications, who send to the audience too, get the same panel and link.
    comms = _panel(login_as("comms").get("/").get_data(as_text=True), "marketing")
    assert "Tilannut" in comms and 'href="/audience/"' in comms


def test_overdue_on_the_home_page_is_by_the_registers_day(session, login_as, monkeypatch):
    import crm.models.base

    make_request(session, received_on=date(2026, 10, 25), due_on=date(2026, 11, 24))
    session.commit()
    # 23.30 UTC on 24 November is already 25 November in Helsinki (CRM_TIMEZONE): the
    # request due on the 24th is overdue there, whatever the server's own clock says.
    monkeypatch.setattr(crm.models.base, "utcnow",
                        lambda: datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    panel = _panel(login_as("privacy").get("/").get_data(as_text=True), "requests")
    assert "MYÖHÄSSÄ 24.11.2026" in panel
    monkeypatch.setattr(crm.models.base, "utcnow",
                        lambda: datetime(2026, 11, 24, 21, 30, tzinfo=UTC))
    panel = _panel(login_as("privacy").get("/").get_data(as_text=True), "requests")
    assert "MYÖHÄSSÄ" not in panel and "24.11.2026" in panel


def test_a_jobs_audit_event_on_the_home_page_names_the_run_once(app, session, login_as):
    assert run_job(app, "session_purge").status is JobStatus.succeeded
    assert session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "job"))
    panel = _panel(login_as("dpo").get("/").get_data(as_text=True), "audit")
    # Who started it and which job, once: "Komentorivi: <job> (ajokerta N)".
    line = re.search(r"Komentorivi: ([^<]*?) \(ajokerta \d+\)", panel.replace("</a>", "<"))
    assert line is not None, panel
    assert panel.count(line.group(1)) == 1
    assert "Eräajon ajokerta Eräajon ajokerta" not in panel


def test_audit_lines_on_the_home_page_read_as_an_action_then_its_kind(session, login_as):
    session.add(AuditEvent(action="login", actor="sales", object_type="User", object_id="3"))
    session.add(AuditEvent(action="update", actor="privacy", object_type="Contact",
                           object_id="6", fields=["title"]))
    session.commit()
    panel = _panel(login_as("dpo").get("/").get_data(as_text=True), "audit")
    panel = panel.replace("</a>", "<")
    # A sign-in's object is the one signing in: not "Kirjautui sisään Käyttäjä".
    assert "sales: Kirjautui sisään<" in panel
    assert "privacy: Muutettu (Yhteyshenkilö)<" in panel


def test_callbacks_being_handled_stay_on_the_sales_home_page(session, login_as):
    make_callback_request(session, name="Uusi Soittaja")
    make_callback_request(session, name="Kesken Soittaja", status=CallbackStatus.in_progress)
    make_callback_request(session, name="Valmis Soittaja", status=CallbackStatus.done)
    session.commit()
    panel = _panel(login_as("sales").get("/").get_data(as_text=True), "callbacks")
    assert "Avoimet soittopyynnöt" in panel
    assert "Uusi Soittaja" in panel and "Kesken Soittaja (Käsittelyssä)" in panel
    assert "Valmis Soittaja" not in panel
    assert panel.index("Uusi Soittaja") < panel.index("Kesken Soittaja")


def test_a_customer_invoiced_by_email_has_invoicing_details(session, login_as):
    make_organisation(session, name="Sähköpostilaskutus Oy", invoicing_street=None,
                      e_invoice_address=None, billing_email="laskut@sposti.example")
    make_organisation(session, name="Tiedoton Oy", invoicing_street=None,
                      e_invoice_address=None, billing_email=None)
    session.commit()
    panel = _panel(login_as("ar").get("/").get_data(as_text=True), "invoicing")
    assert "Tiedoton Oy" in panel and "Sähköpostilaskutus Oy" not in panel


def test_receivables_find_the_billing_contacts_from_their_home_page(session, login_as):
    firm = make_organisation(session, name="Laskutettava Oy")
    make_contact(session, first_name="Liisa", last_name="Laskuttaja", organisation=firm,
                 relationship_role=RelationshipRole.billing)
    make_contact(session, first_name="Paavo", last_name="Päättäjä", organisation=firm,
                 relationship_role=RelationshipRole.decision_maker)
    session.commit()
    client = login_as("ar")
    panel = _panel(client.get("/").get_data(as_text=True), "billing_contacts")
    assert "Laskutuksen yhteyshenkilöt" in panel and "Liisa Laskuttaja" in panel
    assert "Laskutettava Oy" in panel and "Päättäjä" not in panel
    link = re.search(r'<a href="([^"]+)">Näytä kaikki', panel).group(1).replace("&amp;", "&")
    listing = client.get(link).get_data(as_text=True)
    assert "Laskuttaja" in listing and "Päättäjä" not in listing
    # Sales keep the relationship, not the invoicing: no such panel.
    assert 'data-panel="billing_contacts"' not in login_as("sales").get("/").get_data(
        as_text=True)


def test_the_audit_trail_names_fields_as_the_forms_do(session, login_as):
    session.add(AuditEvent(action="update", actor="privacy", object_type="Contact",
                           object_id="6", fields=["legal_hold", "marketing_status",
                                                  "change_reason", "no_such_field"]))
    session.add(AuditEvent(action="update", actor="privacy", object_type="RetentionPolicy",
                           object_id="1", fields=["period_days"]))
    session.commit()
    page = login_as("dpo").get("/auditeventview/list/").get_data(as_text=True)
    assert "Säilytysvelvoite, Markkinointi, Muutoksen syy, no_such_field" in page
    assert "Säilytysaika (päivää)" in page
    assert "legal_hold" not in page and "period_days" not in page


def test_the_audit_trail_names_an_exports_tables_and_an_erasures_result(session, login_as):
    session.add(AuditEvent(action="export", actor="privacy", object_type="Contact",
                           object_id="6", fields=["activity", "contact_purpose",
                                                  "data_subject_request", "no_such_table"]))
    session.add(AuditEvent(action="update", actor="privacy",
                           object_type="DataSubjectRequest", object_id="2",
                           fields=["erasure_result"]))
    session.commit()
    page = login_as("dpo").get("/auditeventview/list/").get_data(as_text=True)
    assert "Toimenpide, Käyttötarkoitus, Rekisteröidyn pyyntö, no_such_table" in page
    assert "Poiston tulos" in page
    assert "contact_purpose" not in page and "Erasure Result" not in page


def test_recipients_countries_are_named_not_coded(session, login_as):
    make_recipient(session, name="Amerikan Palvelu Inc", country="US")
    session.commit()
    client = login_as("dpo")
    assert "Yhdysvallat (US)" in client.get("/recipientview/list/").get_data(as_text=True)
    client.get("/lang/en")
    assert "United States (US)" in client.get("/recipientview/list/").get_data(as_text=True)
    record = client.get("/record-of-processing/download?lang=fi").get_data(as_text=True)
    assert "Yhdysvallat: siirto EU/ETA-alueen ulkopuolelle" in record


def test_a_sources_page_is_titled_in_the_singular(session, login_as):
    source = session.scalar(sa.select(Source).order_by(Source.id))
    page = login_as("dpo").get(f"/sourceview/show/{source.id}").get_data(as_text=True)
    assert re.search(r'<h1 class="panel-title">\s*(.*?)\s*</h1>', page).group(1) == "Lähde"


def test_run_now_of_an_unconfigured_mailchimp_says_why_not_try_later(session, login_as):
    # Refused because Mailchimp is not configured: "did not finish ... try again later"
    # promised what no later try would do, and no confirmation is asked for.
    client = login_as("privacy")
    token = csrf_token(client, "/jobs/")
    asked = client.post("/jobs/run/mailchimp_sync", data={"csrf_token": token,
                                                          "dry_run": "0"})
    assert asked.location.endswith("/jobs/")
    page = client.get(asked.location).get_data(as_text=True)
    said = page.split("Mailchimp-synkronointi jäi ajamatta")[1].split("</div>")[0]
    assert "Mailchimpiä ei ole määritetty" in said and "myöhemmin" not in said
    assert 'id="job-confirm-unfinished"' not in page
    assert 'id="confirm-run-mailchimp_sync"' not in page


def test_the_forecast_says_a_disabled_policys_records_are_not_due(session, login_as):
    make_contact(session, last_name="Vanhentunut", organisation=None,
                 last_activity_at=utcnow() - timedelta(days=900))
    session.execute(sa.update(RetentionPolicy).where(RetentionPolicy.code == "prospects")
                    .values(enabled=False))
    session.commit()
    page = login_as("privacy").get("/jobs/forecast").get_data(as_text=True)
    row = page.split('data-policy="prospects"')[1].split("</tr>")[0]
    assert 'data-due-now="1"' in row and 'class="crm-not-applied"' in row
    enabled = page.split('data-policy="former_customers"')[1].split("</tr>")[0]
    assert "crm-not-applied" not in enabled
