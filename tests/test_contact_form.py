"""The public callback form at /contact (DESIGN §9.7): CSRF, honeypot, rate limit, storing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from config import TestConfig
from crm import create_app
from crm.models import (
    CallbackConsent,
    CallbackRequest,
    Consent,
    ConsentMethod,
    Contact,
    Language,
    LegalBasis,
    SourceKind,
)
from crm.public.contact_text import CONSENT_TEXT_VERSION
from tests.conftest import csrf_token
from tests.factories import make_contact
from tests.smtp_sink import SmtpSink
from tests.test_contact_forms import all_errors, form_data

HETU = "131052-308T"
VALID = {"name": "Maija Meikäläinen", "organisation": "Esimerkkitalo Oy",
         "phone": "040 765 4321", "email": "Maija.Meikalainen@Esimerkkitalo.example",
         "message": "Haluaisin nähdä demon.", "consent": "y"}


def post(client, lang: str = "fi", token: bool = True, **values):
    data = {**VALID, **values}
    data = {k: v for k, v in data.items() if v is not None}
    if token:
        data["csrf_token"] = csrf_token(client, f"/contact?lang={lang}")
    return client.post(f"/contact?lang={lang}", data=data)


def rows(session, model) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def stored_nothing(session) -> bool:
    return (rows(session, CallbackRequest), rows(session, Contact), rows(session, Consent)) \
        == (0, 0, 0)


def page(response) -> str:
    return response.get_data(as_text=True)


def test_a_valid_post_stores_the_request_with_consent_and_source(client, session):
    response = post(client)
    assert response.status_code == 303
    assert response.location.endswith("/contact/thanks?lang=fi")
    thanks = client.get(response.location)
    assert thanks.status_code == 200 and "Kiitos" in page(thanks)

    session.rollback()
    callback = session.scalar(sa.select(CallbackRequest))
    assert (callback.name, callback.organisation_name) == ("Maija Meikäläinen",
                                                           "Esimerkkitalo Oy")
    assert callback.email == "Maija.Meikalainen@esimerkkitalo.example"
    assert callback.phone == "+358407654321" and callback.status.value == "new"
    contact = callback.contact
    assert (contact.first_name, contact.last_name) == ("Maija", "Meikäläinen")
    # The standing source is named in the register's language, like all reference data.
    assert contact.source.kind is SourceKind.the_person
    assert contact.source.name == "Henkilö itse"
    assert contact.legal_basis is LegalBasis.consent and contact.language is Language.fi
    assert contact.last_activity_at is not None
    consent = session.scalar(sa.select(Consent))
    assert consent.contact_id == contact.id and consent.purpose.code == "new_business"
    assert consent.text_version == CONSENT_TEXT_VERSION
    assert consent.given_how is ConsentMethod.form and consent.withdrawn_at is None
    assert CONSENT_TEXT_VERSION in consent.evidence and "127.0.0.1" not in consent.evidence
    assert [p.source.kind for p in contact.provenance] == [SourceKind.the_person]


def test_a_post_links_to_the_contact_with_the_same_email(client, session):
    existing = make_contact(session, email="maija.meikalainen@esimerkkitalo.example",
                            last_activity_at=None)
    session.commit()
    assert post(client, lang="en").status_code == 303
    session.rollback()
    assert rows(session, Contact) == 1
    callback = session.scalar(sa.select(CallbackRequest))
    assert callback.contact_id == existing.id
    contact = session.get(Contact, existing.id)
    assert contact.last_name == existing.last_name  # the form does not overwrite the register
    # Nor restarts the retention clock on the word of whoever typed the address,
    assert contact.last_activity_at is None
    # nor gives them a consent, a purpose or a source: the call back confirms those.
    assert rows(session, Consent) == 0
    assert [p.code for p in contact.purposes] == ["customer_relationship"]
    assert SourceKind.the_person not in {p.source.kind for p in contact.provenance}
    assert callback.consent is CallbackConsent.pending
    assert (callback.consent_version, callback.consent_language) == (CONSENT_TEXT_VERSION, "en")


def close(sales, callback_id: int, status: str, contact_id: int | None = None):
    path = f"/callbackrequestview/edit/{callback_id}"
    data = form_data(sales.get(path).get_data(as_text=True), status=status)
    if contact_id is not None:
        data["contact"] = str(contact_id)
    response = sales.post(path, data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))


def test_the_call_back_done_records_the_consent_of_someone_already_in_the_register(
        client, session, login_as):
    existing = make_contact(session, email="maija.meikalainen@esimerkkitalo.example")
    session.commit()
    assert post(client).status_code == 303
    session.rollback()
    callback = session.scalar(sa.select(CallbackRequest))
    sales = login_as("sales")
    page_html = sales.get(f"/callbackrequestview/show/{callback.id}").get_data(as_text=True)
    assert "Kirjataan yhteyshenkilölle, kun soitto on tehty" in page_html

    close(sales, callback.id, "in_progress")
    assert rows(session, Consent) == 0  # not until the call is done
    close(sales, callback.id, "done")
    session.rollback()
    consent = session.scalar(sa.select(Consent))
    assert consent.contact_id == existing.id and consent.purpose.code == "new_business"
    assert consent.text_version == CONSENT_TEXT_VERSION
    assert consent.given_at == session.get(CallbackRequest, callback.id).received_at
    assert f"callback request #{callback.id}" in consent.evidence
    assert "confirmed by the call back" in consent.evidence
    contact = session.get(Contact, existing.id)
    assert "new_business" in {p.code for p in contact.purposes}
    assert SourceKind.the_person in {p.source.kind for p in contact.provenance}
    assert session.get(CallbackRequest, callback.id).consent is CallbackConsent.recorded
    # Reopened and closed again: recorded once.
    close(sales, callback.id, "in_progress")
    close(sales, callback.id, "done")
    assert rows(session, Consent) == 1


def test_the_consent_goes_to_the_contact_sales_linked_or_nowhere_if_it_led_nowhere(
        client, session, login_as):
    make_contact(session, email="maija.meikalainen@esimerkkitalo.example")
    right = make_contact(session, email="maija@toinen.example")
    session.commit()
    assert post(client).status_code == 303
    assert post(client, email="maija.meikalainen@esimerkkitalo.example",
                name="Toinen Soittaja").status_code == 303
    session.rollback()
    first, second = session.scalars(sa.select(CallbackRequest).order_by(CallbackRequest.id))
    sales = login_as("sales")
    close(sales, first.id, "done", contact_id=right.id)  # the call showed who it was
    close(sales, second.id, "no_result")
    session.rollback()
    assert [c.contact_id for c in session.scalars(sa.select(Consent))] == [right.id]
    assert session.get(CallbackRequest, second.id).consent is CallbackConsent.not_recorded
    sales.get("/lang/en")
    html = sales.get(f"/callbackrequestview/show/{second.id}").get_data(as_text=True)
    assert "Not recorded: the call back did not confirm it" in html


def test_a_linked_post_leaves_the_retention_clock_to_the_call_back(client, session, login_as):
    silent = datetime.now(UTC) - timedelta(days=700)
    existing = make_contact(session, email="maija.meikalainen@esimerkkitalo.example",
                            last_activity_at=silent)
    session.commit()
    assert post(client).status_code == 303
    session.rollback()
    assert session.get(Contact, existing.id).last_activity_at == silent
    # Sales calls back and logs the call: that moves the clock.
    sales = login_as("sales")
    called = datetime.now(UTC) - timedelta(hours=1)
    response = sales.post("/activityview/add", data={
        "contact": str(existing.id), "kind": "call", "subject": "Soitto takaisin",
        "occurred_at": called.strftime("%Y-%m-%d %H:%M"),
        "csrf_token": csrf_token(sales, "/activityview/add")})
    assert response.status_code == 302
    session.rollback()
    assert session.get(Contact, existing.id).last_activity_at > silent + timedelta(days=600)


def test_a_forged_post_without_csrf_token_stores_nothing(client, session):
    response = post(client, token=False)
    assert response.status_code == 400
    assert "Lomake vanheni" in page(response)
    assert stored_nothing(session)


def test_a_filled_honeypot_answers_like_success_and_stores_nothing(client, session):
    response = post(client, website="http://spam.example")
    assert response.status_code == 303 and response.location.endswith("/contact/thanks?lang=fi")
    assert stored_nothing(session)


@pytest.mark.parametrize(("values", "field", "finnish"), [
    ({"email": "ei-osoite"}, "email", "Sähköposti"),
    ({"phone": "12"}, "phone", "Puhelin"),
    ({"email": "", "phone": ""}, "email", "Sähköposti"),
    ({"name": ""}, "name", "Nimi"),
    ({"message": f"Henkilötunnukseni on {HETU}"}, "message", "henkilötunnu"),
    ({"name": f"Maija {HETU}"}, "name", "henkilötunnu"),
    ({"consent": None}, "consent", "suostumuksesi"),
    ({"message": "Olen ollut masentunut, soittakaa ensi kuussa"}, "message", "terveystieto"),
], ids=["email", "phone", "no email or phone", "no name", "hetu in message", "hetu in name",
        "no consent", "health in message"])
def test_an_invalid_post_names_the_field_and_stores_nothing(client, session, values, field,
                                                           finnish):
    response = post(client, **values)
    assert response.status_code == 400
    html = page(response)
    assert re.search(rf'data-field="{field}">[^<]*{finnish}', html), html[:3000]
    assert HETU not in html.split('id="contact-errors"')[1].split("</div>")[0]
    assert stored_nothing(session)


def test_messages_are_english_on_the_english_page(client, session):
    response = post(client, lang="en", email="not-an-address")
    assert response.status_code == 400
    assert "Email: This is not a valid email address." in page(response)


def test_language_by_query_and_by_browser(client):
    assert "Ota yhteyttä" in page(client.get("/contact"))
    english = client.get("/contact", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Contact us" in page(english) and 'lang="en"' in page(english)
    assert "Ota yhteyttä" in page(client.get("/contact?lang=fi",
                                             headers={"Accept-Language": "en"}))
    assert "Contact us" in page(client.get("/contact?lang=en"))
    swedish = client.get("/contact", headers={"Accept-Language": "sv"})
    assert "Ota yhteyttä" in page(swedish)  # fi and en only; Finnish by default
    assert "consent" in page(client.get("/contact?lang=en")).lower()
    assert CONSENT_TEXT_VERSION not in page(client.get("/contact"))


def test_the_language_links_are_named_in_the_pages_language(client):
    # Screen readers announce the links' landmark: in Finnish on the Finnish page.
    assert '<nav class="langs" aria-label="Kieli">' in page(client.get("/contact?lang=fi"))
    assert '<nav class="langs" aria-label="Language">' in page(client.get("/contact?lang=en"))
    assert '<nav class="langs" aria-label="Kieli">' in page(client.get("/contact/thanks"))



def test_the_email_error_is_not_followed_by_the_same_words_as_a_hint(client, session):
    # Neither phone nor email: the error under the email says what the hint says; the
    # hint is left out then, not shown twice in a row (as it is when all is well).
    assert 'id="contact-hint"' in page(client.get("/contact?lang=en"))
    response = post(client, lang="en", phone="", email="")
    html = page(response)
    assert response.status_code == 400
    assert "Please give an email address or a phone number." in html
    assert 'id="contact-hint"' not in html
    assert stored_nothing(session)

def test_sales_sees_the_request_on_the_home_page(client, login_as):
    assert post(client).status_code == 303
    home = page(login_as("sales").get("/"))
    assert "Maija Meikäläinen" in home
    assert 'href="/callbackrequestview/show/' in home


def test_sales_is_told_by_mail_without_personal_data(app, client, session, monkeypatch):
    with SmtpSink() as sink:
        monkeypatch.setitem(app.config, "CRM_SMTP_URL", sink.url)
        assert post(client).status_code == 303
        sender, recipients, message = sink.wait_for(1)[0]
    session.rollback()
    callback_id = session.scalar(sa.select(CallbackRequest.id))
    assert recipients == ["sales@crm-demo.example"]
    assert message["Subject"] == f"Uusi soittopyyntö #{callback_id}"
    body = message.get_content()
    assert f"/callbackrequestview/show/{callback_id}" in body
    for value in ("Maija", "Meikäläinen", "Esimerkkitalo", "765", "demon"):
        assert value not in body and value not in message["Subject"]


@pytest.fixture
def limited_client(db_url):
    config = TestConfig(db_url)
    config.RATELIMIT_ENABLED = True
    config.CRM_CONTACT_RATE_LIMIT = "3 per minute"
    return create_app(config).test_client()


def test_the_rate_limit_answers_after_too_many_posts(limited_client, session):
    statuses = [post(limited_client, name="").status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    refused = post(limited_client)
    assert refused.status_code == 429
    assert "Liian monta" in page(refused)
    assert limited_client.get("/contact").status_code == 200  # reading the form is not limited
    assert stored_nothing(session)


def test_an_organisation_named_with_a_health_word_is_taken(client, session):
    """The organisation is checked as an organisation's name (crm.privacy.guard): a
    hospital is a customer like any other; the message is checked as about a person."""
    response = post(client, organisation="Helsingin Sairaala Oy")
    assert response.status_code == 303
    session.rollback()
    assert session.scalars(sa.select(CallbackRequest.organisation_name)).one() \
        == "Helsingin Sairaala Oy"
