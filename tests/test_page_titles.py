"""Every page's <title> names the page first, then the CRM: "Yhteyshenkilöt –
Yhteystietorekisteri". The page is named by its h1 (crm.views.headings), so a browser
tab, the history and a screen reader's window list tell the pages apart."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.models import Contact
from crm.privacy.anonymise import anonymise_contact
from tests.factories import make_contact, make_organisation


def page_title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "the page has no title"
    return " ".join(unescape(match.group(1)).split())


@pytest.fixture
def contact_id(session) -> int:
    organisation = make_organisation(session, name="Otsikkotalo Oy")
    contact = make_contact(session, first_name="Olli", last_name="Otsikkonen",
                           organisation=organisation)
    session.commit()
    return contact.id


@pytest.fixture
def organisation_id(session, contact_id) -> int:
    return session.get(Contact, contact_id).organisation_id


@pytest.mark.parametrize(("lang", "who", "path", "title"), [
    ("fi", "sales", "/contactview/list/", "Yhteyshenkilöt – Yhteystietorekisteri"),
    ("en", "sales", "/contactview/list/", "Contacts – Contact register"),
    # A person's or an organisation's page: its h1 names them, the kind of record beside
    # (crm.views.base, `title_names_record`), which the tab leaves out.
    ("fi", "sales", "/contactview/show/{pk}", "Olli Otsikkonen – Yhteystietorekisteri"),
    ("en", "sales", "/contactview/show/{pk}", "Olli Otsikkonen – Contact register"),
    ("fi", "sales", "/organisationview/show/{org}", "Otsikkotalo Oy – Yhteystietorekisteri"),
    ("en", "ar", "/organisationview/show/{org}", "Otsikkotalo Oy – Contact register"),
    ("fi", "privacy", "/jobrunview/list/", "Eräajojen ajokerrat – Yhteystietorekisteri"),
    # The screens with templates of their own.
    ("en", "privacy", "/jobs/", "Scheduled jobs – Contact register"),
    ("en", "admin", "/users/list/", "Users – Contact register"),
])
def test_a_page_is_named_first_in_its_title(login_as, contact_id, organisation_id, lang, who,
                                            path, title):
    client = login_as(who)
    client.get(f"/lang/{lang}")
    response = client.get(path.format(pk=contact_id, org=organisation_id))
    assert response.status_code == 200
    assert page_title(response.get_data(as_text=True)) == title


def test_the_edit_page_is_titled_as_its_h1_says(login_as, contact_id):
    client = login_as("sales")
    client.get("/lang/en")
    html = client.get(f"/contactview/edit/{contact_id}").get_data(as_text=True)
    assert page_title(html) == "Edit contact: Olli Otsikkonen – Contact register"


@pytest.mark.parametrize(("lang", "kind"), [("fi", "Yhteyshenkilö"), ("en", "Contact")])
def test_a_persons_page_is_headed_by_their_name_the_kind_beside_it(login_as, contact_id,
                                                                   lang, kind):
    client = login_as("marketing")
    client.get(f"/lang/{lang}")
    html = client.get(f"/contactview/show/{contact_id}").get_data(as_text=True)
    assert re.search(r'<h1 class="panel-title">\s*Olli Otsikkonen <small class="crm-record-kind">'
                     rf'{kind}</small>\s*</h1>', html)


@pytest.mark.parametrize(("lang", "heading", "title"), [
    ("fi", "Anonymisoitu yhteyshenkilö", "Anonymisoitu yhteyshenkilö – Yhteystietorekisteri"),
    ("en", "Anonymised contact", "Anonymised contact – Contact register"),
])
@pytest.mark.parametrize("page", ["show", "edit"])
def test_an_anonymised_contacts_page_says_so_and_shows_nothing_of_them(
        login_as, session, contact_id, page, lang, heading, title):
    assert anonymise_contact(session, contact_id, "erasure")
    session.commit()
    for who in ("sales", "privacy"):
        client = login_as(who)
        client.get(f"/lang/{lang}")
        response = client.get(f"/contactview/{page}/{contact_id}",
                              headers={"Accept": "text/html"})
        assert response.status_code == 404  # it has no page
        html = response.get_data(as_text=True)
        assert h1_text(html) == heading
        assert page_title(html) == title
        assert "Otsikkonen" not in html and "Olli" not in html


def h1_text(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "the page has no h1"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


@pytest.mark.parametrize(("lang", "crm_name"), [("fi", "Yhteystietorekisteri"),
                                                ("en", "Contact register")])
def test_the_home_page_is_titled_by_its_heading(login_as, lang, crm_name):
    client = login_as("sales")
    client.get(f"/lang/{lang}")
    html = client.get("/").get_data(as_text=True)
    # The greeting (or whatever the home page is headed with) comes first.
    assert h1_text(html) != crm_name
    assert page_title(html) == f"{h1_text(html)} – {crm_name}"


def test_the_home_page_before_sign_in_is_the_crms_name_alone(client):
    client.get("/lang/fi")
    assert page_title(client.get("/").get_data(as_text=True)) == "Yhteystietorekisteri"


@pytest.mark.parametrize(("lang", "title"), [
    ("fi", "Ei käyttöoikeutta – Yhteystietorekisteri"),
    ("en", "No access – Contact register"),
])
def test_the_no_access_page_says_so_in_its_title(login_as, lang, title):
    client = login_as("comms")
    client.get(f"/lang/{lang}")
    response = client.get("/imports/", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert page_title(response.get_data(as_text=True)) == title


def test_the_sign_in_page_is_titled_as_its_heading(client):
    client.get("/lang/en")
    html = client.get("/login/").get_data(as_text=True)
    assert page_title(html) == f"{h1_text(html)} – Contact register"
