"""Mailchimp (DESIGN §9.8): the audience sync, the webhook, and erasure there.

Against a fake Marketing API v3 on loopback (tests/fake_mailchimp.py) that records
every call and can answer 429 and 500.
"""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
import sqlalchemy as sa

from crm.integrations import mailchimp
from crm.integrations.mailchimp import MailchimpClient, server_prefix, subscriber_hash
from crm.jobs.mailchimp import NOT_CONFIGURED
from crm.jobs.runner import run_job
from crm.models import (
    AuditEvent,
    Consent,
    Contact,
    JobStatus,
    MailchimpMember,
    MailchimpStatus,
    MarketingStatus,
    Purpose,
)
from crm.models.base import utcnow
from crm.privacy.anonymise import anonymise_contact
from crm.privacy.processors import ErasureSubject, erase_at_processors
from crm.privacy.suppression import is_suppressed, suppress
from tests.conftest import csrf_token
from tests.factories import make_consent, make_contact
from tests.fake_mailchimp import API_KEY, AUDIENCE, FakeMailchimpServer

SECRET = "webhook-secret-0123456789"


@pytest.fixture
def fake(app, monkeypatch):
    with FakeMailchimpServer() as server:
        for key, value in (("CRM_MAILCHIMP_API_KEY", API_KEY),
                           ("CRM_MAILCHIMP_AUDIENCE_ID", AUDIENCE),
                           ("CRM_MAILCHIMP_BASE_URL", server.base_url),
                           ("CRM_MAILCHIMP_WEBHOOK_SECRET", SECRET)):
            monkeypatch.setitem(app.config, key, value)
        server.fake.sleeps = []
        monkeypatch.setattr(mailchimp.time, "sleep", server.fake.sleeps.append)
        yield server.fake


def subscriber(session, address, **values):
    values.setdefault("marketing_status", MarketingStatus.subscribed)
    return make_contact(session, email=address, **values)


def sync(app, dry_run=False):
    return run_job(app, "mailchimp_sync", dry_run=dry_run, trigger="command")


def test_the_api_key_names_the_server_and_the_base_url_can_be_overridden():
    assert server_prefix("abc123-us21") == "us21"
    assert MailchimpClient("abc123-us21", "list").base_url == "https://us21.api.mailchimp.com/3.0"
    assert MailchimpClient("abc-us21", "l", "http://127.0.0.1:9/3.0/").base_url == \
        "http://127.0.0.1:9/3.0"
    with pytest.raises(ValueError):
        server_prefix("no-prefix-")
    # Mailchimp's member id: the MD5 of the lower-cased address.
    assert subscriber_hash(" Urist.McVankab@Example.com") == \
        hashlib.md5(b"urist.mcvankab@example.com").hexdigest()


def test_sync_sends_the_audience_only(app, session, fake):
    subscriber(session, "tilaaja@firma.example", first_name="Tiina", last_name="Tilaaja",
               language="en")
    subscriber(session, "Toinen.Tilaaja@Firma.example")
    make_contact(session, email="perunut@firma.example",
                 marketing_status=MarketingStatus.unsubscribed)
    make_contact(session, email="ei-koskaan@firma.example")
    make_contact(session, email="vastustaa@firma.example", objected_at=utcnow(),
                 marketing_status=MarketingStatus.unsubscribed)
    subscriber(session, "estetty@firma.example")
    suppress(session, "email", "ESTETTY@firma.example", "opt-out")
    gone = subscriber(session, "poistettu@firma.example")
    subscriber(session, None)
    session.flush()
    anonymise_contact(session, gone.id, "erasure")
    session.commit()

    outcome = sync(app)
    assert outcome.status is JobStatus.succeeded, outcome.error
    assert outcome.counts["audience"] == 2 and outcome.counts["created"] == 2
    assert sorted(m["email_address"] for m in fake.members.values()) == [
        "Toinen.Tilaaja@Firma.example", "tilaaja@firma.example"]
    member = fake.member("tilaaja@firma.example")
    assert member["status"] == "subscribed" and member["language"] == "en"
    assert member["merge_fields"] == {"FNAME": "Tiina", "LNAME": "Tilaaja"}
    (call,) = fake.calls_to("POST", f"/lists/{AUDIENCE}")
    assert call.body["update_existing"] is True
    session.rollback()
    rows = session.scalars(sa.select(MailchimpMember)).all()
    assert {r.status for r in rows} == {MailchimpStatus.subscribed} and len(rows) == 2


