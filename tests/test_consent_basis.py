"""A person on consent with no valid consent left is kept without a basis (DESIGN §2, §6).

Their data is not changed: the privacy team decides on another basis or on erasure.
Whoever reads consents is warned on the person's page; the privacy team's home page
counts and lists them, with a link to the contacts list filtered to them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from crm.models import Contact, LegalBasis
from crm.models.base import utcnow
from tests.factories import make_consent, make_contact

WARNING = {
    "en": "The legal basis is consent, but no valid consent is on record",
    "fi": "Käsittelyperusteena on suostumus, mutta voimassa olevaa suostumusta ei ole",
}
TITLE = {"en": "Consent as the legal basis, but no valid consent",
         "fi": "Käsittelyperusteena suostumus, mutta ei voimassa olevaa suostumusta"}
#: Who reads consents (DESIGN §6): Sales, Marketing, Communications, Privacy, DPO.
READS_CONSENTS = {"sales": True, "marketing": True, "comms": True, "ar": False,
                  "support": False, "privacy": True, "dpo": True}
ROLES = [*READS_CONSENTS, "admin", "maintainer"]


def _lapsed(app) -> datetime:
    return datetime.now(UTC) - timedelta(days=app.config["CRM_CONSENT_VALID_DAYS"] + 1)


def _people(app, session) -> dict[str, int]:
    """One contact of each kind, by what their consents are."""
    consent = LegalBasis.consent
    people = {
        "withdrawn": make_contact(session, legal_basis=consent, first_name="Veera",
                                  last_name="Peruja"),
        "lapsed": make_contact(session, legal_basis=consent, first_name="Vilho",
                               last_name="Vanhentunut"),
        "none": make_contact(session, legal_basis=consent, first_name="Niilo",
                             last_name="Eikirjattu"),
        "valid": make_contact(session, legal_basis=consent, first_name="Voitto",
                              last_name="Voimassa"),
        "renewed": make_contact(session, legal_basis=consent, first_name="Uuno",
                                last_name="Uusittu"),
        "position": make_contact(session, legal_basis=LegalBasis.position,
                                 first_name="Paula", last_name="Asema"),
        "anonymised": make_contact(session, legal_basis=consent, first_name="Anna",
                                   last_name="Anonyymi", anonymised_at=utcnow()),
    }
    make_consent(session, people["withdrawn"], withdrawn_at=utcnow())
    make_consent(session, people["lapsed"], given_at=_lapsed(app))
    make_consent(session, people["valid"])
    make_consent(session, people["renewed"], given_at=_lapsed(app))
    make_consent(session, people["renewed"])
    session.commit()
    return {key: contact.id for key, contact in people.items()}


WITHOUT_BASIS = {"withdrawn", "lapsed", "none"}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _client(login_as, user: str, lang: str):
    client = login_as(user)
    client.get(f"/lang/{lang}")
    return client


# -- the contact's page ------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize("kind", ["withdrawn", "lapsed", "none", "valid", "renewed",
                                  "position"])
def test_the_page_warns_of_consent_as_the_basis_with_none_valid(app, session, login_as,
                                                                 kind, lang):
    people = _people(app, session)
    page = _client(login_as, "privacy", lang).get(f"/contactview/show/{people[kind]}")
    assert page.status_code == 200
    assert (WARNING[lang] in _text(page.get_data(as_text=True))) == (kind in WITHOUT_BASIS)


@pytest.mark.parametrize("user", ROLES)
def test_only_those_who_read_consents_are_warned(app, session, login_as, user):
    people = _people(app, session)
    page = _client(login_as, user, "en").get(f"/contactview/show/{people['withdrawn']}")
    warned = WARNING["en"] in _text(page.get_data(as_text=True))
    assert warned == READS_CONSENTS.get(user, False)


def test_nothing_about_the_person_is_changed(app, session, login_as):
    people = _people(app, session)
    _client(login_as, "privacy", "en").get(f"/contactview/show/{people['withdrawn']}")
    session.expire_all()
    contact = session.get(Contact, people["withdrawn"])
    assert contact.legal_basis is LegalBasis.consent and contact.anonymised_at is None


# -- the privacy team's home page ---------------------------------------------------


def _panel(client) -> str | None:
    page = client.get("/").get_data(as_text=True)
    if 'data-panel="consent_basis"' not in page:
        return None
    start = page.index('data-panel="consent_basis"')
    return page[start:page.index("</ul>", start) + 200]


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_privacy_team_sees_whom_it_must_decide_on(app, session, login_as, lang):
    people = _people(app, session)
    panel = _panel(_client(login_as, "privacy", lang))
    assert panel is not None
    text = _text(panel)
    assert TITLE[lang] in text
    assert re.search(r'<span class="badge">3</span>', panel)
    for name in ("Veera Peruja", "Vilho Vanhentunut", "Niilo Eikirjattu"):
        assert name in text
    for name in ("Voitto Voimassa", "Uuno Uusittu", "Paula Asema", "Anna Anonyymi"):
        assert name not in text
    assert f'href="/contactview/show/{people["withdrawn"]}"' in panel


@pytest.mark.parametrize("user", ROLES)
def test_only_the_privacy_team_has_the_panel(app, session, login_as, user):
    _people(app, session)
    assert (_panel(_client(login_as, user, "en")) is not None) == (user == "privacy")


def test_the_panels_link_lists_them_all(app, session, login_as):
    _people(app, session)
    client = _client(login_as, "privacy", "en")
    link = re.search(r'<div class="panel-footer"><a href="([^"]+)"',
                     _panel(client)).group(1)
    listed = _text(client.get(unescape(link)).get_data(as_text=True))
    for name in ("Peruja", "Vanhentunut", "Eikirjattu"):
        assert name in listed
    for name in ("Voimassa", "Uusittu", "Asema", "Anonyymi"):
        assert name not in listed


def test_the_filter_by_valid_consent_is_not_for_those_who_do_not_read_consents(
        app, session, login_as):
    """Support does not read consents: the filter is ignored, lest it tell them."""
    _people(app, session)
    client = _client(login_as, "support", "en")
    listed = _text(client.get("/contactview/list/?_flt_0_legal_basis=consent"
                              "&_flt_0_consents=").get_data(as_text=True))
    assert "Voimassa" in listed and "Peruja" in listed
