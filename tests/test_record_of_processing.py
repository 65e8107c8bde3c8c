"""The Art. 30 record of processing (DESIGN §9.6): generated from the registers, a download."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.models import AuditEvent, RetentionPolicy, TransferSafeguard
from tests.factories import make_recipient


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("lang, expected", [
    ("fi", ["Seloste käsittelytoimista", "Rekisterinpitäjä", "Esimerkki Oy",
            "Rekisteröityjen ryhmät", "Rekisterin tietosisältö", "Mailchimp",
            "siirto EU/ETA-alueen ulkopuolelle", "Tietojen poistamisen määräajat",
            "Asiakassuhteen hoito", "turvatoimien"]),
    ("en", ["Record of processing activities", "Controller", "Esimerkki Oy",
            "Categories of data subjects", "Categories of personal data", "Mailchimp",
            "transfer outside the EU/EEA", "Time limits for erasure",
            "Keeping the customer relationship", "security measures"]),
])
@pytest.mark.parametrize("user", ["privacy", "dpo"])
def test_record_downloads_in_finnish_and_english(session, login_as, user, lang, expected):
    response = login_as(user).get(f"/record-of-processing/download?lang={lang}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="record-of-processing-{lang}.html"')
    text = _text(response)
    for item in expected:
        assert item in text, item
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (event.object_type, event.actor, event.detail) == ("RecordOfProcessing", user, lang)


def test_record_follows_the_registers_and_flags_privacy_shield(session, login_as):
    client = login_as("privacy")
    assert "24 months" in _text(client.get("/record-of-processing/download?lang=en"))
    session.execute(sa.update(RetentionPolicy).where(RetentionPolicy.code == "prospects")
                    .values(period_days=365))
    make_recipient(session, name="Vanha Kysely Inc", country="US",
                   transfer_safeguard=TransferSafeguard.privacy_shield)
    session.commit()
    html = client.get("/record-of-processing/download?lang=en").get_data(as_text=True)
    assert "12 months" in html and "24 months" not in html
    flagged = re.search(r'data-recipient="Vanha Kysely Inc".*?</li>', html, re.S).group()
    assert 'data-flag="invalid-safeguard"' in flagged
    page = client.get("/record-of-processing/").get_data(as_text=True)
    assert 'data-flag="invalid-safeguard"' in page and "Vanha Kysely Inc" in page


@pytest.mark.parametrize("user", ["sales", "marketing", "admin", "maintainer"])
def test_record_is_for_privacy_and_dpo_only(login_as, user):
    client = login_as(user)
    assert client.get("/record-of-processing/").status_code == 403
    assert client.get("/record-of-processing/download?lang=fi").status_code == 403


def test_unknown_language_is_not_found(login_as):
    assert login_as("privacy").get("/record-of-processing/download?lang=de").status_code == 404


def test_recipients_screen_flags_privacy_shield(session, login_as):
    make_recipient(session, name="Vanha Kysely Inc", country="US",
                   transfer_safeguard=TransferSafeguard.privacy_shield)
    session.commit()
    client = login_as("dpo")
    page = client.get("/recipientview/list/").get_data(as_text=True)
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Vanha Kysely Inc.*?</tr>", page, re.S).group()
    assert 'data-flag="invalid-safeguard"' in row
    assert page.count('data-flag="invalid-safeguard"') == 1  # Mailchimp's DPF is valid


@pytest.mark.parametrize("lang, roles, not_there", [
    ("fi", "Myynti, Markkinointi, Viestintä, Reskontra, Asiakastuki, Tietosuoja, "
           "Tietosuojavastaava", "Sales"),
    ("en", "Sales, Marketing, Communications, Receivables, Support, Privacy, DPO", "Myynti"),
])
@pytest.mark.parametrize("screens", ["fi", "en"])
def test_the_record_names_the_roles_and_dates_in_its_own_language(session, login_as, lang,
                                                                   roles, not_there,
                                                                   screens):
    # The Finnish record listed the roles by their codes ("Sales, ... DPO"), and either
    # record wrote its date as the reader's screens do.
    client = login_as("dpo")
    client.get(f"/lang/{screens}")
    html = client.get(f"/record-of-processing/download?lang={lang}").get_data(as_text=True)
    line = re.search(r'<p id="roles">([^<]*)</p>', html).group(1)
    assert line.endswith(": " + roles) and not_there not in line
    generated = re.search(r'<p class="muted">[^<]*: ([^<]*)</p>', html).group(1)
    # Finnish 25.11.2026 14.20; British English 25/11/2026, 14:20.
    assert re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}" if lang == "fi"
                        else r"\d{2}/\d{2}/\d{4},? \d{2}:\d{2}", generated), generated