def test_a_second_sync_changes_nothing_and_a_changed_contact_is_sent_again(app, session,
                                                                          fake):
    contact = subscriber(session, "tilaaja@firma.example")
    subscriber(session, "toinen@firma.example")
    session.commit()
    assert sync(app).counts["created"] == 2
    calls = len(fake.calls)

    again = sync(app)
    assert again.status is JobStatus.succeeded
    assert again.counts["unchanged"] == 2 and again.counts["sent"] == 0
    assert len(fake.calls) == calls  # not a single call
    assert len(fake.members) == 2

    contact = session.get(Contact, contact.id)
    contact.last_name = "Uusinimi"
    session.commit()
    changed = sync(app)
    assert (changed.counts["sent"], changed.counts["updated"]) == (1, 1)
    assert fake.member("tilaaja@firma.example")["merge_fields"]["LNAME"] == "Uusinimi"


def test_sync_retries_on_429_and_500_then_succeeds(app, session, fake):
    subscriber(session, "tilaaja@firma.example")
    session.commit()
    fake.fail_next(429, retry_after="0")
    fake.fail_next(500)
    outcome = sync(app)
    assert outcome.status is JobStatus.succeeded, outcome.error
    assert len(fake.calls_to("POST", f"/lists/{AUDIENCE}")) == 3
    assert len(fake.sleeps) == 2 and all(0 <= s <= mailchimp.MAX_WAIT_SECONDS
                                         for s in fake.sleeps)
    assert fake.status_of("tilaaja@firma.example") == "subscribed"


def test_retries_are_bounded_and_honour_retry_after(app, session, fake, caplog):
    subscriber(session, "tilaaja@firma.example")
    session.commit()
    fake.fail_next(429, retry_after="7")
    fake.fail_next(503, times=mailchimp.ATTEMPTS)
    with caplog.at_level(logging.INFO):
        outcome = sync(app)
    assert outcome.status is JobStatus.failed
    assert outcome.error == "Mailchimp answered 503: Server Error"
    assert len(fake.calls) == mailchimp.ATTEMPTS
    assert fake.sleeps[0] >= 7  # Retry-After
    assert fake.sleeps[1] < fake.sleeps[3]  # and otherwise exponential
    assert "tilaaja" not in caplog.text and "firma.example" not in caplog.text
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(MailchimpMember)) == 0
    # The next run does what this one could not.
    assert sync(app).counts["created"] == 1


def test_dry_run_calls_nothing(app, session, fake):
    subscriber(session, "tilaaja@firma.example")
    session.commit()
    outcome = sync(app, dry_run=True)
    assert outcome.counts["sent"] == 1 and fake.calls == []


