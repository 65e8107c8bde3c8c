"""Review C: the public callback form and privacy notice as a person reads them."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.test_contact_form import page, post, stored_nothing


def test_the_errors_are_listed_in_the_order_of_the_fields(client, session):
    # The checks find a too long message before a bad phone or email; the person reads
    # the list against the form, top to bottom.
    response = post(client, name="", phone="12", email="ei-osoite", message="x" * 4001,
                    consent=None)
    assert response.status_code == 400
    assert re.findall(r'data-field="(\w+)"', page(response)) == [
        "name", "phone", "email", "message", "consent"]
    assert stored_nothing(session)


def test_a_post_without_its_token_keeps_the_values_and_says_send_again(client, session):
    response = post(client, token=False)
    assert response.status_code == 400
    html = page(response)
    # The form is shown again with what the person typed, so "fill it in again" would
    # be wrong: it is to be checked and sent.
    assert 'value="Maija Meikäläinen"' in html
    assert "tarkista tiedot ja lähetä lomake uudelleen" in html
    assert "please check the details and send it again" in page(post(client, lang="en",
                                                                      token=False))
    assert stored_nothing(session)


def test_the_swedish_notice_names_the_purposes_in_swedish(client):
    html = page(client.get("/privacy?lang=sv"))
    purposes = re.search(r'<ul id="purposes">(.*?)</ul>', html, re.S).group(1)
    assert "Skapande av nya kund- och samarbetsrelationer" in purposes
    assert "Fakturering" in purposes
    assert "customer" not in purposes.lower() and "Invoicing" not in purposes
    # Finnish and English as before.
    assert "Laskutus" in page(client.get("/privacy?lang=fi"))
    assert "Invoicing" in page(client.get("/privacy?lang=en"))


@pytest.mark.parametrize("lang, logged, claimed, purposes", [
    ("fi", "Lokiin kirjataan kirjautumiset, yksittäisen henkilön tietojen avaaminen sekä "
           "tietojen muutokset ja viennit.", "kaikki katselut", "Käyttötarkoitukset"),
    ("en", "Sign-ins, the opening of a single person's record, and changes to and exports "
           "of the data are logged.", "every view", "Purposes"),
])
def test_the_notice_says_what_is_logged_and_heads_the_purposes_apart(
        client, login_as, lang, logged, claimed, purposes):
    """Lists, searches and the home page's lists are not logged: the notice does not say
    every view is. The purposes under their own heading, after the legal bases, do not
    read as more legal bases."""
    html = unescape(page(client.get(f"/privacy?lang={lang}")))
    assert logged in html and claimed not in html
    assert re.search(r'<ul id="legal-bases">.*?</ul>\s*<h3 id="purposes-heading">'
                     + purposes + r'</h3>\s*<ul id="purposes">', html, re.S)
    # The record of processing shares the sentence.
    record = unescape(login_as("privacy").get(
        f"/record-of-processing/download?lang={lang}").get_data(as_text=True))
    assert re.sub(r"\s+", " ", logged) in re.sub(r"\s+", " ", record)
    assert claimed not in record
