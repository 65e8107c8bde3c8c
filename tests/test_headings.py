"""FAB's list, record and form pages are headed in the HTML the server sends, without
JavaScript: the page's title is its one h1, its parts (the filters, a record's groups
of fields) h2s, in Finnish and English (crm.views.headings). A person's or an
organisation's page is headed by their name; every add and edit page says what it does
("Lisää …", "Muokkaa …")."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask_appbuilder import ModelView
from flask_appbuilder.const import PERMISSION_PREFIX

from crm.services.demo import DEMO_USERS
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_recipient,
    make_request,
)
from tests.test_page_titles import page_title

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
    organisation = make_organisation(session, name="Otsikkopaja Oy")
    contact = make_contact(session, first_name="Iiris", last_name="Esimerkkinen",
                           organisation=organisation)
    request = make_request(session, contact_id=contact.id)
    session.commit()
    return {"contact": contact.id, "organisation": organisation.id, "request": request.id}


#: (who, path, the page's title in Finnish, in English, its first part's title or None)
PAGES = [
    ("sales", "/contactview/list/", "Yhteyshenkilöt", "Contacts", ("Suodattimet", "Filters")),
    # A record's page: its name, the kind of record beside it in smaller type; its first
    # group of fields named by what it holds, not again by the kind.
    ("sales", "/contactview/show/{contact}", "Iiris Esimerkkinen Yhteyshenkilö",
     "Iiris Esimerkkinen Contact", ("Perustiedot", "Basic details")),
    ("sales", "/contactview/add", "Lisää yhteyshenkilö", "Add contact", None),
    ("sales", "/contactview/edit/{contact}", "Muokkaa yhteyshenkilöä: Iiris Esimerkkinen",
     "Edit contact: Iiris Esimerkkinen", None),
    # A record with related lists in tabs: the tabs add no h1.
    ("sales", "/organisationview/show/{organisation}", "Otsikkopaja Oy Organisaatio",
     "Otsikkopaja Oy Organisation", ("Perustiedot", "Basic details")),
    ("sales", "/organisationview/edit/{organisation}", "Muokkaa organisaatiota: Otsikkopaja Oy",
     "Edit organisation: Otsikkopaja Oy", None),
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


# -- add and edit pages: "Lisää …" and "Muokkaa …", as FAB's own are ------------------

#: How the heading of every add and edit page begins, in Finnish and in English.
FORM_VERBS = {"add": {"fi": "Lisää ", "en": "Add "}, "edit": {"fi": "Muokkaa ", "en": "Edit "}}


def form_pages(app) -> list[tuple[ModelView, str, str]]:
    """Every add and edit page of the CRM's model views, FAB's own among them: (view,
    "add" or "edit", a demo user who may open it). A page no role may open is left out."""
    pages = []
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ModelView):
            continue
        for action in ("add", "edit"):
            permission = view.method_permission_name.get(action, action)
            if f"{PERMISSION_PREFIX}{permission}" not in view.base_permissions:
                continue
            who = next((user for user, (role, *_names) in DEMO_USERS.items()
                        if app.appbuilder.sm.exist_permission_on_roles(
                            view.class_permission_name, f"{PERMISSION_PREFIX}{permission}",
                            [app.appbuilder.sm.find_role(role).id])), None)
            if who is not None:
                pages.append((view, action, who))
    return pages


@pytest.fixture
def one_of_each(session) -> None:
    """A record of every kind a form edits; retention policies and users are there."""
    contact = make_contact(session, organisation=make_organisation(session))
    make_identifier(session, contact)
    make_consent(session, contact)
    make_activity(session, contact)
    make_callback_request(session)
    make_recipient(session)
    make_request(session)
    session.commit()


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_every_add_and_edit_page_says_so_in_its_heading_and_title(app, session, login_as,
                                                                  one_of_each, lang):
    pages = form_pages(app)
    # The register's forms are among them, so the walk is not of an empty list.
    assert {(type(view).__name__, action) for view, action, _who in pages} >= {
        ("ContactView", "add"), ("ConsentView", "edit"), ("CallbackRequestView", "add")}
    app_name = "Yhteystietorekisteri" if lang == "fi" else "Contact register"
    wrong, clients = {}, {}
    for view, action, who in pages:
        if who not in clients:
            clients[who] = login_as(who)
            clients[who].get(f"/lang/{lang}")
        client = clients[who]
        path = f"{view.route_base}/add"
        if action == "edit":
            model = view.datamodel.obj
            pk = session.scalar(sa.select(sa.inspect(model).primary_key[0]).limit(1))
            assert pk is not None, f"no {model.__name__} to edit"
            path = f"{view.route_base}/edit/{pk}"
        response = client.get(path)
        assert response.status_code == 200, (path, who)
        html = response.get_data(as_text=True)
        heading = [text for level, text in headings(html).all if level == 1]
        title = page_title(html)
        if (len(heading) != 1 or not heading[0].startswith(FORM_VERBS[action][lang])
                or title != f"{heading[0]} – {app_name}"):
            wrong[path] = (heading, title)
    assert wrong == {}