def test_sync_off_without_configuration_is_a_skipped_run_saying_why(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", None)
    outcome = sync(app)
    # Not "succeeded" with nothing done: skipped, and the run says why.
    assert outcome.status is JobStatus.skipped and outcome.counts == {}
    assert outcome.error == NOT_CONFIGURED


def test_people_who_left_the_audience_leave_mailchimp(app, session, fake):
    leaving = subscriber(session, "lahtija@firma.example")
    erased = subscriber(session, "poistuva@firma.example")
    moving = subscriber(session, "vanha@firma.example")
    staying = subscriber(session, "pysyja@firma.example")
    session.commit()
    assert sync(app).counts["created"] == 4

    session.get(Contact, leaving.id).marketing_status = MarketingStatus.unsubscribed
    session.get(Contact, moving.id).email = "uusi@firma.example"
    session.flush()
    anonymise_contact(session, erased.id, "retention")
    session.commit()
    outcome = sync(app)
    assert outcome.status is JobStatus.succeeded, outcome.error
    counts = outcome.counts
    assert (counts["unsubscribed"], counts["deleted"], counts["archived"], counts["created"]) \
        == (1, 1, 1, 1)
    assert fake.status_of("lahtija@firma.example") == "unsubscribed"
    assert fake.member("poistuva@firma.example") is None
    assert subscriber_hash("poistuva@firma.example") in fake.forgotten
    assert fake.status_of("vanha@firma.example") == "archived"
    assert fake.status_of("uusi@firma.example") == "subscribed"
    assert fake.status_of("pysyja@firma.example") == "subscribed"
    session.rollback()
    hashes = set(session.scalars(sa.select(MailchimpMember.subscriber_hash)))
    assert subscriber_hash("poistuva@firma.example") not in hashes
    assert subscriber_hash("vanha@firma.example") not in hashes
    assert staying.id in set(session.scalars(sa.select(MailchimpMember.contact_id)))
    calls = len(fake.calls)
    assert sync(app).counts["unchanged"] == 2 and len(fake.calls) == calls


def _sync_row(html: str) -> str:
    """Return the jobs screen's row of the Mailchimp sync."""
    return re.search(r'<tr data-job="mailchimp_sync">(.*?)</tr>', html, re.S).group(1)


def test_a_finished_sync_says_what_it_did_on_the_jobs_screen_and_in_the_audit_trail(
        app, session, fake, login_as):
    """The counts are Mailchimp's answers: of five in the audience, one address Mailchimp
    refuses (deleted there for good), so four are sent; the next run, after one of them
    unsubscribed, sends nobody, unsubscribes one there and leaves three unchanged."""
    leaving = subscriber(session, "lahtija@firma.example")
    for n in range(3):
        subscriber(session, f"tilaaja{n}@firma.example")
    subscriber(session, "poistettu-mailchimpista@firma.example")
    fake.forgotten.add(subscriber_hash("poistettu-mailchimpista@firma.example"))
    session.commit()
    first = sync(app)
    assert first.status is JobStatus.succeeded, first.error
    assert (first.counts["sent"], first.counts["refused"]) == (4, 1)
    assert len(fake.members) == 4

    session.get(Contact, leaving.id).marketing_status = MarketingStatus.unsubscribed
    session.commit()
    second = sync(app)
    assert second.status is JobStatus.succeeded, second.error
    assert fake.status_of("lahtija@firma.example") == "unsubscribed"

    client = login_as("privacy")
    row = _sync_row(client.get("/jobs/").get_data(as_text=True))
    assert ("Lähetetty Mailchimpiin 0, Tilaus peruttu Mailchimpissä 1, Ennallaan 3, "
            "Mailchimp hylkäsi 1") in row
    client.get("/lang/en")
    row = _sync_row(client.get("/jobs/").get_data(as_text=True))
    assert ("Sent to Mailchimp 0, Unsubscribed at Mailchimp 1, Unchanged 3, "
            "Refused by Mailchimp 1") in row

    session.rollback()
    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "job", AuditEvent.object_type == "JobRun")
        .order_by(AuditEvent.id)).all()
    assert [e.object_id for e in events] == [str(first.run_id), str(second.run_id)]
    assert events[0].detail == \
        "mailchimp_sync succeeded sent=4 unsubscribed=0 unchanged=0 refused=1"
    page = client.get(f"/auditeventview/show/{events[1].id}").get_data(as_text=True)
    assert ("Mailchimp sync: Succeeded. Sent to Mailchimp 0, Unsubscribed at Mailchimp 1, "
            "Unchanged 3, Refused by Mailchimp 1") in page
    listed = login_as("dpo").get("/auditeventview/list/").get_data(as_text=True)
    assert ("Mailchimp-synkronointi: Onnistui. Lähetetty Mailchimpiin 4, Tilaus peruttu "
            "Mailchimpissä 0, Ennallaan 0, Mailchimp hylkäsi 1") in listed


def test_a_dry_run_and_the_audience_page_say_what_a_sync_counted(app, session, fake,
                                                                login_as):
    for n in range(3):
        subscriber(session, f"tilaaja{n}@firma.example")
    session.commit()
    dry = sync(app, dry_run=True)
    assert fake.calls == []
    client = login_as("privacy")
    client.get("/lang/en")
    row = _sync_row(client.get("/jobs/").get_data(as_text=True))
    assert "Dry run" in row and "Sent to Mailchimp 3, " in row
    session.rollback()
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "JobRun",
                                                       AuditEvent.object_id == str(dry.run_id)))
    page = client.get(f"/auditeventview/show/{event.id}").get_data(as_text=True)
    assert "Mailchimp sync: Succeeded (Dry run). Sent to Mailchimp 3, " in page

    # Marketing runs the sync from the audience page: the message and the last sync
    # say what it did.
    marketing = login_as("marketing")
    marketing.get("/lang/en")
    token = csrf_token(marketing, "/audience/")
    response = marketing.post("/audience/sync", data={"csrf_token": token})
    assert response.status_code == 302 and len(fake.members) == 3
    page = marketing.get("/audience/").get_data(as_text=True)
    said = ("Sent to Mailchimp 3, Unsubscribed at Mailchimp 0, Unchanged 0, "
            "Refused by Mailchimp 0")
    assert f"Mailchimp sync: Succeeded. {said}" in page  # the message
    last = re.search(r'data-count="last-sync">(.*?)</tr>', page, re.S).group(1)
    assert said in last


# -- the webhook ----------------------------------------------------------------------


def webhook(client, secret=SECRET, **data):
    return client.post(f"/webhooks/mailchimp?secret={secret}",
                       data={"type": "unsubscribe", "fired_at": "2026-11-24 10:00:00",
                             "data[list_id]": AUDIENCE, **data})


