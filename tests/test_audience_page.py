"""The marketing audience page (DESIGN §9.8) as its readers see it: its intro, its
download's type, and its counts as links to the contacts they count; and the home
page's counts by marketing status, each to its contacts."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.models import MarketingStatus
from crm.models.base import utcnow
from crm.privacy.suppression import suppress
from tests.factories import make_contact

#: Contacts by marketing status, and those the counts leave out.
SUBSCRIBED = ("Tilaaja", "Estetty")  # Estetty: the address is on the suppression list
SUBSCRIBED_WITHOUT_EMAIL = ("Osoitteeton",)
UNSUBSCRIBED = ("Perunut", "Vastustaja")
NEVER = ("Tilaamaton",)
ANONYMISED = ("Anonymisoitu",)


@pytest.fixture
def contacts(session):
    for name in SUBSCRIBED:
        make_contact(session, last_name=name, email=f"{name.lower()}@yleiso.example",
                     marketing_status=MarketingStatus.subscribed)
    make_contact(session, last_name="Osoitteeton", email=None,
                 marketing_status=MarketingStatus.subscribed)
    make_contact(session, last_name="Perunut", email="perunut@yleiso.example",
                 marketing_status=MarketingStatus.unsubscribed)
    make_contact(session, last_name="Vastustaja", email="vastustaja@yleiso.example",
                 marketing_status=MarketingStatus.unsubscribed, objected_at=utcnow())
    make_contact(session, last_name="Tilaamaton", email="tilaamaton@yleiso.example",
                 marketing_status=MarketingStatus.never)
    make_contact(session, last_name="Anonymisoitu", email=None,
                 marketing_status=MarketingStatus.subscribed, anonymised_at=utcnow())
    suppress(session, "email", "estetty@yleiso.example", "opt-out")
    session.commit()


ALL = SUBSCRIBED + SUBSCRIBED_WITHOUT_EMAIL + UNSUBSCRIBED + NEVER + ANONYMISED


def listed(client, href: str) -> list[str]:
    """The fixture's contacts the list at `href` shows."""
    page = client.get(unescape(href)).get_data(as_text=True)
    return sorted(name for name in ALL if f">{name}<" in page)


def test_the_audience_download_names_its_charset_once(login_as, contacts):
    response = login_as("marketing").get("/audience/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_the_intro_says_who_is_in_the_audience_and_who_is_left_out(signed_in):
    page = " ".join(signed_in("marketing").get("/audience/").get_data(as_text=True).split())
    assert ("Contacts who have subscribed to marketing and have an email address. Left out: "
            "anonymised contacts, those who objected to direct marketing and addresses on "
            "the suppression list.") in unescape(page)


@pytest.mark.parametrize("user", ["marketing", "comms"])
def test_the_subscribed_count_opens_the_contacts_it_counts(signed_in, contacts, user):
    client = signed_in(user)
    page = client.get("/audience/").get_data(as_text=True)
    link = re.search(r'data-count="subscribed"><th>[^<]*</th><td><a href="([^"]+)">2</a>',
                     page)
    assert link, "the count is not a link"
    assert listed(client, link.group(1)) == sorted(SUBSCRIBED)


def marketing_rows(page: str) -> dict[str, tuple[str | None, str]]:
    """The home page's marketing panel: status -> (its link, its count)."""
    start = page.index('data-panel="marketing"')
    panel = page[start:page.index("</ul>", start)]
    rows = {}
    for item in re.findall(r'<li class="list-group-item">(.*?)</li>', panel, re.S):
        link = re.search(r'<a href="([^"]+)">([^<]+)</a>', item)
        count = re.search(r'<span class="pull-right text-muted">(\d+)</span>', item).group(1)
        label = link.group(2) if link else item.split("<span")[0].strip()
        rows[label] = (link.group(1) if link else None, count)
    return rows


@pytest.mark.parametrize("user", ["marketing", "comms"])  # those who market to the audience
def test_the_home_pages_marketing_counts_open_the_contacts_they_count(signed_in, contacts,
                                                                       user):
    client = signed_in(user)
    rows = marketing_rows(client.get("/").get_data(as_text=True))
    expected = {"Subscribed": SUBSCRIBED + SUBSCRIBED_WITHOUT_EMAIL,
                "Unsubscribed": UNSUBSCRIBED, "Never subscribed": NEVER}
    assert sorted(rows) == sorted(expected)
    for label, names in expected.items():
        href, count = rows[label]
        assert href is not None, f"{label} is not a link"
        assert int(count) == len(names)
        assert listed(client, href) == sorted(names)


def test_the_page_reads_naturally_in_finnish(login_as, contacts, monkeypatch, app):
    """Needs the Finnish translations compiled."""
    for key, value in (("CRM_MAILCHIMP_API_KEY", "0123456789abcdef-us21"),
                       ("CRM_MAILCHIMP_AUDIENCE_ID", "a1b2c3d4e5")):
        monkeypatch.setitem(app.config, key, value)
    page = " ".join(login_as("marketing").get("/audience/").get_data(as_text=True).split())
    assert ("Yhteyshenkilöt, jotka ovat tilanneet markkinointiviestit ja joilla on "
            "sähköpostiosoite. Pois jätetään anonymisoidut, suoramarkkinointia vastustaneet "
            "ja estolistan osoitteet.") in unescape(page)
    # What the sync button says while the sync runs.
    assert 'data-busy-text="Synkronoidaan…"' in page
