"""The public privacy notice says what the system does, and follows its configuration."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.models import RetentionPolicy, TransferSafeguard
from tests.factories import make_recipient


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("lang, heading, authority, profiling", [
    ("fi", "Tietosuojaseloste", "Tietosuojavaltuutetun toimisto",
     "ei tehdä automaattista päätöksentekoa eikä profilointia"),
    ("en", "Privacy notice", "Data Protection Ombudsman", "No automated decision-making"),
    ("sv", "Dataskyddsbeskrivning", "Dataombudsmannens byrå", "Ingen automatiserad"),
])
def test_notice_in_each_language_names_authority_and_no_profiling(client, lang, heading,
                                                                    authority, profiling):
    response = client.get(f"/privacy?lang={lang}")
    assert response.status_code == 200
    text = _text(response)
    assert heading in text and authority in text and profiling in text
    assert f'lang="{lang}"' in response.get_data(as_text=True)


def test_browser_language_chooses_the_notice_language(client):
    text = _text(client.get("/privacy", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert "Privacy notice" in text
    assert "Tietosuojaseloste" in _text(client.get("/privacy"))


def test_notice_follows_retention_policy_changes(client, session):
    policy = session.scalar(sa.select(RetentionPolicy).where(RetentionPolicy.code == "prospects"))
    assert "24 months" in _text(client.get("/privacy?lang=en"))
    policy.period_days = 365
    session.commit()
    text = _text(client.get("/privacy?lang=en"))
    assert "24 months" not in text and "12 months" in text
    policy.enabled = False
    session.commit()
    assert "Contact persons of prospects" not in _text(client.get("/privacy?lang=en"))


def test_notice_follows_controller_configuration(app, client):
    app.config["CRM_CONTROLLER_NAME"] = "Kuvitteellinen Rekisterinpitäjä Oy"
    try:
        assert "Kuvitteellinen Rekisterinpitäjä Oy" in _text(client.get("/privacy"))
    finally:
        app.config["CRM_CONTROLLER_NAME"] = "Esimerkki Oy"


def test_recipients_and_transfers_listed_with_safeguards(client, session):
    make_recipient(session, name="Pohjoinen Hosting AB", country="SE")
    session.commit()
    text = _text(client.get("/privacy?lang=en"))
    assert "Mailchimp" in text and "transfer outside the EU/EEA" in text
    assert "Data Privacy Framework" in text
    assert "Pohjoinen Hosting AB" in text


@pytest.mark.parametrize("lang, country", [("fi", "Ruotsi"), ("en", "Sweden"),
                                           ("sv", "Sverige")])
def test_a_recipients_country_is_named_in_the_notices_language(client, session, lang,
                                                               country):
    make_recipient(session, name="Pohjoinen Hosting AB", country="SE")
    session.commit()
    html = client.get(f"/privacy?lang={lang}").get_data(as_text=True)
    listed = re.search(r'data-recipient="Pohjoinen Hosting AB".*?</li>', html, re.S).group()
    assert f"{country}" in listed and ", SE" not in listed


def test_privacy_shield_recipient_is_flagged(client, session):
    html = client.get("/privacy?lang=en").get_data(as_text=True)
    assert 'data-flag="invalid-safeguard"' not in html
    make_recipient(session, name="Vanha Kyselypalvelu Inc", country="US",
                   transfer_safeguard=TransferSafeguard.privacy_shield)
    session.commit()
    html = client.get("/privacy?lang=en").get_data(as_text=True)
    flagged = re.search(r'data-recipient="Vanha Kyselypalvelu Inc".*?</li>', html, re.S).group()
    assert 'data-flag="invalid-safeguard"' in flagged and "16 July 2020" in flagged
    fi = _text(client.get("/privacy?lang=fi"))
    assert "EI PÄTEVÄ" in fi


def test_inactive_recipient_is_not_in_the_notice(client, session):
    make_recipient(session, name="Lopetettu Palvelu Oy", active=False)
    session.commit()
    assert "Lopetettu Palvelu Oy" not in _text(client.get("/privacy?lang=en"))


def test_notice_needs_no_sign_in_and_is_not_cached(client):
    response = client.get("/privacy")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