def test_the_webhook_checks_its_secret(app, client, session, fake):
    contact = subscriber(session, "tilaaja@firma.example")
    session.commit()
    assert client.get(f"/webhooks/mailchimp?secret={SECRET}").status_code == 200
    assert client.get("/webhooks/mailchimp?secret=wrong").status_code == 403
    assert webhook(client, secret="wrong", **{"data[email]": "tilaaja@firma.example"}
                   ).status_code == 403
    assert client.post("/webhooks/mailchimp", data={"type": "unsubscribe"}).status_code == 403
    session.rollback()
    assert session.get(Contact, contact.id).marketing_status is MarketingStatus.subscribed


def test_the_webhook_is_off_without_a_secret(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_WEBHOOK_SECRET", None)
    assert client.post("/webhooks/mailchimp?secret=", data={}).status_code == 404


@pytest.mark.parametrize("event", ["unsubscribe", "cleaned"])
def test_unsubscribe_and_cleaned_mark_the_person_unsubscribed(app, client, session, fake,
                                                              event):
    contact = subscriber(session, "Tilaaja@Firma.example")
    purpose = session.scalar(sa.select(Purpose).where(Purpose.code == "direct_marketing"))
    make_consent(session, contact, purpose=purpose)
    other = subscriber(session, "toinen@firma.example")
    session.commit()
    assert sync(app).counts["created"] == 2

    response = webhook(client, type=event, **{"data[email]": "tilaaja@firma.example",
                                              "data[reason]": "hard"})
    assert response.status_code == 200
    session.rollback()
    contact = session.get(Contact, contact.id)
    assert contact.marketing_status is MarketingStatus.unsubscribed
    assert session.scalar(sa.select(Consent.withdrawn_at)
                          .where(Consent.contact_id == contact.id)) is not None
    assert session.get(Contact, other.id).marketing_status is MarketingStatus.subscribed
    event_row = session.scalar(sa.select(AuditEvent).where(
        AuditEvent.object_type == "Contact", AuditEvent.object_id == str(contact.id),
        AuditEvent.action == "update"))
    assert event_row.fields == ["marketing_status"] and event in event_row.detail
    assert "firma" not in event_row.detail
    assert session.scalar(sa.select(MailchimpMember.status).where(
        MailchimpMember.contact_id == contact.id)) is MailchimpStatus.unsubscribed
    # The next sync leaves the person alone: no re-subscribing, no calls about them.
    calls = len(fake.calls)
    outcome = sync(app)
    assert outcome.counts["sent"] == 0 and len(fake.calls) == calls


def test_an_unknown_address_is_suppressed_and_other_events_ignored(app, client, session,
                                                                  fake):
    assert webhook(client, **{"data[email]": "tuntematon@muualla.example"}).status_code == 200
    assert is_suppressed(session, "email", "tuntematon@muualla.example")
    contact = subscriber(session, "tilaaja@firma.example")
    session.commit()
    for data in ({"type": "subscribe", "data[email]": "tilaaja@firma.example"},
                 {"data[email]": "tilaaja@firma.example", "data[list_id]": "other"}):
        assert webhook(client, **data).status_code == 200
    session.rollback()
    assert session.get(Contact, contact.id).marketing_status is MarketingStatus.subscribed


# -- erasure --------------------------------------------------------------------------


def test_erasure_deletes_the_member_permanently(app, session, fake):
    contact = subscriber(session, "poistettava@firma.example")
    session.commit()
    assert sync(app).counts["created"] == 1
    subject = ErasureSubject(contact.id, ("poistettava@firma.example", "toinen@firma.example"),
                             ())
    results = erase_at_processors(app, subject)
    (result,) = [r for r in results if r.processor == "mailchimp"]
    assert result.ok and result.detail == "deleted 1, not a member 1"
    member_hash = subscriber_hash("poistettava@firma.example")
    assert fake.calls_to("POST", f"/members/{member_hash}/actions/delete-permanent")
    assert fake.member("poistettava@firma.example") is None
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(MailchimpMember)) == 0


def test_a_failed_erasure_at_mailchimp_is_reported_and_retried_by_the_sync(app, session, fake):
    contact = subscriber(session, "poistettava@firma.example")
    session.commit()
    assert sync(app).counts["created"] == 1
    fake.fail_next(500, times=mailchimp.ATTEMPTS)
    results = erase_at_processors(app, ErasureSubject(contact.id,
                                                      ("poistettava@firma.example",), ()))
    (result,) = [r for r in results if r.processor == "mailchimp"]
    assert not result.ok and "firma" not in result.detail
    anonymise_contact(session, contact.id, "erasure")
    session.commit()
    assert sync(app).counts["deleted"] == 1
    assert fake.member("poistettava@firma.example") is None
