"""Links from the CRM to its public pages open them in the UI's language.

The CRM's language is the reader's choice (the language menu, kept in the session), not
their browser's; the public pages' own rule (`?lang=`, else the browser's language)
stays for visitors from outside.
"""

from __future__ import annotations

import re

import pytest

#: A browser asking for the other language than the UI's.
BROWSER = {"fi": "en-US,en;q=0.9", "en": "fi-FI,fi;q=0.9"}
HEADINGS = {"fi": "<h1>Tietosuojaseloste</h1>", "en": "<h1>Privacy notice</h1>"}


def footer_link(html: str) -> str:
    footer = re.search(r"<footer>(.*?)</footer>", html, re.S).group(1)
    return re.search(r'<a href="([^"]+)"', footer).group(1).replace("&amp;", "&")


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_footer_opens_the_notice_in_the_uis_language(login_as, lang):
    client = login_as("sales")
    client.get(f"/lang/{lang}")
    headers = {"Accept-Language": BROWSER[lang]}
    for path in ("/", "/contactview/list/"):
        link = footer_link(client.get(path, headers=headers).get_data(as_text=True))
        assert link == f"/privacy?lang={lang}", path
    notice = client.get(link, headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}">' in notice and HEADINGS[lang] in notice


def test_the_sign_in_page_links_the_notice_in_its_own_language(client):
    """Before signing in, the UI is Finnish (or what the language menu chose)."""
    headers = {"Accept-Language": BROWSER["fi"]}
    assert footer_link(client.get("/login/", headers=headers).get_data(as_text=True)) == (
        "/privacy?lang=fi")
    client.get("/lang/en")
    assert footer_link(client.get("/login/", headers=headers).get_data(as_text=True)) == (
        "/privacy?lang=en")


@pytest.mark.parametrize("browser, lang", [("en-US,en;q=0.9", "en"), ("fi-FI", "fi"),
                                           ("sv-SE,sv;q=0.9", "sv")])
def test_a_visitor_from_outside_reads_the_notice_in_the_browsers_language(client, browser,
                                                                           lang):
    notice = client.get("/privacy", headers={"Accept-Language": browser})
    assert f'<html lang="{lang}">' in notice.get_data(as_text=True)
