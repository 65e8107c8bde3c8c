"""A Mailchimp sync that fails (DESIGN §9.8) says what went wrong and what to do, in the
reader's language: on the audience page and its message (Marketing, Communications), on
the jobs screen and on the run's page (Privacy). The run keeps Mailchimp's answer in
English for the operators' log.

Against the fake Marketing API v3 (tests/fake_mailchimp.py), or a closed port.
"""

from __future__ import annotations

import re
import socket

import pytest
import sqlalchemy as sa

from crm.integrations import mailchimp
from crm.models import JobRun, JobStatus, MarketingStatus
from tests.conftest import csrf_token
from tests.factories import make_contact
from tests.fake_mailchimp import API_KEY, AUDIENCE, FakeMailchimpServer


@pytest.fixture
def fake(app, session, monkeypatch):
    make_contact(session, email="tilaaja@firma.example",
                 marketing_status=MarketingStatus.subscribed)
    session.commit()
    with FakeMailchimpServer() as server:
        for key, value in (("CRM_MAILCHIMP_API_KEY", API_KEY),
                           ("CRM_MAILCHIMP_AUDIENCE_ID", AUDIENCE),
                           ("CRM_MAILCHIMP_BASE_URL", server.base_url)):
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setattr(mailchimp.time, "sleep", lambda seconds: None)
        yield server.fake


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable(app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_BASE_URL",
                        f"http://127.0.0.1:{closed_port()}/3.0")


def bad_key(app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", "fedcba9876543210-us21")


def no_audience(app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_AUDIENCE_ID", "0000000000")


def busy(app, fake, monkeypatch):
    fake.fail_next(503, times=mailchimp.ATTEMPTS)


def refused(app, fake, monkeypatch):
    fake.fail_next(400)


#: How Mailchimp fails -> (what the run records, what the audience page says, what the
#: jobs screen and the run's page say).
FAILURES = {
    "unreachable": (
        unreachable, "Mailchimp could not be reached: ConnectionError",
        "Mailchimp could not be reached: no connection or no answer. Try again later. If it "
        "keeps happening, ask the administrator to check the server's connection to "
        "Mailchimp.", None),
    "bad_key": (
        bad_key, "Mailchimp answered 401: API Key Invalid",
        "Mailchimp did not accept the API key. Ask the administrator to check the API key.",
        "Mailchimp did not accept the API key. Check the API key (CRM_MAILCHIMP_API_KEY)."),
    "no_audience": (
        no_audience, "Mailchimp answered 404: Resource Not Found",
        "Mailchimp did not find the audience. Ask the administrator to check the "
        "audience's id.",
        "Mailchimp did not find the audience. Check the audience's id "
        "(CRM_MAILCHIMP_AUDIENCE_ID)."),
    "busy": (
        busy, "Mailchimp answered 503: Server Error",
        "Mailchimp was busy or out of order and did not answer even after several tries. "
        "Try again later.", None),
    "refused": (
        refused, "Mailchimp answered 400: Server Error",
        "Mailchimp refused the request (error 400). If it happens again, ask the "
        "administrator to look into it.", None),
}


def text_of(html: str) -> str:
    """The page's text, its markup and entities left out, its white space single."""
    text = re.sub(r"<[^>]+>", " ", html)
    return " ".join(text.replace("&#39;", "'").replace("&#34;", '"').split())


def last_sync(page: str) -> str:
    return text_of(re.search(r'data-count="last-sync">(.*?)</tr>', page, re.S).group(1))


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_sync_says_what_went_wrong_and_what_to_do(app, session, fake, login_as,
                                                          monkeypatch, failure):
    make_failure, recorded, for_audience, for_jobs = FAILURES[failure]
    make_failure(app, fake, monkeypatch)
    marketing = login_as("marketing")
    marketing.get("/lang/en")
    token = csrf_token(marketing, "/audience/")
    assert marketing.post("/audience/sync", data={"csrf_token": token}).status_code == 302
    session.rollback()
    run = session.scalar(sa.select(JobRun).where(JobRun.job == "mailchimp_sync"))
    # The run keeps Mailchimp's answer as it came (the operators' log) ...
    assert run.status is JobStatus.failed and run.error == recorded
    # ... the audience page says it in words, in the message and under the last sync.
    page = marketing.get("/audience/").get_data(as_text=True)
    assert f"Mailchimp sync: Failed. {for_audience}" in text_of(page)
    assert for_audience in last_sync(page)
    assert recorded not in text_of(page)

    # The jobs screen and the run's page, whose readers are told the settings to check.
    privacy = login_as("privacy")
    privacy.get("/lang/en")
    jobs = text_of(privacy.get("/jobs/").get_data(as_text=True))
    shown = privacy.get(f"/jobrunview/show/{run.id}").get_data(as_text=True)
    for page in (jobs, text_of(shown)):
        assert (for_jobs or for_audience) in page
        assert recorded not in page


def test_the_finnish_reader_is_told_in_finnish(app, session, fake, login_as, monkeypatch):
    """Needs the Finnish translations compiled."""
    unreachable(app, fake, monkeypatch)
    client = login_as("comms")
    token = csrf_token(client, "/audience/")
    client.post("/audience/sync", data={"csrf_token": token})
    page = text_of(client.get("/audience/").get_data(as_text=True))
    assert "ConnectionError" not in page
    assert ("Mailchimp-synkronointi: Epäonnistui. Mailchimpiin ei saatu yhteyttä" in page)
    assert "Yritä myöhemmin uudelleen." in last_sync(
        client.get("/audience/").get_data(as_text=True))
