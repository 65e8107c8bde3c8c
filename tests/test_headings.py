"""FAB's list, record and form pages are headed in the HTML the server sends, without
JavaScript: the page's title is its one h1, its parts (the filters, a record's groups
of fields) h2s, in Finnish and English (crm.views.headings)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.factories import make_contact, make_organisation, make_request

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class _Headings(HTMLParser):
    """The page's headings as (level, text), and which of them are in <main>; not the
    titles of FAB's hidden dialogs (.modal-title, .modal-text), which axe skips too."""

    def __init__(self) -> None:
        super().__init__()
        self.all: list[tuple[int, str]] = []
        self.in_main: list[tuple[int, str]] = []
        self._main = False
        self._open: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self._main = True
        elif tag in HEADINGS and "modal-" not in (dict(attrs).get("class") or ""):
            self._open = [tag]

    def handle_endtag(self, tag):
        if tag == "main":
            self._main = False
        elif tag in HEADINGS and self._open:
            heading = (int(tag[1]), " ".join("".join(self._open[1:]).split()))
            self.all.append(heading)
            if self._main:
                self.in_main.append(heading)
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._open.append(data)


def headings(html: str) -> _Headings:
    parser = _Headings()
    parser.feed(html)
    return parser


@pytest.fixture
def records(session) -> dict[str, int]:
    organisation = make_organisation(session)
    contact = make_contact(session, first_name="Iiris", last_name="Esimerkkinen",
                           organisation=organisation)
    request = make_request(session, contact_id=contact.id)
    session.commit()
    return {"contact": contact.id, "organisation": organisation.id, "request": request.id}


#: (who, path, the page's title in Finnish, in English, its first part's title or None)
PAGES = [
    ("sales", "/contactview/list/", "Yhteyshenkilöt", "Contacts", ("Suodattimet", "Filters")),
    ("sales", "/contactview/show/{contact}", "Yhteyshenkilö", "Contact",
     ("Henkilö", "Person")),
    ("sales", "/contactview/add", "Lisää yhteyshenkilö", "Add contact", None),
    ("sales", "/contactview/edit/{contact}", "Muokkaa yhteyshenkilöä: Iiris Esimerkkinen",
     "Edit contact: Iiris Esimerkkinen", None),
    # A record with related lists in tabs: the tabs add no h1.
    ("sales", "/organisationview/show/{organisation}", "Organisaatio", "Organisation",
     ("Organisaatio", "Organisation")),
    # The CRM's own template on FAB's record page, with its own h2s below.
    ("privacy", "/datasubjectrequestview/show/{request}", "Rekisteröidyn pyyntö",
     "Data subject request", None),
    # FAB's own screens, with FAB's templates.
    ("admin", "/users/list/", "Käyttäjät", "Users", ("Hae", "Search")),
    ("admin", "/users/add", "Lisää käyttäjä", "Add User", None),
]


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize(("who", "path", "title_fi", "title_en", "part"), PAGES,
                         ids=[f"{p[0]} {p[1]}" for p in PAGES])
def test_fab_pages_have_their_title_as_their_one_h1_without_javascript(
        login_as, records, lang, who, path, title_fi, title_en, part):
    client = login_as(who)
    client.get(f"/lang/{lang}")
    response = client.get(path.format(**records))
    assert response.status_code == 200
    found = headings(response.get_data(as_text=True))
    title = title_fi if lang == "fi" else title_en
    assert [text for level, text in found.all if level == 1] == [title]
    assert found.in_main[0] == (1, title)
    # In order: no heading below the title skips a level (an h4 straight after the h1).
    levels = [level for level, _ in found.in_main]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), found.in_main
    if part:
        assert found.in_main[1] == (2, part[0] if lang == "fi" else part[1])
