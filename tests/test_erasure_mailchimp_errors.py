"""Mailchimp failing to delete a person during an erasure request: the request's erasure
step tells the privacy officer what went wrong and what to do in their language, as the
jobs screen does (crm.views.jobs.error_text); the request keeps Mailchimp's answer in
English. Against the fake Marketing API v3 (tests/fake_mailchimp.py).
"""

from __future__ import annotations

import re

import pytest

from crm.integrations import mailchimp
from crm.models import Contact, DataSubjectRequest
from crm.privacy import processors
from tests.subject_data import seed_subject
from tests.test_erasure import _erase, _erasure_request
from tests.test_mailchimp_errors import FAILURES, fake, text_of  # noqa: F401  (a fixture)


@pytest.fixture
def mailchimp_only(monkeypatch):
    """Mailchimp the only processor asked to delete the person."""
    monkeypatch.setattr(processors, "_HOOKS", {mailchimp.PROCESSOR: mailchimp.erase_member})


def request_page(client, pk: int) -> str:
    return client.get(f"/datasubjectrequestview/show/{pk}").get_data(as_text=True)


def erasure_step(page: str) -> str:
    """The text of the request page's erasure step, from its outcome on."""
    return text_of(re.search(r'id="erasure-result">(.*?)<div class="crm-step',
                             page, re.S).group(1))


#: A wrong audience id among them: Mailchimp answers its members 404 as it does a
#: missing member, and the erasure then asks whether the audience is there at all.
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_processors_failure_is_told_in_words_on_the_erasure_step(
        app, session, fake, mailchimp_only, login_as, monkeypatch, failure):  # noqa: F811
    make_failure, recorded, for_audience, for_jobs = FAILURES[failure]
    seeded = seed_subject(session)
    request = _erasure_request(session, seeded)
    make_failure(app, fake, monkeypatch)
    client = login_as("privacy")
    client.get("/lang/en")
    assert _erase(client, request.id, confirm="y").status_code == 302

    session.expire_all()
    dsr = session.get(DataSubjectRequest, request.id)
    # Erased in the CRM all the same; the request keeps Mailchimp's answer as it came.
    assert session.get(Contact, seeded.contact_id).anonymised_at is not None
    assert dsr.erasure_result["processors"] == [
        {"processor": "mailchimp", "ok": False, "detail": recorded}]

    step = erasure_step(request_page(client, request.id))
    assert "Mailchimp: FAILED, delete by hand" in step
    assert f"Mailchimp: {for_jobs or for_audience}" in step
    assert recorded not in step and "MailchimpError" not in step


def test_the_finnish_reader_is_told_in_finnish(app, session, fake, mailchimp_only,  # noqa: F811
                                               login_as, monkeypatch):
    """Needs the Finnish translations compiled."""
    make_failure, recorded, _, _ = FAILURES["bad_key"]
    seeded = seed_subject(session)
    request = _erasure_request(session, seeded)
    make_failure(app, fake, monkeypatch)
    client = login_as("privacy")  # Finnish by default
    _erase(client, request.id, confirm="y")
    step = erasure_step(request_page(client, request.id))
    assert "Mailchimp: EPÄONNISTUI, poista käsin" in step
    assert "Mailchimp ei hyväksynyt API-avainta" in step
    assert recorded not in step
